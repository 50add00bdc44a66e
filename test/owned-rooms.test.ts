// Rooms made by createRoom(): the invite commits to the owner's identity, so every joiner
// knows the owner from the invite alone, and nobody can claim the room first.
import test from 'brittle'
import b4a from 'b4a'
import { create, createLocalTestnet, waitForPeers } from './helpers/index.js'
import { expectCode } from './helpers/expect.js'
import { inject, until } from './helpers/governance.js'
import { GovAction } from '../lib/governance/codec.js'
import { legacyLink, parseInvite } from '../lib/links.js'
import { ownedRoomSecret, randomBytes } from '../lib/crypto.js'
import type { Room } from '../lib/index.js'

test('owned rooms: the invite names the owner, and a joiner knows it before anyone writes', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const ra = await a.createRoom({ name: 'owned' })
  const inv = parseInvite(ra.invite)
  t.ok(inv.owner && b4a.equals(inv.owner.identity, a.identity.publicKey), 'the invite names the creator')
  t.ok(b4a.equals(inv.secret, ownedRoomSecret(a.identity.publicKey, inv.owner!.nonce)), 'the secret commits to the owner')
  t.ok(ra.owner && b4a.equals(ra.owner, a.identity.publicKey), 'the creator owns it at once')
  const rb = await b.join(ra.invite)
  // Before any connection or operation: the owner is known from the invite.
  t.ok(rb.owner && b4a.equals(rb.owner, a.identity.publicKey), 'the joiner knows the owner from the invite')
  t.is(rb.role(a.identity.publicKey), 'owner')
  await expectCode(t, rb.moderate.claim(), 'NOT_ALLOWED')
  // The joiner's own invite names the same owner, so it opens the same room.
  t.is(parseInvite(rb.invite).owner!.identity.toString('hex'), a.identity.publicKey.toString('hex'))
  t.is(parseInvite(rb.invite).secret.toString('hex'), inv.secret.toString('hex'))
  await waitForPeers(rb)
  await ra.moderate.topic('mine')
  await until(() => rb.settings.topic === 'mine')
  t.pass('the owner moderates')
})

test('owned rooms: an invite that names another owner opens another room', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const m = await create(t, testnet)
  const ra = await a.createRoom({ name: 'owned' })
  const inv = parseInvite(ra.invite)
  // A member rewrites the invite to name itself: the secret it derives is another room's.
  const forged = { ...inv, owner: { identity: m.identity.publicKey, nonce: inv.owner!.nonce } }
  const { inviteLink } = await import('../lib/links.js')
  const rm = await m.join(inviteLink(forged))
  t.not(rm.id, ra.id, 'another topic: another room')
})

test('owned rooms: old invites (v1) still open the room, claimed as before', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const secret = randomBytes(32)
  const room = await a.join(legacyLink('invite', { secret, name: 'old' }))
  t.is(room.owner, null)
  await room.moderate.claim()
  await until(() => room.owner !== null)
  t.ok(b4a.equals(room.owner!, a.identity.publicKey))
  t.is(parseInvite(room.invite).owner ?? null, null, 'its invite stays v1')
})

test('owned rooms: a hostile member who claims the room is refused and counted everywhere', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const m = await create(t, testnet)
  const ra = await a.createRoom({ name: 'owned' })
  const rb = await b.join(ra.invite)
  const rm = await m.join(ra.invite)
  const rooms: Room[] = [ra, rb, rm]
  for (const r of rooms) await waitForPeers(r, 2)
  const before = rooms.map((r) => r.stats.rejected.governance)
  // M's modified client claims the room, then acts as its owner.
  await inject(rm, GovAction.CLAIM)
  await inject(rm, GovAction.ADMIN, { target: m.identity.publicKey })
  await inject(rm, GovAction.BAN, { target: b.identity.publicKey })
  await until(() => rooms.every((r, i) => r.stats.rejected.governance >= before[i]! + 3))
  for (const r of rooms) {
    t.ok(b4a.equals(r.owner!, a.identity.publicKey), 'the creator stays the owner')
    t.is(r.role(m.identity.publicKey), 'member')
    t.is(r.role(b.identity.publicKey), 'member')
  }
})

test('owned rooms: the owner survives a restart of a member', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const dir = await t.tmp()
  const b = await create(t, testnet, { storage: dir })
  const ra = await a.createRoom({ name: 'owned' })
  const rb = await b.join(ra.invite)
  const id = rb.id
  await b.close()
  const b2 = await create(t, testnet, { storage: dir })
  const again = b2.rooms.find((r) => r.id === id)!
  t.ok(again, 'restored')
  t.ok(again.owner && b4a.equals(again.owner, a.identity.publicKey), 'the owner is restored with the room')
})
