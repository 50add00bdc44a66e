// Expiry floors heard from peers (writer announcements) against members, joiners and relays:
// a lie may never hide a writer's messages, be saved, or make a relay delete anything.
import test, { type Test } from 'brittle'
import c from 'compact-encoding'
import { randomBytes } from 'crypto'
import { seal } from '../../lib/crypto.js'
import { announcement, type WriterAnnouncement } from '../../lib/messages.js'
import type { Backspace, RelayedRoom, Room } from '../../lib/index.js'
import { create, createLocalTestnet, once, receive, waitForPeers, type Testnet } from '../helpers/index.js'

// A hostile member's modified client: it seals whatever announcement it likes with the
// channel key, which every member and every holder of the relay link has.
interface Internals {
  channels: Iterable<{ message: { send(b: Buffer): void } }>
  keys: { channelKey: Buffer }
}

function announceRaw(room: Room, writers: WriterAnnouncement[]): void {
  const { channels, keys } = room as unknown as Internals
  for (const channel of channels) channel.message.send(seal(c.encode(announcement, { writers }), keys.channelKey))
}

type Core = { length: number; has(i: number): Promise<boolean>; on(e: string, f: Function): void; off(e: string, f: Function): void }
type FeedView = { key: Buffer; local: boolean; core: Core; start: number; seen: number; storedFrom: number }

function feedOf(room: Room | RelayedRoom, key: Buffer): FeedView {
  return (room as unknown as { writers: { get(hex: string): FeedView | undefined } }).writers.get(key.toString('hex'))!
}

async function stored(core: Core, from: number, to: number): Promise<number> {
  let n = 0
  for (let i = from; i < to; i++) if (await core.has(i)) n++
  return n
}

// Polls, because a relay emits nothing when an announcement arrives.
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((resolve) => setTimeout(resolve, 20))
}

const HUGE = 2 ** 40

async function restart(t: Test, testnet: Testnet, node: Backspace, storage: string) {
  await node.close()
  const again = await create(t, testnet, { storage })
  return { node: again, room: again.rooms[0]! }
}

test('a lying expiry floor hides no new message from a reader or a joiner, and is not saved', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const readerStorage = await t.tmp()
  const reader = await create(t, testnet, { storage: readerStorage })
  const liar = await create(t, testnet)
  const ra = await a.join('floors')
  const rr = await reader.join('floors')
  const rx = await liar.join('floors')
  const early = ['a1', 'a2']
  const atReader = receive(rr, early)
  const atLiar = receive(rx, [...early, 'r hello'])
  for (const text of early) await ra.send(text)
  await rr.send('r hello')
  await atReader
  await atLiar
  const aKey = ra.writerKey

  // The liar's own first message teaches the reader its core; its next ones then come live,
  // on the same channel right after the lie, so they mark that the lie was heard.
  const xHello = receive(rr, ['x hello'])
  await rx.send('x hello')
  await xHello
  const lie = [{ key: aKey, length: HUGE, start: HUGE }]
  announceRaw(rx, lie)
  const heard = receive(rr, ['x after the lie'])
  await rx.send('x after the lie')
  await heard
  const atReaderLater = receive(rr, ['a3'])
  await ra.send('a3')
  await atReaderLater
  t.pass('a message written after the lie reaches the reader')

  // A joiner, told the same lie as it arrives, and again once it has read the writer.
  const joinerStorage = await t.tmp()
  const joiner = await create(t, testnet, { storage: joinerStorage })
  rx.on('peer-add', () => announceRaw(rx, lie))
  const rj = await joiner.join('floors')
  await receive(rj, [...early, 'a3', 'x hello'])
  t.pass('the joiner reads the writer\'s history')
  announceRaw(rx, lie)
  const heardByJoiner = receive(rj, ['x again'])
  await rx.send('x again')
  await heardByJoiner

  const both = [receive(rr, ['a4']), receive(rj, ['a4'])]
  await ra.send('a4')
  await Promise.all(both)
  t.pass('a message written after the lie reaches the reader and the joiner')

  for (const room of [rr, rj]) {
    const feed = feedOf(room, aKey)
    // a4 came live; its Hypercore copy follows, and is what a restart reads.
    await until(() => feed.seen >= 4)
    t.ok(feed.start === 0 && feed.seen === 4 && feed.storedFrom === 0, `nothing moved past what was verified (start ${feed.start}, seen ${feed.seen})`)
  }

  // After a restart they read what they saved, not the lie.
  const r2 = await restart(t, testnet, reader, readerStorage)
  const j2 = await restart(t, testnet, joiner, joinerStorage)
  await waitForPeers(r2.room)
  await waitForPeers(j2.room)
  const later = [receive(r2.room, ['a5']), receive(j2.room, ['a5'])]
  await ra.send('a5')
  await Promise.all(later)
  for (const room of [r2.room, j2.room]) {
    const texts = (await room.messages()).filter((m) => m.author.equals(a.publicKey)).map((m) => m.text)
    t.alike(texts, ['a1', 'a2', 'a3', 'a4', 'a5'], 'every message of the writer is there after a restart')
  }
})

