import dgram from 'dgram'
import { EventEmitter } from 'events'
import fs from 'fs'
import path from 'path'
import test, { type Test } from 'brittle'
import { createElement, type ReactElement } from 'react'
import { render } from 'ink-testing-library'
import {
  accountIsEncrypted,
  Backspace,
  DEFAULT_SETTINGS,
  Identity,
  saveAccount,
  type BackspaceOptions,
  type Message,
  type NoticeBody
} from '../lib/index.js'
import {
  App,
  ChatApp,
  chatReducer,
  closeWithin,
  initialChatState,
  layoutRows,
  wrapText,
  type ChatAppProps,
  type Entry
} from '../ui-terminal/index.js'
import stringWidth from 'string-width'
import { InputLine, fitLine } from '../ui-terminal/components/input-line.js'
import { RoomList } from '../ui-terminal/components/room-list.js'
import { oneLine, TitleBar } from '../ui-terminal/components/title-bar.js'
import { noticeText } from '../ui-terminal/format.js'
import { emptyLine, lineReducer, type LineAction } from '../ui-terminal/use-line-editor.js'
import { messageRef } from '../lib/message-refs.js'
import { startupError } from '../lib/storage-check.js'
import { create, createLocalTestnet, until as untilEvent, type Testnet } from './helpers/index.js'

const KEY = {
  enter: '\r',
  tab: '\t',
  up: '\u001b[A',
  down: '\u001b[B',
  ctrlUp: '\u001b[1;5A',
  ctrlDown: '\u001b[1;5B',
  altUp: '\u001b[1;3A',
  altDown: '\u001b[1;3B',
  escape: '\u001b',
  pageUp: '\u001b[5~',
  pageDown: '\u001b[6~',
  ctrlN: '\u000e',
  ctrlP: '\u0010',
  ctrlC: '\u0003',
  alt: (n: number) => `\u001b${n}`
}

type Screen = ReturnType<typeof render> & {
  /** Resolves with the first frame, current or future, for which `match` holds. */
  frame(match: string | RegExp | ((frame: string) => boolean)): Promise<string>
  /** Sends keys, once the app listens and has run the effects of its last render. */
  press(...keys: string[]): Promise<void>
  /** Types one line and presses Enter. */
  type(line: string): Promise<void>
  /** Makes the fake terminal another size, as a resize does. */
  resize(columns: number, rows: number): void
}

/** Renders `element` and lets the test wait on frames instead of sleeping. */
function renderScreen(t: Test, element: ReactElement): Screen {
  const screen = render(element)
  t.teardown(() => screen.unmount(), { order: -1 })

  const waiting = new Set<() => void>()
  const write = screen.stdout.write
  screen.stdout.write = (frame: string) => {
    write(frame)
    for (const check of [...waiting]) check()
  }

  const frame = (match: string | RegExp | ((frame: string) => boolean)) => {
    const test =
      typeof match === 'string'
        ? (f: string) => f.includes(match)
        : match instanceof RegExp
          ? (f: string) => match.test(f)
          : match
    return new Promise<string>((resolve, reject) => {
      // Not a timing assertion: a wait that cannot succeed fails with the screen it saw.
      const giveUp = setTimeout(() => {
        waiting.delete(check)
        reject(new Error(`no frame matched ${String(match)}; last frame:\n${screen.lastFrame()}`))
      }, 20_000)
      const check = () => {
        const last = screen.lastFrame() ?? ''
        if (!test(last)) return
        waiting.delete(check)
        clearTimeout(giveUp)
        resolve(last)
      }
      waiting.add(check)
      check()
    })
  }

  // Ink reads stdin once an input hook asked for raw mode; keys written before that are lost.
  const inputReady = () =>
    new Promise<void>((resolve) => {
      if (screen.stdin.listenerCount('readable') > 0) return resolve()
      const onListener = (event: string) => {
        if (event !== 'readable') return
        screen.stdin.off('newListener', onListener)
        queueMicrotask(resolve)
      }
      screen.stdin.on('newListener', onListener)
    })

  const press = async (...keys: string[]) => {
    await inputReady()
    for (const key of keys) {
      // Input hooks subscribe in effects, which React runs after the frame is written.
      await new Promise((resolve) => setImmediate(resolve))
      screen.stdin.write(key)
    }
  }
  const type = (line: string) => press(line, KEY.enter)

  const resize = (columns: number, rows: number) => {
    Object.defineProperty(screen.stdout, 'columns', { value: columns, configurable: true })
    Object.defineProperty(screen.stdout, 'rows', { value: rows, configurable: true })
    screen.stdout.emit('resize')
  }

  return Object.assign(screen, { frame, press, type, resize })
}

function renderChat(t: Test, node: Backspace, props: Omit<ChatAppProps, 'node'> = {}): Screen {
  return renderScreen(t, createElement(ChatApp, { node, ...props }))
}

const fp = (node: Backspace) => node.identity.fingerprint.split('-').slice(0, 2).join('-')
const count = (frame: string, text: string) => frame.split(text).length - 1

