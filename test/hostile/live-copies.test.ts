// Live copies against a hostile member (issue 11; lib/room/live-store.ts). A member stores a
// block it was shown live from the frame's copy and clear bytes, verified by Hypercore against
// the writer's signed tree. The clear bytes are not covered by the block's signature, so a
// member passing a frame on can change them: the victim still shows the writer's message (its
// signature holds), but must never store anything but the writer's block, byte for byte; it
// downloads that instead. Over real Hyperswarm connections on a local testnet.
import test from 'brittle'
import type { Room } from '../../lib/index.js'
import { randomBytes } from '../../lib/crypto.js'
import type { LiveBlock as LiveFrame } from '../../lib/messages.js'
import { create, createLocalTestnet, receive, waitForPeers } from '../helpers/index.js'

interface Channel {
  device: Buffer | null
  sendLive(l: LiveFrame): void
}
interface Internals {
  ctx: { device: { keyPair: { publicKey: Buffer } } }
  outbox: { own: { key: Buffer; core: { length: number } } }
  channels: Iterable<Channel>
  live: {
    counts: { storedLive: number; fetchedAfterLive: number; received: number }
    receive(l: LiveFrame, from: unknown): void
    send(key: Buffer, index: number, blocks: Buffer[], records: number[], paddings: Buffer[] | null): boolean
  }
  writers: { get(hex: string): { seen: number; unconfirmed: Map<number, unknown>; core: RawCore } | undefined }
}
interface RawCore {
  length: number
  has(i: number): Promise<boolean>
  get(i: number, o: object): Promise<Buffer | null>
}
const internals = (room: Room) => room as unknown as Internals

test('a member that changes the clear bytes of live frames it passes on makes the victim download, never store its copy', async (t) => {
  const testnet = await createLocalTestnet(t)
  const [w, h, v] = await Promise.all([create(t, testnet), create(t, testnet), create(t, testnet)])
  const rw = await w.join('clear bytes')
  const rh = await h.join('clear bytes')
  const rv = await v.join('clear bytes')
  await Promise.all([rw, rh, rv].map((r) => waitForPeers(r, 2)))
  const warm = [rh, rv].map((r) => receive(r, ['warm']))
  await rw.send('warm')
  await Promise.all(warm)
  const key = internals(rw).outbox.own.key.toString('hex')
  const own = internals(rw).outbox.own
  // The warm-up's block stored at the victim (from its live copy) before anything is counted.
  const settled = async (): Promise<void> => {
    for (;;) {
      const feed = internals(rv).writers.get(key)
      if (feed && feed.seen >= own.core.length && feed.unconfirmed.size === 0 && (await feed.core.has(own.core.length - 1))) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  await settled()

  // The writer's live frames reach the victim only through the hostile member, which passes
  // each on at once with other clear bytes (and keeps the real ones from itself).
  const victimDevice = internals(rv).ctx.device.keyPair.publicKey
  const writerLive = internals(rw).live
  const send = writerLive.send.bind(writerLive)
  const toVictim: Channel[] = []
  for (const channel of internals(rw).channels) if (channel.device?.equals(victimDevice)) toVictim.push(channel)
  writerLive.send = (key, index, blocks, records, paddings) => {
    // Sent on every channel but the victim's: its channels are swapped out for the call.
    const channels = (internals(rw).channels as unknown as { channels: Set<Channel> }).channels
    for (const c of toVictim) channels.delete(c)
    try {
      return send(key, index, blocks, records, paddings)
    } finally {
      for (const c of toVictim) channels.add(c)
    }
  }
  const hostileLive = internals(rh).live
  const writerKey = internals(rw).outbox.own.key
  let forged = 0
  hostileLive.receive = (l) => {
    if (!l.key.equals(writerKey)) return
    for (const channel of internals(rh).channels) {
      if (!channel.device?.equals(victimDevice)) continue
      channel.sendLive({ ...l, padding: randomBytes(8), hops: 1 })
      forged++
    }
  }

  const victim = internals(rv).live
  const before = { stored: victim.counts.storedLive, fetched: victim.counts.fetchedAfterLive }
  const N = 5
  for (let i = 0; i < N; i++) {
    const got = receive(rv, [`m${i}`])
    await rw.send(`m${i}`)
    await got
  }
  t.ok(forged >= N, `the hostile member passed on ${forged} frames with other clear bytes`)
  t.pass('the victim shows the writer\'s messages: their signatures hold')

  // Every block ends up on the victim's disk as the writer appended it.
  await settled()
  const feed = internals(rv).writers.get(key)!
  const writerCore = (rw as unknown as { writers: Internals['writers'] }).writers.get(key)!.core
  for (let i = 0; i < own.core.length; i++) {
    if (!(await feed.core.has(i))) continue
    t.alike(await feed.core.get(i, { raw: true }), await writerCore.get(i, { raw: true }), `block ${i} is the writer's, byte for byte`)
  }
  t.is(victim.counts.storedLive, before.stored, 'no copy with changed clear bytes was stored')
  t.ok(victim.counts.fetchedAfterLive - before.fetched >= N, 'each was downloaded instead')

  // And live delivery goes on once the writer sends to the victim again.
  writerLive.send = send
  const after = receive(rv, ['after'])
  await rw.send('after')
  await after
  t.pass('live delivery still works')
})
