import test from 'brittle'
import { create, createLocalTestnet, manualClock, once, receive } from './helpers/index.js'
import { until as untilEvent } from './helpers/index.js'
import { Backspace, DEFAULT_RATE, type FriendRequest, type Room } from '../lib/index.js'
import { expectCode } from './helpers/expect.js'
import { startRelay } from './helpers/relay-process.js'
import { RateLimit } from '../lib/room/rate-limit.js'
import { MessageType } from '../lib/messages.js'

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

  // Blocks are part of the account too: a block made on one device holds on the other, and
  // an unblock there lifts it here.
  const stranger = await create(t, testnet)
  await ann.block(stranger.publicKey)
  await until(phone, () => phone.blocked().some((k) => k.equals(stranger.publicKey)))
  t.pass('a block made on the laptop reaches the phone')
  await phone.unblock(stranger.publicKey)
  await until(ann, () => ann.blocked().length === 0)
  t.pass('an unblock made on the phone reaches the laptop')
})

test('DM: edit, delete, react; a sender is rate limited (RATE_LIMITED) and the limit lifts', async (t) => {
  const testnet = await createLocalTestnet(t)
  const clock = manualClock()
  const ann = await create(t, testnet, { now: clock.now, rateLimit: DEFAULT_RATE })
  const bob = await create(t, testnet, { now: clock.now, rateLimit: DEFAULT_RATE })
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

test('offline delivery: two users never online together request, accept and DM both ways through a real relay', async (t) => {
  const testnet = await createLocalTestnet(t)
  const bootstrap = `127.0.0.1:${testnet.bootstrap[0]!.port}`
  const relayStorage = await t.tmp()
  const relay = await startRelay(t, ['--serve', '--storage', relayStorage, '--bootstrap', bootstrap])
  t.ok(relay.link && relay.link.startsWith('backspace-relay-node:'), 'the relay prints its node link')
  const annStorage = await t.tmp()
  const bobStorage = await t.tmp()
  const open = async (storage: string) => {
    const node = new Backspace({ storage, bootstrap: testnet.bootstrap })
    await node.ready()
    return node
  }
  // Every block of this node's own log in `room` reached a peer (the relay: nobody else is online).
  const delivered = async (node: Backspace, room: Room) => {
    await room.flush()
    while (!(room.stats.ownBlocks > 0 && room.stats.delivered >= room.stats.ownBlocks)) {
      await Promise.race([once(room, 'peer-add'), new Promise((r) => setTimeout(r, 200))])
    }
    void node
  }
  const social = (node: Backspace) =>
    (node as unknown as { social_: { outboxes: Map<string, Room>; dms: Map<string, Room> } }).social_

  // 1. Ann, alone with the relay, asks bob.
  let ann = await open(annStorage)
  await ann.relays.add(relay.link!)
  t.is(ann.relays.list().length, 1)
  const bobKey = (await import('../lib/index.js')).Identity.generate()
  await ann.friends.request(bobKey.publicKey, 'hi bob, ann here')
  await delivered(ann, social(ann).outboxes.get(bobKey.publicKey.toString('hex'))!)
  await until(ann, () => ann.relays.list()[0]!.connected)
  await ann.close()

  // 2. Bob, alone with the relay, finds the request, accepts, writes.
  let bob = new Backspace({ storage: bobStorage, bootstrap: testnet.bootstrap, secretKey: bobKey.secretKeyHex })
  const arrived = once<[FriendRequest]>(bob, 'friend-request')
  await bob.ready()
  await bob.relays.add(relay.link!)
  const [req] = await arrived
  t.is(req.text, 'hi bob, ann here', 'bob reads the request ann left while he was away')
  let bobDm = await req.accept()
  await bobDm.send('hi ann, bob here')
  await delivered(bob, bobDm)
  await bob.close()

  // 3. Ann again: she learns of the accept, reads bob, answers.
  ann = await open(annStorage)
  await until(ann, () => ann.friends.list().length === 1)
  const annDm = await ann.dm(bobKey.publicKey)
  const page = async (room: Room, text: string) => {
    while (!(await room.messages()).some((m) => m.text === text)) {
      await Promise.race([once(room, 'message'), new Promise((r) => setTimeout(r, 250))])
    }
  }
  await page(annDm, 'hi ann, bob here')
  t.pass('ann reads bob, who is offline, from the relay')
  await annDm.send('hi bob, got it')
  await delivered(ann, annDm)
  await ann.close()

  // 4. Bob again reads ann's answer.
  bob = await open(bobStorage)
  bobDm = await bob.dm(ann.publicKey)
  await page(bobDm, 'hi bob, got it')
  t.pass('bob reads ann, who is offline, from the relay')
  await bob.close()

  relay.child.kill('SIGTERM')
  t.is(await relay.exited, 0, 'the relay closes cleanly')
})

test('rate limit: a writer\'s stamps stay bounded however long its log, and none are kept without a rule', (t) => {
  const limit = new RateLimit(DEFAULT_RATE)
  for (let seq = 0; seq < 10_000; seq++) limit.admit('w', seq, seq * 1_000, MessageType.TEXT)
  const held = (l: RateLimit) => (l as unknown as { stamps: Map<string, Map<number, number>> }).stamps.get('w')?.size ?? 0
  t.ok(held(limit) <= 2 * (DEFAULT_RATE.count + 64), `at most ${2 * (DEFAULT_RATE.count + 64)} stamps held (${held(limit)})`)
  t.is(limit.dropped, 0, 'one a second never trips 15 in 10 s')
  const off = new RateLimit(null)
  for (let seq = 0; seq < 100; seq++) off.admit('w', seq, 0, MessageType.TEXT)
  t.is(held(off), 0, 'no rule: nothing held')
})
