// The live path against a member with a valid writer who sends validly signed blocks that
// Hypercore never confirms (far ahead of its core, stuffed with records, or never stored),
// blocks whose signature does not verify, and blocks changed by a member who passes them on.
import test, { type Test } from 'brittle'
import b4a from 'b4a'
import { MessageType } from '../../lib/messages.js'
import type { Room } from '../../lib/index.js'
import { create, createLocalTestnet, once, receive, waitForPeers } from '../helpers/index.js'

interface Internals {
  outbox: {
    own: { key: Buffer; core: { length: number } }
    nextSeq: number
    signBlock(index: number, seq: number, records: Array<{ type: number; timestamp: number; text: string }>): Buffer
  }
  channels: Iterable<{ sendLive(l: { key: Buffer; index: number; block: Buffer; padding?: Buffer }): void }>
}

function internals(room: Room): Internals {
  return room as unknown as Internals
}

// Signs a block of `count` records for `index` of the room's own core, with seqs no real
// message has, and sends it live only.
let phantomSeq = 1e6
function sendPhantom(room: Room, index: number, count: number, text: string): void {
  const { outbox, channels } = internals(room)
  const now = Date.now()
  const records = Array.from({ length: count }, (_, i) => ({ type: MessageType.TEXT, timestamp: now, text: `${text} ${i}` }))
  const block = outbox.signBlock(index, phantomSeq, records)
  phantomSeq += count
  for (const channel of channels) channel.sendLive({ key: outbox.own.key, index, block })
}

// A reader and a hostile member in room `name`, connected, after one real message of the member's.
async function meet(t: Test, name: string): Promise<{ rr: Room; rx: Room }> {
  const testnet = await createLocalTestnet(t)
  const reader = await create(t, testnet)
  const hostile = await create(t, testnet)
  const rr = await reader.join(name)
  const rx = await hostile.join(name)
  const hello = receive(rr, ['x hello'])
  await rx.send('x hello')
  await hello
  await waitForPeers(rx)
  return { rr, rx }
}

type FeedView = { unconfirmed: Map<number, { seq: number }> }

test('phantom live blocks far ahead of the core or stuffed with records are never shown', async (t) => {
  const { rr, rx } = await meet(t, 'phantoms')

  let shown = 0
  rr.on('message', (m) => {
    if (m.text.startsWith('phantom')) shown++
  })
  await rx.flush()
  const length = internals(rx).outbox.own.core.length
  for (let i = 0; i < 200; i++) sendPhantom(rx, 1e9 + i, 1024, 'phantom far')
  for (let i = 0; i < 3; i++) sendPhantom(rx, length + 1000 + i, 64, 'phantom ahead')
  sendPhantom(rx, length, 1024, 'phantom stuffed')

  // The member's next real message travels the same channel, after every phantom.
  const marker = receive(rr, ['x marker'])
  await rx.send('x marker')
  await marker
  t.is(shown, 0, 'no phantom record was shown')
  t.ok(rr.stats.messages <= 2, `the reader holds only the real messages (${rr.stats.messages})`)
  const feed = (rr as unknown as { writers: { get(hex: string): FeedView } }).writers.get(internals(rx).outbox.own.key.toString('hex'))
  // (The real messages may: the member's proof names its device, so they are shown live.)
  t.ok([...feed.unconfirmed.values()].every((u) => u.seq < 1e6), 'none of them waits for confirmation')
  t.alike((await rr.messages()).map((m) => m.text), ['x hello', 'x marker'])

  const honest = receive(rx, ['reader still talks'])
  await rr.send('reader still talks')
  await honest
  t.pass('live delivery still works both ways')
})

test('a live block Hypercore never confirms is withdrawn', async (t) => {
  const { rr, rx } = await meet(t, 'unconfirmed')

  // Signed for the next index of the member's core, and never stored there.
  const withdrawn = once<[{ text: string }]>(rr, 'message-withdrawn')
  const shown = receive(rr, ['never stored 0'])
  await rx.flush()
  sendPhantom(rx, internals(rx).outbox.own.core.length, 1, 'never stored')
  await shown
  const [gone] = await withdrawn
  t.is(gone.text, 'never stored 0')
  t.alike((await rr.messages()).map((m) => m.text), ['x hello'], 'only the stored message remains')
  const feed = (rr as unknown as { writers: { get(hex: string): FeedView } }).writers.get(internals(rx).outbox.own.key.toString('hex'))
  t.is(feed.unconfirmed.size, 0)
})

