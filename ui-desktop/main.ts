// The desktop shell: a node, the local web server over it, and an app window on its page.
//
//   node dist/ui-desktop/main.js --bootstrap 127.0.0.1:49736 --storage /tmp/alice
import fs from 'fs'
import { fileURLToPath } from 'url'
import { parseArgs } from 'util'
import {
  Backspace,
  BackspaceError,
  bootstrapFromFlags,
  isBackspaceError,
  storageFromFlags
} from '../lib/index.js'
import { passwordFromFlags, secretFromFlags } from '../lib/flags.js'
import { checkStorage } from '../lib/storage-check.js'
import { findRunningShell, recordShell } from './instance.js'
import { startDesktop } from './server.js'
import { DesktopSession } from './session.js'
import { openWindow, type OpenedWindow } from './window.js'

const HELP = `Usage: backspace desktop [options]   (or: node dist/ui-desktop/main.js [options])

The Backspace desktop shell: serves the chat page on 127.0.0.1 and opens it in an app window.

Options:
  --storage DIR           where accounts and rooms live (default: the platform's data
                          directory; BACKSPACE_STORAGE does the same)
  --account NAME          the account to use (default: default); when it does not exist
                          yet, the page sets it up: new, restored, imported or incognito
  --password-file FILE    the password that unlocks the account, or encrypts a new one:
                          the first line of FILE. BACKSPACE_PASSWORD does the same. Without
                          either, an encrypted account asks on the page
  --incognito             an ephemeral Anon-##### identity; nothing is written to disk
  --link-file FILE        make the account a new device of an identity, with the link in
                          FILE from "backspace device link" on a device that has it;
                          BACKSPACE_LINK does the same, and the page can take one too. It
                          shows this device's fingerprint until that device approves
  --device-name NAME      a label for this device in device lists
  --bootstrap HOST:PORT[,HOST:PORT]
                          DHT bootstrap nodes instead of the public DHT (repeatable;
                          BACKSPACE_BOOTSTRAP does the same)
  --port N                the local HTTP port (default: a free one)
  --no-open               only print the address; do not open a window
  -h, --help              show this help

A FILE that other users can read is refused (chmod 600 it). The older --password PASSWORD
and --link LINK still work but warn: every user of this machine can read a process's
arguments (ps, /proc/PID/cmdline) for as long as it runs.`

