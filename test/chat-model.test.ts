// The headless chat model both UIs render: rooms with unread and mention counts, a timeline
// window that takes one message at a time, member lines, typed notices; and the new-account
// phrase the library enforces.
import test from 'brittle'
import {
  BackspaceError,
  ChatModel,
  Identity,
  isBackspaceError,
  NewPhrase,
  orderedRooms,
  MEMBER_ACTIONS,
  memberActionRefusal,
  memberActions,
  roleOf,
  selectEntries,
  type ChatNotice,
  type ChatState,
  type GovernanceEvent
} from '../lib/index.js'
import { create, createLocalTestnet, until as untilEvent, waitForPeers } from './helpers/index.js'

/** Resolves with the model's state once `match` holds for it (now or after a change). */
function until(model: ChatModel, match: (s: ChatState) => boolean): Promise<ChatState> {
  return new Promise((resolve) => {
    if (match(model.state)) return resolve(model.state)
    const check = (s: ChatState) => {
      if (!match(s)) return
      model.off('change', check)
      resolve(s)
    }
    model.on('change', check)
  })
}

test('chat model: a new phrase gives its identity only once its words are typed back', async (t) => {
  const identity = Identity.generate()
  const phrase = new NewPhrase(identity, [2, 9, 24])
  const words = identity.phrase.split(' ')
  try {
    phrase.identity()
    t.fail('the identity came out unconfirmed')
  } catch (err) {
    t.ok(isBackspaceError(err, 'PHRASE_NOT_CONFIRMED'), 'PHRASE_NOT_CONFIRMED before any word')
  }
  t.is(phrase.next, 2)
  t.absent(phrase.confirm('wrong'), 'a wrong word is refused')
  t.ok(phrase.confirm(` ${words[1]!.toUpperCase()} `), 'case and spaces do not matter')
  t.ok(phrase.confirm(words[8]!))
  t.exception(() => phrase.identity(), /PHRASE_NOT_CONFIRMED/, 'two of three are not enough')
  phrase.restart()
  t.is(phrase.next, 2, 'showing the phrase again starts over')
  for (const at of [2, 9, 24]) t.ok(phrase.confirm(words[at - 1]!))
  t.ok(phrase.confirmed)
  t.is(phrase.identity(), identity, 'then the identity to create the account from')
  t.exception(() => new NewPhrase(identity, [0]), /INVALID_ARGUMENT/)
  t.ok(BackspaceError.PHRASE_NOT_CONFIRMED().message.startsWith('PHRASE_NOT_CONFIRMED'))
})

test('chat model: rooms, unread and mentions, one message at a time, member lines, typed notices', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  await a.setProfile({ name: 'ann' })
  await b.setProfile({ name: 'bob' })
  const model = new ChatModel(a)
  t.teardown(() => model.close())
  await model.ready()
  const welcome = await until(model, (s) => s.notices.some((n) => n.kind === 'welcome'))
  t.is(welcome.rooms.length, 0, 'no rooms: a welcome notice, as data')

  t.ok(await model.submit('/join lobby'))
  const ra = a.rooms[0]!
  await model.submit('/create side')
  const side = a.rooms.find((r) => r.name === 'side')!
  let s = await until(model, (x) => x.rooms.length === 2 && x.active === side.id)
  const joinedText = s.notices.find((n) => n.kind === 'text' && n.text.startsWith('Joined #lobby'))
  t.ok(joinedText && joinedText.room === ra.id, 'a command sentence belongs to the room it was typed for')

  // Counting how often the model reads a page: new messages must not re-read one.
  let pages = 0
  const messages = ra.messages.bind(ra)
  ra.messages = (opts) => {
    pages++
    return messages(opts)
  }

  const rb = await b.join('lobby')
  await waitForPeers(ra)
  s = await until(model, (x) =>
    x.notices.some((n) => n.kind === 'member-join' && n.room === ra.id && n.name === 'bob')
  )
  t.pass('bob coming online is a member-join notice in #lobby')

  const mentions: string[] = []
  model.on('mention', (m) => mentions.push(m.text))
  await rb.send('one')
  await rb.send('two, @ann')
  s = await until(model, (x) => x.rooms.find((r) => r.key === ra.id)!.messages.length === 2)
  let lobby = s.rooms.find((r) => r.key === ra.id)!
  s = await until(model, (x) => {
    const l = x.rooms.find((r) => r.key === ra.id)!
    return l.unread === 2 && l.mentions === 1
  })
  lobby = s.rooms.find((r) => r.key === ra.id)!
  t.is(lobby.newFrom, lobby.messages[0]!.id, 'the "new messages" marker sits above the first unread')
  t.alike(mentions, ['two, @ann'], 'a mention is an event, for the bell')
  t.is(pages, 0, 'messages arrived one at a time, no page re-read')

  model.dispatch({ type: 'switch', key: ra.id })
  s = await until(model, (x) => x.active === ra.id)
  const entries = selectEntries(s)
  const marker = entries.findIndex((e) => e.kind === 'new-marker')
  t.ok(marker >= 0 && entries[marker + 1]?.kind === 'message', 'the marker is an entry before the first new message')
  await until(model, () => a.unread(ra.id).unread === 0)
  t.pass('showing the room marks it read in the library')

  await b.setProfile({ name: 'bobby' })
  await until(model, (x) =>
    x.notices.some((n) => n.kind === 'member-rename' && n.from === 'bob' && n.to === 'bobby' && n.room === ra.id)
  )
  t.pass('a name change is a member-rename notice')

  model.dispatch({ type: 'switch', key: side.id })
  s = await until(model, (x) => x.active === side.id)
  t.is(s.rooms.find((r) => r.key === ra.id)!.newFrom, null, 'leaving the room for another drops its marker')

  await b.close()
  await until(model, (x) => x.notices.some((n) => n.kind === 'member-leave' && n.room === ra.id))
  t.pass('bob going offline is a member-leave notice')

  await model.submit('/help')
  s = await until(model, (x) => x.notices.some((n) => n.kind === 'help'))
  const help = s.notices.find((n) => n.kind === 'help')
  t.ok(help?.kind === 'help' && help.commands.some((c) => c.name === 'join'), '/help is a notice with the commands as data')
})

