import test, { type Test } from 'brittle'
import { createElement } from 'react'
import { render } from 'ink-testing-library'
import { fingerprint, type Backspace } from '../lib/index.js'
import { ChatApp, parseCommand, type ChatAppProps } from '../ui-terminal/index.js'
import { emptyLine, lineReducer, type LineAction } from '../ui-terminal/use-line-editor.js'
import { create, createLocalTestnet, receive, waitForPeers } from './helpers/index.js'

type Screen = ReturnType<typeof render> & {
  /** Resolves with the first frame, current or future, for which `match` holds. */
  frame(match: (frame: string) => boolean): Promise<string>
  /** Types one line and presses Enter. */
  type(line: string): Promise<void>
}

/** Renders the chat for `node` and lets the test wait on frames instead of sleeping. */
function renderChat(t: Test, node: Backspace, props: Omit<ChatAppProps, 'node'> = {}): Screen {
  const screen = render(createElement(ChatApp, { node, ...props }))
  t.teardown(() => screen.unmount(), { order: -1 })

  const waiting = new Set<() => void>()
  const write = screen.stdout.write
  screen.stdout.write = (frame: string) => {
    write(frame)
    for (const check of [...waiting]) check()
  }

  const frame = (match: (frame: string) => boolean) =>
    new Promise<string>((resolve) => {
      const check = () => {
        const last = screen.lastFrame() ?? ''
        if (!match(last)) return
        waiting.delete(check)
        resolve(last)
      }
      waiting.add(check)
      check()
    })

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

  const type = async (line: string) => {
    await inputReady()
    screen.stdin.write(line)
    screen.stdin.write('\r')
  }

  return Object.assign(screen, { frame, type })
}

const has = (text: string) => (frame: string) => frame.includes(text)
const short = (node: Backspace) => fingerprint(node.publicKey).slice(0, 4)
const count = (frame: string, text: string) => frame.split(text).length - 1

test('ui: two peers chat; the header shows room, peers and fingerprint', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)

  const screen = renderChat(t, a, { room: { name: 'General' } })
  const first = await screen.frame(has('Joined #general.'))
  t.ok(first.includes(a.identity.fingerprint), 'own fingerprint in the header')
  t.ok(first.includes('#general>'), 'the prompt names the room')
  t.absent(first.includes('joining'), 'and no longer shown as running')

  const rb = await b.join('general')
  await screen.frame(has('#general  1 peer'))
  t.pass('peer count in the header')

  await rb.send('hello from b')
  const withMessage = await screen.frame(has('hello from b'))
  t.ok(new RegExp(`\\d\\d:\\d\\d  ${short(b)}  hello from b`).test(withMessage), 'HH:MM  fp4  text')

  const atB = receive(rb, ['hi from a'])
  await screen.type('hi from a')
  const [got] = await atB
  t.alike(got!.author, a.publicKey, 'a typed message reaches the other peer, signed by a')
  await screen.frame((f) => new RegExp(`${short(a)}  hi from a`).test(f))
  t.pass('own message in the timeline')

  // Messages to a room not shown are counted as unread in the room list.
  await screen.type('/create side')
  await screen.frame(has('~side>'))
  await rb.send('while you were away')
  await screen.frame(has('#general (1)'))
  t.pass('unread count for the other room')
  await screen.type('/switch general')
  const back = await screen.frame(has('#general>'))
  t.ok(back.includes('while you were away'), 'the message is there after switching')
  t.absent(back.includes('#general (1)'), 'switching marks it read')
})

test('ui: slash commands call the library and report errors as lines', async (t) => {
  const testnet = await createLocalTestnet(t)
  const node = await create(t, testnet, { incognito: true })
  let quit = 0
  const screen = renderChat(t, node, { onQuit: () => quit++ })

  const start = await screen.frame(has('Type /join'))
  t.ok(start.includes(node.identity.anonName), 'incognito shows its Anon name')

  await screen.type('/help')
  await screen.frame(has('/join <name> [password]'))
  t.pass('/help lists the commands')

  await screen.type('hello?')
  await screen.frame(has('You are not in a room yet'))
  t.pass('sending without a room explains what to do')

  await screen.type('/frobnicate')
  await screen.frame(has('Unknown command /frobnicate'))
  t.pass('unknown commands are reported')

  await screen.type('/create club')
  const created = await screen.frame(has('~club>'))
  const club = node.rooms.find((r) => r.name === 'club')!
  t.ok(created.includes(club.invite), '/create prints the invite')

  // The invite shown works for another peer.
  const other = await create(t, testnet)
  const joined = await other.join(club.invite)
  t.is(joined.name, 'club')
  await screen.frame(has('~club  1 peer'))

  await screen.type('/join general secret')
  await screen.frame(has('#general>'))
  t.is(node.rooms.length, 2)

  await screen.type('/rooms')
  const listed = await screen.frame(has('2. #general'))
  t.ok(listed.includes('1. ~club'), '/rooms lists both rooms')

  await screen.type('/switch 1')
  await screen.frame(has('~club>'))
  await screen.type('/invite')
  await screen.frame((f) => count(f, club.invite) === 2)
  t.pass('/invite shows the invite of the current room')

  await screen.type('/join "   "')
  await screen.frame(has('INVALID_ROOM_NAME'))
  t.pass('library errors become a line, the app goes on')

  await screen.type('/leave')
  const left = await screen.frame(has('Left ~club.'))
  t.ok(left.includes('#general>'), 'leaving switches to the remaining room')
  t.is(node.rooms.length, 1)

  await screen.type('/quit')
  t.is(quit, 1, '/quit asks the app to exit')
})

test('ui: typed lines parse into commands', (t) => {
  t.alike(parseCommand('hello'), { type: 'say', text: 'hello' })
  t.alike(parseCommand('  '), { type: 'none' })
  t.alike(parseCommand('//not a command'), { type: 'say', text: '/not a command' })
  t.alike(parseCommand('/join general'), { type: 'join', name: 'general' })
  t.alike(parseCommand('/JOIN "book club" "two words"'), {
    type: 'join',
    name: 'book club',
    password: 'two words'
  })
  t.is(parseCommand('/join a b c').type, 'usage')
  t.alike(parseCommand('/create my club'), { type: 'create', label: 'my club' })
  t.alike(parseCommand('/room 2'), { type: 'switch', target: '2' })
  t.alike(parseCommand('/exit'), { type: 'quit' })
  t.is(parseCommand('/nope').type, 'usage')
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

  t.is(run([{ type: 'insert', text: 'one two' }, { type: 'delete-word' }]).value, 'one ')
  t.is(run([{ type: 'insert', text: 'a\u0007b\tc' }]).value, 'ab c', 'no control characters')
})
