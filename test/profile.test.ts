import test from 'brittle'
import { create, createLocalTestnet, once, receive, waitForPeers } from './helpers/index.js'
import { expectCode } from './helpers/expect.js'
import { Backspace, completeLine, isMention, parseCommand, runCommand, type Member } from '../lib/index.js'

test('names, actions and mentions travel with the messages', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  await a.setProfile({ name: 'ann' })
  await b.setProfile({ name: 'bob' })
  const connected = once(a, 'connections')
  const ra = await a.join('lounge')
  const rb = await b.join('lounge')
  await waitForPeers(ra)
  const [count] = await connected
  t.is(count, 1, 'the node reports its connections')

  const atB = receive(rb, ['waves', 'hi @bob, lunch?'])
  const own = await ra.send('waves', { action: true })
  t.is(own.kind, 'action')
  t.ok(own.self)
  t.is(own.name, 'ann')
  await ra.send('hi @bob, lunch?')
  const [action, mention] = await atB
  t.is(action!.kind, 'action')
  t.is(action!.name, 'ann', 'the sender name arrives with the message')
  t.is(action!.fingerprint, a.identity.fingerprint)
  t.absent(action!.self)
  t.ok(mention!.mention, '@bob mentions bob')
  t.absent(action!.mention)

  const page = await rb.messages()
  t.alike(page.map((m) => [m.kind, m.name]), [['action', 'ann'], ['text', 'ann']])
})

test('profiles and presence: members, online state, nick changes and restart', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const a = await create(t, testnet, { storage })
  const b = await create(t, testnet)
  await a.setProfile({ name: 'ann', status: 'reading' })
  const ra = await a.join('club')
  const rb = await b.join('club')

  const find = (members: Member[], key: Buffer) => members.find((m) => m.key.equals(key))
  const seen = (pred: (m: Member) => boolean) =>
    new Promise<Member>((resolve) => {
      const check = () => {
        const m = find(rb.members(), a.publicKey)
        if (m && pred(m)) {
          rb.off('member-update', check)
          resolve(m)
        }
      }
      rb.on('member-update', check)
      check()
    })

  const online = await seen((m) => m.online && m.name === 'ann')
  t.is(online.status, 'reading', 'presence carries the profile before any message')
  t.is(online.fingerprint, a.identity.fingerprint)
  t.ok(find(rb.members(), b.publicKey)!.self)

  await a.setProfile({ away: 'lunch' })
  const away = await seen((m) => m.away === 'lunch')
  t.is(away.name, 'ann')

  await a.setProfile({ name: 'annie', away: null })
  await seen((m) => m.name === 'annie' && m.away === null)
  await a.setProfile({ status: '' })
  await seen((m) => m.status === '')
  t.pass('clearing a field reaches members too')

  await expectCode(t, a.setProfile({ name: 'x'.repeat(65) }), 'INVALID_NAME')
  await expectCode(t, a.setProfile({ name: 'bad\nname' }), 'INVALID_NAME')

  const gone = seen((m) => !m.online)
  await a.close()
  await gone
  t.pass('a member that leaves goes offline')

  const again = new Backspace({ storage, bootstrap: testnet.bootstrap })
  t.teardown(() => again.close())
  await again.ready()
  t.alike(again.profile, { name: 'annie', status: '', away: null }, 'the profile survives a restart')
})

test('a joiner learns names from the log without the author online', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  await a.setProfile({ name: 'ann' })
  const ra = await a.join('archive')
  const rb = await b.join('archive')
  await waitForPeers(ra)
  const atB = receive(rb, ['one'])
  await ra.send('one')
  await atB
  const removed = once(rb, 'peer-remove')
  await a.close()
  await removed

  const c = await create(t, testnet)
  const rc = await c.join('archive')
  await receive(rc, ['one'])
  const member = rc.members().find((m) => m.key.equals(a.publicKey))!
  t.is(member.name, 'ann')
  t.absent(member.online)
})