test('ui: two peers chat; names, fingerprints, own lines, unread and mentions in the room list', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  await a.setProfile({ name: 'ann' })
  await b.setProfile({ name: 'bob' })

  const screen = renderChat(t, a, { room: { name: 'General' } })
  const first = await screen.frame('Joined #general.')
  t.ok(
    first.includes(`ann ${a.identity.fingerprint}`),
    'own name and fingerprint in the status bar'
  )
  t.ok(first.includes('[#general]'), 'the prompt names the room')
  t.ok(/1 #general/.test(first), 'the room list numbers the room')

  const rb = await b.join('general')
  await screen.frame(/online, 1 peer/)
  await screen.frame((f) => f.includes('#general') && f.includes('bob'))
  t.pass('peer count in the status bar, members in the title bar')

  await rb.send('hello from b')
  const withMessage = await screen.frame('hello from b')
  t.ok(
    new RegExp(`\\d\\d:\\d\\d\\s+bob ${fp(b)} │ hello from b`).test(withMessage),
    'HH:MM  name fingerprint │ text'
  )

  await screen.type('hi from a')
  await screen.frame(new RegExp(`ann ${fp(a)} » hi from a`))
  t.pass('own messages are marked with »')

  await rb.send('waves', { action: true })
  await screen.frame(new RegExp(`\\* bob ${fp(b)} waves`))
  t.pass('/me actions show as "* name action"')

  // Messages to a room not shown are counted in the room list; a mention is marked @n.
  await screen.type('/create side')
  await screen.frame('[~side]')
  await rb.send('while you were away')
  await screen.frame(/1 #general\s+1/)
  await rb.send('@ann are you there?')
  const mentioned = await screen.frame(/1 #general\s+@1 2/)
  t.ok(mentioned.includes('[~side]'), 'the mention is counted while another room is shown')

  await screen.press(KEY.alt(1))
  const back = await screen.frame('[#general]')
  t.ok(back.includes('while you were away'), 'Alt+1 switches to the first room')
  t.ok(
    new RegExp(`bob ${fp(b)} ! @ann are you there\\?`).test(back),
    'the mention is marked with !'
  )
  t.absent(/#general\s+@1/.test(back), 'switching marks the room read')

  await screen.press(KEY.ctrlN)
  await screen.frame('[~side]')
  await screen.press(KEY.ctrlP)
  await screen.frame('[#general]')
  t.pass('Ctrl+N and Ctrl+P go round the rooms')
})

test('ui: unread counts in the room list survive a restart; showing the room reads it', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const a = await create(t, testnet, { storage })
  const b = await create(t, testnet)
  await a.setProfile({ name: 'ann' })
  await a.join('first')
  const side = await a.join('side')
  const rb = await b.join('side')
  const counted = new Promise<void>((resolve) =>
    a.on('unread', (id, counts) => id === side.id && counts.unread === 2 && resolve())
  )
  await rb.send('while you were out')
  await rb.send('@ann look')
  await counted
  await a.close()

  const again = await create(t, testnet, { storage })
  const screen = renderChat(t, again)
  await screen.frame(/2 #side\s+@1 2/)
  t.pass('the counts kept by the library show after the restart')
  await screen.press(KEY.alt(2))
  await screen.frame((f) => f.includes('[#side]') && !/#side\s+@1/.test(f))
  while (again.unread(side.id).unread > 0) await new Promise((resolve) => again.once('unread', resolve))
  t.alike(again.unread(side.id).mentions, 0, 'showing the room marks it read in the library')
})

test('ui: commands go through the library; mistakes are lines, never crashes', async (t) => {
  const testnet = await createLocalTestnet(t)
  const node = await create(t, testnet, { incognito: true })
  let quit = 0
  let quitted: () => void = () => {}
  const quitting = new Promise<void>((resolve) => (quitted = resolve))
  const screen = renderChat(t, node, { onQuit: () => (quit++, quitted()) })

  const start = await screen.frame('/join <room> joins one')
  t.ok(start.includes(node.identity.anonName), 'incognito shows its Anon name')

  await screen.type('/help')
  const help = await screen.frame('PgUp/PgDn scroll')
  t.ok(help.includes('/quit'), '/help lists the commands and the keys')

  await screen.type('hello?')
  await screen.frame('Join a room first')
  await screen.type('/frobnicate')
  await screen.frame('Unknown command /frobnicate')
  await screen.type('/join')
  await screen.frame('Usage: /join <room> [password]')
  await screen.type('/nick')
  await screen.frame('Usage: /nick <name>')
  t.pass('unknown commands and missing arguments explain themselves')

  await screen.type('/CREATE club')
  // The room shows once the node adds it; the command's notice comes when it returns.
  const created = await screen.frame((f) => f.includes('[~club]') && f.includes('Created ~club'))
  const club = node.rooms.find((r) => r.name === 'club')!
  t.ok(created.includes('Created ~club'), 'command words are case-insensitive')

  await screen.type('/join general secret')
  await screen.frame('[#general]')
  t.is(node.rooms.length, 2)

  await screen.type('/rooms')
  const listed = await screen.frame('2. #general')
  t.ok(listed.includes('1. ~club'), '/rooms lists both rooms')

  await screen.type('/switch 1')
  await screen.frame('[~club]')
  await screen.type('/invite')
  // The invite is long: it wraps, so look for its start.
  await screen.frame(`Invite to ~club: ${club.invite.slice(0, 30)}`)
  t.pass('/invite shows the invite of the current room')

  await screen.type('/nick zed')
  await screen.frame('You are now known as zed.')
  t.is(node.profile.name, 'zed')
  await screen.type('/away lunch')
  await screen.frame('[away: lunch]')
  await screen.type('/back')
  await screen.frame((f) => f.includes('Welcome back.') && !f.includes('[away'))
  await screen.type('/status reading')
  await screen.frame('Status set: reading')
  await screen.type('/whoami')
  await screen.frame(node.publicKey.toString('hex').slice(0, 40))
  await screen.type('/peers')
  await screen.frame('zed')
  t.pass('/nick, /away, /back, /status, /whoami and /peers')

  await screen.type('/me stretches')
  // A room made by createRoom() is owned by its creator from the start: the owner's mark (~).
  await screen.frame(/\* ~zed [0-9a-f]{4}-[0-9a-f]{4} stretches/)
  await screen.type('/clear')
  await screen.frame((f) => !f.includes('stretches') && !f.includes('Status set'))
  t.pass('/clear empties the pane, on this screen only')
  t.is((await club.messages()).length, 1, 'the message is still in the room')

  await screen.type('/join "   "')
  await screen.frame('INVALID_ROOM_NAME')
  t.pass('library errors become a line, the app goes on')

  await screen.type('/leave')
  await screen.frame('Type /leave again to leave')
  t.ok(node.rooms.includes(club), '/leave asks first: the room and its history are still there')
  await screen.type('/leave')
  const left = await screen.frame('Left ~club')
  t.ok(left.includes('[#general]'), 'leaving switches to the remaining room')
  t.is(node.rooms.length, 1)

  await screen.type('/quit')
  // The command runs after the key press returns: wait for it, not for a number of ticks.
  await quitting
  t.is(quit, 1, '/quit asks the app to exit')
})

test('ui: Tab completes commands and names; Ctrl+Up and Ctrl+Down recall lines', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  await b.setProfile({ name: 'bobby' })
  const screen = renderChat(t, a, { room: { name: 'tabs' } })
  await screen.frame('[#tabs]')
  const rb = await b.join('tabs')
  await rb.send('hi')
  await screen.frame('bobby')

  await screen.press('/jo', KEY.tab)
  await screen.frame('[#tabs] /join')
  await screen.press(KEY.up) // nothing sent yet: the line stays
  await screen.press('\u0015') // Ctrl+U clears
  await screen.press('/s', KEY.tab)
  await screen.frame('[#tabs] /switch')
  await screen.press(KEY.tab)
  await screen.frame('[#tabs] /status')
  t.pass('Tab cycles through matching commands')

  await screen.press('\u0015', 'hey @bo', KEY.tab)
  await screen.frame('[#tabs] hey @bobby')
  await screen.press('\u0015', 'bo', KEY.tab)
  await screen.frame('[#tabs] bobby:')
  t.pass('Tab completes names, with @ kept and a colon at the start')

  await screen.press('\u0015')
  await screen.type('first line')
  await screen.type('second line')
  await screen.frame(/» second line/)
  await screen.press(KEY.ctrlUp, KEY.ctrlUp)
  await screen.frame('[#tabs] first line')
  await screen.press(KEY.down)
  await screen.frame('[#tabs] second line')
  t.pass('Ctrl+Up browses the lines sent; once browsing, Down goes on')
})

test('ui: PgUp and PgDn scroll; older history is fetched on demand', async (t) => {
  const testnet = await createLocalTestnet(t)
  const node = await create(t, testnet)
  const room = await node.join('scroll')
  for (let i = 1; i <= 60; i++) await room.send(`line ${i}`)

  // A small first page, so scrolling back must ask the library for more.
  const screen = renderChat(t, node, { historyLimit: 20 })
  const bottom = await screen.frame('line 60')
  t.absent(bottom.includes('line 30 '), 'only the newest lines fit')
  t.absent(bottom.includes('Start of #scroll'), 'more history is there')

  await screen.press(KEY.pageUp)
  const up = await screen.frame('more below')
  t.absent(/line 60\b/.test(up), 'the newest line scrolled away')

  for (let i = 0; i < 8; i++) await screen.press(KEY.pageUp)
  const top = await screen.frame('Start of #scroll')
  t.ok(/» line 1\s*$/m.test(top), 'paging back reaches the first message and the start of the room')

  // New messages while scrolled up do not move what is being read.
  const reading = top.split('\n')
  await room.send('a new line')
  await screen.frame((f) => f.includes('more below (') && !f.includes('a new line'))
  t.ok((screen.lastFrame() ?? '').includes(reading[1] ?? ''), 'the view stays put')

  for (let i = 0; i < 12; i++) await screen.press(KEY.pageDown)
  await screen.frame((f) => f.includes('a new line') && !f.includes('more below'))
  t.pass('PgDn returns to the newest lines')
})

test('ui: fits 80x24, wraps long lines, and follows resizes', async (t) => {
  const testnet = await createLocalTestnet(t)
  const node = await create(t, testnet)
  await node.setProfile({ name: 'wide' })
  const room = await node.join('small')
  const long = 'word '.repeat(40).trim()
  await room.send(long)
  const screen = renderChat(t, node)
  screen.resize(80, 24)
  const frame = await screen.frame(
    (f) => f.includes('word') && f.split('\n').every((l) => l.length <= 80)
  )
  const lines = frame.split('\n')
  t.ok(lines.length <= 23, `at most 23 rows at 80x24 (${lines.length})`)
  t.ok(count(frame, 'word') === 40, 'a long line wraps, nothing is cut')

  screen.resize(40, 12)
  const narrow = await screen.frame(
    (f) => f.split('\n').every((l) => l.length <= 40) && !f.includes('Rooms')
  )
  t.ok(narrow.split('\n').length <= 11, 'the room list goes away on a narrow terminal')
})

test('ui: first start creates an account: selector, phrase confirmation, password', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const open = opener(t, testnet)
  const screen = renderScreen(t, createElement(App, { storage, account: 'default', open }))
  await screen.frame('Create a new account')
  await screen.press(KEY.down, KEY.up, KEY.enter)
  const phrase = await screen.frame('Your recovery phrase')
  const words = new Map<number, string>()
  for (const m of phrase.matchAll(/(\d+)\. ([a-z]+)/g)) words.set(Number(m[1]), m[2]!)
  t.is(words.size, 24, 'the 24 words are shown')
  await screen.press(KEY.enter)

  // Each answer is seen on screen before Enter: under load a key pressed while a step's input
  // hook is being replaced can go to the step before, and the test would wait forever.
  const answer = async (text: string, shown = text) => {
    await screen.press(text)
    await screen.frame(shown)
    await screen.press(KEY.enter)
  }
  const ask = async () => Number(/Word (\d+):/.exec(await screen.frame(/Word \d+:/))![1])
  const firstAsked = await ask()
  await answer('wrongword')
  await screen.frame(`That is not word ${firstAsked}`)
  await answer(words.get(firstAsked)!)
  for (let i = 2; i <= 3; i++) {
    const at = Number(/Word (\d+):/.exec(await screen.frame(`(${i} of 3)`))![1])
    await answer(words.get(at)!)
  }

  await screen.frame('Choose a password')
  await screen.press('s3cret')
  const masked = await screen.frame('Password: ******')
  t.absent(masked.includes('s3cret'), 'the password is masked')
  await screen.press(KEY.enter)
  await screen.frame('Type it again')
  await answer('other', '*****')
  await screen.frame('The two passwords differ')
  await answer('s3cret', '******')
  await screen.frame('Type it again')
  await answer('s3cret', '******')
  await screen.frame('/join <room> joins one')
  t.ok(await accountIsEncrypted(storage, 'default'), 'the new account is encrypted')
})

test('ui: an encrypted account asks for its password; a wrong one asks again', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const made = new Backspace({ storage, password: 'pw', bootstrap: testnet.bootstrap })
  await made.ready()
  const key = made.publicKey
  await made.close()

  const open = opener(t, testnet)
  const screen = renderScreen(t, createElement(App, { storage, account: 'default', open }))
  await screen.frame('is encrypted with a password')
  await screen.type('nope')
  await screen.frame('Wrong password. Try again.')
  await screen.type('pw')
  await screen.frame('/join <room> joins one')
  t.ok(open.nodes[open.nodes.length - 1]!.publicKey.equals(key), 'the same identity is opened')
})

test('ui: first start can import a key or go incognito', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  await saveAccount(storage, 'work', Identity.generate())
  const open = opener(t, testnet)
  const screen = renderScreen(t, createElement(App, { storage, account: 'default', open }))
  await screen.frame('Create a new account')
  await screen.frame('Other accounts here: work.')
  await screen.press('3')
  await screen.frame('Paste the secret key')
  await screen.type('abc')
  await screen.frame('The secret key is not a 32-byte seed')
  await screen.press('\u001b') // Esc: back to the selector
  await screen.frame('Create a new account')
  await screen.press('4')
  const incognito = await screen.frame('/join <room> joins one')
  t.ok(open.nodes[0]!.incognito, 'incognito opens an ephemeral node')
  t.ok(incognito.includes(open.nodes[0]!.identity.anonName))
})

