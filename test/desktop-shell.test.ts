// The desktop shell's protocol without a browser: the account screens' requests, the chat
// requests over the library's command runner, bad frames, and main.js as a process.
import { spawn } from 'child_process'
import path from 'path'
import { fileURLToPath } from 'url'
import test from 'brittle'
import WebSocket from 'ws'
import { accountExists, accountIsEncrypted, CONFIRM_WORDS, Identity, saveAccount } from '../lib/index.js'
import { startDesktop } from '../ui-desktop/server.js'
import { DesktopSession } from '../ui-desktop/session.js'
import { create, createLocalTestnet, once, until, waitForPeers, type Testnet } from './helpers/index.js'

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'ui-desktop', 'main.js')

interface Frame {
  id?: number | null
  result?: any
  error?: { code: string; message: string }
  event?: string
  data?: any
}

/** A WebSocket client of the shell: `call` answers with the result or throws the coded error. */
async function connect(url: string) {
  const u = new URL(url)
  const ws = new WebSocket(`ws://${u.host}/ws?token=${u.searchParams.get('token')}`)
  const frames: Frame[] = []
  const waiters: Array<() => void> = []
  let closed = false
  const wake = () => {
    for (const fn of waiters.splice(0)) fn()
  }
  ws.on('message', (data) => {
    frames.push(JSON.parse(data.toString()))
    wake()
  })
  ws.on('close', () => {
    closed = true
    wake()
  })
  await once(ws, 'open')
  let nextId = 1
  const next = async (match: (f: Frame) => boolean): Promise<Frame> => {
    for (;;) {
      const at = frames.findIndex(match)
      if (at !== -1) return frames.splice(at, 1)[0]!
      // A socket that closes fails what waits on it, rather than hang the test.
      if (closed) throw new Error('The shell closed the socket')
      await new Promise<void>((resolve) => waiters.push(resolve))
    }
  }
  return {
    raw: (text: string) => ws.send(text),
    next,
    async call(type: string, args: Record<string, unknown> = {}): Promise<any> {
      const id = nextId++
      ws.send(JSON.stringify({ id, type, ...args }))
      const frame = await next((f) => f.id === id)
      if (frame.error) throw Object.assign(new Error(frame.error.message), frame.error)
      return frame.result
    },
    event: (name: string, match: (data: any) => boolean = () => true) =>
      next((f) => f.event === name && match(f.data)),
    close: () => ws.close()
  }
}

async function shell(t: any, testnet: Testnet, opts: Parameters<typeof DesktopSession.start>[0]) {
  const session = await DesktopSession.start({ bootstrap: testnet.bootstrap, ...opts })
  const desktop = await startDesktop(session)
  t.teardown(async () => {
    await desktop.close()
    await session.close()
  })
  return { session, desktop, client: await connect(desktop.url) }
}