test('the shared command parser', (t) => {
  t.alike(parseCommand('/JOIN general s3cret'), { type: 'join', name: 'general', password: 's3cret' })
  t.alike(parseCommand('/join "book club"'), { type: 'join', name: 'book club' })
  t.alike(parseCommand('/me waves hello'), { type: 'me', text: 'waves hello' })
  t.alike(parseCommand('/Nick ann'), { type: 'nick', name: 'ann' })
  t.alike(parseCommand('/away'), { type: 'away', message: '' })
  t.alike(parseCommand('/away gone fishing'), { type: 'away', message: 'gone fishing' })
  t.alike(parseCommand('/status'), { type: 'status', text: '' })
  t.alike(parseCommand('/back'), { type: 'back' })
  t.alike(parseCommand('//etc/passwd is a path'), { type: 'say', text: '/etc/passwd is a path' })
  t.alike(parseCommand('hello'), { type: 'say', text: 'hello' })
  t.alike(parseCommand('   '), { type: 'none' })
  t.is(parseCommand('/join').type, 'usage')
  t.is(parseCommand('/me').type, 'usage')
  t.is(parseCommand('/nick').type, 'usage')
  t.is(parseCommand('/leave now').type, 'usage')
  const unknown = parseCommand('/jion general')
  t.is(unknown.type, 'usage')
  t.ok(unknown.type === 'usage' && unknown.text.includes('/join'), 'suggests the closest command')

  t.alike(completeLine('/ni', []), ['/nick '])
  t.alike(completeLine('/', []).length > 10, true)
  t.alike(completeLine('hi @an', ['ann', 'andy', 'bob']), ['hi @andy ', 'hi @ann '])
  t.alike(completeLine('bo', ['ann', 'bob']), ['bob: '])
  t.alike(completeLine('hello ', ['ann']), [])

  t.ok(isMention('hey @Ann!', 'ann'))
  t.absent(isMention('hey @anna', 'ann'))
  t.absent(isMention('mail ann@example.com', 'ann'))
  t.absent(isMention('hey @ann', ''))
})

test('runCommand drives a node and reports errors as notices', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)

  const none = await runCommand(a, 'hello')
  t.is(none.notices[0]!.level, 'error', 'saying something needs a room')

  const joined = await runCommand(a, '/join general')
  const room = joined.room!
  t.is(room.name, 'general')
  await runCommand(a, '/nick ann', { room })
  t.is(a.profile.name, 'ann')
  await runCommand(a, '/me stretches', { room })
  const [m] = await room.messages()
  t.is(m!.kind, 'action')
  t.is(m!.name, 'ann')

  const who = await runCommand(a, '/whoami', { room })
  t.ok(who.notices.some((n) => n.text.includes(a.identity.fingerprint)))
  const peers = await runCommand(a, '/peers', { room })
  t.ok(peers.notices.some((n) => n.text.includes('ann') && n.text.includes('(you)')))
  t.ok((await runCommand(a, '/clear', { room })).clear)
  t.ok((await runCommand(a, '/quit', { room })).quit)
  const invite = await runCommand(a, '/create book club', { room })
  t.ok(invite.room && invite.notices[0]!.text.includes(invite.room.invite))
  const sw = await runCommand(a, '/switch 1', { room: invite.room })
  t.is(sw.room, room)
  const bad = await runCommand(a, '/join backspace:nonsense', { room })
  t.ok(bad.notices[0]!.text.startsWith('INVALID_INVITE'), 'library errors keep their code')
  const left = await runCommand(a, '/leave', { room })
  t.is(left.left, room)
  t.is(a.rooms.length, 1)
})

test('incognito nodes are Anon-##### to members; rooms keep their order across a restart', async (t) => {
  const testnet = await createLocalTestnet(t)
  const anon = await create(t, testnet, { incognito: true })
  t.ok(/^Anon-\d{5}$/.test(anon.profile.name), `incognito name: ${anon.profile.name}`)
  t.is(anon.profile.name, anon.identity.anonName)
  // And members see it whole: the display-name rule drops `#` tags, so it has none.
  const member = await create(t, testnet)
  const ra = await anon.join('anon-name')
  const rm = await member.join('anon-name')
  const [seen] = await Promise.all([receive(rm, ['from anon']), ra.send('from anon')])
  t.is(seen[0]!.name, anon.identity.anonName, 'a member sees the Anon name whole')

  const storage = await t.tmp()
  const a = new Backspace({ storage, bootstrap: testnet.bootstrap })
  await a.ready()
  for (const name of ['zulu', 'alpha', 'mike', 'bravo']) await a.join(name)
  await a.close()
  const again = new Backspace({ storage, bootstrap: testnet.bootstrap })
  t.teardown(() => again.close())
  await again.ready()
  t.alike(again.rooms.map((r) => r.name), ['zulu', 'alpha', 'mike', 'bravo'], 'in the order they were joined')
})
