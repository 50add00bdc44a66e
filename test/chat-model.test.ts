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
  selectEntries,
  type ChatState
} from '../lib/index.js'
import { create, createLocalTestnet, waitForPeers } from './helpers/index.js'

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
})