test('chat model: a /join with a password is not remembered; other lines survive a restart', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const a = await create(t, testnet, { storage })
  const model = new ChatModel(a)
  await model.ready()
  await until(model, (s) => s.history !== null)
  model.remember('/join secret-room hunter2')
  model.remember('hello there')
  // Saving is in the background: wait until the entry holds the plain line.
  while (!(await a.chatPrefs()).history.includes('hello there')) await new Promise((resolve) => setTimeout(resolve, 10))
  await model.close()
  await a.close()

  const again = await create(t, testnet, { storage })
  const reopened = new ChatModel(again)
  t.teardown(() => reopened.close())
  await reopened.ready()
  const s = await until(reopened, (x) => x.history !== null)
  t.alike(s.history, ['hello there'], 'the plain line is kept, the password line never was')
  const prefs = await again.chatPrefs()
  t.absent(prefs.history.some((line) => line.includes('hunter2')), 'the password is not in the saved entry')
})

test('chat model: roles, settings and governance lines on a member who did not act; the welcome once; DMs and requests', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  await a.setProfile({ name: 'ann' })
  await b.setProfile({ name: 'bob' })
  // bob owns the room before ann joins, with a welcome for newcomers, and has moderated.
  const rb = await b.join('gov-model')
  const early = Date.now()
  await rb.moderate.topic('first topic')
  await rb.moderate.welcome('an old welcome')
  await rb.moderate.welcome('read the pins')
  await rb.moderate.set({ allowFiles: false })
  const model = new ChatModel(a)
  t.teardown(() => model.close())
  await model.ready()
  const mentions: string[] = []
  model.on('mention', (m) => mentions.push(m.text))
  const told: GovernanceEvent[] = []
  model.on('governance', (e) => told.push(e))

  t.ok(await model.submit('/join gov-model'), 'joined')
  const ra = a.rooms[0]!
  await waitForPeers(ra)
  let s = await until(model, (x) => x.rooms.some((r) => r.key === ra.id && r.owner === b.publicKey.toString('hex')))
  let view = s.rooms.find((r) => r.key === ra.id)!
  t.is(roleOf(view, b.publicKey), 'owner', 'the owner, by key')
  s = await until(model, (x) => x.notices.some((n) => n.kind === 'room-welcome'))
  const welcome = s.notices.filter((n) => n.kind === 'room-welcome')
  t.is(welcome.length, 1, 'the welcome, once')
  t.ok(welcome[0]!.kind === 'room-welcome' && welcome[0]!.text === 'read the pins' && welcome[0]!.room === ra.id, 'in the room joined: the latest, not the one it replaced')
  // What bob did before ann joined is history: the view holds its result, and no line says it.
  s = await until(model, (x) => x.rooms.some((r) => r.key === ra.id && r.settings.topic === 'first topic' && !r.settings.allowFiles))
  const old = told.find((e) => e.action === 'topic' && e.text === 'first topic')
  t.ok(old && old.replayed && old.timestamp >= early - 1000 && old.timestamp <= Date.now(), 'the old topic is told as replayed, with its time')
  t.absent(s.notices.some((n) => n.kind === 'governance'), 'a late joiner gets no line for what happened before it joined')
  t.is(s.rooms.find((r) => r.key === ra.id)!.unread, 0, 'nor an unread count')

  await rb.moderate.topic('second topic')
  await rb.moderate.set({ slowMode: 5 })
  await rb.moderate.op(a.publicKey)
  s = await until(model, (x) => {
    const v = x.rooms.find((r) => r.key === ra.id)!
    return roleOf(v, a.publicKey) === 'op' && v.settings.slowMode === 5 && v.settings.topic === 'second topic'
  })
  const gov = s.notices.filter((n): n is Extract<ChatNotice, { kind: 'governance' }> => n.kind === 'governance' && n.room === ra.id)
  const topic = gov.find((n) => n.action === 'topic' && n.text === 'second topic')
  t.ok(topic && topic.actor.name === 'bob' && !topic.actor.self, 'ann sees bob set the topic: a typed notice')
  t.ok(gov.some((n) => n.action === 'set' && n.setting === 'slowMode' && n.value === 5), 'slow mode, with its value')
  const op = gov.find((n) => n.action === 'op')
  t.ok(op && op.target?.self === true && op.actor.name === 'bob', 'ann was made an op by bob')
  t.ok(told.some((e) => e.action === 'topic' && e.text === 'second topic' && !e.replayed), 'what comes live is not replayed')
  t.absent(gov.some((n) => n.text === 'first topic' || n.action === 'welcome'), 'still no line for the old ones')
  t.absent(s.notices.some((n) => n.kind === 'governance' && (n as { action: string }).action === 'claim'), 'claims are not lines')

  // ann, an op now, sets the topic: one line, the same as everyone sees, not two.
  t.ok(await model.submit('/topic from ann'), 'an op sets the topic')
  s = await until(model, (x) => x.notices.some((n) => n.kind === 'governance' && n.action === 'topic' && n.actor.self && n.text === 'from ann'))
  t.absent(s.notices.some((n) => n.kind === 'text' && n.text.includes('from ann')), 'the command does not repeat the line')
  // A kick in a named room: the line once, and the sentence on what a named room cannot enforce.
  const c = await create(t, testnet)
  await c.setProfile({ name: 'cat' })
  await c.join('gov-model')
  await until(model, (x) => x.rooms.find((r) => r.key === ra.id)!.members.some((m) => m.name === 'cat'))
  t.ok(await model.submit('/kick cat'), 'an op kicks a member')
  s = await until(model, (x) => x.notices.some((n) => n.kind === 'governance' && n.action === 'kick' && n.actor.self && n.target?.name === 'cat'))
  const said = s.notices.filter((n) => n.kind === 'text' && n.room === ra.id).map((n) => (n.kind === 'text' ? n.text : ''))
  t.ok(said.some((text) => text.includes('can still read it')), 'what a named room cannot enforce is said')
  t.absent(said.some((text) => text.includes('was kicked')), 'the kick itself is said once, by its line')

  // A friend request is a notice; /requests lists it; accepting opens the DM, listed after rooms.
  await b.friends.request(a.publicKey, 'let us talk')
  s = await until(model, (x) => x.notices.some((n) => n.kind === 'friend-request' && n.text === 'let us talk'))
  t.pass('the request is a notice')
  await model.submit('/requests')
  s = await until(model, (x) => x.notices.some((n) => n.kind === 'text' && n.text.includes(': let us talk')))
  // With one request waiting, /accept needs no name.
  await model.submit('/accept')
  s = await until(model, (x) => x.rooms.some((r) => r.kind === 'dm' && r.peer?.online === true) && x.active !== ra.id)
  const dm = s.rooms.find((r) => r.kind === 'dm')!
  t.is(s.active, dm.key, 'accepting shows the DM')
  t.is(dm.peer?.key, b.publicKey.toString('hex'), 'the DM knows its friend')
  t.alike(orderedRooms(s).map((r) => r.kind), ['named', 'dm'], 'DMs come after rooms')

  // A DM message while another room is shown: unread, counted as a mention, and a bell.
  model.dispatch({ type: 'switch', key: ra.id })
  await until(model, (x) => x.active === ra.id)
  await untilEvent(b, 'friend-update', () => b.friends.list().some((f) => f.key.equals(a.publicKey)))
  const bobDm = await b.dm(a.publicKey)
  await bobDm.send('psst')
  s = await until(model, (x) => x.rooms.some((r) => r.kind === 'dm' && r.unread === 1 && r.mentions === 1))
  t.alike(mentions, ['psst'], 'a DM message rings like a mention')

  // /dm by name from the room opens the DM and shows it.
  t.ok(await model.submit('/dm bob back to you'), '/dm by name runs')
  s = await until(model, (x) => x.active === dm.key)
  await until(model, (x) => x.rooms.find((r) => r.key === dm.key)!.messages.some((m) => m.text === 'back to you' && m.self))
  t.pass('/dm bob text sends in the DM and selects it')

  await b.close()
  s = await until(model, (x) => x.rooms.find((r) => r.key === dm.key)!.peer?.online === false)
  t.pass('the friend going offline is seen')
  view = s.rooms.find((r) => r.key === ra.id)!
  t.is(view.settings.welcome, 'read the pins')
})

