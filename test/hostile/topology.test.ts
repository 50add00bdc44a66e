// Hostile members against the replication topology (lib/room/topology.ts): a member that
// replays the writer's presence is not taken for the writer; one that closes every session of
// a core makes this node open it again at most once a second; one that floods presence costs
// one placement check per 50 ms, not one per message; a writer connected to this node that
// does not serve its core on the connection does not keep its blocks from this node.
import test from 'brittle'
import Protomux from 'protomux'
import type { Presence } from '../../lib/messages.js'
import { create, createLocalTestnet, receive, until, waitForPeers } from '../helpers/index.js'
import { internals, sessions, swarmKey } from '../helpers/topology.js'

test('topology: a member replaying the writer\'s presence is not taken for the writer', async (t) => {
  const testnet = await createLocalTestnet(t)
  const [a, b, m] = await Promise.all([create(t, testnet), create(t, testnet), create(t, testnet)])
  const ra = await a.join('replay')
  const rb = await b.join('replay')
  // Keep a copy of a's presence as b gets it (signed for a's connection to b).
  let captured: Presence | null = null
  const roster = internals(rb).roster
  const original = roster.onPresence.bind(roster)
  roster.onPresence = (p, channel) => {
    if (p.author.equals(a.publicKey)) captured = p
    original(p, channel)
  }
  const rm = await m.join('replay')
  await Promise.all([waitForPeers(ra, 2), waitForPeers(rb, 2), waitForPeers(rm, 2)])
  // A profile change sends presence again: b gets (and keeps) a's.
  await a.setProfile({ name: 'ann' })
  const hello = receive(rb, ['from a', 'from m'])
  await Promise.all([ra.send('from a'), rm.send('from m')])
  await hello
  await until(rb, 'message', () => captured !== null && sessions(rb, ra).join() === swarmKey(a).toString('hex'))

  // m replays a's presence to b on its own connection.
  const toB = [...internals(rm).channels].find((ch) => ch.stream.remotePublicKey.equals(swarmKey(b)))!
  const bad = rb.stats.badAnnouncements
  toB.sendPresence(captured!)
  await until(rb, 'member-update', () => rb.stats.badAnnouncements > bad)
  t.pass('the replayed presence was refused')
  const fromM = [...internals(rb).channels].find((ch) => ch.stream.remotePublicKey.equals(swarmKey(m)))!
  const aDevice = (captured as Presence | null)!.certificate!.device
  t.ok(fromM.device !== null && !fromM.device.equals(aDevice), "b does not take m's connection for a's device")
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.is(sessions(rb, ra).join(), swarmKey(a).toString('hex'), "b still takes a's core from a alone")
})

test('topology: a member that closes every session of a core makes this node open it again at most once a second', async (t) => {
  const testnet = await createLocalTestnet(t)
  const [a, b, m] = await Promise.all([create(t, testnet), create(t, testnet), create(t, testnet)])
  const [ra, rb, rm] = [await a.join('closer'), await b.join('closer'), await m.join('closer')]
  await Promise.all([waitForPeers(ra, 2), waitForPeers(rb, 2), waitForPeers(rm, 2)])
  const got = [receive(rb, ['from a']), receive(rm, ['from a'])]
  await ra.send('from a')
  await Promise.all(got)
  const aHex = internals(ra).outbox.own.key.toString('hex')
  // a leaves: b can take a's core from m alone, and m closes every session of it at once.
  await a.close()
  interface HostileCore {
    peers: Array<{ channel: { close(): void } }>
    on(e: 'peer-add', fn: (peer: { channel: { close(): void } }) => void): void
  }
  const hostile = rm as unknown as { writers: { get(hex: string): { core: HostileCore } | undefined } }
  internals(rm).topology.close()
  const core = hostile.writers.get(aHex)!.core
  core.on('peer-add', (peer) => peer.channel.close())
  // It answers b's opens, to close them: b may never have taken a's core from m while a was
  // online (its proof names a's device, so b replicates it with a alone from the first block).
  ;(rm as unknown as { channels: { replicate(core: unknown): void } }).channels.replicate(core)
  // Wait for b to have opened it on m (a's channel closed), then close what is open.
  await new Promise((resolve) => setTimeout(resolve, 300))
  for (const peer of [...core.peers]) peer.channel.close()
  const counts = internals(rb).topology.counts
  const before = counts.opened
  const ms = 3500
  await new Promise((resolve) => setTimeout(resolve, ms))
  const opens = counts.opened - before
  t.comment(`b opened a's core on m ${opens} times in ${ms} ms`)
  t.ok(opens >= 1, 'b keeps asking for the core it needs')
  t.ok(opens <= Math.ceil(ms / 1000) + 1, 'at most once a second')
  t.is((await rb.messages({ limit: 5 })).filter((msg) => msg.text === 'from a').length, 1, "b keeps a's message")
})