test('desktop shell: a new account from the page, then chat through runCommand', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const { session, desktop, client } = await shell(t, testnet, { storage })
  const watcher = await connect(desktop.url)

  const first = await client.call('state')
  t.is(first.phase, 'setup', 'no account: the setup screen')
  t.alike(first.setup.accounts, [])
  t.is(first.setup.account, 'default')
  t.is(session.node, null, 'no node yet')

  await t.exception(client.call('messages', { room: 'x' }), /WRONG_PHASE/, 'no chat before a node')
  await t.exception(
    client.call('setup-create', { source: 'new', password: null }),
    /BAD_REQUEST/,
    'words come first'
  )
  await t.exception(
    client.call('setup-preview', { source: 'phrase', value: 'abandon abandon' }),
    /INVALID_PHRASE/,
    "the library's code for a bad phrase"
  )
  const made = await client.call('setup-generate')
  t.is(made.words.length, 24)
  t.is(made.positions.length, CONFIRM_WORDS, 'the shell names the words to type back')
  // A client that skips the confirmation the page asks for gets no account.
  const skipped = await client.call('setup-create', { source: 'new', password: null }).catch((e: any) => e)
  t.is(skipped.code, 'PHRASE_NOT_CONFIRMED', "the library's confirmation is enforced")
  t.ok(/^PHRASE_NOT_CONFIRMED: [A-Z][a-z ]+/.test(skipped.message), 'with a sentence for the page')
  t.absent(await accountExists(storage, 'default'), 'and no account on disk')
  t.is(session.node, null, 'nor a node')
  const typed = made.positions.map((p: number) => made.words[p - 1])
  const wrongAt = made.positions[1]
  const mistyped = await client.call('setup-confirm', {
    words: typed.map((w: string, i: number) => (i === 1 ? w + 'x' : w))
  })
  t.alike(mistyped, { confirmed: false, wrong: wrongAt }, 'a wrong word is named')
  await t.exception(
    client.call('setup-create', { source: 'new', password: null }),
    /PHRASE_NOT_CONFIRMED/,
    'the words before the wrong one do not count'
  )
  await t.exception(client.call('setup-confirm', { words: typed.slice(1) }), /BAD_REQUEST/, 'every word asked')
  await t.exception(client.call('setup-confirm', { words: 'x' }), /BAD_REQUEST/)
  t.alike(
    await client.call('setup-confirm', { words: typed.map((w: string) => ` ${w.toUpperCase()} `) }),
    { confirmed: true, wrong: null },
    'case and outer spaces do not matter'
  )
  await t.exception(
    client.call('setup-create', { source: 'new' }),
    /BAD_REQUEST/,
    'a password, or null for none, is an explicit choice'
  )
  await t.exception(
    client.call('setup-create', { source: 'new', password: null, account: 'Not Valid' }),
    /INVALID_ACCOUNT_NAME/
  )
  const created = await client.call('setup-create', {
    source: 'new',
    password: 'pw',
    account: 'me'
  })
  t.is(created.phase, 'chat')
  t.is(created.chat.identity.fingerprint, made.fingerprint, 'the identity of the words shown')
  t.is(created.chat.identity.account, 'me')
  t.ok(await accountIsEncrypted(storage, 'me'))
  t.is((await watcher.event('state', (s) => s.phase === 'opening')).data.phase, 'opening')
  await watcher.event('state', (s) => s.phase === 'chat')
  t.pass('every page follows the phase')
  await t.exception(client.call('setup-incognito'), /WRONG_PHASE/, 'one node per shell')

  const joined = await client.call('line', { room: null, text: '/join Desk' })
  t.ok(joined.room, 'a /join names the room to show')
  t.is(joined.notices[0].level, 'info')
  await watcher.event('room-add', (r) => r.id === joined.room && r.name === 'desk')
  const said = await client.call('line', { room: joined.room, text: 'hello' })
  t.alike(said.notices, [], 'a message shows no notice')
  const message = (await watcher.event('message', (m) => m.message.text === 'hello')).data.message
  t.is(message.self, true)
  t.is(message.fingerprint, created.chat.identity.fingerprint)
  await client.call('line', { room: joined.room, text: '/me waves' })
  const action = await watcher.event('message', (m) => m.message.text === 'waves')
  t.is(action.data.message.kind, 'action')
  await client.call('line', { room: joined.room, text: '/nick Zed' })
  t.is((await watcher.event('identity')).data.name, 'Zed', 'a /nick updates the identity')

  const page = await client.call('messages', { room: joined.room, limit: 1 })
  t.is(page.messages.length, 1)
  t.is(page.more, true)
  const older = await client.call('messages', {
    room: joined.room,
    limit: 10,
    before: page.messages[0].id
  })
  t.is(older.messages.length, 1, 'before pages back')
  t.is(older.more, false)

  const unknown = await client.call('line', { room: joined.room, text: '/jion x' })
  t.is(unknown.notices[0].level, 'error', 'an unknown command is an error notice')
  t.ok(unknown.notices[0].text.includes('/join'), 'with a suggestion')
  t.is((await client.call('line', { room: joined.room, text: '/clear' })).clear, true)
  const help = await client.call('line', { room: joined.room, text: '/help' })
  t.ok(
    help.help.some((c: { usage: string }) => c.usage.startsWith('/join')),
    '/help as data'
  )
  t.ok((await client.call('complete', { room: joined.room, text: '/jo' })).includes('/join '))
  t.alike(
    await client.call('complete', { room: joined.room, text: 'hi @Z' }),
    [],
    "Tab offers others' names from the chat model, not your own (as in the terminal)"
  )
  await t.exception(client.call('line', { room: 'ab'.repeat(32), text: 'x' }), /UNKNOWN_ROOM/)

  client.raw('{"id": 7, "type": ')
  t.is((await client.next((f) => f.id === null)).error!.code, 'BAD_REQUEST', 'bad JSON')
  await t.exception(client.call('nope'), /UNKNOWN_REQUEST/)
  await t.exception(client.call('messages', { room: 5 }), /BAD_REQUEST/)
  t.is((await client.call('state')).phase, 'chat', 'the socket goes on')

  const left = await client.call('line', { room: joined.room, text: '/leave' })
  t.is(left.left, joined.room)
  await watcher.event('room-remove', (r) => r.room === joined.room)

  const quitting = once(session, 'quit')
  t.is((await client.call('line', { room: null, text: '/quit' })).quit, true)
  await quitting
  t.pass('/quit asks the shell to close')
  client.close()
  watcher.close()
})

test('desktop shell: message actions go to the room; each change comes as one message', async (t) => {
  const testnet = await createLocalTestnet(t)
  const { session, client } = await shell(t, testnet, { incognito: true })
  const joined = await client.call('line', { room: null, text: '/join acts' })
  const roomId: string = joined.room
  await client.call('line', { room: roomId, text: 'first' })
  await client.call('line', { room: roomId, text: 'second' })
  const page = await client.call('messages', { room: roomId })
  const [first, second] = page.messages
  t.ok(first.order < second.order, 'an order key the page sorts by')
  t.ok(/^\^[a-z]{4}$/.test(first.ref), `a reference to type: ${first.ref}`)
  t.alike([first.edited, first.deleted, first.replyTo, first.reactions], [false, false, null, []])

  const update = (match: (m: any) => boolean) =>
    client.event('message-update', (d) => d.room === roomId && match(d.message))

  const edited = await client.call('edit', { room: roomId, message: first.id, text: 'first!' })
  t.is(edited.text, 'first!')
  t.is(edited.edited, true, 'edit answers with the message as it is now')
  await update((m) => m.id === first.id && m.text === 'first!')
  t.pass('and every page gets the one message that changed')

  await client.call('react', { room: roomId, message: first.id, emoji: '🎉' })
  const reacted = await update((m) => m.id === first.id && m.reactions.length === 1)
  t.alike(
    reacted.data.message.reactions,
    [{ emoji: '🎉', count: 1, self: true, who: [session.node!.identity.anonName] }],
    'reactions with the names of who reacted'
  )
  await client.call('unreact', { room: roomId, message: first.id, emoji: '🎉' })
  await update((m) => m.id === first.id && m.reactions.length === 0)

  const reply = await client.call('reply', { room: roomId, message: second.id, text: 'an answer' })
  t.is(reply.replyTo.id, second.id, 'a reply carries what it answers')
  t.is(reply.replyTo.text, 'second')
  const picked = await client.call('line', { room: roomId, text: 'picked', selected: second.id })
  t.alike(picked.notices, [])
  const answer = await client.event('message', (d) => d.message.text === 'picked')
  t.is(answer.data.message.replyTo.id, second.id, 'a plain line with a picked message answers it')
  await client.call('line', { room: roomId, text: '/react +1', selected: second.id })
  await update((m) => m.id === second.id && m.reactions[0]?.emoji === '👍')
  t.pass('a command acts on the picked message')

  await client.call('delete', { room: roomId, message: first.id })
  const deleted = await update((m) => m.id === first.id && m.deleted)
  t.is(deleted.data.message.text, '', 'a delete leaves a tombstone')
  await t.exception(
    client.call('edit', { room: roomId, message: first.id, text: 'x' }),
    /NOT_ALLOWED: That message was deleted\./,
    "the library's code, with one sentence"
  )
  await t.exception(
    client.call('react', { room: roomId, message: 'ab'.repeat(16) + '-9', emoji: '👍' }),
    /MESSAGE_NOT_FOUND: That message is not loaded here/
  )
  await t.exception(
    client.call('react', { room: roomId, message: second.id, emoji: 'xx' }),
    /INVALID_EMOJI: A reaction is one emoji/
  )
  await t.exception(client.call('react', { room: roomId, emoji: '👍' }), /BAD_REQUEST/)
  client.close()
})

