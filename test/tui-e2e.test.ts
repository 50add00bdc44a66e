import test, { type Test } from 'brittle'
import { execFile, execFileSync, spawn } from 'child_process'
import dgram from 'dgram'
import fs from 'fs'
import os from 'os'
import path from 'path'
import { fileURLToPath } from 'url'

// Drives the real binary in tmux, as a user would: two peers and a local bootstrap node.
const BIN = fileURLToPath(new URL('../bin/backspace.js', import.meta.url))
const TMUX = '/usr/bin/tmux'
// A tmux server of its own, on a socket in a directory of its own, so the test never touches
// a user's sessions and leaves nothing behind.
const SOCKET_DIR = path.join(os.tmpdir(), `backspace-e2e-${process.pid}`)
const SOCKET = path.join(SOCKET_DIR, 'tmux')
const COLUMNS = 100
const ROWS = 30
// Every wait polls the screen until this long has passed, then fails with the screen.
const WAIT_MS = 30_000

function tmux(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(TMUX, ['-S', SOCKET, ...args], (err, stdout, stderr) => {
      if (err) reject(new Error(`tmux ${args[0]}: ${stderr || err.message}`))
      else resolve(stdout)
    })
  })
}

/** A UDP port that was free a moment ago on 127.0.0.1. */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4')
    socket.once('error', reject)
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address()
      socket.close(() => resolve(port))
    })
  })
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`
}

/** One terminal: a tmux session of fixed size running `backspace` with its own storage. */
class Terminal {
  readonly session: string
  constructor(
    readonly t: Test,
    name: string,
    readonly args: string[]
  ) {
    this.session = `bs-${process.pid}-${name}`
  }

  private command(): string {
    // Ink draws nothing but the last frame when it thinks it runs in CI; this is a terminal.
    const run = [
      'env',
      '-u',
      'CI',
      '-u',
      'CONTINUOUS_INTEGRATION',
      process.execPath,
      BIN,
      ...this.args
    ]
    // The shell stays after the app exits, so the exit status can be read off the screen.
    return `${run.map(shellQuote).join(' ')}; echo "backspace exited with $?"; sleep 600`
  }

  async start(): Promise<void> {
    const size = ['-x', String(COLUMNS), '-y', String(ROWS)]
    await tmux('new-session', '-d', '-s', this.session, ...size, this.command())
  }

  /** Runs the app again in the same session (and storage) after it exited. */
  async restart(): Promise<void> {
    await tmux('respawn-pane', '-k', '-t', this.session, this.command())
  }

  screen(): Promise<string> {
    return tmux('capture-pane', '-p', '-t', this.session)
  }

  /** Polls the screen until `match` holds, and returns that screen. */
  async waitFor(
    match: string | RegExp | ((screen: string) => boolean),
    what?: string
  ): Promise<string> {
    const test =
      typeof match === 'string'
        ? (s: string) => s.includes(match)
        : match instanceof RegExp
          ? (s: string) => match.test(s)
          : match
    const deadline = Date.now() + WAIT_MS
    let screen = ''
    while (Date.now() < deadline) {
      screen = await this.screen()
      if (test(screen)) return screen
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(
      `${this.session}: gave up waiting for ${what ?? String(match)}. Screen:\n${screen}`
    )
  }

  /** Types text literally, then presses Enter. */
  async type(text: string): Promise<void> {
    if (text.length > 0) await tmux('send-keys', '-t', this.session, '-l', text)
    await this.keys('Enter')
  }

  async keys(...keys: string[]): Promise<void> {
    await tmux('send-keys', '-t', this.session, ...keys)
  }
}

/** Creates an account through the selector: a new one, with the phrase confirmed. */
async function createAccount(term: Terminal, password: string | null): Promise<void> {
  await term.waitFor('Create a new account')
  await term.keys('Enter')
  const phraseScreen = await term.waitFor('Your recovery phrase')
  const words = new Map<number, string>()
  for (const m of phraseScreen.matchAll(/(\d+)\. ([a-z]+)/g)) words.set(Number(m[1]), m[2]!)
  term.t.is(words.size, 24, `${term.session}: 24 words shown`)
  await term.keys('Enter')

  for (let i = 0; i < 3; i++) {
    const screen = await term.waitFor(new RegExp(`type word \\d+ \\(${i + 1} of 3\\)`))
    const at = Number(/Word (\d+):/.exec(screen)![1])
    await term.type(words.get(at)!)
  }

  await term.waitFor('Choose a password')
  if (password === null) {
    await term.type('')
    await term.waitFor('Go without a password?')
    await term.keys('y')
  } else {
    await term.type(password)
    await term.waitFor('Type it again')
    await term.type(password)
  }
  await term.waitFor('/join <room> joins one', 'the chat screen')
}

test(
  'tui e2e: two peers in tmux create accounts, chat, and keep history over a restart',
  {
    timeout: 120_000,
    skip: !fs.existsSync(TMUX)
  },
  async (t) => {
    fs.mkdirSync(SOCKET_DIR, { recursive: true, mode: 0o700 })
    const port = await freeUdpPort()
    const bootstrap = spawn(process.execPath, [BIN, 'bootstrap', '--port', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const terminals: Terminal[] = []
    const cleanup = async () => {
      for (const term of terminals) await tmux('kill-session', '-t', term.session).catch(() => {})
      await tmux('kill-server').catch(() => {})
      fs.rmSync(SOCKET_DIR, { recursive: true, force: true })
      if (bootstrap.exitCode === null && bootstrap.signalCode === null) bootstrap.kill('SIGKILL')
    }
    const onExit = () => {
      // Synchronous: a failed assertion ends the process without teardowns.
      try {
        execFileSync(TMUX, ['-S', SOCKET, 'kill-server'], { stdio: 'ignore' })
      } catch {}
      fs.rmSync(SOCKET_DIR, { recursive: true, force: true })
      bootstrap.kill('SIGKILL')
    }
    process.once('exit', onExit)
    t.teardown(async () => {
      process.off('exit', onExit)
      await cleanup()
    })

    await new Promise<void>((resolve, reject) => {
      let out = ''
      bootstrap.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d
        if (out.includes('listening on')) resolve()
      })
      bootstrap.once('close', () => reject(new Error(`bootstrap exited: ${out}`)))
    })

    const peer = async (name: string) => {
      const args = ['--bootstrap', `127.0.0.1:${port}`, '--storage', await t.tmp()]
      const term = new Terminal(t, name, args)
      terminals.push(term)
      await term.start()
      return term
    }
    const alice = await peer('alice')
    const bob = await peer('bob')

    // First start: both go through the selector; alice picks a password, bob explicitly none.
    await Promise.all([createAccount(alice, 'alice-pw'), createAccount(bob, null)])
    t.pass('both accounts created through the selector, phrases confirmed')

    await alice.type('/nick alice')
    await bob.type('/NICK bob')
    await alice.waitFor('You are now known as alice')
    await bob.waitFor('You are now known as bob')

    await alice.type('/join e2e-room')
    await bob.type('/join e2e-room')
    await alice.waitFor('[#e2e-room]')
    await bob.waitFor('[#e2e-room]')
    await alice.waitFor(/online, \d+ peer/, 'a peer connection')
    t.pass('both joined the room')

    await alice.type('hello from alice')
    const atBob = await bob.waitFor('hello from alice')
    t.ok(
      /\d\d:\d\d\s+alice [0-9a-f]{4}-[0-9a-f]{4} │ hello from alice/.test(atBob),
      'name, fingerprint and text at bob'
    )
    await alice.waitFor(/alice [0-9a-f]{4}-[0-9a-f]{4} » hello from alice/, 'her own line')
    t.pass('alice sees her own line marked')

    await bob.type('/me waves')
    await alice.waitFor(/\* bob [0-9a-f]{4}-[0-9a-f]{4} waves/, 'the /me action at alice')
    t.pass('/me shows as an action')

    await bob.type('hey @alice, look')
    const mentioned = await alice.waitFor('hey @alice, look')
    t.ok(
      /bob [0-9a-f]{4}-[0-9a-f]{4} ! hey @alice, look/.test(mentioned),
      'the mention is marked at alice'
    )
    // Not the plain text: bob's input line holds it until Enter is processed.
    await bob.waitFor(/bob [0-9a-f]{4}-[0-9a-f]{4} » hey @alice/, "bob's own line")
    t.pass("and is bob's own line at bob")

    // Edits, reactions and replies cross over: /edit defaults to your last message, ^3 is the
    // third latest (alice's), +1 is 👍.
    await alice.type('/edit hello from alice, edited')
    await bob.waitFor('hello from alice, edited (edited)', 'the edit at bob')
    await bob.type('/react ^3 +1')
    const reacted = await alice.waitFor(
      /hello from alice, edited \(edited\)\s*\n.*👍 1/,
      'the reaction at alice'
    )
    t.ok(reacted.includes('👍 1'), 'an edit and a reaction show on the other peer')
    await bob.type('/reply ^3 nice edit')
    const replied = await alice.waitFor(
      /↳ alice: hello from alice, edited\s*\n.*nice edit/,
      'the reply at alice'
    )
    t.ok(replied.includes('nice edit'), 'a reply shows the line it answers above it')

    // /invite also puts the invite on the clipboard (OSC 52), which tmux keeps as a buffer:
    // on screen it wraps across rows, and copying it from there would break it.
    await tmux('set-option', '-s', 'set-clipboard', 'on')
    await alice.type('/invite')
    await alice.waitFor('on the clipboard too')
    const copied = (await tmux('show-buffer')).trim()
    t.ok(/^backspace:[a-z0-9]{40,}$/.test(copied), 'the whole invite, in one piece, on the clipboard')

    // Both quit, one with /quit and one with Ctrl+C; each closes its node and exits 0.
    await alice.type('/quit')
    await bob.keys('C-c')
    await alice.waitFor('backspace exited with 0')
    await bob.waitFor('backspace exited with 0')
    t.pass('both quit cleanly')

    await alice.restart()
    await bob.restart()
    await alice.waitFor('is encrypted with a password')
    await alice.type('alice-pw')
    for (const term of [alice, bob]) {
      const screen = await term.waitFor(
        (s) =>
          s.includes('hello from alice') && s.includes('waves') && s.includes('hey @alice, look'),
        'the history after a restart'
      )
      t.ok(screen.includes('[#e2e-room]'), `${term.session}: back in the room`)
    }
    t.pass('the history is still there after a restart')

    // A second backspace on alice's storage says so in one line, before asking for her
    // password, and exits non-zero.
    const again = new Terminal(t, 'alice-again', alice.args)
    terminals.push(again)
    await again.start()
    const refused = await again.waitFor('backspace exited with 1', 'a non-zero exit')
    t.ok(refused.includes('open in another backspace'), 'the storage in use is named')
    t.absent(/password|could not be locked|tries again/i.test(refused), 'no password asked, no raw error, no retry')

    await alice.type('/quit')
    await bob.type('/quit')
    await alice.waitFor('backspace exited with 0')
    await bob.waitFor('backspace exited with 0')
  }
)
