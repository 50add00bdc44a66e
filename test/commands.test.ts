// The message commands (/reply, /edit, /delete, /react, /unreact) and the references they
// take, over a fake room: parsing, defaults, and coded errors turned into sentences.
import { EventEmitter } from 'events'
import test from 'brittle'
import {
  BackspaceError,
  COMMANDS,
  compareMessages,
  completeLine,
  findCommand,
  HELP_FOOTER,
  parseCommand,
  runCommand,
  type Backspace,
  type Message,
  type Room
} from '../lib/index.js'
import { pointsAtMessage } from '../lib/commands.js'
import {
  messageHandle,
  messageOrderKey,
  messageRef,
  parseMessageRef,
  resolveMessageRef,
  shortRefs
} from '../lib/message-refs.js'

function message(over: Partial<Message> & { id: string }): Message {
  return {
    author: Buffer.alloc(32, 2),
    device: Buffer.alloc(32, 2),
    text: over.id,
    timestamp: 1,
    seq: 0,
    kind: 'text',
    name: 'bob',
    fingerprint: '0202-0202-0202-0202',
    self: false,
    mention: false,
    edited: false,
    deleted: false,
    replyTo: null,
    reactions: [],
    ...over
  }
}

const id = (n: number) => `${'ab'.repeat(16)}-${n}`

/** A room that records what the commands asked of it. */
function fakeRoom(messages: Message[]) {
  const calls: unknown[][] = []
  const byId = (target: Message | string) => (typeof target === 'string' ? target : target.id)
  const room = Object.assign(new EventEmitter(), {
    closing: false,
    calls,
    messages: async () => messages,
    message: (mid: string) => messages.find((m) => m.id === mid),
    send: async (text: string, opts: { replyTo?: Message | string } = {}) => {
      calls.push(['send', text, opts.replyTo === undefined ? null : byId(opts.replyTo)])
      return message({ id: 'new', text, self: true })
    },
    edit: async (target: Message | string, text: string) => {
      const m = messages.find((x) => x.id === byId(target))
      if (!m) throw BackspaceError.MESSAGE_NOT_FOUND()
      if (!m.self) throw BackspaceError.NOT_ALLOWED()
      calls.push(['edit', byId(target), text])
      return { ...m, text, edited: true }
    },
    delete: async (target: Message | string) => {
      const m = messages.find((x) => x.id === byId(target))
      if (!m?.self) throw BackspaceError.NOT_ALLOWED()
      calls.push(['delete', byId(target)])
    },
    react: async (target: Message | string, emoji: string) => {
      if (emoji === 'xx') throw BackspaceError.INVALID_EMOJI()
      calls.push(['react', byId(target), emoji])
    },
    unreact: async (target: Message | string, emoji: string) => {
      calls.push(['unreact', byId(target), emoji])
    }
  })
  return room as unknown as Room & { calls: unknown[][] }
}

const node = {} as Backspace

test('commands: parsing the message commands and their references', (t) => {
  t.alike(parseCommand('/edit fixed typo'), { type: 'edit', ref: null, text: 'fixed typo' })
  t.alike(parseCommand('/edit ^2 fixed  typo'), {
    type: 'edit',
    ref: { kind: 'latest', back: 2 },
    text: 'fixed  typo'
  })
  t.alike(parseCommand('/delete'), { type: 'delete', ref: null })
  t.alike(parseCommand('/DEL ^kbfd'), { type: 'delete', ref: { kind: 'handle', handle: 'kbfd' } })
  t.alike(parseCommand('/react 👍'), { type: 'react', ref: null, emoji: '👍' })
  t.alike(parseCommand('/react ^ :tada:'), {
    type: 'react',
    ref: { kind: 'latest', back: 1 },
    emoji: '🎉'
  })
  t.alike(parseCommand('/unreact ^3 +1'), {
    type: 'unreact',
    ref: { kind: 'latest', back: 3 },
    emoji: '👍'
  })
  t.alike(parseCommand('/reply ^ sure, at noon'), {
    type: 'reply',
    ref: { kind: 'latest', back: 1 },
    text: 'sure, at noon'
  })
  t.alike(parseCommand(`/reply ${id(4)} ok`), {
    type: 'reply',
    ref: { kind: 'id', id: id(4) },
    text: 'ok'
  })

  t.alike(parseCommand('/edit'), { type: 'usage', text: 'Usage: /edit [^ref] <text>' })
  t.alike(parseCommand('/edit ^2'), { type: 'usage', text: 'Usage: /edit [^ref] <text>' })
  t.alike(parseCommand('/delete now'), { type: 'usage', text: 'Usage: /delete [^ref]' })
  t.alike(parseCommand('/react'), { type: 'usage', text: 'Usage: /react [^ref] <emoji>' })
  t.alike(parseCommand('/react ^2 a b'), { type: 'usage', text: 'Usage: /react [^ref] <emoji>' })
  t.alike(parseCommand('/reply ^'), { type: 'usage', text: 'Usage: /reply <^ref> <text>' })
  const bad = parseCommand('/edit ^x-1 hi')
  t.is(bad.type, 'usage')
  t.ok(
    bad.type === 'usage' && bad.text.includes('^x-1 is not a message reference'),
    'a bad reference explains references'
  )

  t.ok(pointsAtMessage('/react '), 'a message command points at a message')
  t.ok(pointsAtMessage('/del'))
  t.absent(pointsAtMessage('/join x'))
  t.absent(pointsAtMessage('hello /react'))
})