test('chat model without an active room: counts stay for each view to clear, DMs are rooms, actions one at a time', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  await a.setProfile({ name: 'ann' })
  await b.setProfile({ name: 'bob' })
  const ra = await a.join('no-active')
  const rb = await b.join('no-active')
  await waitForPeers(ra)
  // A DM opened before the model: it is one of the model's rooms too.
  const asked = new Promise<any>((resolve) => a.once('friend-request', resolve))
  await b.friends.request(a.publicKey, 'hi')
  const dm = await (await asked).accept()
  const model = new ChatModel(a, { activeRoom: false })
  t.teardown(() => model.close())
  const actions: string[] = []
  model.on('action', (action) => actions.push(action.type))
  await model.ready()
  t.is(model.state.active, null, 'no room is shown by the model')
  t.ok(model.state.rooms.some((r) => r.key === dm.id && r.kind === 'dm'), 'the DM opened before it is a room')
  await rb.send('unseen one')
  const s = await until(model, (st) => st.rooms.find((r) => r.key === ra.id)?.unread === 1)
  t.is(s.active, null, 'a message does not make its room the shown one')
  t.is(a.unread(ra.id).unread, 1, 'nor does the model mark it read: the views do')
  t.ok(actions.includes('message') && actions.includes('unread'), 'each action is told, for UIs that forward them')
  t.alike(model.complete('hi @bo', ra.id), ['hi @bob '], 'Tab completes in the room a view names, with no room shown')
  t.alike(model.complete('hi @bo'), [], 'and without one, only commands')
})

