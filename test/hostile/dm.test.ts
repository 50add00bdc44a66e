// Hostile peers against the social layer: forged and misaddressed requests in an inbox, a
// modified client that floods a DM past the rate limit, a third member who wants to read a DM.
import test from 'brittle'
import b4a from 'b4a'
import c from 'compact-encoding'
import { create, createLocalTestnet, once, receive } from '../helpers/index.js'
import { until as untilEvent } from '../helpers/index.js'
import { scan } from '../helpers/scan.js'
import { startRelay } from '../helpers/relay-process.js'
import { DEFAULT_RATE, type Backspace, type FriendRequest, type Room } from '../../lib/index.js'
import { randomBytes } from '../../lib/crypto.js'
import { MessageType, type MessageRecord } from '../../lib/messages.js'
import { friendRequest, signRequest } from '../../lib/social/codecs.js'
import { deriveDmSecret, inboxEpoch, inboxSecret, sealTo } from '../../lib/social/keys.js'

async function until(node: Backspace, ok: () => boolean): Promise<void> {
  await untilEvent(node, 'friend-update', ok)
}

async function befriend(a: Backspace, b: Backspace): Promise<[Room, Room]> {
  const arrived = once<[FriendRequest]>(b, 'friend-request')
  await a.friends.request(b.publicKey, 'hi')
  const bDm = await (await arrived)[0].accept()
  await until(a, () => a.friends.list().some((f) => f.key.equals(b.publicKey)))
  return [await a.dm(b.publicKey), bDm]
}

// A room in `to`'s inbox, written as an anonymous writer of `attacker` (as a sender's client does).
async function inboxOf(attacker: Backspace, to: Buffer): Promise<Room> {
  const social = (attacker as unknown as { social_: { inboxRoom(s: Buffer, salt: Buffer, e: undefined): Room; outboxes: Map<string, Room> } }).social_
  const room = social.inboxRoom(inboxSecret(to, inboxEpoch(attacker.now())), randomBytes(32), undefined)
  // Held where the node attaches rooms to new connections.
  social.outboxes.set(to.toString('hex'), room)
  await room.ready()
  return room
}

test('hostile: forged, misaddressed and foreign-sealed requests are dropped and counted; a real one still arrives', async (t) => {
  const testnet = await createLocalTestnet(t)
  const ann = await create(t, testnet)
  const bob = await create(t, testnet)
  const carol = await create(t, testnet)
  const mallory = await create(t, testnet)
  let shown = 0
  bob.on('friend-request', () => shown++)
  const now = mallory.now()
  const base = { salt: randomBytes(32), timestamp: now, name: 'ann', text: 'trust me' }
  const msk = mallory.identity.secretKey
  // Claims to be ann, signed by mallory.
  const forged = signRequest({ ...base, from: ann.publicKey, to: bob.publicKey }, msk)
  // Mallory's own, addressed to carol, sealed to bob.
  const misaddressed = signRequest({ ...base, from: mallory.publicKey, to: carol.publicKey }, msk)
  // Mallory's own to bob, sealed to carol.
  const valid = signRequest({ ...base, from: mallory.publicKey, to: bob.publicKey }, msk)
  const payloads = [
    sealTo(c.encode(friendRequest, forged), bob.publicKey)!,
    sealTo(c.encode(friendRequest, misaddressed), bob.publicKey)!,
    sealTo(c.encode(friendRequest, valid), carol.publicKey)!,
    randomBytes(200)
  ]
  const room = await inboxOf(mallory, bob.publicKey)
  for (const payload of payloads) await room.appendRecord({ type: MessageType.FRIEND_REQUEST, text: '', payload })
  await until(bob, () => bob.socialStats.rejected >= 4)
  t.is(bob.socialStats.rejected, 4, 'all four are counted')
  t.is(shown, 0, 'none is shown')

  const real = once<[FriendRequest]>(bob, 'friend-request')
  await ann.friends.request(bob.publicKey, 'the real ann')
  const [req] = await real
  t.alike(req.from, ann.publicKey)
  t.is(req.text, 'the real ann')
})