test('commands: handles are short, stable and told apart', async (t) => {
  const h = messageHandle(id(1))
  t.ok(/^[a-km-np-z]{8}$/.test(h), `eight letters without l and o: ${h}`)
  t.is(messageHandle(id(1)), h, 'the same id, the same handle')
  t.is(messageRef(id(1)), '^' + h.slice(0, 4))
  t.alike(parseMessageRef('^' + h.slice(0, 5).toUpperCase()), {
    kind: 'handle',
    handle: h.slice(0, 5)
  })

  // Find two ids whose handles share four letters: both get longer references.
  const seen = new Map<string, string>()
  let pair: [string, string] | null = null
  for (let i = 0; pair === null; i++) {
    const key = messageHandle(id(i)).slice(0, 4)
    const other = seen.get(key)
    if (other) pair = [other, id(i)]
    else seen.set(key, id(i))
  }
  const [x, y] = pair
  const refs = shortRefs([message({ id: x }), message({ id: y }), message({ id: id(999999) })])
  t.ok(
    refs.get(x)!.length > 5 && refs.get(y)!.length > 5,
    `clashing handles grow: ${refs.get(x)} ${refs.get(y)}`
  )
  t.is(refs.get(id(999999))!.length, 5, 'the others stay four letters')
  const both = [message({ id: x }), message({ id: y })]
  await t.exception(
    () => resolveMessageRef({ kind: 'handle', handle: messageHandle(x).slice(0, 4) }, both),
    /fits 2 messages/
  )
  t.is(resolveMessageRef(parseMessageRef(refs.get(y)!), both).id, y)
})

test('commands: defaults, references and errors as sentences', async (t) => {
  const mine = message({ id: id(1), text: 'mine', self: true, timestamp: 1 })
  const theirs = message({ id: id(2), text: 'theirs', timestamp: 2 })
  const reacted = message({
    id: id(3),
    text: 'reacted',
    timestamp: 3,
    reactions: [{ emoji: '👍', count: 1, self: true, authors: [Buffer.alloc(32, 1)] }]
  })
  const latest = message({ id: id(4), text: 'latest', timestamp: 4 })
  const room = fakeRoom([mine, theirs, reacted, latest])
  const run = (line: string, ctx = {}) => runCommand(node, line, { room, ...ctx })

  t.alike((await run('/edit better')).notices, [], 'a done edit says nothing: the message shows it')
  await run('/delete')
  await run('/react 🎉')
  await run('/unreact 👍')
  await run('/reply ^2 right')
  await run(`/react ${messageRef(id(2))} :eyes:`)
  await run('/edit ^4 nope')
  t.alike(room.calls, [
    ['edit', id(1), 'better'],
    ['delete', id(1)],
    ['react', id(4), '🎉'],
    ['unreact', id(3), '👍'],
    ['send', 'right', id(3)],
    ['react', id(2), '👀'],
    ['edit', id(1), 'nope']
  ])

  const notOwn = await run('/edit ^ nope')
  t.alike(notOwn.notices, [
    { level: 'error', text: 'You can only edit your own messages.', code: 'NOT_ALLOWED' }
  ])
  const notOwnDelete = await run('/delete ^3')
  t.is(notOwnDelete.notices[0]!.text, 'You can only delete your own messages.')
  const badEmoji = await run('/react xx')
  t.is(badEmoji.notices[0]!.code, 'INVALID_EMOJI')
  t.ok(badEmoji.notices[0]!.text.startsWith('A reaction is one emoji'))
  const far = await run('/react ^9 👍')
  t.is(far.notices[0]!.code, 'MESSAGE_NOT_FOUND')
  t.is(far.notices[0]!.text, 'There is no message ^9 here: only 4 are loaded.')
  const noHandle = await run('/delete ^zzzz')
  t.is(noHandle.notices[0]!.text, 'No message ^zzzz is loaded here.')
  const replyNoRef = await run('/reply hello')
  t.is(replyNoRef.notices[0]!.text, 'Say which message: /reply ^ <text> answers the latest.')

  const empty = fakeRoom([theirs])
  const none = await runCommand(node, '/edit hi', { room: empty })
  t.is(none.notices[0]!.text, 'You have no message here to edit.')
  const noRoom = await runCommand(node, '/react 👍', {})
  t.is(noRoom.notices[0]!.text, 'Join a room first: /join <room>')

  room.calls.length = 0
  await run('/react 👍', { selected: theirs })
  await run('/reply fine', { selected: id(2) })
  await run('/edit ^ x', { selected: mine, messages: [mine] })
  t.alike(
    room.calls,
    [
      ['react', id(2), '👍'],
      ['send', 'fine', id(2)],
      ['edit', id(1), 'x']
    ],
    'a picked message is the default; references count among the messages the UI gave'
  )
})

