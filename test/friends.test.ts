import test from 'brittle'
import b4a from 'b4a'
import { create, createLocalTestnet, once, receive } from './helpers/index.js'
import { until as untilEvent } from './helpers/index.js'
import { parseContactLink, runCommand, type Backspace, type FriendRequest } from '../lib/index.js'
import { expectCode } from './helpers/expect.js'

/** Resolves once `ok()` holds, checking whenever `node` says its friends changed. */
async function until(node: Backspace, ok: () => boolean): Promise<void> {
  await untilEvent(node, 'friend-update', ok)
}

test('contact link: key and name, checksummed; a typo is refused', async (t) => {
  const testnet = await createLocalTestnet(t)
  const ann = await create(t, testnet)
  await ann.setProfile({ name: 'ann' })
  const link = ann.contactLink
  t.ok(link.startsWith('backspace-contact:'))
  const parsed = parseContactLink(link)
  t.alike(parsed.key, ann.publicKey)
  t.is(parsed.name, 'ann')
  const typo = link.slice(0, 30) + (link[30] === 'y' ? 'b' : 'y') + link.slice(31)
  await expectCode(t, () => parseContactLink(typo), 'INVALID_INVITE')
})

test('request, accept, DM both ways, online status, unfriend', async (t) => {
  const testnet = await createLocalTestnet(t)
  const ann = await create(t, testnet)
  const bob = await create(t, testnet)
  await ann.setProfile({ name: 'ann' })
  await bob.setProfile({ name: 'bob' })

  await expectCode(t, ann.dm(bob.publicKey), 'NOT_FRIENDS')
  const arrived = once<[FriendRequest]>(bob, 'friend-request')
  await ann.friends.request(bob.contactLink, 'hi, it is ann from #general')
  t.is(ann.friends.sent().length, 1, 'the request shows as sent')
  const [req] = await arrived
  t.alike(req.from, ann.publicKey, 'from ann')
  t.is(req.text, 'hi, it is ann from #general')
  t.is(req.name, 'ann')
  t.is(bob.friends.requests().length, 1)
  await expectCode(t, bob.dm(ann.publicKey), 'NOT_FRIENDS')

  const bobDm = await req.accept()
  t.is(bobDm.kind, 'dm')
  t.is(bob.friends.list().length, 1)
  await until(ann, () => ann.friends.list().length === 1)
  t.alike(ann.friends.list()[0]!.key, bob.publicKey, 'ann learns the request was accepted')
  const annDm = await ann.dm(bob.publicKey)
  t.alike(annDm.topic, bobDm.topic, 'both sides derived the same DM')

  const atBob = receive(bobDm, ['hello bob'])
  await annDm.send('hello bob')
  await atBob
  const atAnn = receive(annDm, ['hello ann'])
  await bobDm.send('hello ann')
  await atAnn

  await until(ann, () => ann.friends.list()[0]!.online)
  t.ok(ann.friends.list()[0]!.online, 'bob shows online to ann')
  await until(ann, () => ann.dms.length === 1 && ann.dms[0]!.unread.unread >= 1)
  t.ok(ann.dms[0]!.unread.unread >= 1, 'the DM counts unread messages')

  await ann.friends.remove(bob.publicKey)
  t.is(ann.friends.list().length, 0)
  await expectCode(t, ann.dm(bob.publicKey), 'NOT_FRIENDS')
})

test('decline: later requests from the same sender are dropped unseen; the sender cannot tell', async (t) => {
  const testnet = await createLocalTestnet(t)
  const ann = await create(t, testnet)
  const bob = await create(t, testnet)
  const first = once<[FriendRequest]>(bob, 'friend-request')
  await ann.friends.request(bob.publicKey, 'first')
  const [req] = await first
  await req.decline()
  let seen = 0
  bob.on('friend-request', () => seen++)
  await ann.friends.request(bob.publicKey.toString('hex'), 'second')
  await until(bob, () => bob.socialStats.ignored >= 1)
  t.is(seen, 0, 'the second request is not shown')
  t.is(bob.socialStats.ignored, 1, 'it is counted')
  t.is(ann.friends.sent().length, 1, 'for ann it is simply not accepted yet')
  t.is(ann.friends.list().length, 0)
})