test('chat model: the moderation a member card may offer, and why the rest is refused', (t) => {
  t.alike(memberActions('owner', 'member'), ['kick', 'ban', 'op', 'admin'])
  t.alike(memberActions('owner', 'admin'), ['kick', 'ban', 'unadmin'])
  t.alike(memberActions('admin', 'op'), ['kick', 'ban', 'deop'])
  t.alike(memberActions('admin', 'admin'), [], 'nothing on an equal')
  t.alike(memberActions('op', 'member'), ['kick', 'ban'], 'an op grants nothing')
  t.alike(memberActions('op', 'banned'), ['unban'])
  t.alike(memberActions('member', 'member'), [])
  t.alike(memberActions('banned', 'member'), [])
  // Every action left out has a sentence.
  const roles = ['owner', 'admin', 'op', 'member', 'banned'] as const
  for (const mine of roles) {
    for (const theirs of roles) {
      for (const action of MEMBER_ACTIONS) {
        if (memberActions(mine, theirs).includes(action)) continue
        const text = memberActionRefusal(action, 'bob', mine, theirs)
        if (!/^\S.*\.$/.test(text) || /[A-Z]{2,}_/.test(text)) t.fail(`${mine} ${action} ${theirs}: ${text}`)
      }
    }
  }
  t.is(memberActionRefusal('op', 'bob', 'op', 'member'), 'Only an admin or the owner may make an op bob; you are an op here.')
  t.is(memberActionRefusal('kick', 'bob', 'op', 'admin'), 'You cannot kick bob: their role (admin) is not below yours (op).')
})