test('commands: completion of emoji, handles and the text to edit', (t) => {
  const mine = message({ id: id(1), text: 'my words', self: true })
  const other = message({ id: id(2), text: 'other' })
  const messages = [mine, other]
  t.alike(
    completeLine('/react ', []).slice(0, 2),
    ['/react 👍', '/react ❤️'],
    'the quick reactions'
  )
  t.alike(completeLine('/react ^2 :ta', []), ['/react ^2 🎉'])
  t.alike(completeLine('/unreact +', []), ['/unreact 👍'])
  t.alike(completeLine('/edit ', [], messages), ['/edit my words'], 'your last text, to change')
  t.alike(completeLine('/edit ^ ', [], messages), [], 'not a message of yours')
  const ref = messageRef(id(2))
  t.alike(completeLine(`/reply ${ref.slice(0, 3)}`, [], messages).includes(`/reply ${ref} `), true)
  t.ok(completeLine('/re', []).includes('/react '), 'the command names')
  t.alike(completeLine('/reply ^ hi @bo', ['bob']), ['/reply ^ hi @bob '], 'names still complete')
})

test('commands: the order key sorts as the library orders messages', (t) => {
  const messages: Message[] = []
  for (let i = 0; i < 200; i++) {
    messages.push(
      message({
        id: `${(i % 3).toString(16).repeat(32)}-${i % 7}`,
        timestamp: 1_700_000_000_000 + (i % 5),
        author: Buffer.alloc(32, i % 4),
        seq: (i * 7919) % 13
      })
    )
  }
  const byLibrary = messages
    .slice()
    .sort(compareMessages)
    .map((m) => m.id + m.seq + m.timestamp)
  const byKey = messages
    .slice()
    .sort((a, b) =>
      messageOrderKey(a) < messageOrderKey(b) ? -1 : messageOrderKey(a) > messageOrderKey(b) ? 1 : 0
    )
    .map((m) => m.id + m.seq + m.timestamp)
  t.alike(byKey, byLibrary)
})

test('commands: "did you mean" only for close matches, never for a different short word', (t) => {
  const unknown = (line: string) => {
    const c = parseCommand(line)
    return c.type === 'usage' ? c.text : ''
  }
  t.is(unknown('/ban alice'), 'Unknown command /ban. Type /help for the list.', '/ban is not /back')
  t.is(unknown('/kick alice'), 'Unknown command /kick. Type /help for the list.', '/kick is not /nick')
  t.is(unknown('/frobnicate'), 'Unknown command /frobnicate. Type /help for the list.')
  t.is(unknown('/jion x'), 'Unknown command /jion. Did you mean /join? Type /help for the list.', 'a transposition')
  t.is(unknown('/nik x'), 'Unknown command /nik. Did you mean /nick? Type /help for the list.', 'a missing letter')
  t.is(unknown('/whomai'), 'Unknown command /whomai. Did you mean /whoami? Type /help for the list.')
  t.is(unknown('/devcie'), 'Unknown command /devcie. Did you mean /device? Type /help for the list.')
  t.is(unknown('/unrect'), 'Unknown command /unrect. Did you mean /unreact? Type /help for the list.')
  t.is(unknown('/membrs'), 'Unknown command /membrs. Did you mean /members? Type /help for the list.', 'aliases count')
  t.is(unknown('/stats'), 'Unknown command /stats. Did you mean /status? Type /help for the list.')
  t.is(unknown('/xyz'), 'Unknown command /xyz. Type /help for the list.', 'far from everything')
})

test('commands: one registry entry per command, read by parse, help, completion and suggestions', async (t) => {
  const words = new Set<string>()
  for (const spec of COMMANDS) {
    for (const word of [spec.name, ...spec.aliases]) {
      t.absent(words.has(word), `/${word} is one command's word`)
      words.add(word)
      t.is(findCommand(word.toUpperCase()), spec, `/${word} finds its entry`)
    }
    t.ok(spec.usage.startsWith(`/${spec.name}`), `${spec.name}: its usage starts with it`)
    t.ok(completeLine(`/${spec.name.slice(0, 2)}`, []).includes(`/${spec.name} `), `${spec.name}: Tab completes it`)
    const bare = parseCommand(`/${spec.name}`)
    t.ok(bare.type === spec.name || bare.type === 'usage', `${spec.name}: a bare /${spec.name} is it, or its usage`)
  }
  t.is(parseCommand('/leave now').type, 'usage', 'a command without arguments refuses some')

  const help = await runCommand(node, '/help')
  t.is(help.help, COMMANDS, '/help gives the registry as data')
  t.alike(help.notices, [], 'and no padded text lines')
  t.is(HELP_FOOTER.usage, '//text')

  const rooms = await runCommand({ rooms: [] } as unknown as Backspace, '/rooms')
  t.alike(rooms.rooms, [], '/rooms gives the rooms as data')
  t.is(rooms.notices[0]!.text, 'No rooms joined. /join <room> joins one.')
})
