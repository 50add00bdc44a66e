// Hostile members against the replication topology (lib/room/topology.ts): a member that
// replays the writer's presence is not taken for the writer; one that closes every session of
// a core makes this node open it again at most once a second; one that floods presence costs
// one placement check per 50 ms, not one per message.
import test from 'brittle'
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