test('desktop shell: unread counts are the library\'s; a read request marks the room read', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const room = await a.join('counted')
  const rb = await b.join('counted')
  await waitForPeers(room)
  const session = await DesktopSession.forNode(a)
  const desktop = await startDesktop(session)
  t.teardown(() => desktop.close())
  const client = await connect(desktop.url)

  await rb.send('one')
  await rb.send('two')
  await client.event('unread', (u) => u.room === room.id && u.unread === 2)
  const view = (await client.call('state')).chat.rooms.find((r: { id: string }) => r.id === room.id)
  t.alike([view.unread, view.mentions], [2, 0], 'room views carry the counts')
  t.alike(await client.call('read', { room: room.id }), { unread: 0, mentions: 0 }, 'read marks it read')
  await client.event('unread', (u) => u.room === room.id && u.unread === 0)
  t.is(a.unread(room.id).unread, 0, 'in the library')
  await t.exception(client.call('read', { room: 'ab'.repeat(32) }), /UNKNOWN_ROOM/)
})

test('desktop shell: an encrypted account waits on the unlock screen', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const identity = Identity.generate()
  await saveAccount(storage, 'default', identity, { password: 'secret' })
  await saveAccount(storage, 'other', Identity.generate())

  await t.exception(
    DesktopSession.start({ storage, password: 'wrong', bootstrap: testnet.bootstrap }),
    /WRONG_PASSWORD/,
    'a wrong --password fails at start'
  )
  const { session, client } = await shell(t, testnet, { storage })
  const state = await client.call('state')
  t.is(state.phase, 'unlock', 'without --password: the unlock screen')
  t.alike(state.setup.accounts, [
    { name: 'default', encrypted: true },
    { name: 'other', encrypted: false }
  ])
  await t.exception(
    client.call('setup-open', { account: 'default', password: 'nope' }),
    /WRONG_PASSWORD/
  )
  const after = await client.call('state')
  t.is(after.phase, 'unlock', 'a wrong password stays on the unlock screen')
  t.is(after.error.code, 'WRONG_PASSWORD', 'and says why')
  const opened = await client.call('setup-open', { account: 'default', password: 'secret' })
  t.is(opened.phase, 'chat')
  t.ok(session.node!.publicKey.equals(identity.publicKey), 'the account is unlocked')
  client.close()
})

test('desktop shell: restoring from words and importing a key keep the identity', async (t) => {
  const testnet = await createLocalTestnet(t)
  const identity = Identity.generate()
  for (const [source, value] of [
    ['phrase', identity.phrase],
    ['secret-key', identity.secretKeyHex]
  ] as const) {
    const { session, client } = await shell(t, testnet, { storage: await t.tmp() })
    const preview = await client.call('setup-preview', { source, value })
    t.is(preview.fingerprint, identity.fingerprint, `${source}: previewed`)
    await client.call('setup-create', { source, value, password: null })
    t.ok(session.node!.publicKey.equals(identity.publicKey), `${source}: the same identity`)
    client.close()
  }
  const { session, client } = await shell(t, testnet, { storage: await t.tmp() })
  const state = await client.call('setup-incognito')
  t.is(state.chat.identity.incognito, true, 'incognito from the page')
  t.is(state.chat.identity.account, null)
  t.ok(session.node!.incognito)
  client.close()
})

test('desktop shell: main.js serves the page, and SIGTERM closes it with exit 0', async (t) => {
  const testnet = await createLocalTestnet(t)
  const bootstrap = `${testnet.bootstrap[0]!.host}:${testnet.bootstrap[0]!.port}`
  const env = { ...process.env }
  delete env['BROWSER']
  const child = spawn(
    process.execPath,
    [MAIN, '--incognito', '--bootstrap', bootstrap, '--no-open'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env
    }
  )
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let out = ''
  const url = await new Promise<string>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d
      const m = /Desktop page: (\S+)/.exec(out)
      if (m) resolve(m[1]!)
    })
  })
  const client = await connect(url)
  const state = await client.call('state')
  t.is(state.phase, 'chat', 'incognito goes straight to chat')
  t.is(state.chat.identity.incognito, true)
  client.close()
  child.kill('SIGTERM')
  const [code] = await once<[number | null]>(child, 'exit')
  t.is(code, 0, 'exit 0 on SIGTERM')
})