// A block straight from its writer's device is shown before its signature is checked (the
// connection is that device's, proved by its signed presence), and checked in the same turn.
test('a live block from its writer with a bad signature is withdrawn at once, counted, never kept, and not shown again', async (t) => {
  const { rr, rx } = await meet(t, 'bad signature')
  await rx.flush()

  const events: string[] = []
  rr.on('message', (m) => {
    if (m.text.startsWith('forged')) {
      events.push('shown')
      // Still in the turn that showed it: the check has not run yet when listeners see it...
      queueMicrotask(() => events.push(rr.message(m.id) ? 'still held' : 'gone'))
    }
  })
  rr.on('message-withdrawn', (m) => {
    if (m.text.startsWith('forged')) events.push('withdrawn')
  })
  const bad = rr.stats.badAnnouncements
  const { outbox, channels } = internals(rx)
  const index = outbox.own.core.length
  const forgedSeq = phantomSeq++
  const forged = (i: number, seq: number, text: string) => {
    const block = b4a.from(outbox.signBlock(i, seq, [{ type: MessageType.TEXT, timestamp: Date.now(), text }]))
    block[block.byteLength - 1] = block[block.byteLength - 1]! ^ 0xff // the signature's last byte
    return block
  }
  const block = forged(index, forgedSeq, 'forged 0')
  // The first is shown and withdrawn; the same again, and others like it, are never shown:
  // from then on the writer's blocks are checked first.
  const REPEAT = 50
  for (let r = 0; r < REPEAT; r++) {
    for (const channel of channels) {
      channel.sendLive({ key: outbox.own.key, index, block })
      channel.sendLive({ key: outbox.own.key, index: index + 1 + (r % 4), block: forged(index + 1 + (r % 4), phantomSeq++, `forged ${r + 1}`) })
    }
  }

  const marker = receive(rr, ['x marker'])
  await rx.send('x marker')
  await marker
  // ...and by the end of that turn it is withdrawn, before anything else could read it.
  t.alike(events, ['shown', 'withdrawn', 'gone'], 'shown once, then withdrawn in the same turn; none of the rest shown')
  t.is(rr.stats.badAnnouncements, bad + 2 * REPEAT, 'every bad block is counted')
  const feed = (rr as unknown as { writers: { get(hex: string): FeedView } }).writers.get(outbox.own.key.toString('hex'))
  t.ok(
    [...feed.unconfirmed.values()].every((u) => u.seq !== forgedSeq),
    'it waits for no confirmation: it is never stored from its live copy'
  )
  t.alike((await rr.messages()).map((m) => m.text), ['x hello', 'x marker'])
})

test('a block changed by a member who is not its writer is never shown', async (t) => {
  const testnet = await createLocalTestnet(t)
  const [w, h, v] = await Promise.all([create(t, testnet), create(t, testnet), create(t, testnet)])
  const rw = await w.join('changed')
  const rh = await h.join('changed')
  const rv = await v.join('changed')
  await Promise.all([rw, rh, rv].map((r) => waitForPeers(r, 2)))

  // The hostile member keeps the writer's live frames.
  const captured: Array<{ key: Buffer; index: number; block: Buffer; padding?: Buffer }> = []
  const live = (rh as unknown as { live: { receive(l: (typeof captured)[0], from: unknown): void } }).live
  const receiveLive = live.receive.bind(live)
  live.receive = (l, from) => {
    captured.push(l)
    receiveLive(l, from)
  }
  const got = [rh, rv].map((r) => receive(r, ['w original']))
  await rw.send('w original')
  await Promise.all(got)
  const frame = captured.find((l) => l.key.equals(internals(rw).outbox.own.key))
  t.ok(frame, 'the hostile member holds a real frame of the writer')

  let shown = 0
  rv.on('message', (m) => {
    if (m.text === 'w 0riginal') shown++
  })
  const bad = rv.stats.badAnnouncements
  // The writer's block with one letter of its text changed, for the writer's next index, as
  // if first-hand: the victim checks the signature before it shows anything.
  const block = b4a.from(frame!.block)
  const at = block.indexOf(b4a.from('original'))
  block[at] = '0'.charCodeAt(0)
  const next = internals(rw).outbox.own.core.length
  for (const channel of internals(rh).channels) channel.sendLive({ key: frame!.key, index: next, block, padding: frame!.padding })

  const marker = receive(rv, ['h marker'])
  await rh.send('h marker')
  await marker
  t.is(shown, 0, 'the changed block was not shown')
  t.ok(rv.stats.badAnnouncements > bad, 'and it was counted')
  t.alike((await rv.messages()).map((m) => m.text), ['w original', 'h marker'])
})
