// Hostile peers against the social layer: forged and misaddressed requests in an inbox, a
// modified client that floods a DM past the rate limit, a third member who wants to read a DM.
import test from 'brittle'
import b4a from 'b4a'
import c from 'compact-encoding'
import { create, createLocalTestnet, once, receive } from '../helpers/index.js'
import { until as untilEvent } from '../helpers/index.js'
import { scan } from '../helpers/scan.js'
import type { Backspace, FriendRequest, Room } from '../../lib/index.js'
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
  const mallory = await create(t, testnet)
  const bob = await create(t, testnet)
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