test('ui: first start links to an existing device; a denied link is a sentence', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const storage = await t.tmp()
  const open = opener(t, testnet)
  const screen = renderScreen(t, createElement(App, { storage, account: 'default', open }))
  await screen.frame('Link to an existing device')
  await screen.press('5')
  await screen.frame('Link:')
  await screen.type('backspace:not-a-device-link')
  await screen.frame('That is not a device link')

  const denied = await a.devices.invite()
  a.once('device-request', (req) => void req.deny())
  await screen.type(denied.link)
  await screen.frame('Choose a password')
  await screen.press(KEY.enter)
  await screen.frame('Go without a password?')
  await screen.press('y')
  await screen.frame('The other device denied this one.')
  t.absent(screen.lastFrame()!.includes('DEVICE_LINK_DENIED'), 'a sentence, not a code')

  const { link } = await a.devices.invite()
  let shown = ''
  a.once('device-request', (req) => {
    void (async () => {
      shown = await screen.frame('Waiting for your other device')
      t.ok(shown.includes(req.fingerprint), 'the linking screen shows the fingerprint A is asked about')
      await req.approve()
    })()
  })
  await screen.type(link)
  await screen.frame('Choose a password')
  await screen.type('')
  await screen.frame('Go without a password?')
  await screen.press('y')
  await screen.frame('/join <room> joins one')
  const node = open.nodes[open.nodes.length - 1]!
  t.alike(node.publicKey, a.publicKey, 'the account is a device of the same identity')
  t.absent(node.device.primary)

  await screen.type('/device list')
  const list = await screen.frame('2 devices of this identity')
  t.ok(list.includes('(this device)') && list.includes('primary'))
})

test('ui: a device request is a notice answered with /device approve', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const screen = renderChat(t, a)
  await screen.type('/device link')
  await screen.frame('Device link (works once')
  // The link on screen wraps; the test takes another one from the library.
  const b = new Backspace({ storage: await t.tmp(), bootstrap: testnet.bootstrap, link: (await a.devices.invite()).link })
  t.teardown(() => b.close())
  const ready = b.ready()
  await screen.frame('A new device asks to join your identity')
  t.ok(screen.lastFrame()!.includes(b.linking!.fingerprint), 'with its fingerprint')
  await screen.type('/device approve')
  await screen.frame('Linked device')
  await ready
  t.alike(b.publicKey, a.publicKey)
  await screen.type('/device approve')
  await screen.frame('No device is waiting for an answer')
})

/** The `open` the app calls: nodes on the testnet, closed after the test. */
function opener(t: Test, testnet: Testnet) {
  const nodes: Backspace[] = []
  const open = async (opts: BackspaceOptions, made?: (node: Backspace) => void) => {
    const node = new Backspace({ ...opts, bootstrap: testnet.bootstrap })
    t.teardown(() => node.close())
    made?.(node)
    try {
      await node.ready()
    } catch (err) {
      await node.close()
      throw err
    }
    nodes.push(node)
    return node
  }
  return Object.assign(open, { nodes })
}