test('desktop shell: main.js exits 0 after /quit, and 2 on bad arguments', async (t) => {
  const testnet = await createLocalTestnet(t)
  const bootstrap = `${testnet.bootstrap[0]!.host}:${testnet.bootstrap[0]!.port}`
  const storage = await t.tmp()
  const child = spawn(
    process.execPath,
    [MAIN, '--storage', storage, '--bootstrap', bootstrap, '--no-open'],
    { stdio: ['ignore', 'pipe', 'inherit'] }
  )
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let out = ''
  const url = await new Promise<string>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d
      const m = /Desktop page: (\S+)/.exec(out)
      if (m) resolve(m[1]!)
    })
  })
  const client = await connect(url)
  t.is((await client.call('state')).phase, 'setup', 'a new storage: the page sets it up')
  await client.call('setup-incognito')
  await client.call('line', { room: null, text: '/quit' })
  const [code] = await once<[number | null]>(child, 'exit')
  t.is(code, 0, '/quit closes the shell')

  const bad = spawn(process.execPath, [MAIN, '--port', 'abc'], {
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let err = ''
  bad.stderr!.on('data', (d: Buffer) => (err += d))
  const [badCode] = await once<[number | null]>(bad, 'exit')
  t.is(badCode, 2)
  t.ok(err.includes('INVALID_ARGUMENT'), err.trim())
})

test('desktop shell: link a new device from the page; approve a request in the chat', async (t) => {
  const testnet = await createLocalTestnet(t)
  // A: the device that holds the identity, in a shell of its own.
  const aStorage = await t.tmp()
  await saveAccount(aStorage, 'default', Identity.generate())
  const a = await shell(t, testnet, { storage: aStorage })
  t.is((await a.client.call('state')).phase, 'chat')

  // B: a fresh storage; the page links it.
  const b = await shell(t, testnet, { storage: await t.tmp() })
  await t.exception(b.client.call('setup-link', { link: 'backspace-device:nope', password: null }), /DEVICE_LINK_INVALID/)
  t.is((await b.client.call('state')).phase, 'setup', 'a bad link leaves the page where it was')

  const made = await a.client.call('line', { room: null, text: '/device link' })
  const link = made.notices[0].text.match(/backspace-device:\S+/)[0]
  const linking = b.client.call('setup-link', { link, password: null, account: 'laptop' })
  const waiting = (await b.client.event('state', (s) => s.phase === 'opening' && s.linking)).data
  t.ok(/^[0-9a-f]{4}(-[0-9a-f]{4}){3}$/.test(waiting.linking.fingerprint), 'the page gets the fingerprint to show')
  const asked = (await a.client.event('device-request')).data
  t.is(asked.fingerprint, waiting.linking.fingerprint, "A's page is asked about the same fingerprint")
  const answered = await a.client.call('device-answer', { approve: true })
  t.is(answered.device.fingerprint, asked.fingerprint)
  t.is((await a.client.event('device-request', (d) => d === null)).data, null, 'the question closes')
  const opened = await linking
  t.is(opened.phase, 'chat')
  t.is(opened.chat.identity.fingerprint, (await a.client.call('state')).chat.identity.fingerprint, 'the same identity')
  const devices = await b.client.call('devices')
  t.is(devices.length, 2)
  t.ok(devices.some((d: { current: boolean; primary: boolean }) => d.current && !d.primary), 'B is a linked device')

  // A denied link comes back to the page as a coded error, and the page stays on setup.
  const c = await shell(t, testnet, { storage: await t.tmp() })
  const second = await a.client.call('line', { room: null, text: '/device link' })
  const denying = c.client.call('setup-link', { link: second.notices[0].text.match(/backspace-device:\S+/)[0], password: null })
  await a.client.event('device-request')
  t.is((await a.client.call('line', { room: null, text: '/device deny' })).notices[0].level, 'info')
  await t.exception(denying, /DEVICE_LINK_DENIED/)
  t.is((await c.client.call('state')).error.code, 'DEVICE_LINK_DENIED')
  t.is((await a.client.event('device-request', (d) => d === null)).data, null, '/device deny closes the question too')
})

/** Starts main.js; resolves with the child, its page address and what it printed so far. */
async function startMain(args: string[], env: NodeJS.ProcessEnv = {}) {
  const childEnv = { ...process.env, ...env }
  if (!('BROWSER' in env)) delete childEnv['BROWSER']
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv })
  let out = ''
  let err = ''
  child.stderr!.on('data', (d: Buffer) => (err += d))
  const exited = once<[number | null]>(child, 'exit')
  const url = await new Promise<string | null>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d
      const m = /Desktop page: (\S+)/.exec(out)
      if (m) resolve(m[1]!)
    })
    exited.then(() => resolve(null))
  })
  return { child, url, exited, output: () => out, errors: () => err }
}

