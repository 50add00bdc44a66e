import test from 'brittle'
import { create, createLocalTestnet, manualClock, once, receive } from './helpers/index.js'
import { until as untilEvent } from './helpers/index.js'
import { Backspace, type FriendRequest, type Room } from '../lib/index.js'
import { expectCode } from './helpers/expect.js'

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

test('both devices of one identity see the whole DM, and both write in it', async (t) => {
  const testnet = await createLocalTestnet(t)
  const ann = await create(t, testnet)
  const bob = await create(t, testnet)
  // A second device of ann, linked: it never holds the identity's secret key.
  const invite = await ann.devices.invite()
  const phone = new Backspace({ storage: await t.tmp(), bootstrap: testnet.bootstrap, link: invite.link })
  t.teardown(() => phone.close())
  ann.once('device-request', (req) => void req.approve())
  await phone.ready()

  const [annDm, bobDm] = await befriend(ann, bob)
  const atBob = receive(bobDm, ['from laptop'])
  await annDm.send('from laptop')
  await atBob

  // The account log carries the friendship, with the DM secret, to the phone.
  await until(phone, () => phone.friends.list().length === 1)
  const phoneDm = await phone.dm(bob.publicKey)
  t.alike(phoneDm.topic, annDm.topic, 'the phone opens the same DM')
  await expectCode(t, phone.friends.request(bob.publicKey, 'x'), 'NOT_ALLOWED')

  const everywhere = [annDm, bobDm].map((r) => receive(r, ['from phone']))
  const fromBob = receive(phoneDm, ['from bob'])
  await phoneDm.send('from phone')
  await bobDm.send('from bob')
  await Promise.all(everywhere)
  await fromBob
  const page = await phoneDm.messages()
  for (const text of ['from laptop', 'from phone', 'from bob']) t.ok(page.some((m) => m.text === text), `the phone has "${text}"`)
})

test('DM: edit, delete, react; a sender is rate limited (RATE_LIMITED) and the limit lifts', async (t) => {
  const testnet = await createLocalTestnet(t)
  const clock = manualClock()
  const ann = await create(t, testnet, { now: clock.now })
  const bob = await create(t, testnet, { now: clock.now })
  const [annDm, bobDm] = await befriend(ann, bob)

  const m = await annDm.send('typo')
  const edited = once(bobDm, 'message-update', (u: { text: string }) => u.text === 'fixed')
  await annDm.edit(m, 'fixed')
  await edited
  await annDm.react(m, '👍')
  await annDm.delete(m)

  // At one frozen instant: at most 15 records of ann's log fit in the window (four are used).
  let sent = 0
  let limited: unknown = null
  for (let i = 0; i < 20 && !limited; i++) {
    try {
      await annDm.send(`burst ${i}`)
      sent++
    } catch (err) {
      limited = err
    }
  }
  t.is((limited as { code?: string } | null)?.code, 'RATE_LIMITED', 'the sender is limited')
  t.ok(sent >= 10 && sent <= 11, `${sent} more messages fit`)
  clock.advance(10_000)
  const after = receive(bobDm, ['after the window'])
  await annDm.send('after the window')
  await after
  t.is(bobDm.stats.rateLimited, 0, 'an honest sender never trips its reader')
})