test('block and unblock: no requests, no DM, no room messages; unblock undoes it', async (t) => {
  const testnet = await createLocalTestnet(t)
  const ann = await create(t, testnet)
  const bob = await create(t, testnet)
  const arrived = once<[FriendRequest]>(bob, 'friend-request')
  await ann.friends.request(bob.publicKey, 'hi')
  await (await arrived)[0].accept()
  await until(ann, () => ann.friends.list().length === 1)

  await bob.block(ann.publicKey)
  t.alike(bob.blocked(), [ann.publicKey])
  await expectCode(t, bob.dm(ann.publicKey), 'BLOCKED')
  t.is(bob.dms.length, 0, 'the DM is closed while blocked')

  // In a room: ann's messages are not shown to bob, carol's are.
  const carol = await create(t, testnet)
  const rooms = await Promise.all([ann, bob, carol].map((n) => n.join('blocktest')))
  const shown: string[] = []
  rooms[1]!.on('message', (m) => shown.push(m.text))
  const atCarol = receive(rooms[2]!, ['from ann', 'from carol'])
  const atBob = receive(rooms[1]!, ['from carol'])
  await rooms[0]!.send('from ann')
  await rooms[2]!.send('from carol')
  await atCarol
  await atBob
  // Ann's message is stored at bob too, only never shown: wait until it is there.
  while (rooms[1]!.stats.messages < 2) await new Promise((r) => setTimeout(r, 100))
  const page = await rooms[1]!.messages()
  t.absent(page.some((m) => m.text === 'from ann'), 'a blocked author is not in the page')
  t.absent(shown.includes('from ann'), 'nor in events')

  await bob.unblock(ann.publicKey)
  t.is(bob.blocked().length, 0)
  const after = await rooms[1]!.messages()
  t.ok(after.some((m) => m.text === 'from ann'), 'unblocked: shown again')
  const dm = await bob.dm(ann.publicKey)
  t.ok(dm, 'the DM opens again')
})

test('incognito cannot send or accept requests', async (t) => {
  const testnet = await createLocalTestnet(t)
  const anon = await create(t, testnet, { incognito: true })
  const bob = await create(t, testnet)
  await expectCode(t, anon.friends.request(bob.publicKey, 'hi'), 'INCOGNITO')
  await expectCode(t, anon.dm(bob.publicKey), 'INCOGNITO')
  await expectCode(t, anon.block(bob.publicKey), 'INCOGNITO')
  t.is(anon.friends.list().length, 0)
  t.ok(b4a.isBuffer(anon.publicKey))
})

test('commands: /friend, /requests, /dm (/msg, /query), /friends, /block, /unblock, /unfriend, /relay', async (t) => {
  const testnet = await createLocalTestnet(t)
  const ann = await create(t, testnet)
  const bob = await create(t, testnet)
  await ann.setProfile({ name: 'ann' })
  await bob.setProfile({ name: 'bob' })
  const texts = (r: { notices: Array<{ text: string }> }) => r.notices.map((n) => n.text).join(' | ')

  const arrived = once<[FriendRequest]>(bob, 'friend-request')
  const sent = await runCommand(ann, `/friend ${bob.contactLink} hi bob`)
  t.ok(texts(sent).includes('Friend request sent to bob'), texts(sent))
  await arrived
  const listed = await runCommand(bob, '/requests')
  t.is(listed.requests?.length, 1)
  t.ok(texts(listed).includes('ann') && texts(listed).includes('hi bob'), texts(listed))
  const accepted = await runCommand(bob, '/requests accept ann')
  t.is(accepted.room?.kind, 'dm', 'accepting shows the DM')
  await until(ann, () => ann.friends.list().length === 1)

  const opened = await runCommand(ann, '/dm bob hello from a command')
  t.is(opened.room?.kind, 'dm')
  const alias = await runCommand(ann, '/msg bob')
  t.is(alias.room?.id, opened.room?.id, '/msg is /dm')
  const query = await runCommand(ann, '/query bob')
  t.is(query.room?.id, opened.room?.id, '/query is /dm')
  const friends = await runCommand(ann, '/friends')
  t.is(friends.friends?.length, 1)
  t.ok(texts(friends).includes('bob'), texts(friends))

  const blocked = await runCommand(ann, '/block bob')
  t.ok(texts(blocked).includes('Blocked'), texts(blocked))
  t.is(ann.blocked().length, 1)
  const fp = ann.friends.list()[0]!.fingerprint
  const unblocked = await runCommand(ann, `/unblock ${fp}`)
  t.ok(texts(unblocked).includes('Unblocked'), texts(unblocked))
  t.is(ann.blocked().length, 0)
  const nobody = await runCommand(ann, '/dm zed')
  t.ok(nobody.notices.some((n) => n.level === 'error'), texts(nobody))
  const gone = await runCommand(ann, '/unfriend bob')
  t.ok(texts(gone).includes('no longer your friend'), texts(gone))
  const relays = await runCommand(ann, '/relay list')
  t.is(relays.relays?.length, 0)
  const bad = await runCommand(ann, '/relay add nonsense')
  t.ok(bad.notices.some((n) => n.level === 'error'), texts(bad))
})