test('hostile: a modified client floods a DM past the rate limit; the reader drops and counts', async (t) => {
  const testnet = await createLocalTestnet(t)
  const mallory = await create(t, testnet, { rateLimit: DEFAULT_RATE })
  const bob = await create(t, testnet, { rateLimit: DEFAULT_RATE })
  const [malDm, bobDm] = await befriend(mallory, bob)
  // Past the sender's check: straight to the outbox, all at one instant.
  const outbox = (malDm as unknown as { outbox: { enqueue(r: MessageRecord): Promise<unknown>; stamp(): number } }).outbox
  const total = 40
  const stamp = outbox.stamp()
  await Promise.all(Array.from({ length: total }, (_, i) => outbox.enqueue({ type: MessageType.TEXT, timestamp: stamp, text: `flood ${i}` })))
  let got = 0
  bobDm.on('message', () => got++)
  while (got + bobDm.stats.rateLimited < total) await Promise.race([once(bobDm, 'message'), new Promise((r) => setTimeout(r, 250))])
  t.is(got, 15, 'the reader shows the first 15')
  t.is(bobDm.stats.rateLimited, total - 15, 'and drops and counts the rest')
  const page = await bobDm.messages({ limit: 100 })
  t.is(page.filter((m) => m.text.startsWith('flood')).length, 15)
})

test('hostile: a third member cannot derive or read a DM; nothing of it reaches its disk', async (t) => {
  const testnet = await createLocalTestnet(t)
  const ann = await create(t, testnet)
  const bob = await create(t, testnet)
  const carolStorage = await t.tmp()
  const carol = await create(t, testnet, { storage: carolStorage })
  // Carol shares a room with both: she knows their keys and sees them online.
  const rooms = await Promise.all([ann, bob, carol].map((n) => n.join('commons')))
  const inRoom = receive(rooms[2]!, ['public'])
  await rooms[0]!.send('public')
  await inRoom
  const [annDm, bobDm] = await befriend(ann, bob)
  const marker = 'MARKER-' + randomBytes(8).toString('hex')
  const atBob = receive(bobDm, [marker])
  await annDm.send(marker)
  await atBob

  const contacts = (ann as unknown as { social_: { contacts: Map<string, { salt: Buffer; secret: Buffer }> } }).social_.contacts
  const entry = contacts.get(bob.publicKey.toString('hex'))!
  const guess = deriveDmSecret({ publicKey: carol.publicKey, secretKey: carol.identity.secretKey }, ann.publicKey, entry.salt)
  t.ok(guess && !b4a.equals(guess, entry.secret), 'even with the salt, carol derives another secret')
  await carol.close()
  const hits = await scan(carolStorage, new Map([['marker', b4a.from(marker)], ['dm secret', entry.secret]]))
  t.alike(hits, [], 'neither the message nor the DM secret is on her disk')
})

test('hostile: the relay holds DMs and requests without a message, a name, a DM secret or a friend list', async (t) => {
  const testnet = await createLocalTestnet(t)
  const bootstrap = `127.0.0.1:${testnet.bootstrap[0]!.port}`
  const relayStorage = await t.tmp()
  const relay = await startRelay(t, ['--serve', '--storage', relayStorage, '--bootstrap', bootstrap])
  const ann = await create(t, testnet)
  const bob = await create(t, testnet)
  await ann.setProfile({ name: 'annMARKERNAME' })
  await ann.relays.add(relay.link!)
  await bob.relays.add(relay.link!)
  const requestText = 'REQMARKER-' + randomBytes(6).toString('hex')
  const arrived = once<[FriendRequest]>(bob, 'friend-request')
  await ann.friends.request(bob.publicKey, requestText)
  const bobDm = await (await arrived)[0].accept()
  await until(ann, () => ann.friends.list().length === 1)
  const annDm = await ann.dm(bob.publicKey)
  const marker = 'DMMARKER-' + randomBytes(8).toString('hex')
  await annDm.send(marker)
  await annDm.flush()
  while (!(annDm.stats.delivered >= annDm.stats.ownBlocks && bobDm.stats.delivered >= bobDm.stats.ownBlocks)) {
    await new Promise((r) => setTimeout(r, 200))
  }
  // The relay keeps what it was asked to keep: it has fetched ann's DM core.
  await relay.status((l) => /served: [1-9]/.test(l))
  relay.child.kill('SIGTERM')
  t.is(await relay.exited, 0)
  const contacts = (ann as unknown as { social_: { contacts: Map<string, { secret: Buffer }> } }).social_.contacts
  const secret = contacts.get(bob.publicKey.toString('hex'))!.secret
  const hits = await scan(
    relayStorage,
    new Map([
      ['dm text', b4a.from(marker)],
      ['request text', b4a.from(requestText)],
      ['name', b4a.from('annMARKERNAME')],
      ['dm secret', secret],
      ['ann key', ann.publicKey],
      ['bob key', bob.publicKey]
    ])
  )
  t.alike(hits, [], 'no message, name, DM secret or identity key on the relay disk')
})

