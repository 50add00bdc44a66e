// Connections against memory (issue 10, finding 2): a connection costs the same whatever the
// number of cores a node holds in rooms the peer did not prove, and connections are bounded
// in number, in all and per IP address.
import test from 'brittle'
import { fork, type ChildProcess } from 'child_process'
import { fileURLToPath } from 'url'
import { DEFAULT_ROOM_DIAL_LIMIT, type Backspace, type Room } from '../../lib/index.js'
import { dialLimit } from '../../lib/network.js'
import { create, createLocalTestnet, receive, waitForPeers } from '../helpers/index.js'
import { Attacker, until, type Connection } from './attacker.js'
import { expectCode } from '../helpers/expect.js'

const CORES = 512
const ATTACKERS = 40
// Per connection: a Noise stream, its protomux and the room channels still waiting for a
// proof, about 30 KiB. When every core of every room was attached to every connection
// (`store.replicate`), this victim paid about 200 KiB per connection even though the attacker
// refused every core it was offered, and more for an attacker that answers them.
const MAX_HEAP_PER_CONNECTION = 96 * 1024

function swarmKey(node: Backspace): Buffer {
  return (node as unknown as { swarm: { keyPair: { publicKey: Buffer } } }).swarm.keyPair.publicKey
}

interface Measure {
  heap: number
  connections: number
  writers: number
}

function ask(child: ChildProcess): Promise<Measure> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as Measure))
    child.send('measure')
  })
}

test('memory per attacker connection is small, whatever the number of cores held', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const script = fileURLToPath(new URL('./victim.js', import.meta.url))
  const child = fork(script, [JSON.stringify(testnet.bootstrap), storage, String(CORES)], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  const ready = await new Promise<{ publicKey: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { publicKey: string }))
    child.once('exit', (code) => reject(new Error(`the victim exited (${code})`)))
  })
  const victimKey = Buffer.from(ready.publicKey, 'hex')
  const before = await ask(child)
  t.ok(before.writers > CORES, `the victim holds ${before.writers} cores`)

  const attacker = await Attacker.create(t, testnet)
  const conns: Array<Connection | null> = []
  for (let i = 0; i < ATTACKERS; i++) conns.push(await attacker.dial(victimKey))
  t.ok(conns.every((c) => c !== null), `${ATTACKERS} connections accepted`)
  // Each connection has been fully taken in: the victim opened its room channels on it.
  await until(() => conns.every((c) => attacker.opensOf(c!).length >= 1))
  let after = await ask(child)
  while (after.connections < ATTACKERS) after = await ask(child)
  const perConnection = (after.heap - before.heap) / ATTACKERS
  t.comment(`heap per connection: ${Math.round(perConnection / 1024)} KiB with ${after.writers} cores held`)
  t.ok(perConnection < MAX_HEAP_PER_CONNECTION, `under ${MAX_HEAP_PER_CONNECTION / 1024} KiB per connection`)
  t.is(conns.reduce((n, c) => n + attacker.opensOf(c!, 'hypercore/alpha').length, 0), 0, 'no core offered to any')

  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.send('close')
  await exited
})

test('inbound connections beyond maxPeersPerIp are refused and counted', async (t) => {
  const testnet = await createLocalTestnet(t)
  const victim = await create(t, testnet, { maxPeersPerIp: 3 })
  await victim.join('lobby')
  const attacker = await Attacker.create(t, testnet)
  for (let i = 0; i < 6; i++) await attacker.dial(swarmKey(victim))
  await until(() => victim.connections + victim.stats().refused === 6)
  t.is(victim.connections, 3, 'three from one address')
  t.is(victim.stats().refused, 3, 'the rest refused')
})