test('ui: the reducer shows the library\'s unread counts, and none for the room shown', (t) => {
  let state = chatReducer(initialChatState, {
    type: 'room-add',
    key: 'a',
    name: 'a',
    kind: 'named',
    peers: 0
  })
  state = chatReducer(state, { type: 'room-add', key: 'b', name: 'b', kind: 'named', peers: 0 })
  state = chatReducer(state, { type: 'unread', key: 'b', unread: 2, mentions: 1 })
  state = chatReducer(state, { type: 'unread', key: 'a', unread: 1, mentions: 0 })
  const b = state.rooms.find((r) => r.key === 'b')!
  t.is(b.unread, 2, 'the counts come from the library')
  t.is(b.mentions, 1)
  t.is(state.rooms.find((r) => r.key === 'a')!.unread, 0, 'the room shown has nothing unread')
  state = chatReducer(state, { type: 'switch-by', delta: 1 })
  t.is(state.active, 'b')
  t.is(state.rooms.find((r) => r.key === 'b')!.mentions, 0, 'switching reads it')
})

test('ui: message rows wrap, and mark own lines, mentions and actions', (t) => {
  t.alike(wrapText('one two three four', 9), ['one two', 'three', 'four'])
  t.alike(wrapText('abcdefghij', 4), ['abcd', 'efgh', 'ij'])
  t.alike(wrapText('a\nb', 10), ['a', 'b'], 'line breaks stay')
  t.alike(wrapText('日本語テキスト', 6), ['日本語', 'テキス', 'ト'], 'wide characters count twice')

  const base = {
    author: Buffer.alloc(32, 1),
    timestamp: new Date(2024, 4, 14, 10, 24).getTime(),
    seq: 0,
    kind: 'text' as const,
    name: 'ann',
    fingerprint: '0101-0101-0101-0101',
    self: false,
    mention: false,
    device: Buffer.alloc(32),
    edited: false,
    deleted: false,
    replyTo: null,
    reactions: []
  }
  const entries: Entry[] = [
    { kind: 'message', key: '1', message: { ...base, id: '1', text: 'hello' } },
    { kind: 'message', key: '2', message: { ...base, id: '2', text: 'me', self: true } },
    { kind: 'message', key: '3', message: { ...base, id: '3', text: 'hey @you', mention: true } },
    { kind: 'message', key: '4', message: { ...base, id: '4', text: 'waves', kind: 'action' } },
    {
      kind: 'message',
      key: '5',
      message: { ...base, id: '5', text: 'next day', timestamp: base.timestamp + 86_400_000 }
    }
  ]
  const rows = layoutRows(entries, 80)
  t.alike(
    rows.map((r) => [r.time, r.nick, r.style, r.text]),
    [
      ['10:24', 'ann 0101-0101', 'text', 'hello'],
      ['10:24', 'ann 0101-0101', 'own', 'me'],
      ['10:24', 'ann 0101-0101', 'mention', 'hey @you'],
      ['10:24', '', 'action', 'ann 0101-0101 waves'],
      ['', '--', 'day', 'Day changed to Wed 15 May 2024'],
      ['10:24', 'ann 0101-0101', 'text', 'next day']
    ]
  )
})

test('ui: the line editor edits, recalls and keeps surrogate pairs whole', (t) => {
  const run = (actions: LineAction[]) => actions.reduce(lineReducer, emptyLine)
  const typed = run([
    { type: 'insert', text: 'helo' },
    { type: 'left' },
    { type: 'insert', text: 'l' }
  ])
  t.is(typed.value, 'hello')
  t.is(typed.cursor, 4)

  const emoji = run([{ type: 'insert', text: 'a\u{1F600}' }, { type: 'delete-back' }])
  t.is(emoji.value, 'a', 'backspace removes the whole emoji')

  const history = run([
    { type: 'insert', text: 'first' },
    { type: 'commit' },
    { type: 'insert', text: 'second' },
    { type: 'commit' },
    { type: 'insert', text: 'draft' },
    { type: 'history-back' },
    { type: 'history-back' }
  ])
  t.is(history.value, 'first')
  const forward = [{ type: 'history-forward' }, { type: 'history-forward' }] as LineAction[]
  t.is(forward.reduce(lineReducer, history).value, 'draft', 'the draft comes back')

  const secret = run([
    { type: 'insert', text: 'pw' },
    { type: 'commit', remember: false }
  ])
  t.alike(secret.history, [], 'a masked line is not remembered')

  t.is(run([{ type: 'insert', text: 'one two' }, { type: 'delete-word' }]).value, 'one ')
  t.is(run([{ type: 'insert', text: 'a\u0007b\tc' }]).value, 'ab c', 'no control characters')
})

/** A message as a fake room holds it. */
function fakeMessage(n: number, over: Partial<Message> = {}): Message {
  const self = over.self ?? false
  return {
    id: `${(self ? 'aa' : 'bb').repeat(16)}-${n}`,
    author: Buffer.alloc(32, self ? 1 : 2),
    device: Buffer.alloc(32, self ? 1 : 2),
    text: `text ${n}`,
    timestamp: Date.now() - 60_000 + n,
    seq: n,
    kind: 'text',
    name: self ? 'me' : 'bob',
    fingerprint: self ? 'aaaa-aaaa-aaaa-aaaa' : 'bbbb-bbbb-bbbb-bbbb',
    self,
    mention: false,
    edited: false,
    deleted: false,
    replyTo: null,
    reactions: [],
    ...over
  }
}

/**
 * A room and node for the screen alone: the room keeps a list, records what the UI asks of
 * it and answers with the events the library would send.
 */
function fakeChat(initial: Message[]) {
  const list = initial.slice()
  const calls: unknown[][] = []
  let fetches = 0
  const idOf = (target: Message | string) => (typeof target === 'string' ? target : target.id)
  const change = (id: string, fn: (m: Message) => Message) => {
    const at = list.findIndex((m) => m.id === id)
    const next = fn(list[at]!)
    list[at] = next
    room.emit('message-update', next)
    return next
  }
  const room: any = Object.assign(new EventEmitter(), {
    id: 'f'.repeat(64),
    name: 'fake',
    kind: 'named',
    closing: false,
    stats: { peers: 1 },
    invite: 'backspace:fake',
    members: () => [],
    joinedAt: 0,
    owner: null,
    settings: { ...DEFAULT_SETTINGS },
    role: () => 'member',
    messages: async () => {
      fetches++
      return list.slice()
    },
    message: (id: string) => list.find((m) => m.id === id),
    async send(text: string, opts: { replyTo?: Message | string } = {}) {
      const replyTo = opts.replyTo === undefined ? null : idOf(opts.replyTo)
      calls.push(['send', text, replyTo])
      const quoted = list.find((m) => m.id === replyTo)
      const m = fakeMessage(100 + list.length, {
        self: true,
        text,
        timestamp: Date.now(),
        replyTo: quoted
          ? {
              id: quoted.id,
              loaded: true,
              author: quoted.author,
              name: quoted.name,
              fingerprint: quoted.fingerprint,
              text: quoted.text,
              deleted: false
            }
          : null
      })
      list.push(m)
      room.emit('message', m)
      return m
    },
    async edit(target: Message | string, text: string) {
      calls.push(['edit', idOf(target), text])
      return change(idOf(target), (m) => ({ ...m, text, edited: true }))
    },
    async delete(target: Message | string) {
      calls.push(['delete', idOf(target)])
      change(idOf(target), (m) => ({ ...m, text: '', deleted: true }))
    },
    async react(target: Message | string, emoji: string) {
      calls.push(['react', idOf(target), emoji])
      change(idOf(target), (m) => ({
        ...m,
        reactions: [...m.reactions, { emoji, count: 1, self: true, authors: [Buffer.alloc(32, 1)] }]
      }))
    },
    async unreact(target: Message | string, emoji: string) {
      calls.push(['unreact', idOf(target), emoji])
    }
  })
  const node: any = Object.assign(new EventEmitter(), {
    rooms: [room],
    profile: { name: 'me', status: '', away: null },
    connections: 1,
    incognito: false,
    identity: { fingerprint: 'aaaa-aaaa-aaaa-aaaa', anonName: 'Anon' },
    publicKey: Buffer.alloc(32, 1),
    unread: () => ({ unread: 0, mentions: 0 }),
    markRead: async () => ({ unread: 0, mentions: 0 }),
    now: () => Date.now(),
    dms: []
  })
  return { node: node as Backspace, room, list, calls, fetches: () => fetches, change }
}