test('a false floor within the core is checked and dropped, and the history it hid is read', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const liar = await create(t, testnet)
  const ra = await a.join('checked')
  const rx = await liar.join('checked')
  const atLiar = receive(rx, ['b1', 'b2'])
  await ra.send('b1')
  await ra.send('b2')
  await atLiar
  const aKey = ra.writerKey
  // The writer goes offline; the liar is the joiner's only peer, and tells it, before the
  // joiner has read anything of the writer, that all of the writer's blocks expired.
  await a.close()
  rx.on('peer-add', () => announceRaw(rx, [{ key: aKey, length: 2, start: 2 }]))
  const joiner = await create(t, testnet)
  const rj = await joiner.join('checked')
  await receive(rj, ['b1', 'b2'])
  t.pass('block 1 was fetched, found alive, and the blocks below the lie were read')
  const feed = feedOf(rj, aKey)
  t.is(feed.start, 0, 'no floor was adopted')
  t.alike((await rj.messages()).map((m) => m.text), ['b1', 'b2'])
})

test('a relay told a lying floor deletes nothing unexpired and keeps fetching', async (t) => {
  const testnet = await createLocalTestnet(t)
  const relay = await create(t, testnet, { relay: true })
  const a = await create(t, testnet)
  const ra = await a.createRoom({ name: 'kept' })
  const kept = await relay.keep(ra.relayLink)
  const texts = Array.from({ length: 12 }, (_, i) => `kept ${i}`)
  for (const text of texts) await ra.send(text)
  await ra.flush()
  await waitForPeers(ra)
  const aKey = ra.writerKey
  const feed = feedOf(kept, aKey)
  // Waits until the relay holds all twelve blocks.
  const downloaded = () => stored(feed.core, 0, 12).then((n) => n === 12)
  while (!(await downloaded())) await once(feed.core as never, 'download')

  const liar = await create(t, testnet)
  const rx = await liar.join(ra.invite)
  await receive(rx, texts)
  while (kept.stats.peers < 2) await new Promise((resolve) => setTimeout(resolve, 20))
  const bad = kept.stats.badAnnouncements
  announceRaw(rx, [{ key: aKey, length: HUGE, start: HUGE }])
  announceRaw(rx, [{ key: aKey, length: 12, start: 12 }])
  // Garbage after the lies, on the same channel: once counted, the lies were heard.
  for (const channel of (rx as unknown as Internals).channels) channel.message.send(randomBytes(64))
  await until(() => kept.stats.badAnnouncements > bad)

  await kept.prune()
  t.is(await stored(feed.core, 0, 12), 12, 'all twelve unexpired blocks are still held')
  t.is(kept.stats.pruned, 0)
  t.is(feed.start, 0)

  const next = new Promise<void>((resolve) => {
    const on = (index: number) => {
      if (index !== 12) return
      feed.core.off('download', on)
      resolve()
    }
    feed.core.on('download', on)
  })
  await ra.send('kept 12')
  await next
  t.pass('the relay fetches the writer\'s next block')
  await kept.prune()
  t.is(await stored(feed.core, 0, 13), 13)
})