test('desktop shell: a second shell on the same storage reuses the first, before any password', async (t) => {
  const testnet = await createLocalTestnet(t)
  const bootstrap = `${testnet.bootstrap[0]!.host}:${testnet.bootstrap[0]!.port}`
  const storage = await t.tmp()
  await saveAccount(storage, 'default', Identity.generate(), { password: 'pw' })
  const first = await startMain(['--storage', storage, '--bootstrap', bootstrap, '--no-open'])
  t.teardown(() => {
    if (first.child.exitCode === null) first.child.kill('SIGKILL')
  })
  t.ok(first.url, 'the first shell serves its page')

  const second = await startMain(['--storage', storage, '--bootstrap', bootstrap, '--no-open'])
  const [code] = await second.exited
  t.is(code, 0, 'the second one exits 0')
  t.ok(second.output().includes('already running'), 'saying a shell already runs there')
  t.is(second.url, first.url, "and giving the first one's page, where no password was asked")

  // The first one closes: its record goes, and a new shell starts normally.
  first.child.kill('SIGTERM')
  await first.exited
  const third = await startMain(['--storage', storage, '--bootstrap', bootstrap, '--no-open'])
  t.teardown(() => {
    if (third.child.exitCode === null) third.child.kill('SIGKILL')
  })
  t.ok(third.url && third.url !== first.url, 'after it closed, a new shell starts with a new page')
  third.child.kill('SIGTERM')
  await third.exited
})

test('desktop shell: an account open in another backspace is said before the password, exit 1', async (t) => {
  const testnet = await createLocalTestnet(t)
  const bootstrap = `${testnet.bootstrap[0]!.host}:${testnet.bootstrap[0]!.port}`
  const storage = await t.tmp()
  await saveAccount(storage, 'default', Identity.generate(), { password: 'pw' })
  // A terminal backspace (a node in this process) holds the account.
  await create(t, testnet, { storage, password: 'pw' })
  const shell = await startMain(['--storage', storage, '--bootstrap', bootstrap, '--no-open'])
  const [code] = await shell.exited
  t.is(code, 1, 'exit 1')
  t.is(shell.url, null, 'no page was served, so no password was asked')
  t.ok(shell.errors().includes('open in another backspace'), shell.errors().trim())
})

test('desktop shell: closing the window it opened stops the shell', async (t) => {
  const testnet = await createLocalTestnet(t)
  const bootstrap = `${testnet.bootstrap[0]!.host}:${testnet.bootstrap[0]!.port}`
  // A "browser" that opens nothing: the test is the window, through its socket.
  const shell = await startMain(['--incognito', '--bootstrap', bootstrap], {
    BROWSER: 'true',
    BACKSPACE_DESKTOP_IDLE_MS: '0'
  })
  t.teardown(() => {
    if (shell.child.exitCode === null) shell.child.kill('SIGKILL')
  })
  const client = await connect(shell.url!)
  t.is((await client.call('state')).phase, 'chat')
  t.is(shell.child.exitCode, null, 'running while the page is open')
  client.close()
  const [code] = await shell.exited
  t.is(code, 0, 'the page closed: the shell stops, exit 0')
})

test('desktop shell: account settings: a wrong current password changes nothing; the words need the password', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const identity = Identity.generate()
  await saveAccount(storage, 'default', identity, { password: 'old' })
  const { client } = await shell(t, testnet, { storage, password: 'old' })
  const state = await client.call('state')
  t.alike(state.chat.account, { encrypted: true, saved: true, canSwitch: true })

  await t.exception(client.call('account-password', { current: 'wrong', next: 'new' }), /WRONG_PASSWORD/)
  t.ok(await accountIsEncrypted(storage, 'default'), 'a wrong current password leaves the file as it was')
  await t.exception(client.call('account-phrase', {}), /PASSWORD_REQUIRED/, 'the words need the password')
  const shown = await client.call('account-phrase', { password: 'old' })
  t.is(shown.words.join(' '), identity.phrase, 'and then are the identity phrase')

  const after = await client.call('account-password', { current: 'old', next: null })
  t.is(after.encrypted, false, 'null removes the password')
  t.absent(await accountIsEncrypted(storage, 'default'))
  await t.exception(client.call('account-password', { next: '' }), /BAD_REQUEST/)

  const back = await client.call('account-switch')
  t.is(back.phase, 'setup', 'switch account: the account screens again')
  t.alike(back.setup.accounts.map((a: { name: string }) => a.name), ['default'])
  const reopened = await client.call('setup-open', { account: 'default' })
  t.is(reopened.phase, 'chat', 'and the account opens without a password now')
})

test('desktop shell: incognito has no account settings and cannot switch', async (t) => {
  const testnet = await createLocalTestnet(t)
  const { client } = await shell(t, testnet, { incognito: true })
  const state = await client.call('state')
  t.alike(state.chat.account, { encrypted: false, saved: false, canSwitch: false })
  await t.exception(client.call('account-phrase', {}), /INCOGNITO/)
  await t.exception(client.call('account-switch'), /WRONG_PHASE/)
})