test('ui: edits, tombstones, reactions and replies; each change redraws one message, no fetch', async (t) => {
  const question = fakeMessage(1, { text: 'lunch at noon?' })
  const mine = fakeMessage(2, { self: true, text: 'my typo' })
  const answer = fakeMessage(3, {
    text: 'works for me',
    replyTo: {
      id: question.id,
      loaded: true,
      author: question.author,
      name: 'bob',
      fingerprint: question.fingerprint,
      text: question.text,
      deleted: false
    }
  })
  const fake = fakeChat([question, mine, answer])
  const screen = renderChat(t, fake.node)

  const first = await screen.frame('works for me')
  const lines = first.split('\n')
  const at = lines.findIndex((l) => l.includes('works for me'))
  t.ok(
    lines[at - 1]!.includes('↳ bob: lunch at noon?'),
    'a reply quotes the message it answers, above it'
  )

  fake.change(mine.id, (m) => ({ ...m, text: 'my fix', edited: true }))
  await screen.frame(/» my fix \(edited\)/)
  t.pass('an edited line says so')

  fake.change(answer.id, (m) => ({
    ...m,
    reactions: [
      { emoji: '👍', count: 2, self: true, authors: [] },
      { emoji: '🎉', count: 1, self: false, authors: [] }
    ]
  }))
  const reacted = await screen.frame('👍 2  🎉 1')
  const rows = reacted.split('\n')
  const chips = rows.findIndex((l) => l.includes('👍 2'))
  t.ok(rows[chips - 1]!.includes('works for me'), 'reactions on a line under the message')

  fake.change(question.id, (m) => ({ ...m, text: '', deleted: true }))
  fake.change(answer.id, (m) => ({ ...m, replyTo: { ...m.replyTo!, text: '', deleted: true } }))
  const gone = await screen.frame(
    (f) => f.includes('× message deleted') && f.includes('↳ bob: message deleted')
  )
  t.absent(gone.includes('lunch at noon?'), 'a deleted message is a tombstone, in its replies too')

  const late = fakeMessage(4, { text: 'one more', timestamp: Date.now() })
  fake.list.push(late)
  fake.room.emit('message', late)
  await screen.frame('one more')
  fake.room.emit('message-withdrawn', late)
  await screen.frame((f) => !f.includes('one more'))
  t.is(fake.fetches(), 1, 'one page at the start; every change after it came as an event')
})

test('ui: Up on an empty line edits your last message; Enter saves, Esc cancels', async (t) => {
  const fake = fakeChat([
    fakeMessage(1, { self: true, text: 'first of mine' }),
    fakeMessage(2, { self: true, text: 'teh typo' }),
    fakeMessage(3, { text: 'from bob' })
  ])
  const screen = renderChat(t, fake.node)
  await screen.frame('from bob')

  await screen.press(KEY.up)
  await screen.frame('[#fake] edit: teh typo')
  await screen.press(KEY.up)
  await screen.frame('[#fake] edit: first of mine')
  await screen.press(KEY.down)
  await screen.frame('[#fake] edit: teh typo')
  t.pass('Up and Down walk your own messages')
  await screen.press('\u0015')
  await screen.type('the typo')
  await screen.frame(/» the typo \(edited\)/)
  t.alike(fake.calls, [['edit', fake.list[1]!.id, 'the typo']], 'Enter saved it with room.edit')
  await screen.frame((f) => !f.includes('edit:'))
  t.pass('edit mode is over')

  await screen.press(KEY.up)
  await screen.frame('[#fake] edit: the typo')
  await screen.press(' again', KEY.escape)
  await screen.frame((f) => !f.includes('edit:') && !f.includes('again'))
  t.is(fake.calls.length, 1, 'Esc cancels: nothing is saved')
})