test('inbound connections beyond maxPeers are refused, and the limits are checked', async (t) => {
  const testnet = await createLocalTestnet(t)
  const victim = await create(t, testnet, { maxPeers: 4, maxPeersPerIp: 100 })
  await victim.join('lobby')
  const attacker = await Attacker.create(t, testnet)
  for (let i = 0; i < 7; i++) await attacker.dial(swarmKey(victim))
  await until(() => victim.connections + victim.stats().refused === 7)
  t.is(victim.connections, 4)
  t.is(victim.stats().refused, 3)

  const storage = await t.tmp()
  for (const bad of [0, -1, 1.5, Infinity]) {
    await expectCode(t, () => create(t, testnet, { storage, maxPeers: bad }), 'INVALID_ARGUMENT')
    await expectCode(t, () => create(t, testnet, { storage, maxPeersPerIp: bad }), 'INVALID_ARGUMENT')
  }
})

test('a newcomer to a room larger than maxPeers still reaches it: members keep slots for peers that dial them', async (t) => {
  // When a node dialled until it held maxPeers, the first maxPeers + 1 members of a room
  // became a full mesh in which everyone refused everyone else: the next member found the room
  // and never got in. A node now dials at most dialLimit(maxPeers) itself.
  const MAX = 8
  t.is(dialLimit(64), 24)
  t.is(dialLimit(MAX), 3)
  const testnet = await createLocalTestnet(t)
  const nodes: Backspace[] = []
  const rooms: Room[] = []
  const add = async (): Promise<Room> => {
    const node = await create(t, testnet, { maxPeers: MAX, maxPeersPerIp: 100 })
    const room = await node.join('crowded')
    nodes.push(node)
    rooms.push(room)
    return room
  }
  for (let i = 0; i <= MAX; i++) await add()
  // Let the first MAX + 1 members settle into their mesh (with the old dialling, a full one).
  await Promise.all(rooms.map((r) => waitForPeers(r, dialLimit(MAX))))
  const late = [await add(), await add()]
  await Promise.all(late.map((r) => waitForPeers(r, 1)))
  t.pass('both newcomers reached members of the full room')
  const hello = late.map((r) => receive(r, ['hello, crowd']))
  await rooms[0]!.send('hello, crowd')
  await Promise.all(hello)
  t.pass("the first member's message reaches the newcomers")
  t.ok(nodes.every((n) => n.connections <= MAX), 'no node holds more than maxPeers connections')
})

// What a member's lookups may still dial in `room`, and how many of its channels there are on
// connections it dialled (Hyperswarm's discovery for the topic, and the room's channels).
function dialState(node: Backspace, room: Room): { limit: number; dialled: number } {
  const swarm = (node as unknown as { swarm: { _discovery: Map<string, { limit: number }> } }).swarm
  const channels = (room as unknown as { channels: Iterable<{ stream: { isInitiator?: boolean } }> }).channels
  let dialled = 0
  for (const channel of channels) if (channel.stream.isInitiator === true) dialled++
  return { limit: swarm._discovery.get(room.topic.toString('hex'))!.limit, dialled }
}

test('a member dials at most roomDialLimit members of a room, members who dial it do not use that up, and every message reaches everyone', async (t) => {
  // Issue 11: a member of a large room held a connection to every member it found, each with
  // its buffers and replication sessions, so its memory grew with the room.
  const LIMIT = 2
  t.is(DEFAULT_ROOM_DIAL_LIMIT, 8)
  const testnet = await createLocalTestnet(t)
  const nodes: Backspace[] = []
  const rooms: Room[] = []
  for (let i = 0; i < 6; i++) {
    const node = await create(t, testnet, { roomDialLimit: LIMIT, maxPeersPerIp: 100 })
    nodes.push(node)
    rooms.push(await node.join('sparse'))
  }
  await Promise.all(rooms.map((r) => waitForPeers(r, 1)))
  // Each member's second lookup starts a second after its first one's connections were made.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const states = rooms.map((r, i) => dialState(nodes[i]!, r))
  const inbound = rooms.map((r, i) => r.stats.peers - states[i]!.dialled)
  t.comment(`dialled ${states.map((s) => s.dialled).join(', ')}; dialled by others ${inbound.join(', ')}`)
  t.ok(states.every((s) => s.dialled <= LIMIT), `no member dialled more than ${LIMIT}`)
  t.ok(
    states.every((s) => s.limit === LIMIT - s.dialled),
    'what each may still dial is its limit less what it dialled'
  )
  t.ok(inbound.some((n) => n > 0), 'members were dialled by others, which used none of their budget')
  t.ok(
    rooms.every((r) => r.stats.peers <= rooms.length - 1),
    'no member holds more channels than there are other members'
  )
  // Sent from a member connected to only some of the others: it reaches all of them.
  const sender = rooms.reduce((a, b) => (b.stats.peers < a.stats.peers ? b : a))
  const text = 'hello, sparse room'
  const heard = rooms.filter((r) => r !== sender).map((r) => receive(r, [text]))
  await sender.send(text)
  await Promise.all(heard)
  t.pass(`a member with ${sender.stats.peers} of ${rooms.length - 1} members connected reached every member`)
  await expectCode(t, () => create(t, testnet, { roomDialLimit: 0 }), 'INVALID_ARGUMENT')
})