test('topology: a member flooding presence costs a placement check per 50 ms, not one per message, and a row and a column each', async (t) => {
  const testnet = await createLocalTestnet(t)
  const [a, b, m] = await Promise.all([create(t, testnet), create(t, testnet), create(t, testnet)])
  const [ra, rb, rm] = [await a.join('flood'), await b.join('flood'), await m.join('flood')]
  await Promise.all([waitForPeers(ra, 2), waitForPeers(rb, 2), waitForPeers(rm, 2)])
  const hello = receive(rb, ['from a'])
  await ra.send('from a')
  await hello
  const toB = [...internals(rm).channels].find((ch) => ch.stream.remotePublicKey.equals(swarmKey(b)))!
  const roster = (rm as unknown as { roster: { sendPresence(channel: unknown): void } }).roster
  let updates = 0
  rb.on('member-update', () => updates++)
  const N = 300
  const checks = internals(rb).topology.counts.checks
  const places = internals(rb).topology.counts.places
  const full = internals(rb).topology.counts.full
  const started = Date.now()
  for (let i = 0; i < N; i++) roster.sendPresence(toB)
  await until(rb, 'member-update', () => updates >= N)
  await new Promise((resolve) => setTimeout(resolve, 200))
  const elapsed = Date.now() - started
  const ran = internals(rb).topology.counts.checks - checks
  t.comment(`${N} presences in ${elapsed} ms: ${ran} placement checks`)
  t.ok(ran <= Math.ceil(elapsed / 50) + 2, 'one check per 50 ms at most (and one per 3 s besides)')
  // A presence re-places the cores on its channel and the cores its device writes, not every
  // core on every connection: only the 3 s safety net does that.
  const looked = internals(rb).topology.counts.places - places
  const fullChecks = internals(rb).topology.counts.full - full
  t.comment(`${looked} placements looked at, ${fullChecks} full checks`)
  t.ok(fullChecks <= Math.floor(elapsed / 3000) + 1, 'no presence made b check every core on every connection')
  t.is(sessions(rb, ra).join(), swarmKey(a).toString('hex'), "b still takes a's core from a alone")
})

test('topology: a connected writer that stops serving its core on the connection does not cut a member off from it', async (t) => {
  const testnet = await createLocalTestnet(t)
  const [w, b, c] = await Promise.all([create(t, testnet), create(t, testnet), create(t, testnet)])
  const [rw, rb, rc] = [await w.join('withheld'), await b.join('withheld'), await c.join('withheld')]
  // A connection's writer gets this long to serve its core (5 s by default).
  internals(rb).topology.writerGrace = 300
  await Promise.all([waitForPeers(rw, 2), waitForPeers(rb, 2), waitForPeers(rc, 2)])
  const hello = [receive(rb, ['hello']), receive(rc, ['hello'])]
  await rw.send('hello')
  await Promise.all(hello)
  const wKey = swarmKey(w).toString('hex')
  await until(rb, 'message', () => sessions(rb, rw).join() === wKey)
  t.pass("b takes w's core from w alone")

  // w keeps its room channel to b open (presence and live frames flow on) but closes its
  // core's session there and neither opens nor answers one again: what b sees when the
  // writer's end of the connection lost the room while b's end kept it. b takes w for online.
  const topology = internals(rw).topology as unknown as { place(feed: unknown, channel: { stream: object }, ...rest: unknown[]): void }
  const toB = [...internals(rw).channels].find((ch) => ch.stream.remotePublicKey.equals(swarmKey(b)))!
  const place = topology.place.bind(topology)
  topology.place = (feed, channel, ...rest) => {
    if (channel.stream !== toB.stream) place(feed, channel, ...rest)
  }
  interface Replicated {
    core: { replicator: { detachFrom(mux: object): void } }
    peers: Array<{ stream: object; channel: { close(): void } }>
    length: number
  }
  const own = (internals(rw) as unknown as { outbox: { own: { core: Replicated } } }).outbox.own.core
  own.core.replicator.detachFrom(Protomux.from(toB.stream))
  for (const peer of [...own.peers]) if (peer.stream === toB.stream) peer.channel.close()
  await until(rb, 'message', () => sessions(rb, rw).length === 0 || sessions(rb, rw).join() === swarmKey(c).toString('hex'))

  const texts = ['one', 'two', 'three']
  const got = [receive(rb, texts), receive(rc, texts)]
  for (const text of texts) await rw.send(text)
  await Promise.all(got)
  const wHex = internals(rw).outbox.own.key.toString('hex')
  const copy = () => (internals(rb) as unknown as { writers: { get(hex: string): { core: { length: number } } | undefined } }).writers.get(wHex)
  const deadline = Date.now() + 10_000
  await until(rb, 'message', () => (copy()?.core.length ?? 0) >= own.length || Date.now() > deadline)
  t.is(copy()?.core.length, own.length, "b verified w's new blocks through Hypercore, not only their live frames")
  t.ok(!sessions(rb, rw).includes(wKey), 'no session of the core with w itself')
  t.ok(sessions(rb, rw).includes(swarmKey(c).toString('hex')), 'b takes the core from c, as if w were offline')
  t.is((await rb.messages({ limit: 10 })).filter((m) => texts.includes(m.text)).length, 3, 'b shows the three messages')
})