test('ui: Alt+Up picks a message to answer or react to; commands show references', async (t) => {
  const fake = fakeChat([
    fakeMessage(1, { text: 'older one' }),
    fakeMessage(2, { text: 'newest one' })
  ])
  const screen = renderChat(t, fake.node)
  await screen.frame('newest one')

  await screen.press(KEY.altUp, KEY.altUp)
  await screen.frame('[#fake] ↳ bob:')
  await screen.type('an answer')
  await screen.frame('↳ bob: older one')
  t.alike(
    fake.calls[0],
    ['send', 'an answer', fake.list[0]!.id],
    'Enter sent a reply to the picked message'
  )

  await screen.press(KEY.altUp)
  await screen.frame('[#fake] ↳ me:')
  await screen.press(KEY.altDown)
  await screen.frame(/^\[#fake\]\s*$/m)
  t.pass('Alt+Down past the newest drops the pick')

  await screen.press('/react ')
  const refs = await screen.frame(messageRef(fake.list[1]!.id))
  t.ok(
    refs.includes(messageRef(fake.list[0]!.id)),
    'while a message command is typed, references replace the times'
  )
  await screen.press('\u0015')
  await screen.type(`/react ${messageRef(fake.list[1]!.id)} +1`)
  await screen.frame((f) => /newest one\n.*👍 1/.test(f))
  t.alike(
    fake.calls[1],
    ['react', fake.list[1]!.id, '👍'],
    '/react with a reference and an emoji name'
  )

  // Up from none picks the newest (your answer), Up again bob's "newest one".
  await screen.press(KEY.altUp, KEY.altUp)
  await screen.frame('[#fake] ↳ bob:')
  await screen.type('/react :tada:')
  await screen.frame('🎉 1')
  t.alike(
    fake.calls[2]!.slice(0, 2),
    ['react', fake.list[1]!.id],
    'a command acts on the picked message'
  )
})

test('ui: a name with bidi and control characters cannot move what follows it', (t) => {
  const base = {
    author: Buffer.alloc(32, 1),
    timestamp: new Date(2024, 4, 14, 10, 24).getTime(),
    seq: 0,
    kind: 'text' as const,
    fingerprint: '0101-0101-0101-0101',
    self: false,
    mention: false,
    device: Buffer.alloc(32),
    edited: false,
    deleted: false,
    replyTo: null,
    reactions: []
  }
  // As an older build, or a message from before the display rule, could hand it over.
  const name = 'alice\u202e 303f-0464-87a9-fe57\u001b[2J'
  const entries: Entry[] = [
    { kind: 'message', key: '1', message: { ...base, id: '1', name, text: 'send me your words' } },
    { kind: 'message', key: '2', message: { ...base, id: '2', name, kind: 'action', text: 'waves' } }
  ]
  const rows = layoutRows(entries, 80)
  t.is(rows[0]!.nick, 'alice [2J 0101-0101', 'the name, then the real fingerprint, in the nick column')
  t.is(rows[1]!.text, 'alice [2J 0101-0101 waves')
  for (const row of rows) {
    t.absent(/[\u0000-\u001f\u202a-\u202e\u2066-\u2069]/.test(row.nick + row.text), 'no raw control or bidi character')
  }
})

test('ui: failed sends keep the text, password rooms are marked and told apart, Tab picks one alice', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet, { aloneAfter: 300 })
  const b = await create(t, testnet)
  const c = await create(t, testnet)
  await b.setProfile({ name: 'alice' })
  await c.setProfile({ name: 'alice' })
  const screen = renderChat(t, a, { room: { name: 'defects' } })
  await screen.frame('[#defects]')
  const rb = await b.join('defects')
  const rc = await c.join('defects')
  await rb.send('from b')
  await rc.send('from c')
  await screen.frame((f) => f.includes('from b') && f.includes('from c'))

  // Tab offers the form that mentions exactly one of the two alices.
  await screen.press('hi @al', KEY.tab)
  const tagged = await screen.frame(/\[#defects\] hi @alice#[0-9a-f]{4}/)
  const first = /@alice#([0-9a-f]{4,})/.exec(tagged)![1]!
  await screen.press(KEY.tab)
  const other = await screen.frame((f) => /@alice#[0-9a-f]{4}/.test(f) && !f.includes(`@alice#${first}`))
  t.ok(other, 'Tab again offers the other alice')
  await screen.press('\u0015')

  // Too long: the counter shows before sending, and the text stays after the error.
  const long = 'x'.repeat(17_000)
  await screen.press(long)
  await screen.frame('17000/16384')
  t.pass('a counter shows the limit before sending')
  await screen.press(KEY.enter)
  const failed = await screen.frame('MESSAGE_TOO_LARGE')
  t.ok(failed.includes('17000/16384'), 'the text is still in the line after the failed send')
  await screen.press('\u0015')
  await screen.frame((f) => !f.includes('17000/16384'))

  // A typo in an invite is refused with a sentence.
  const priv = await b.createRoom({ name: 'club' })
  const body = priv.invite.slice('backspace:'.length)
  const typo = 'backspace:' + body.slice(0, 10) + (body[10] === 'y' ? 'b' : 'y') + body.slice(11)
  await screen.type(`/join ${typo}`)
  await screen.frame('typo')
  t.is(a.rooms.length, 1, 'no empty look-alike room was made')

  // Two passwords, two rooms of one name: each marked, each with its tag.
  await screen.type('/join secret right')
  await screen.frame('2 🔒#secret')
  await screen.type('/join secret wrong')
  // The list shows the room once the node adds it; the join's notices come when it returns.
  const both = await screen.frame(
    (f) => (f.match(/🔒#secret·[0-9a-f]{4}/g) ?? []).length >= 2 && f.includes('You are in 2 rooms named')
  )
  const secrets = a.rooms.filter((r) => r.name === 'secret')
  for (const r of secrets) t.ok(both.includes(`🔒#secret·${r.id.slice(0, 4)}`), `the room list tags ${r.id.slice(0, 4)}`)
  t.ok(both.includes('You are in 2 rooms named #secret'), 'the join explains the twin')
  await screen.frame('Nobody else has been seen in #secret')
  t.pass('a password room with nobody in it says another password is another room')
})

test('ui: CJK and emoji in the input line are counted in terminal cells; the prompt and cursor stay', async (t) => {
  const width = 20
  const screen = renderScreen(t, createElement(InputLine, { prompt: '[#本] ', width, onSubmit: () => {} }))
  await screen.press('日本語の文字はセルを二つ使う')
  const frame = await screen.frame('使う')
  const line = frame.split('\n').find((l) => l.includes('使う'))!
  t.ok(line.startsWith('[#本] '), 'the prompt is whole')
  t.ok(stringWidth(line.trimEnd()) <= width - 1, `the line fits ${width} cells: ${line}`)
  t.ok(line.trimEnd().endsWith('使う'), 'the last character typed and the cursor after it are shown')
  await screen.press('😀😀')
  const emoji = await screen.frame('😀😀')
  const last = emoji.split('\n').find((l) => l.includes('😀'))!
  t.ok(last.startsWith('[#本] ') && stringWidth(last.trimEnd()) <= width - 1, `emoji fit too: ${last}`)

  t.alike(fitLine('ab日本', 4, 4), { before: '本', under: '', after: '' }, 'a wide character that does not fit is left out, not cut')
  t.alike(fitLine('日本語', 0, 4), { before: '', under: '日', after: '本' })
  t.alike(fitLine('a👨‍👩‍👧b', 1, 10), { before: 'a', under: '👨‍👩‍👧', after: 'b' }, 'a cluster is one character')
})

test('ui: a wrong password from --password-file or BACKSPACE_PASSWORD falls back to the prompt', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const made = new Backspace({ storage, password: 'pw', bootstrap: testnet.bootstrap })
  await made.ready()
  const key = made.publicKey
  await made.close()

  const open = opener(t, testnet)
  const failures: Error[] = []
  const screen = renderScreen(
    t,
    createElement(App, { storage, account: 'default', password: 'wrong', open, onFail: (err: Error) => failures.push(err) })
  )
  await screen.frame('is wrong. Type it.')
  await screen.frame('is encrypted with a password')
  await screen.type('pw')
  await screen.frame('/join <room> joins one')
  t.ok(open.nodes[open.nodes.length - 1]!.publicKey.equals(key), 'the same identity is opened')
  t.is(failures.length, 0)
})

test('ui: Ctrl+C at the password prompt ends the app on an error (a non-zero exit)', async (t) => {
  const storage = await t.tmp()
  await saveAccount(storage, 'default', Identity.generate(), { password: 'pw' })
  const failures: Error[] = []
  const open = async () => {
    throw new Error('not opened')
  }
  const screen = renderScreen(
    t,
    createElement(App, { storage, account: 'default', open, onFail: (err: Error) => failures.push(err) })
  )
  await screen.frame('is encrypted with a password')
  await screen.press(KEY.ctrlC)
  await until(() => failures.length > 0)
  t.is((failures[0] as { code?: string }).code, 'PASSWORD_REQUIRED')
})

test('ui: a storage open in another backspace is one sentence before any password, and the app ends on it', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const first = new Backspace({ storage, password: 'pw', bootstrap: testnet.bootstrap })
  t.teardown(() => first.close())
  await first.ready()

  const open = opener(t, testnet)
  const failures: Error[] = []
  const screen = renderScreen(
    t,
    createElement(App, { storage, account: 'default', open, onFail: (err: Error) => failures.push(err) })
  )
  const frame = await screen.frame('open in another backspace')
  t.absent(frame.includes('password'), 'no password is asked for first')
  t.absent(frame.includes('could not be locked'), 'no raw error')
  t.absent(frame.includes('tries again'), 'no retry that cannot help')
  await until(() => failures.length > 0)
  t.is((failures[0] as { code?: string }).code, 'STORAGE_IN_USE', 'the app ends on the error')
  t.is(open.nodes.length, 0, 'no second node was opened')

  // With the password given, the open itself meets the lock: the same sentence.
  const raced = startupError(new Error('File descriptor could not be locked'), storage, 'default')
  t.is((raced as { code?: string }).code, 'STORAGE_IN_USE')
})

test('ui: a storage path that is a file is one sentence, not ENOTDIR, and the app ends on it', async (t) => {
  const dir = await t.tmp()
  const storage = path.join(dir, 'file')
  await fs.promises.writeFile(storage, 'not a directory')
  const failures: Error[] = []
  const open = async () => {
    throw new Error('not opened')
  }
  const screen = renderScreen(
    t,
    createElement(App, { storage, account: 'default', open, onFail: (err: Error) => failures.push(err) })
  )
  const frame = await screen.frame('is a file, not a directory')
  t.absent(frame.includes('ENOTDIR'))
  t.absent(frame.includes('tries again'))
  await until(() => failures.length > 0)
  t.is((failures[0] as { code?: string }).code, 'STORAGE_UNUSABLE')
  const raw = Object.assign(new Error('ENOTDIR: not a directory'), { code: 'ENOTDIR', path: storage })
  t.is((startupError(raw, storage) as { code?: string }).code, 'STORAGE_UNUSABLE')
})

/** Waits for `check` to hold, polling on the event loop (not a timing assertion). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
}

test('ui: a notice about one room shows in that room only; /clear is not "Start of" the room', async (t) => {
  const fake = fakeChat([fakeMessage(1, { text: 'an old line' })])
  // The fake room's methods, not its listeners.
  const methods = Object.fromEntries(Object.entries(fake.room).filter(([k]) => !k.startsWith('_')))
  const other: any = Object.assign(new EventEmitter(), {
    ...methods,
    id: 'e'.repeat(64),
    name: 'other',
    messages: async () => []
  })
  const screen = renderChat(t, fake.node)
  await screen.frame('an old line')
  t.ok(screen.lastFrame()!.includes('Start of #fake'), 'the whole history is loaded')
  ;(fake.node as any).rooms = [fake.room, other]
  fake.node.emit('room-add', other)
  await screen.frame('#other')
  other.emit('error', new Error('other broke'))
  fake.room.emit('error', new Error('fake broke'))
  const here = await screen.frame('fake broke')
  t.absent(here.includes('other broke'), 'the error of #other is not shown in #fake')
  await screen.press(KEY.ctrlN)
  const there = await screen.frame(/\[#other\]/)
  t.absent(there.includes('fake broke'), 'nor the error of #fake in #other')
  await screen.frame('other broke')
  await screen.press(KEY.ctrlP)
  await screen.frame(/\[#fake\]/)

  await screen.type('/clear')
  const cleared = await screen.frame((f) => !f.includes('an old line') && f.includes('[#fake]'))
  t.absent(cleared.includes('Start of'), 'no false "Start of #fake" after /clear')
})

test('ui: quitting shows "Closing..." at once, and the wait for the node to close is bounded', async (t) => {
  const fake = fakeChat([fakeMessage(1, { text: 'a line' })])
  let quit = 0
  const screen = renderChat(t, fake.node, { onQuit: () => quit++ })
  await screen.frame('a line')
  await screen.type('/quit')
  await screen.frame('Closing...')
  t.is(quit, 1, 'the app quits')

  // A node whose close hangs (the bootstrap is gone): the wait ends anyway.
  const hanging = { close: () => new Promise<void>(() => {}) }
  t.is(await closeWithin(hanging, 50), 'gave-up')
  t.is(await closeWithin({ close: async () => {} }, 60_000), 'closed')
  t.is(await closeWithin({ close: async () => Promise.reject(new Error('x')) }, 60_000), 'closed', 'a failed close ends the wait too')
  t.is(await closeWithin(null, 60_000), 'closed')
})

test('ui: the recovery phrase fits a 60x14 terminal, all 24 words at once', async (t) => {
  const storage = await t.tmp()
  const open = async (): Promise<Backspace> => {
    throw new Error('not opened in this test')
  }
  const screen = renderScreen(t, createElement(App, { storage, account: 'default', open }))
  screen.resize(60, 14)
  await screen.frame('Create a new account')
  await screen.press(KEY.enter)
  const phrase = await screen.frame('Your recovery phrase')
  const lines = phrase.split('\n')
  const numbers = new Set([...phrase.matchAll(/(\d+)\. [a-z]+/g)].map((m) => Number(m[1])))
  t.is(numbers.size, 24, 'words 1 to 24 are all on the screen')
  t.ok(lines.length <= 14, `${lines.length} rows fit 14`)
  t.ok(lines.every((l) => stringWidth(l) <= 60), 'no row is wider than 60 columns')
  t.ok(phrase.includes('Esc goes back'), 'and the keys to go on')
})

test('ui: a 100-line paste is sent as one multi-line message, not 100', async (t) => {
  const fake = fakeChat([fakeMessage(1, { text: 'before' })])
  const screen = renderChat(t, fake.node)
  await screen.frame('before')
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i + 1}`)
  await screen.press(lines.join('\r') + '\r')
  await screen.frame('line 100')
  const sends = fake.calls.filter((c) => c[0] === 'send')
  t.is(sends.length, 1, 'one message')
  t.is(sends[0]![1], lines.join('\n'), 'with its line breaks')
})

test('ui: reopening shows the room shown last, and lines typed before can be recalled', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const a = await create(t, testnet, { storage })
  await a.join('first')
  const second = await a.join('second')
  const screen = renderChat(t, a)
  await screen.frame('2 #second')
  await screen.type('hello from before')
  await screen.frame('hello from before')
  await screen.press(KEY.alt(2))
  await screen.frame('[#second]')
  // Saved as the user goes: wait until the library has it, then restart.
  while ((await a.chatPrefs()).lastRoom !== second.id) await new Promise((resolve) => setImmediate(resolve))
  t.alike((await a.chatPrefs()).history, ['hello from before'], 'the line typed is kept')
  screen.unmount()
  await a.close()

  const again = await create(t, testnet, { storage })
  const next = renderChat(t, again)
  await next.frame((f) => f.includes('[#second]') && f.includes('1 #first'))
  t.pass('the room shown last is shown again, not room 1 by default')
  await next.press(KEY.ctrlUp)
  await next.frame('[#second] hello from before')
  t.pass('Ctrl+Up recalls a line typed before the restart')
})

test('ui: at 60 columns names stay visible, and a cut room name does not look private', async (t) => {
  const fake = fakeChat([fakeMessage(1, { text: 'narrow hello' })])
  const screen = renderChat(t, fake.node)
  screen.resize(60, 20)
  const frame = await screen.frame((f) => f.includes('narrow hello') && f.split('\n')[0]!.length <= 60)
  t.ok(/bob bbbb\s*│ narrow hello/.test(frame), 'the name and the fingerprint group show beside the text')

  let state = chatReducer(initialChatState, {
    type: 'room-add',
    key: 'a'.repeat(64),
    name: 'a-very-long-public-room-name',
    kind: 'named',
    peers: 0
  })
  state = chatReducer(state, { type: 'room-add', key: 'b'.repeat(64), name: 'x', kind: 'named', peers: 0 })
  const list = render(createElement(RoomList, { rooms: state.rooms, active: state.active, width: 14, height: 5 }))
  t.teardown(() => list.unmount())
  const row = list.lastFrame()!.split('\n').find((l) => l.startsWith('1 '))!
  t.ok(row.includes('1 #a-very') && row.includes('…'), `cut with an ellipsis: ${row.trim()}`)
  t.absent(row.includes('~'), 'no ~, the mark of a private room')
})

test('ui: an unreachable bootstrap says the network cannot be reached, not "no peers yet"', async (t) => {
  // A bootstrap on a loopback port that nothing listens on: no DHT node ever answers.
  const socket = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()))
  const port = socket.address().port
  await new Promise<void>((resolve) => socket.close(() => resolve()))
  const node = new Backspace({ incognito: true, bootstrap: [{ host: '127.0.0.1', port }] })
  t.teardown(() => node.close())
  await node.ready()
  const screen = renderChat(t, node)
  const frame = await screen.frame('network unreachable')
  t.absent(frame.includes('no peers yet'), 'the status bar says what is wrong')
  await screen.frame('The network cannot be reached')
  t.is(node.reachable, false, 'the library reports it')
})

test('ui: a mention rings the bell, once, and only for a mention', async (t) => {
  const fake = fakeChat([fakeMessage(1, { text: 'seen before' })])
  const bells: string[] = []
  const screen = renderChat(t, fake.node, { onMention: (m) => bells.push(m.text) })
  await screen.frame('seen before')
  const plain = fakeMessage(2, { text: 'no mention here', timestamp: Date.now() })
  const mention = fakeMessage(3, { text: 'hey @me', mention: true, timestamp: Date.now() + 1 })
  fake.list.push(plain, mention)
  fake.room.emit('message', plain)
  fake.room.emit('message', mention)
  await screen.frame('hey @me')
  t.alike(bells, ['hey @me'], 'one bell, for the mention only')
})

test('ui: role marks, topic, announcement, welcome and governance lines; a request, /requests, the DMs section, /dm', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const c = await create(t, testnet)
  await a.setProfile({ name: 'ann' })
  await b.setProfile({ name: 'bob' })
  await c.setProfile({ name: 'carl' })
  // bob owns the room, with a topic, an announcement and a welcome, before ann comes.
  const rb = await b.join('gov-ui')
  await rb.moderate.topic('first topic')
  await rb.moderate.announce('be kind')
  await rb.moderate.welcome('read the pins')
  await c.join('gov-ui')
  const bells: string[] = []
  const screen = renderChat(t, a, { room: { name: 'gov-ui' }, onMention: (m) => bells.push(m.text) })

  await screen.frame('Welcome to #gov-ui: read the pins')
  await screen.frame((f) => f.includes('Announcement: be kind') && f.includes('first topic |'))
  t.pass('the welcome on joining; the announcement as a banner; the topic in the title bar')
  await screen.frame((f) => f.includes('~bob') && f.includes('carl'))
  t.pass('the owner is marked ~ in the member list')
  await rb.send('hello all')
  await screen.frame(new RegExp(`~bob ${fp(b)} │ hello all`))
  t.pass('and beside the name in the message lines')

  // Governance by bob: lines on ann's screen, who did not act.
  await rb.moderate.op(a.publicKey)
  await screen.frame(`bob ${fp(b)} made you an operator (@)`)
  await screen.type('thanks')
  await screen.frame(new RegExp(`@ann ${fp(a)} » thanks`))
  t.pass('made an op: a line, and the @ mark on your own lines')
  await rb.moderate.kick(c.publicKey, 'spam')
  await screen.frame(`carl ${fp(c)} was kicked by bob ${fp(b)} (spam)`)
  await rb.moderate.topic('second topic')
  await screen.frame((f) => f.includes(`bob ${fp(b)} set the topic to: second topic`) && f.includes('second topic |'))
  await rb.moderate.set({ slowMode: 5 })
  await screen.frame(`bob ${fp(b)} set slow mode: one message per 5 s`)
  t.pass('kick, topic and slow mode are lines in the room; the title bar follows the topic')

  // A friend request: a notice that says how to answer; /requests lists it; accept opens the DM.
  await b.friends.request(a.publicKey, 'let us talk')
  await screen.frame((f) => f.includes('asks to be your friend') && f.includes(`/accept ${b.identity.fingerprint},`) && f.includes(`/decline ${b.identity.fingerprint}`))
  await screen.type('/requests')
  await screen.frame(`${b.identity.fingerprint}): let us talk`)
  t.pass('the request shows with how to accept or decline; /requests lists it')
  await screen.type(`/requests accept ${b.identity.fingerprint}`)
  const dmShown = await screen.frame((f) => f.includes('[@bob]') && /DMs[^\n]*\n2 ● bob/.test(f))
  t.ok(/1 #gov-ui/.test(dmShown), 'the DM is listed under DMs, after the rooms, with an online dot')

  // A DM message while the room is shown: counted on the DM's entry, and a bell.
  await screen.press(KEY.alt(1))
  await screen.frame('[#gov-ui]')
  await untilEvent(b, 'friend-update', () => b.friends.list().some((f) => f.key.equals(a.publicKey)))
  const bobDm = await b.dm(a.publicKey)
  await bobDm.send('psst')
  await screen.frame(/2 ● bob\s+1/)
  t.alike(bells, ['psst'], 'a DM message rings the bell')

  // /decline by name: the request is gone, and nothing opens.
  await c.setProfile({ name: 'carl' })
  await c.friends.request(a.publicKey, 'me too')
  await screen.frame('"me too"')
  await screen.type('/decline carl')
  await screen.frame(`Declined carl (${c.identity.fingerprint})`)
  t.is(a.friends.requests().length, 0, 'no request waits')
  t.absent(screen.lastFrame()!.includes('3 ● carl'), 'no DM with carl')
  await screen.type('/dm bob back to you')
  await screen.frame((f) => f.includes('[@bob]') && new RegExp(`ann ${fp(a)} » back to you`).test(f))
  t.pass('/dm bob text sends in the DM and selects it')

  await b.close()
  await screen.frame(/2 ○ bob/)
  t.pass('the dot goes hollow when the friend goes offline')
})

test('ui: governance lines are worded for each action; a hostile topic cannot break or reorder the title bar', (t) => {
  const person = (name: string, self = false) => ({ name, fingerprint: '1111-2222-3333-4444', self })
  const line = (action: string, extra: Record<string, unknown> = {}) =>
    noticeText({
      kind: 'governance',
      action: action as 'kick',
      actor: person('alice'),
      target: person('bob'),
      text: '',
      setting: null,
      value: null,
      ...extra
    } as NoticeBody)[0]
  t.is(line('ban', { text: 'spam' }), 'bob 1111-2222 was banned by alice 1111-2222 (spam)')
  t.is(line('kick', { target: person('me', true) }), 'you were kicked by alice 1111-2222')
  t.is(line('deop'), 'alice 1111-2222 took operator status from bob 1111-2222')
  t.is(line('unban'), 'alice 1111-2222 lifted the ban on bob 1111-2222')
  t.is(line('wipe', { target: null }), 'alice 1111-2222 wiped the room: every message before this is gone, for everyone')
  t.is(line('set', { setting: 'slowMode', value: 0 }), 'alice 1111-2222 turned slow mode off')
  t.is(line('set', { setting: 'locked', value: true }), 'alice 1111-2222 locked the room: nobody new may join')
  t.is(line('topic', { text: '' }), 'alice 1111-2222 cleared the topic')

  const view = chatReducer(initialChatState, { type: 'room-add', key: 'a'.repeat(64), name: 'general', kind: 'named', peers: 0 })
  const hostile = chatReducer(view, {
    type: 'governance',
    key: 'a'.repeat(64),
    owner: null,
    roles: {},
    settings: { ...DEFAULT_SETTINGS, topic: 'evil\u202e topic\nsecond row\u2066', announcement: 'a\r\nb' }
  })
  const screen = render(createElement(TitleBar, { width: 80, active: hostile.rooms[0]!, rooms: hostile.rooms }))
  t.teardown(() => screen.unmount())
  const frame = screen.lastFrame() ?? ''
  t.absent(/[\u202a-\u202e\u2066-\u2069]/.test(frame), 'no bidi control reaches the terminal')
  t.is(frame.split('\n').length, 1, 'the title bar stays one row')
  t.ok(frame.includes('evil topic second row |'), 'the topic, on one row')
  t.is(oneLine('a\r\nb'), 'a b', 'an announcement too')
})