test('a stranger that announces on a room topic and takes a member dial uses none of the room dial budget', async (t) => {
  // It cannot open the room's channel, so the connection never counts as a member dialled.
  const testnet = await createLocalTestnet(t)
  const LIMIT = 4
  const victim = await create(t, testnet, { roomDialLimit: LIMIT })
  const room = await victim.join('decoy')
  const stranger = await Attacker.create(t, testnet)
  let conn: Connection | null = null
  void stranger.nextConnection().then((c) => (conn = c))
  await stranger.swarm.join(room.topic, { server: true, client: false }).flushed()
  // The room's next lookup (Hyperswarm's own refresh, ten minutes on) finds the stranger. A
  // lookup's limit counts every announcement it passes on, this member's own included, so
  // one lookup may pass over the stranger: look again until it is dialled.
  const swarm = (victim as unknown as { swarm: { _discovery: Map<string, { refresh(): Promise<void> }> } }).swarm
  for (let i = 0; i < 30 && conn === null; i++) {
    await swarm._discovery.get(room.topic.toString('hex'))!.refresh()
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  if (conn === null) return t.fail('the member never dialled the stranger')
  t.ok((conn as Connection).isInitiator === false, 'the member dialled the stranger')
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.is(room.stats.peers, 0, 'no room channel opened with it')
  t.alike(dialState(victim, room), { limit: LIMIT, dialled: 0 }, 'the whole budget is left for members')
})

test('a connection whose peer goes silent is closed after connectionTimeout, and the peer goes offline', async (t) => {
  const testnet = await createLocalTestnet(t)
  const [a, b] = await Promise.all([create(t, testnet), create(t, testnet)])
  // The option's floor is 10 s (twice the keep-alive); the test does not wait that long: b
  // closes after 1.5 s of silence, and the two keep talking until a goes quiet.
  ;(b as unknown as { connectionTimeout: number }).connectionTimeout = 1500
  const [ra, rb] = [await a.join('quiet'), await b.join('quiet')]
  await Promise.all([waitForPeers(ra, 1), waitForPeers(rb, 1)])
  // Keep the connection busy until a goes quiet: with nothing to say for 1.5 s it would close.
  const chatter = setInterval(() => void ra.send('still here').catch(() => {}), 300)
  t.teardown(() => clearInterval(chatter))
  const hello = receive(rb, ['hello'])
  await ra.send('hello')
  await hello
  // a's end stops passing anything to b, keep-alives included, while the transport under it
  // still acknowledges b's packets: what b sees of a peer whose process hangs, or of a path
  // that lost a's end of the connection.
  const conn = [...(ra as unknown as { channels: Iterable<{ stream: { rawStream: { write(b: unknown): boolean } } }> }).channels][0]!.stream
  conn.rawStream.write = () => true
  const deadline = Date.now() + 8000
  await until(() => b.connections === 0 || Date.now() > deadline)
  t.is(b.connections, 0, 'b closed the silent connection')
  t.is(b.stats().timedOut, 1, 'and counted it')
  t.is(a.stats().timedOut, 0, 'a counted none')
  t.is(rb.stats.peers, 0, 'and no longer counts a as online in the room')

  const storage = await t.tmp()
  for (const bad of [0, 9999, 1.5, -1]) {
    await expectCode(t, () => create(t, testnet, { storage, connectionTimeout: bad }), 'INVALID_ARGUMENT')
  }
})
