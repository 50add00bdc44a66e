// A record's effective time: its stamp, but never later than when the reader first verified
// its block. The hostile writer is a modified client that appends signed blocks with any
// stamp to its own core, as in blocks.test.ts.
import test, { type Test } from 'brittle'
import { create, createLocalTestnet, DAY, manualClock, receive, type Testnet } from '../helpers/index.js'
import { MAX_LENGTH_MARKS, MessageType, type LengthMark } from '../../lib/messages.js'
import { effectiveTime, firstVerified, markVerified } from '../../lib/room/expiry.js'
import type { Backspace, Room } from '../../lib/index.js'

const YEAR = 365 * DAY

interface Outbox {
  own: { key: Buffer; core: { length: number; append(b: Buffer[], o: object): Promise<unknown> } }
  writerKeyPair: object
  nextSeq: number
  signBlock(index: number, seq: number, records: Array<{ type: number; timestamp: number; text: string }>): Buffer
}

type Core = { length: number; has(i: number): Promise<boolean> }
type FeedView = { key: Buffer; core: Core; start: number; seen: number }

function outbox(room: Room): Outbox {
  return (room as unknown as { outbox: Outbox }).outbox
}

function feedOf(room: Room, key: Buffer): FeedView {
  const feeds = (room as unknown as { writers: { values(): Iterable<FeedView> } }).writers.values()
  const feed = [...feeds].find((f) => f.key.equals(key))
  if (!feed) throw new Error('no such writer')
  return feed
}

// Appends one text block stamped `timestamp` to the room's own core; returns its index.
async function appendStamped(room: Room, text: string, timestamp: number): Promise<number> {
  const o = outbox(room)
  await room.flush()
  const index = o.own.core.length
  const block = o.signBlock(index, o.nextSeq, [{ type: MessageType.TEXT, timestamp, text }])
  await o.own.core.append([block], { keyPair: o.writerKeyPair })
  o.nextSeq += 1
  return index
}

