// The desktop shell: a node, the local web server over it, and an app window on its page.
//
//   node dist/ui-desktop/main.js --bootstrap 127.0.0.1:49737 --storage /tmp/alice
import { spawn } from 'child_process'
import fs from 'fs'
import fsp from 'fs/promises'
import os from 'os'
import path from 'path'
import { fileURLToPath, pathToFileURL } from 'url'
import { parseArgs } from 'util'
import { Backspace, BackspaceError, isBackspaceError } from '../lib/index.js'
import { startDesktop } from './server.js'

const HELP = `Usage: backspace desktop [options]   (or: node dist/ui-desktop/main.js [options])

The Backspace desktop shell: serves the chat page on 127.0.0.1 and opens it in an app window.

Options:
  --storage DIR           where accounts and rooms live (default: the platform's data directory)
  --account NAME          the account to use, created on first use (default: default)
  --password PASSWORD     unlocks the account, or encrypts a new one;
                          BACKSPACE_PASSWORD in the environment does the same
  --incognito             an ephemeral Anon##### identity; nothing is written to disk
  --bootstrap HOST:PORT   a DHT bootstrap node instead of the public DHT (repeatable)
  --port N                the local HTTP port (default: a free one)
  --no-open               only print the address; do not open a window
  -h, --help              show this help`

const OPTIONS = {
  storage: { type: 'string' },
  account: { type: 'string' },
  password: { type: 'string' },
  incognito: { type: 'boolean' },
  bootstrap: { type: 'string', multiple: true },
  port: { type: 'string' },
  'no-open': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

// Browsers with an app mode (a window without tabs or an address bar), in order of preference.
const APP_BROWSERS = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']

/**
 * Runs the desktop shell until SIGINT, SIGTERM or SIGHUP, then closes it and resolves with
 * the exit code. Throws a BackspaceError (INVALID_ARGUMENT for bad arguments) on failure.
 */
export async function runDesktop(argv: string[]): Promise<number> {
  const values = parseCommandLine(argv)
  if (values.help) return print(HELP)
  const password = values.password ?? (process.env['BACKSPACE_PASSWORD'] || undefined)
  if (values.incognito && (values.storage || values.account || password)) {
    throw BackspaceError.INVALID_ARGUMENT(
      '--incognito keeps nothing, so it takes no --storage, --account or --password'
    )
  }
  const port = values.port === undefined ? 0 : parsePort(values.port)
  const node = new Backspace({
    storage: values.storage,
    account: values.account,
    password,
    incognito: values.incognito,
    bootstrap: values.bootstrap
  })

  const signal = stopSignal()
  let launcher: string | null = null
  try {
    await Promise.race([node.ready(), signal.stopped])
    if (signal.received) return 0
    const desktop = await startDesktop(node, { port })
    try {
      print(`Backspace ${node.identity.fingerprint}${node.incognito ? ' (incognito)' : ''}`)
      print(`Desktop page: ${desktop.url}`)
      if (!values['no-open']) {
        launcher = await writeLauncher(desktop.url)
        const opened = await openWindow(pathToFileURL(launcher).href)
        print(opened ? `Opened in ${opened}` : 'Open the address above in a browser')
      }
      print('Press Ctrl-C to quit')
      await signal.stopped
    } finally {
      await desktop.close()
    }
  } finally {
    signal.dispose()
    if (launcher) await fsp.rm(path.dirname(launcher), { recursive: true, force: true })
    await node.close()
  }
  return 0
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, strict: true }).values
  } catch (err) {
    const detail = (err as Error).message.split(/\.\s/)[0]!.replace(/\.$/, '')
    throw BackspaceError.INVALID_ARGUMENT(`${detail}. See --help`)
  }
}

function parsePort(text: string): number {
  const port = Number(text)
  if (!/^\d+$/.test(text) || port > 65535) {
    throw BackspaceError.INVALID_ARGUMENT(`--port must be a number from 0 to 65535, not "${text}"`)
  }
  return port
}

/**
 * A page that forwards to `url`, in a directory only this user can read. The browser gets
 * its path on the command line instead of the token, which every local user could read there.
 */
async function writeLauncher(url: string): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'backspace-desktop-'))
  const file = path.join(dir, 'open.html')
  const html =
    '<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer">' +
    `<meta http-equiv="refresh" content="0;url=${url}"><title>Backspace</title>`
  await fsp.writeFile(file, html, { mode: 0o600 })
  return file
}

/** Opens `target` with $BROWSER, or in a Chromium app window. The browser's name, or null. */
async function openWindow(target: string): Promise<string | null> {
  const fromEnv = (process.env['BROWSER'] ?? '').split(':')[0]!.trim()
  let command: string[] | null = null
  if (fromEnv) {
    const [bin, ...args] = fromEnv.split(/\s+/)
    const placed = args.some((a) => a.includes('%s'))
    command = [bin!, ...(placed ? args.map((a) => a.replace('%s', target)) : [...args, target])]
  } else {
    for (const name of APP_BROWSERS) {
      if (await onPath(name)) {
        command = [name, `--app=${target}`]
        break
      }
    }
  }
  if (!command) return null
  const [bin, ...args] = command
  try {
    const child = spawn(bin!, args, { detached: true, stdio: 'ignore' })
    child.on('error', () => {}) // a browser that fails to start leaves the printed address
    child.unref()
    return path.basename(bin!)
  } catch {
    return null
  }
}

async function onPath(name: string): Promise<boolean> {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (!dir) continue
    try {
      await fsp.access(path.join(dir, name), fs.constants.X_OK)
      return true
    } catch {}
  }
  return false
}

/** Resolves `stopped` on the first SIGINT, SIGTERM or SIGHUP; a second one exits at once. */
function stopSignal(): { stopped: Promise<void>; readonly received: boolean; dispose(): void } {
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