const OPTIONS = {
  storage: { type: 'string' },
  account: { type: 'string' },
  password: { type: 'string' },
  'password-file': { type: 'string' },
  incognito: { type: 'boolean' },
  link: { type: 'string' },
  'link-file': { type: 'string' },
  'device-name': { type: 'string' },
  bootstrap: { type: 'string', multiple: true },
  port: { type: 'string' },
  'no-open': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

/**
 * Runs the desktop shell until SIGINT, SIGTERM, SIGHUP or /quit, then closes it and resolves
 * with the exit code. Throws a BackspaceError (INVALID_ARGUMENT for bad arguments) on failure.
 */
export async function runDesktop(argv: string[]): Promise<number> {
  const values = parseCommandLine(argv)
  if (values.help) return print(HELP)
  const { password, link } = secretsOf(values)
  if (values.incognito && (values.storage || values.account || password || link)) {
    throw BackspaceError.INVALID_ARGUMENT(
      '--incognito keeps nothing, so it takes no --storage, --account, password or link'
    )
  }
  const port = values.port === undefined ? 0 : parsePort(values.port)
  // Resolves the storage the way the library does (the platform default) and checks --account.
  // A bad link or --device-name ends here too: constructing a node opens nothing.
  const storage = values.incognito
    ? undefined
    : new Backspace({
        storage: storageFromFlags(values.storage),
        account: values.account,
        link,
        deviceName: values['device-name']
      }).storage!

  if (storage) {
    // Before any password: a shell already on this storage gets the window instead.
    const running = await findRunningShell(storage)
    if (running) {
      print(`Backspace is already running on ${storage}: showing its window`)
      if (values['no-open']) print(`Desktop page: ${running.url}`)
      else await openWindow(running.url)
      return 0
    }
    // Another backspace (the terminal UI, a relay) holds the account: one sentence, now.
    await checkStorage(storage, values.account ?? 'default')
  }

  const signal = stopSignal()
  let session: DesktopSession | null = null
  let window: OpenedWindow | null = null
  try {
    const starting = DesktopSession.start({
      storage,
      account: values.account,
      password,
      incognito: values.incognito,
      bootstrap: bootstrapFromFlags(values.bootstrap),
      link,
      deviceName: values['device-name']
    })
    // A signal while a node opens from the flags still closes it.
    starting.then(
      (s) => (session = s),
      () => {}
    )
    await Promise.race([starting, signal.stopped])
    if (signal.received) {
      await starting.catch(() => {})
      return 0
    }
    const shell: DesktopSession = session!
    shell.once('quit', () => signal.stop())
    // Closing the window stops the shell: once the page it opened is gone and does not come
    // back (a reload reconnects at once), nothing else can reach it.
    let idle: NodeJS.Timeout | null = null
    let pages = 0
    let seen = false
    const checkIdle = () => {
      if (idle) clearTimeout(idle)
      idle = null
      if (window && seen && pages === 0) idle = setTimeout(() => signal.stop(), IDLE_MS)
    }
    const onPages = (count: number) => {
      pages = count
      if (count > 0) seen = true
      checkIdle()
    }
    const desktop = await startDesktop(shell, { port, onPages })
    const unrecord = storage ? await recordShell(storage, desktop.url) : null
    try {
      const linking = shell.node?.linking
      if (linking) {
        print(`Linking this device ${linking.fingerprint}: approve it on your other device`)
      } else if (shell.node) {
        const { identity, incognito } = shell.node
        print(`Backspace ${identity.fingerprint}${incognito ? ' (incognito)' : ''}`)
      } else {
        print(`Backspace: choose an account on the page (${storage})`)
      }
      print(`Desktop page: ${desktop.url}`)
      if (!values['no-open']) {
        window = await openWindow(desktop.url)
        checkIdle()
        print(window ? `Opened with ${window.how}` : 'Open the address above in a browser')
      }
      print('Press Ctrl-C to quit')
      await signal.stopped
    } finally {
      if (idle) clearTimeout(idle)
      await unrecord?.()
      await desktop.close()
    }
  } finally {
    signal.dispose()
    await window?.dispose()
    await (session as DesktopSession | null)?.close()
  }
  return 0
}

// How long a shell whose window closed waits for a page to come back before it stops.
const IDLE_MS = idleMs(process.env['BACKSPACE_DESKTOP_IDLE_MS'])

function idleMs(text: string | undefined): number {
  const ms = Number(text)
  return text !== undefined && /^\d+$/.test(text) && ms <= 600_000 ? ms : 15_000
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, strict: true }).values
  } catch (err) {
    const detail = (err as Error).message.split(/\.\s/)[0]!.replace(/\.$/, '')
    throw BackspaceError.INVALID_ARGUMENT(`${detail}. See backspace desktop --help`)
  }
}

/** The password and the link, from their files, the environment, or (with a warning) argv. */
function secretsOf(values: ReturnType<typeof parseCommandLine>) {
  const warn = (line: string) => process.stderr.write(`backspace: ${line}\n`)
  const password = passwordFromFlags(values, warn)
  const link = secretFromFlags(
    { option: '--link', value: values.link, fileOption: '--link-file', file: values['link-file'], envName: 'BACKSPACE_LINK' },
    warn
  )
  return { password, link }
}

function parsePort(text: string): number {
  const port = Number(text)
  if (!/^\d+$/.test(text) || port > 65535) {
    throw BackspaceError.INVALID_ARGUMENT(`--port must be a number from 0 to 65535, not "${text}"`)
  }
  return port
}

/** Resolves `stopped` on the first SIGINT, SIGTERM or SIGHUP; a second one exits at once. */
function stopSignal(): {
  stopped: Promise<void>
  readonly received: boolean
  stop(): void
  dispose(): void
} {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
  let received = false
  let resolve!: () => void
  const stopped = new Promise<void>((r) => (resolve = r))
  const handler = () => {
    // A second signal means a clean close is hanging: the user wants out now.
    if (received) process.exit(130)
    received = true
    resolve()
  }
  for (const signal of signals) process.on(signal, handler)
  return {
    stopped,
    get received() {
      return received
    },
    stop() {
      received = true
      resolve()
    },
    dispose() {
      for (const signal of signals) process.off(signal, handler)
    }
  }
}

function print(line: string): number {
  process.stdout.write(line + '\n')
  return 0
}

function report(err: unknown): number {
  if (process.env['BACKSPACE_DEBUG']) console.error(err)
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`backspace-desktop: ${message}\n`)
  return isBackspaceError(err) && err.code.startsWith('INVALID_') ? 2 : 1
}

function isMain(): boolean {
  const script = process.argv[1]
  if (!script) return false
  try {
    return fs.realpathSync(script) === fileURLToPath(import.meta.url)
  } catch {
    return false
  }
}

if (isMain()) {
  runDesktop(process.argv.slice(2))
    .catch(report)
    .then((code) => process.exit(code))
}