// Background work (Hypercore's copy of live blocks, clearing) is waited for by polling, a
// bounded number of times: false if the condition never held.
async function until(condition: () => boolean | Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 1000; i++) {
    if (await condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return false
}

// Resolves once `room` has delivered from Hypercore, and stored, every block `writer` wrote.
async function stored(t: Test, room: Room, writer: Room): Promise<void> {
  await writer.flush()
  const length = outbox(writer).own.core.length
  const feed = feedOf(room, outbox(writer).own.key)
  t.ok(await until(async () => feed.seen >= length && (await feed.core.has(length - 1))), 'the reader stored the writer\'s blocks')
}

async function restart(t: Test, testnet: Testnet, node: Backspace, storage: string, now: () => number): Promise<Room> {
  await node.close()
  const again = await create(t, testnet, { storage, now, pruneInterval: 3_600_000 })
  return again.rooms[0]!
}

test('a message stamped a year ahead takes the time the reader first verified it, keeps it across a restart, and expires a TTL later', async (t) => {
  const testnet = await createLocalTestnet(t)
  const clock = manualClock()
  const storage = await t.tmp()
  const opts = { now: clock.now, pruneInterval: 3_600_000 }
  const reader = await create(t, testnet, { storage, ...opts })
  const liar = await create(t, testnet, opts)
  const rr = await reader.join('ahead')
  const rl = await liar.join('ahead')

  const first = receive(rr, ['before'])
  await rl.send('before')
  await first

  clock.advance(60_000)
  const verifiedAt = clock.now()
  const arrived = receive(rr, ['from the future'])
  const index = await appendStamped(rl, 'from the future', verifiedAt + YEAR)
  const [future] = await arrived
  t.is(future!.timestamp, verifiedAt, 'shown at the time the reader first verified it')

  clock.advance(60_000)
  const next = receive(rr, ['after'])
  await rl.send('after')
  await next
  const before = await rr.messages()
  t.alike(before.map((m) => m.text), ['before', 'from the future', 'after'], 'it cannot pin itself below newer messages')

  await stored(t, rr, rl)
  clock.advance(DAY)
  const again = await restart(t, testnet, reader, storage, clock.now)
  const after = await again.messages()
  t.alike(after.map((m) => m.id), before.map((m) => m.id), 'the same place after a restart')
  t.is(after.find((m) => m.id === future!.id)?.timestamp, verifiedAt, 'the same time after a restart')

  const core = feedOf(again, outbox(rl).own.key).core
  clock.advance(verifiedAt + 7 * DAY - 1 - clock.now())
  await again.prune()
  t.ok(await core.has(index), 'kept until a TTL has passed since it was first verified')
  t.alike((await again.messages()).map((m) => m.text), ['from the future', 'after'])

  clock.advance(1)
  await again.prune()
  t.alike((await again.messages()).map((m) => m.text), ['after'], 'gone from memory a TTL after it was first verified')
  t.absent(await core.has(index), 'and from disk')
  t.ok(await core.has(index + 1), 'the newer block stays')
})

test('the order of the timeline is the same after a restart, with stamps ahead and behind', async (t) => {
  const testnet = await createLocalTestnet(t)
  const clock = manualClock()
  const storage = await t.tmp()
  const opts = { now: clock.now, pruneInterval: 3_600_000 }
  const reader = await create(t, testnet, { storage, ...opts })
  const honest = await create(t, testnet, opts)
  const liar = await create(t, testnet, opts)
  const rr = await reader.join('order')
  const rh = await honest.join('order')
  const rl = await liar.join('order')
  const start = clock.now()

  let got = receive(rr, ['a1'])
  await rh.send('a1')
  await got
  clock.advance(60_000)
  got = receive(rr, ['ahead'])
  await appendStamped(rl, 'ahead', clock.now() + YEAR)
  await got
  clock.advance(60_000)
  got = receive(rr, ['behind'])
  // Back-dated within the TTL: the reader cannot know better, and files it in the past.
  await appendStamped(rl, 'behind', start - 60 * 60 * 1000)
  await got
  clock.advance(60_000)
  got = receive(rr, ['a2'])
  await rh.send('a2')
  await got
  clock.advance(60_000)
  got = receive(rr, ['l1'])
  await rl.send('l1')
  await got

  const before = await rr.messages()
  t.alike(before.map((m) => m.text), ['behind', 'a1', 'ahead', 'a2', 'l1'])
  t.is(before[0]!.timestamp, start - 60 * 60 * 1000, 'a back-dated message keeps its stamp')

  await stored(t, rr, rh)
  await stored(t, rr, rl)
  clock.advance(60 * 60 * 1000)
  const again = await restart(t, testnet, reader, storage, clock.now)
  const after = await again.messages()
  t.alike(after.map((m) => m.id), before.map((m) => m.id), 'the same ids in the same order')
  t.alike(after.map((m) => m.timestamp), before.map((m) => m.timestamp), 'at the same times')
})

test('a block back-dated beyond the TTL is never shown, and is cleared from between live blocks', async (t) => {
  const testnet = await createLocalTestnet(t)
  const clock = manualClock()
  const opts = { now: clock.now, pruneInterval: 3_600_000 }
  const reader = await create(t, testnet, opts)
  const liar = await create(t, testnet, opts)
  const rr = await reader.join('stale')
  const rl = await liar.join('stale')

  let got = receive(rr, ['fresh'])
  await rl.send('fresh')
  await got
  const emitted: string[] = []
  rr.on('message', (m) => emitted.push(m.text))
  const index = await appendStamped(rl, 'long ago', clock.now() - 8 * DAY)
  got = receive(rr, ['fresher'])
  await rl.send('fresher')
  await got

  t.alike(emitted, ['fresher'], 'never emitted')
  t.alike((await rr.messages()).map((m) => m.text), ['fresh', 'fresher'], 'never returned')
  await stored(t, rr, rl)
  const core = feedOf(rr, outbox(rl).own.key).core
  t.ok(await until(async () => !(await core.has(index))), 'cleared from disk as soon as it was read')
  t.ok(await core.has(index - 1), 'the block before it stays')
  t.ok(await core.has(index + 1), 'the block after it stays')
})

test('first-verified marks: one per slot, fixed once a time rests on one, the closest merged at the cap', (t) => {
  const ttl = 200_000 // slots of 1,000 ms
  const feed = { marks: [] as LengthMark[], markOpen: false }
  t.alike(markVerified(feed, 0, 10, 10, ttl), { at: 10, changed: true }, 'a first mark is saved')
  t.alike(markVerified(feed, 1, 20, 20, ttl), { at: 20, changed: false }, 'within its slot the mark moves forward')
  t.alike(feed.marks, [{ time: 20, length: 2 }])
  t.is(effectiveTime(10, firstVerified(feed.marks, 0)), 10, 'which changes no honest time')

  t.alike(markVerified(feed, 2, 1e12, 30, ttl), { at: 30, changed: true }, 'a stamp ahead rests on the mark: fixed and saved')
  t.is(effectiveTime(1e12, 30), 30)
  t.alike(markVerified(feed, 3, 40, 40, ttl), { at: 40, changed: true }, 'so the next block starts a new one')
  t.alike(feed.marks, [{ time: 30, length: 3 }, { time: 40, length: 4 }])
  t.alike(markVerified(feed, 1, 20, 50, ttl), { at: 30, changed: false }, 'a block read again keeps its time')
  t.alike(markVerified(feed, 4, 1500, 1500, ttl), { at: 1500, changed: true }, 'a new slot, a new mark')
  t.alike(markVerified(feed, 9, 0, 1000, ttl).at, 1500, 'marks never go back in time, even if the clock does')
  t.is(firstVerified(feed.marks, 10), null, 'a block never verified has no time of its own')
  t.is(effectiveTime(7, null), 7)

  const restored = { marks: [{ time: 100, length: 1 }], markOpen: false }
  t.alike(markVerified(restored, 1, 150, 150, ttl), { at: 150, changed: true }, 'a restored mark is never moved')

  const times = Array.from({ length: MAX_LENGTH_MARKS }, (_, i) => i * 1000 + (i === 100 ? 999 : 0))
  const full = { marks: times.map((time, i) => ({ time, length: i + 1 })), markOpen: false }
  markVerified(full, MAX_LENGTH_MARKS, 0, MAX_LENGTH_MARKS * 1000, ttl)
  t.is(full.marks.length, MAX_LENGTH_MARKS, 'the cap holds')
  t.is(firstVerified(full.marks, 100), 101_000, 'the two closest marks became the later one')
  t.is(firstVerified(full.marks, 99), 99_000, 'the others are untouched')
  t.is(firstVerified(full.marks, MAX_LENGTH_MARKS), MAX_LENGTH_MARKS * 1000)
})
