// Issue 11: a core replicates with its writer alone while the writer is online (every member
// already has its blocks from the writer, so members need not tell each other they have them);
// when the writer goes, members take its core from each other, and a newcomer gets its history
// from them. Hostile members: one that replays the writer's presence is not taken for the
// writer, and one that closes every session of a core makes this node open it again at most
// once a second.
import test from 'brittle'
import type { Backspace, Room } from '../lib/index.js'
import type { Presence } from '../lib/messages.js'
import { create, createLocalTestnet, receive, until, waitForPeers } from './helpers/index.js'

interface Channel {
  stream: { remotePublicKey: Buffer }
  device: Buffer | null
  sendPresence(p: Presence): void
}
interface Internals {
  outbox: { own: { key: Buffer } }
  writers: { get(hex: string): { core: { peers: Array<{ remotePublicKey: Buffer }> } } | undefined }
  channels: Iterable<Channel>
  roster: { onPresence(p: Presence, channel: Channel): void }
  live: { counts: { forwarded: number } }
}
const internals = (room: Room) => room as unknown as Internals
const swarmKey = (node: Backspace) => (node as unknown as { swarm: { keyPair: { publicKey: Buffer } } }).swarm.keyPair.publicKey

// The peers (swarm keys, hex) with which `reader` replicates `writer`'s core.
function sessions(reader: Room, writer: Room): string[] {
  const feed = internals(reader).writers.get(internals(writer).outbox.own.key.toString('hex'))
  return feed ? feed.core.peers.map((p) => p.remotePublicKey.toString('hex')).sort() : []
}

test('topology: a core replicates with its writer alone while it is online, and among members once it is gone', async (t) => {
  const testnet = await createLocalTestnet(t)
  const [a, b, c] = await Promise.all([create(t, testnet), create(t, testnet), create(t, testnet)])
  const [ra, rb, rc] = [await a.join('mesh'), await b.join('mesh'), await c.join('mesh')]
  await Promise.all([waitForPeers(ra, 2), waitForPeers(rb, 2), waitForPeers(rc, 2)])
  const hello = ['hi from a', 'hi from b', 'hi from c']
  const got = [ra, rb, rc].map((r) => receive(r, hello))
  await Promise.all([ra.send(hello[0]!), rb.send(hello[1]!), rc.send(hello[2]!)])
  await Promise.all(got)

  const hex = (n: Backspace) => swarmKey(n).toString('hex')
  const rooms = [ra, rb, rc]
  const nodes = [a, b, c]
  await until(rb, 'message', () =>
    rooms.every((reader, i) => rooms.every((writer, j) => i === j || sessions(reader, writer).join() === hex(nodes[j]!)))
  )
  t.pass('each member replicates each other core with its writer alone')
  t.alike(sessions(ra, ra), [hex(b), hex(c)].sort(), 'a writer replicates its own core with every member')

  // Nobody passes a live frame on to a member connected to its writer.
  const forwarded = () => internals(rb).live.counts.forwarded + internals(rc).live.counts.forwarded
  const before = forwarded()
  const texts = Array.from({ length: 10 }, (_, i) => `live ${i}`)
  const all = [receive(rb, texts), receive(rc, texts)]
  for (const text of texts) await ra.send(text)
  await Promise.all(all)
  t.is(forwarded() - before, 0, 'no live frame was passed on in a full mesh')

  // The writer goes: b and c take its core from each other, and a newcomer gets its history.
  await a.close()
  await until(rb, 'peer-remove', () => sessions(rb, ra).join() === hex(c) && sessions(rc, ra).join() === hex(b))
  t.pass('with the writer gone, the members replicate its core with each other')
  const d = await create(t, testnet)
  const rd = await d.join('mesh')
  const want = [hello[0]!, ...texts]
  for (;;) {
    const page = await rd.messages({ limit: 50 })
    if (want.every((x) => page.some((m) => m.text === x))) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.pass("a newcomer got the departed writer's history from the members")
})

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
  const hostile = rm as unknown as { topology: { close(): void }; writers: { get(hex: string): { core: HostileCore } | undefined } }
  hostile.topology.close()
  const core = hostile.writers.get(aHex)!.core
  core.on('peer-add', (peer) => peer.channel.close())
  // Wait for b to have opened it on m (a's channel closed), then close what is open.
  await new Promise((resolve) => setTimeout(resolve, 300))
  for (const peer of [...core.peers]) peer.channel.close()
  const counts = (internals(rb) as unknown as { topology: { counts: { opened: number } } }).topology.counts
  const before = counts.opened
  const ms = 3500
  await new Promise((resolve) => setTimeout(resolve, ms))
  const opens = counts.opened - before
  t.comment(`b opened a's core on m ${opens} times in ${ms} ms`)
  t.ok(opens >= 1, 'b keeps asking for the core it needs')
  t.ok(opens <= Math.ceil(ms / 1000) + 1, 'at most once a second')
  t.is((await rb.messages({ limit: 5 })).filter((msg) => msg.text === 'from a').length, 1, "b keeps a's message")
})
