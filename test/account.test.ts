import test from 'brittle'
import { create, createLocalTestnet, once, receive, waitForPeers } from './helpers/index.js'
import { Identity, type Backspace } from '../lib/index.js'
import { AccountLog } from '../lib/account/account-log.js'
import { RoomKind } from '../lib/messages.js'
import type { RoomContext } from '../lib/room/context.js'

async function until(node: Backspace, event: string, ok: () => boolean): Promise<void> {
  while (!ok()) await once(node as never, event)
}

test('the account log brings joined rooms and the profile to a device restored from the phrase', async (t) => {
  const testnet = await createLocalTestnet(t)
  const phrase = Identity.generate().phrase
  const a = await create(t, testnet, { phrase })
  await a.join('general')
  const plans = await a.createRoom({ name: 'plans' })
  await a.setProfile({ name: 'alice' })

  // The same identity on another machine: a new device, which starts with nothing.
  const b = await create(t, testnet, { phrase })
  t.alike(b.publicKey, a.publicKey, 'one identity')
  await until(b, 'room-add', () => b.rooms.length === 2)
  t.alike(b.rooms.map((r) => r.name).sort(), ['general', 'plans'])
  t.ok(b.rooms.some((r) => r.id === plans.id), 'the private room, by its secret')
  await until(b, 'profile', () => b.profile.name === 'alice')
  t.pass('the profile followed')

  // A room left on one device is left on every device.
  const general = b.rooms.find((r) => r.name === 'general')!
  await general.leave()
  await until(a, 'room-remove', () => a.rooms.length === 1)
  t.alike(a.rooms.map((r) => r.name), ['plans'], 'the other device left it too')

  // Joined on one device while the other is online: it follows at once.
  await a.join('later')
  await until(b, 'room-add', () => b.rooms.some((r) => r.name === 'later'))
  t.pass('a room joined later follows too')
})

test('read on one device, read on every device: positions and unread counts follow the identity', async (t) => {
  const testnet = await createLocalTestnet(t)
  const phrase = Identity.generate().phrase
  const laptop = await create(t, testnet, { phrase })
  const phone = await create(t, testnet, { phrase })
  const friend = await create(t, testnet)
  const [rl, rp, rf] = await Promise.all([laptop.join('news'), phone.join('news'), friend.join('news')])
  await Promise.all([rl, rp, rf].map((r) => waitForPeers(r, 2)))
  const texts = ['one', 'two', 'three']
  const arrived = [receive(rl, texts), receive(rp, texts)]
  for (const text of texts) await rf.send(text)
  await Promise.all(arrived)
  await until(phone, 'unread', () => phone.unread(rp.id).unread === 3)
  t.is(laptop.unread(rl.id).unread, 3, 'both devices count three unread')

  // Read on the laptop: the phone's count drops too, once the account log carries it.
  await laptop.markRead(rl.id)
  t.is(laptop.unread(rl.id).unread, 0)
  await until(phone, 'unread', () => phone.unread(rp.id).unread === 0)
  t.alike(phone.unread(rp.id).position, laptop.unread(rl.id).position, 'the same read position')
})

test('a stranger who holds the account log\'s key cannot write to it', async (t) => {
  const testnet = await createLocalTestnet(t)
  const phrase = Identity.generate().phrase
  const victim = await create(t, testnet, { phrase })
  const mine = await victim.join('mine')
  const stranger = await create(t, testnet)

  // The stranger learnt the account key (as a leak would give it) and writes its own view of
  // the victim's account, signed by its own valid device, under another identity.
  const accountKey = victim.deviceKeys.accountKey
  const internals = stranger as unknown as { roomContext(): RoomContext; accountLog: AccountLog | null }
  await internals.accountLog!.close()
  const evil = new AccountLog({ ...internals.roomContext(), closed: () => {} }, AccountLog.state(accountKey, Date.now(), 7 * 86_400_000))
  internals.accountLog = evil
  await evil.ready()
  const later = Date.now() + 1000
  await evil.publish({
    profile: { name: 'pwned', status: '', away: null },
    profileAt: later,
    rooms: [
      { kind: RoomKind.PRIVATE, secret: Buffer.alloc(32, 7), name: 'trap', joinedAt: Date.now(), left: false, at: later },
      { kind: RoomKind.NAMED, secret: mine.state().secret, name: 'mine', joinedAt: 0, left: true, at: later }
    ],
    reads: []
  })
  const log = (victim as unknown as { accountLog: AccountLog }).accountLog
  while (log.room.stats.rejected['unauthorized-device'] === 0) await once(log.room, 'reject')
  t.pass('the stranger\'s block is rejected')
  t.alike(victim.rooms.map((r) => r.name), ['mine'], 'no room joined or left on its word')
  t.is(victim.profile.name, '', 'the profile is untouched')
})