test('hostile: a keep channel with a wrong proof is refused and counted; the relay goes on', async (t) => {
  const testnet = await createLocalTestnet(t)
  const relayNode = await create(t, testnet, { relay: true })
  const link = await relayNode.serveRelay()
  const { parseRelayNodeLink } = await import('../../lib/links.js')
  const { RelayClient } = await import('../../lib/social/relay-service.js')
  const real = parseRelayNodeLink(link).secret
  // A client with the right topic but the wrong proof key: it finds the relay, proves nothing.
  const mallory = await create(t, testnet)
  // A client that found the relay's topic and channel id, but cannot make its proof.
  const wrong = new RelayClient(real, () => [{ relaySecret: randomBytes(32), admissionKey: randomBytes(32) }])
  ;(wrong as unknown as { keys: { proofKey: Buffer } }).keys = { ...wrong.keys, proofKey: randomBytes(32) }
  const swarm = (mallory as unknown as { swarm: { join(t: Buffer, o: object): { flushed(): Promise<void> }; on(e: string, f: (c: never) => void): void } }).swarm
  swarm.on('connection', (conn) => wrong.attach(conn))
  await swarm.join(wrong.keys.topic, { server: false, client: true }).flushed()
  while (relayNode.relayServerStats!.bad === 0) await new Promise((r) => setTimeout(r, 100))
  t.is(relayNode.relayServerStats!.bad, 1, 'the bad proof is counted')
  t.is(relayNode.relayServerStats!.kept, 0, 'nothing kept for a client without the link')
  t.is(relayNode.relayedRooms.length, 0)

  // A real user: still served.
  const ann = await create(t, testnet)
  await ann.relays.add(link)
  while (relayNode.relayServerStats!.kept < 2) await new Promise((r) => setTimeout(r, 100))
  t.ok(relayNode.relayedRooms.length >= 2, 'the inboxes of a real user are kept')
})

test('hostile: a relay whose quota is full refuses past it and never crashes', async (t) => {
  const testnet = await createLocalTestnet(t)
  const bootstrap = `127.0.0.1:${testnet.bootstrap[0]!.port}`
  const relay = await startRelay(t, ['--serve', '--storage', await t.tmp(), '--bootstrap', bootstrap, '--max-storage', '1M'])
  const clock = { time: Date.now() }
  const now = () => clock.time
  const ann = await create(t, testnet, { now, rateLimit: DEFAULT_RATE })
  const bob = await create(t, testnet, { now, rateLimit: DEFAULT_RATE })
  await ann.relays.add(relay.link!)
  const arrived = once<[FriendRequest]>(bob, 'friend-request')
  await ann.friends.request(bob.publicKey, 'hi')
  await (await arrived)[0].accept()
  await until(ann, () => ann.friends.list().length === 1)
  const dm = await ann.dm(bob.publicKey)
  const big = 'x'.repeat(15_000)
  // 2 MB of DM, one message a second by the DM's clock: within the rate limit, past the quota.
  for (let i = 0; i < 140; i++) {
    clock.time += 1000
    await dm.send(`${i} ${big}`)
  }
  // Past the quota the relay evicts the oldest blocks first, and holds writers back only
  // what it cannot free that way (issue 13): which of the two a run shows depends on what the
  // relay had measured when the flood came. Either is said on the status line.
  const line = await relay.status((l) => l.includes('quota is reached') || /evicted [1-9]\d* blocks/.test(l))
  t.ok(line.includes('quota is reached') || line.includes('evicted'), `the status line says so: ${line}`)
  const status = await relay.status((l) => l.startsWith('relay  peers'))
  t.ok(status.includes('of 1.0 MB') || status.includes('of 1 MB') || /of 1(\.0)? MB/.test(status), `status: ${status}`)
  t.is(relay.child.exitCode, null, 'the relay is still running')
  relay.child.kill('SIGTERM')
  t.is(await relay.exited, 0)
})
