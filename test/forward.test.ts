// Issue 11: live blocks reach members not directly connected to their writer. A member passes
// a live block it verified on, once, to a few others; on a forced chain A - B - C (A and C
// firewalled from each other), C gets A's messages live through B and stores them without a
// download.
import test from 'brittle'
import type { Backspace, Room } from '../lib/index.js'
import { create, createLocalTestnet, receive, until, waitForPeers } from './helpers/index.js'
import { allowOnly, firewall, swarmKey } from './helpers/topology.js'

interface Internals {
  outbox: { own: { key: Buffer; core: { length: number } } }
  writers: {
    get(hex: string):
      | {
          seen: number
          owner: Buffer | null
          unconfirmed: Map<number, unknown>
          core: { length: number; peers: Array<{ remotePublicKey: Buffer }>; on(e: 'download', fn: () => void): void }
        }
      | undefined
  }
  live: { counts: { storedLive: number; forwarded: number; received: number } }
}
const internals = (room: Room) => room as unknown as Internals


async function settled(reader: Room, writer: Room): Promise<void> {
  const key = internals(writer).outbox.own.key.toString('hex')
  const length = internals(writer).outbox.own.core.length
  for (;;) {
    const feed = internals(reader).writers.get(key)
    if (feed && feed.seen >= length && feed.unconfirmed.size === 0) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

test('a chain A - B - C: C gets A\'s messages live through B, and downloads none', async (t) => {
  const testnet = await createLocalTestnet(t)
  const [a, b, c] = await Promise.all([create(t, testnet), create(t, testnet), create(t, testnet)])
  firewall(a, c)
  const ra = await a.join('chain')
  const rb = await b.join('chain')
  const rc = await c.join('chain')
  await Promise.all([waitForPeers(ra, 1), waitForPeers(rb, 2), waitForPeers(rc, 1)])
  t.is(ra.stats.peers, 1, 'A is connected to B only')
  t.is(rc.stats.peers, 1, 'C is connected to B only')

  // The first block comes through Hypercore, by way of B: C learns who signs A's core.
  const warm = receive(rc, ['warm'])
  await ra.send('warm')
  await warm
  await settled(rc, ra)

  // B takes A's core from A alone once it knows A signs it, and serves it to C, who needs it
  // from B (lib/room/topology.ts); wait for that to settle.
  const aHex = internals(ra).outbox.own.key.toString('hex')
  const servesC = () => {
    const atB = internals(rb).writers.get(aHex)
    return atB !== undefined && atB.owner !== null && atB.core.peers.some((p) => p.remotePublicKey.equals(swarmKey(c)))
  }
  await until(rb, 'message', servesC)
  await new Promise((resolve) => setTimeout(resolve, 300))
  await until(rb, 'message', servesC)
  const feed = internals(rc).writers.get(aHex)!
  let downloads = 0
  feed.core.on('download', () => downloads++)
  const before = { stored: internals(rc).live.counts.storedLive, forwarded: internals(rb).live.counts.forwarded }
  const N = 10
  for (let i = 0; i < N; i++) {
    const got = receive(rc, [`hop ${i}`])
    await ra.send(`hop ${i}`)
    await got
  }
  await settled(rc, ra)
  const stored = internals(rc).live.counts.storedLive - before.stored
  const forwarded = internals(rb).live.counts.forwarded - before.forwarded
  t.comment(`per ${N} messages: B passed on ${forwarded} frames; C stored ${stored} from live copies, downloaded ${downloads}`)
  t.ok(forwarded >= N && forwarded <= N, 'B passed each block on once (its one other member)')
  t.ok(stored >= N - 2, 'C stored the blocks it got through B, verified by Hypercore')
  t.ok(downloads <= 2, 'C downloaded (almost) nothing')
  t.alike((await rc.messages({ limit: N + 1 })).map((m) => m.text), ['warm', ...Array.from({ length: N }, (_, i) => `hop ${i}`)])
})

test('a star: B passes each of A\'s blocks on to every member who takes A\'s core from it', async (t) => {
  // A - B, and four members connected to B alone: each counts on B for A's core. Passed on to
  // three of them at random, one in four missed every frame and downloaded the block.
  const testnet = await createLocalTestnet(t)
  const [a, b, ...cs] = (await Promise.all(Array.from({ length: 6 }, () => create(t, testnet)))) as [Backspace, Backspace, ...Backspace[]]
  allowOnly(a, [b])
  for (const c of cs) allowOnly(c, [b])
  const ra = await a.join('star')
  const rb = await b.join('star')
  const rcs = await Promise.all(cs.map((c) => c.join('star')))
  await Promise.all([waitForPeers(ra, 1), waitForPeers(rb, 5), ...rcs.map((r) => waitForPeers(r, 1))])
  t.is(rb.stats.peers, 5, 'B is connected to everyone')
  t.ok(rcs.every((r) => r.stats.peers === 1), 'the others to B alone')

  const warm = rcs.map((r) => receive(r, ['warm']))
  await ra.send('warm')
  await Promise.all(warm)
  await Promise.all(rcs.map((r) => settled(r, ra)))
  // B serves A's core to all four, who opened it there, once they know A signs it.
  const aHex = internals(ra).outbox.own.key.toString('hex')
  const topology = (rb as unknown as { topology: { openedHere(feed: unknown, channel: unknown): boolean } }).topology
  const channels = (rb as unknown as { channels: Iterable<{ stream: { remotePublicKey: Buffer } }> }).channels
  const servesAll = () => {
    const atB = internals(rb).writers.get(aHex)
    if (atB === undefined || atB.owner === null) return false
    const sessions = atB.core.peers.map((p) => p.remotePublicKey)
    const served = [...channels]
      .filter((ch) => sessions.some((k) => k.equals(ch.stream.remotePublicKey)) && !topology.openedHere(atB, ch))
      .map((ch) => ch.stream.remotePublicKey)
    return cs.every((c) => served.some((k) => k.equals(swarmKey(c))))
  }
  while (!servesAll()) await new Promise((resolve) => setTimeout(resolve, 20))
  const feeds = rcs.map((r) => internals(r).writers.get(aHex)!)
  let downloads = 0
  for (const feed of feeds) feed.core.on('download', () => downloads++)
  const before = { received: rcs.map((r) => internals(r).live.counts.received), forwarded: internals(rb).live.counts.forwarded }
  const N = 8
  for (let i = 0; i < N; i++) {
    const got = rcs.map((r) => receive(r, [`star ${i}`]))
    await ra.send(`star ${i}`)
    await Promise.all(got)
  }
  await Promise.all(rcs.map((r) => settled(r, ra)))
  const received = rcs.map((r, i) => internals(r).live.counts.received - before.received[i]!)
  const forwarded = internals(rb).live.counts.forwarded - before.forwarded
  t.comment(`per ${N} messages: B passed on ${forwarded} frames; each member got ${received.join(', ')} live; ${downloads} downloads in all`)
  t.is(forwarded, N * cs.length, 'B passed each block on to all four')
  t.alike(received, cs.map(() => N), 'every member got every block live')
  t.ok(downloads <= 2, 'and (almost) none was downloaded')
})