test('desktop shell: friends, requests and DMs; profiles by key; hostile arguments are refused', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  await a.setProfile({ name: 'ann' })
  await b.setProfile({ name: 'bob' })
  const session = await DesktopSession.forNode(a)
  const desktop = await startDesktop(session)
  t.teardown(() => desktop.close())
  const client = await connect(desktop.url)
  const bKey = b.publicKey.toString('hex')

  const empty = await client.call('social')
  t.alike([empty.available, empty.friends, empty.requests, empty.dms], [true, [], [], []], 'no friends yet')
  // A hostile page: every argument is checked before the library sees it.
  const bad = async (type: string, args: Record<string, unknown>, what: string) => {
    const err = await client.call(type, args).catch((e: any) => e)
    t.is(err.code, 'BAD_REQUEST', what)
  }
  await bad('member', { key: 'zz' }, 'a key that is not 64 hex digits')
  await bad('member', { key: { length: 64 } }, 'a key that is not a string')
  await bad('block', { key: bKey, blocked: 'yes' }, 'blocked must be a boolean')
  await bad('block', { key: a.publicKey.toString('hex'), blocked: true }, 'nobody blocks themselves')
  await bad('friend-answer', { key: bKey, answer: 'maybe' }, 'an answer that is not one of three')
  await bad('friend-answer', { key: bKey, answer: 'accept' }, 'no request from that key')
  await bad('friend-request', { key: bKey, text: 'x'.repeat(2000) }, 'a note over 1 KiB')
  t.is((await client.call('dm', { key: bKey }).catch((e: any) => e)).code, 'NOT_FRIENDS', 'no DM before a friendship')

  const card = await client.call('member', { key: bKey, name: 'from a message' })
  t.alike(
    [card.fingerprint, card.name, card.self, card.role],
    [b.identity.fingerprint, 'from a message', false, 'member'],
    'a profile card from a key alone: the fingerprint is the library\'s'
  )

  // A request arrives: the page hears of it, accepts, and the DM is a room with unread counts.
  await b.friends.request(a.publicKey, 'hi, it is bob')
  const asked = await client.event('social', (s) => s.requests.length === 1)
  t.alike([asked.data.requests[0].key, asked.data.requests[0].text], [bKey, 'hi, it is bob'], 'the request with its note')
  const answered = await client.call('friend-answer', { key: bKey, answer: 'accept' })
  t.is(answered.room.kind, 'dm', 'accepting opens the DM')
  t.is(answered.social.friends[0].key, bKey, 'bob is a friend')
  t.is(answered.social.requests.length, 0, 'the request is answered')
  const dmId = answered.room.id
  await until(b, 'friend-update', () => b.friends.list().length === 1)
  const bobDm = await b.dm(a.publicKey)
  await bobDm.send('a direct hello')
  const arrived = await client.event('message', (m) => m.room === dmId)
  t.is(arrived.data.message.text, 'a direct hello', 'a DM message comes like a room message')
  const counted = await client.event('social', (s) => s.dms.some((d: any) => d.room === dmId && d.unread === 1))
  t.is(counted.data.dms[0].name, 'bob', 'the DM list names the friend and counts unread')
  t.ok((await client.call('messages', { room: dmId })).messages.some((m: any) => m.text === 'a direct hello'), 'its history pages like a room')
  t.is((await client.call('dm', { key: bKey })).id, dmId, 'Message on the profile opens the same DM')

  const blocked = await client.call('block', { key: bKey, blocked: true })
  t.ok(blocked.blocked.some((x: any) => x.key === bKey), 'blocked')
  const unblocked = await client.call('block', { key: bKey, blocked: false })
  t.absent(unblocked.blocked.some((x: any) => x.key === bKey), 'and unblocked')
  const removed = await client.call('friend-remove', { key: bKey })
  t.is(removed.friends.length, 0, 'Remove friend ends the friendship')
  await client.event('room-remove', (r) => r.room === dmId)
  t.pass('and the DM leaves the room list')
})

test('desktop shell: room settings through room.moderate; governance lines and role marks reach the page', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  await a.setProfile({ name: 'ann' })
  // A member with a name: the room will refuse anonymous ones.
  await b.setProfile({ name: 'bob' })
  const session = await DesktopSession.forNode(a)
  const desktop = await startDesktop(session)
  t.teardown(() => desktop.close())
  const client = await connect(desktop.url)
  const sessionB = await DesktopSession.forNode(b)
  t.teardown(() => sessionB.close())

  const room = await client.call('create', { name: 'ruled' })
  t.ok(room.canEditSettings, 'nobody owns the new room yet: its creator may set it up (and so claim it)')
  const rb = await b.join(room.invite)
  await waitForPeers(rb)
  const before = await client.call('room-settings', { room: room.id })
  t.alike([before.canEdit, before.settings.topic], [true, ''], 'the panel for the creator')

  const bad = async (patch: unknown, what: string) => {
    const err = await client.call('room-settings-set', { room: room.id, patch }).catch((e: any) => e)
    t.is(err.code, 'BAD_REQUEST', what)
  }
  await bad('topic', 'a patch that is not an object')
  await bad({ owner: 'me' }, 'a field that is not a setting')
  await bad({ slowMode: -1 }, 'a negative count')
  await bad({ maxUsers: 1.5 }, 'a count that is not whole')
  await bad({ topic: 5 }, 'a topic that is not a string')
  await bad({ locked: 'yes' }, 'a flag that is not a boolean')
  const tooLong = await client.call('room-settings-set', { room: room.id, patch: { ttl: 8 * 24 * 3600 * 1000 } }).catch((e: any) => e)
  t.is(tooLong.code, 'INVALID_ARGUMENT', 'the library bounds the TTL (at most 7 days)')

  const after = await client.call('room-settings-set', {
    room: room.id,
    patch: { topic: 'rules of the room', announcement: 'be kind', slowMode: 5, allowAnonymous: false }
  })
  t.alike(
    [after.settings.topic, after.settings.announcement, after.settings.slowMode, after.settings.allowAnonymous],
    ['rules of the room', 'be kind', 5, false],
    'the settings changed'
  )
  const line = await client.event('governance', (g) => g.room === room.id && g.event.action === 'topic')
  t.alike([line.data.event.text, line.data.event.actor.name], ['rules of the room', 'ann'], 'a governance line: who set what')
  await client.event('governance', (g) => g.event.action === 'set' && g.event.setting === 'slowMode' && g.event.value === 5)
  const header = await client.event('room', (r) => r.id === room.id && r.announcement === 'be kind')
  t.is(header.data.topic, 'rules of the room', 'the room view carries topic and announcement for the header')
  t.ok(header.data.canEditSettings && header.data.role === 'owner', 'the first change claimed the room')
  t.ok(header.data.staff.some((s: any) => s.key === a.publicKey.toString('hex') && s.role === 'owner'), 'the owner is marked')

  // b's own page: a member sees the settings, cannot change them.
  await until(rb, 'governance', () => rb.settings.topic === 'rules of the room')
  const theirs = (await sessionB.request('room-settings', { room: rb.id })) as any
  t.alike([theirs.canEdit, theirs.role, theirs.settings.topic], [false, 'member', 'rules of the room'], 'a member sees them, read-only')
  const refused = await sessionB.request('room-settings-set', { room: rb.id, patch: { topic: 'mine now' } }).catch((e: any) => e) as any
  t.is(refused.code, 'NOT_ALLOWED', 'and the library refuses a member')

  await rb.send('hello from b')
  await client.event('message', (m) => m.room === room.id && m.message.text === 'hello from b')
  const members = await client.call('members', { room: room.id })
  t.is(members.find((m: any) => m.self).role, 'owner', 'member lists carry roles')
  t.is(members.find((m: any) => !m.self)?.role ?? 'member', 'member')

  // A late joiner's page: what was done before it came is the room's state, not lines.
  const c = await create(t, testnet)
  await c.setProfile({ name: 'cy' })
  const sessionC = await DesktopSession.forNode(c)
  t.teardown(() => sessionC.close())
  const lines: any[] = []
  sessionC.on('event', (name: string, data: any) => {
    if (name === 'governance') lines.push(data.event)
  })
  const rc = await c.join(room.invite)
  await until(rc, 'governance', () => rc.settings.topic === 'rules of the room')
  await client.call('room-settings-set', { room: room.id, patch: { topic: 'a live one' } })
  await until(rc, 'governance', () => rc.settings.topic === 'a live one')
  await new Promise<void>((resolve) => {
    const check = () => (lines.some((e) => e.text === 'a live one') ? resolve() : setTimeout(check, 25))
    check()
  })
  const live = lines.find((e) => e.text === 'a live one')
  t.ok(Math.abs(live.time - Date.now()) < 60_000, "a line carries the operation's time")
  t.absent(lines.some((e) => e.text === 'rules of the room'), 'an operation from before the join is no line on the late page')
})

