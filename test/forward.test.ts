// Issue 11: live blocks reach members not directly connected to their writer. A member passes
// a live block it verified on, once, to a few others; on a forced chain A - B - C (A and C
// firewalled from each other), C gets A's messages live through B and stores them without a
// download.
import test from 'brittle'
import type { Room } from '../lib/index.js'
import { create, createLocalTestnet, receive, until, waitForPeers } from './helpers/index.js'
import { firewall, swarmKey } from './helpers/topology.js'

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