test('desktop shell: moderation from a profile card, friends by contact link, member lines, Tab from the model', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const c = await create(t, testnet)
  await a.setProfile({ name: 'ann' })
  await b.setProfile({ name: 'bob' })
  await c.setProfile({ name: 'cy' })
  const session = await DesktopSession.forNode(a)
  const desktop = await startDesktop(session)
  t.teardown(() => desktop.close())
  const client = await connect(desktop.url)
  const sessionB = await DesktopSession.forNode(b)
  t.teardown(() => sessionB.close())
  const aKey = a.publicKey.toString('hex')
  const bKey = b.publicKey.toString('hex')
  const cKey = c.publicKey.toString('hex')

  const room = await client.call('create', { name: 'modded' })
  const ra = a.rooms.find((r) => r.id === room.id)!
  const rb = await b.join(room.invite)
  await waitForPeers(rb)

  // Someone came: a line of data for the page, which words it.
  const joined = await client.event('member-line', (l) => l.room === room.id && l.kind === 'join' && l.fingerprint === b.identity.fingerprint)
  t.is(joined.data.name, 'bob', 'a join line with the name and fingerprint')
  await b.setProfile({ name: 'bobby' })
  const renamed = await client.event('member-line', (l) => l.room === room.id && l.kind === 'rename')
  t.alike([renamed.data.from, renamed.data.name], ['bob', 'bobby'], 'a rename line: the old name and the new')

  // A hostile page: every argument is checked before the library sees it.
  const code = async (args: Record<string, unknown>) => (await client.call('moderate', args).catch((e: any) => e)).code
  t.is(await code({ room: room.id, key: bKey, action: 'nuke' }), 'BAD_REQUEST', 'an action that is not one of seven')
  t.is(await code({ room: room.id, key: 'zz', action: 'kick' }), 'BAD_REQUEST', 'a key that is not 64 hex digits')
  t.is(await code({ room: room.id, key: bKey, action: 'kick', reason: 'x'.repeat(2000) }), 'BAD_REQUEST', 'a reason over 1 KiB')
  t.is(await code({ room: room.id, key: bKey, action: 'op', reason: 'why' }), 'BAD_REQUEST', 'a reason only with a kick or a ban')
  t.is(await code({ room: room.id, key: bKey, action: 'kick', reason: 5 }), 'BAD_REQUEST', 'a reason that is not a string')
  t.is(await code({ room: 'nope', key: bKey, action: 'kick' }), 'UNKNOWN_ROOM')

  // A named room nobody owns yet: no buttons, and a page that asks anyway claims nothing.
  const open = await a.join('unowned-here')
  t.alike((await client.call('member', { room: open.id, key: bKey })).actions, [], 'no moderation in a room nobody owns')
  const unowned = await client.call('moderate', { room: open.id, key: bKey, action: 'kick' }).catch((e: any) => e)
  t.is(unowned.code, 'NOT_ALLOWED')
  t.ok(/^NOT_ALLOWED: Nobody owns this room yet/.test(unowned.message), `a sentence: ${unowned.message}`)
  t.is(open.owner, null, 'and the request did not claim the room')

  t.ok(ra.owner?.equals(a.publicKey), 'a created room is owned by its creator')
  await until(rb, 'governance', () => rb.owner !== null)
  const card = await client.call('member', { room: room.id, key: bKey })
  t.alike(card.actions, ['kick', 'ban', 'op', 'admin'], "the owner's card of a member: kick, ban, op, admin")
  t.alike((await client.call('member', { room: room.id, key: aKey })).actions, [], 'nothing on your own card')
  t.ok((await client.call('members', { room: room.id })).every((m: any) => Array.isArray(m.actions)), 'member lists carry the actions too')

  // A member's page: no buttons, and a sentence from the library's roles.
  const theirs = (await sessionB.request('member', { room: rb.id, key: aKey })) as any
  t.alike(theirs.actions, [], 'a member may not act on the owner')
  const refused = (await sessionB.request('moderate', { room: rb.id, key: aKey, action: 'kick' }).catch((e: any) => e)) as any
  t.is(refused.code, 'NOT_ALLOWED')
  t.ok(/^NOT_ALLOWED: Only an op, an admin or the owner may kick ann \(.+\); you are a member here\.$/.test(refused.message), refused.message)
  t.is(ra.role(a.publicKey), 'owner', 'nothing changed')

  const opped = await client.call('moderate', { room: room.id, key: bKey, action: 'op' })
  t.alike([opped.role, opped.actions], ['op', ['kick', 'ban', 'deop', 'admin']], 'made an op: the card now offers deop')
  await until(rb, 'governance', () => rb.role(b.publicKey) === 'op')
  const up = (await sessionB.request('moderate', { room: rb.id, key: aKey, action: 'kick' }).catch((e: any) => e)) as any
  t.ok(/their role \(owner\) is not below yours \(op\)/.test(up.message), `an op cannot kick the owner: ${up.message}`)
  const grant = (await sessionB.request('moderate', { room: rb.id, key: cKey, action: 'op' }).catch((e: any) => e)) as any
  t.ok(/^NOT_ALLOWED: Only an admin or the owner may make an op/.test(grant.message), `nor make ops: ${grant.message}`)

  // A ban with a reason, then an unban: each a governance line.
  const banned = await client.call('moderate', { room: room.id, key: cKey, action: 'ban', reason: 'spam' })
  t.alike([banned.role, banned.actions], ['banned', ['unban']], 'banned: the card offers only unban')
  const line = await client.event('governance', (g) => g.room === room.id && g.event.action === 'ban')
  t.alike([line.data.event.text, line.data.event.target.key], ['spam', cKey], 'the ban line carries the reason')
  const twice = await client.call('moderate', { room: room.id, key: cKey, action: 'ban' }).catch((e: any) => e)
  t.ok(/is banned: unban them first/.test(twice.message), `a second ban is refused with a sentence: ${twice.message}`)
  const unbanned = await client.call('moderate', { room: room.id, key: cKey, action: 'unban' })
  t.is(unbanned.role, 'member', 'unbanned')
  const kicked = await client.call('moderate', { room: room.id, key: bKey, action: 'kick', reason: '' })
  t.is(kicked.key, bKey, 'a kick answers with the card')
  await client.event('governance', (g) => g.room === room.id && g.event.action === 'kick' && g.event.target.key === bKey)
  t.pass('the kick reached the timeline')

  // Tab completes from the chat model: its members, never a fetch, and not your own name.
  let fetched = 0
  const messages = ra.messages.bind(ra)
  ra.messages = (async (...args: Parameters<typeof ra.messages>) => (fetched++, messages(...args))) as typeof ra.messages
  t.alike(await client.call('complete', { room: room.id, text: 'hi @bob' }), ['hi @bobby '], 'a member of the room')
  t.alike(await client.call('complete', { room: room.id, text: 'hi @an' }), [], 'not yourself, as in the terminal')
  t.is(fetched, 0, 'no page of messages fetched for Tab')
  t.is((await client.call('complete', { room: 'nope', text: 'x' }).catch((e: any) => e)).code, 'UNKNOWN_ROOM')

  // Friends by contact link or key, from the friends panel.
  const social = await client.call('social')
  t.is(social.contactLink, a.contactLink, 'the social view carries your contact link to share')
  const who = async (value: unknown, extra: Record<string, unknown> = {}) =>
    client.call('friend-request', { who: value, ...extra }).catch((e: any) => e)
  const junk = await who('not a key')
  t.is(junk.code, 'INVALID_ARGUMENT')
  t.ok(/^INVALID_ARGUMENT: That is neither a contact link/.test(junk.message), 'a sentence for what is neither')
  const link = c.contactLink
  const at = link.length - 5
  const typo = await who(link.slice(0, at) + (link[at] === 'y' ? 'b' : 'y') + link.slice(at + 1))
  t.is(typo.code, 'INVALID_INVITE', 'a typo in a contact link fails its checksum')
  t.ok(/typo/.test(typo.message), typo.message)
  t.is((await who(link, { key: cKey })).code, 'BAD_REQUEST', 'key or who, not both')
  t.is((await who(42)).code, 'BAD_REQUEST', 'who must be a string')
  t.is(a.friends.sent().length, 0, 'nothing was sent for any of these')
  const asked = once(c, 'friend-request')
  const sent = await who(` ${link} `, { text: 'hi cy' })
  t.ok(sent.sent.some((r: any) => r.key === cKey), 'a contact link sends a request')
  await asked
  t.is(c.friends.requests()[0]!.text, 'hi cy', 'with its note')
  const byKey = await who(bKey.toUpperCase())
  t.ok(byKey.sent.some((r: any) => r.key === bKey), 'a key pasted in works too')

  await rb.leave()
  const left = await client.event('member-line', (l) => l.room === room.id && l.kind === 'leave')
  t.is(left.data.name, 'bobby', 'a leave line')
})
