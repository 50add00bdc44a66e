#!/usr/bin/env node
import fs from 'fs'
import { parseArgs } from 'util'
import {
  accountExists,
  accountIsEncrypted,
  Backspace,
  BackspaceError,
  DEFAULT_ACCOUNT,
  Identity,
  isBackspaceError,
  listAccounts,
  loadAccount,
  saveAccount,
  type BackspaceOptions,
  type ErrorCode
} from '../lib/index.js'

const HELP = `Usage: backspace [command] [options]

Private peer-to-peer chat. Every install is a full peer; messages expire after 7 days.

Commands:
  chat                    open the chat (the default)
  accounts                list the accounts in the storage
  identity                print this account's public key and fingerprint,
                          creating the account on first use
  bootstrap               run a local DHT bootstrap node on 127.0.0.1,
                          to try Backspace between peers on one machine
  desktop                 open the desktop shell: a local page on 127.0.0.1 in an
                          app window (backspace desktop --help for its options)

Options:
  --storage DIR           where accounts and rooms live (default: the platform's data directory)
  --account NAME          the account to use, created on first use (default: default)
  --password PASSWORD     unlocks the account, or encrypts a new one;
                          BACKSPACE_PASSWORD in the environment does the same
  --incognito             an ephemeral Anon##### identity; nothing is written to disk
  --bootstrap HOST:PORT   a DHT bootstrap node instead of the public DHT (repeatable)
  --room NAME             join this room on start (a name or an invite)
  --restore-phrase WORDS  create the account from its 24-word recovery phrase
  --show-phrase           identity: also print the recovery phrase
  --port N                bootstrap: the UDP port to listen on (default 49736; 0 picks one)
  -h, --help              show this help
  -v, --version           show the version

In the chat, type /help for the commands.
Exit status: 0 on success, 1 on an error, 2 on bad arguments.`

const OPTIONS = {
  storage: { type: 'string' },
  account: { type: 'string' },
  password: { type: 'string' },
  incognito: { type: 'boolean' },
  bootstrap: { type: 'string', multiple: true },
  room: { type: 'string' },
  'restore-phrase': { type: 'string' },
  'show-phrase': { type: 'boolean' },
  port: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' }
} as const

type Option = keyof typeof OPTIONS
type Command = 'chat' | 'accounts' | 'identity' | 'bootstrap'

/** Which options each command takes; `help` and `version` go with any. */
const ACCEPTS: Record<Command, readonly Option[]> = {
  chat: ['storage', 'account', 'password', 'incognito', 'bootstrap', 'room', 'restore-phrase'],
  accounts: ['storage'],
  identity: ['storage', 'account', 'password', 'restore-phrase', 'show-phrase'],
  bootstrap: ['port']
}

// Not 49737: every HyperDHT node tries that port first, so a peer could take it.
const DEFAULT_BOOTSTRAP_PORT = 49736

// Hints for errors a user can fix from the command line.
const HINTS: Partial<Record<ErrorCode, string>> = {
  PASSWORD_REQUIRED: 'pass --password or set BACKSPACE_PASSWORD',
  WRONG_PASSWORD: 'check --password or BACKSPACE_PASSWORD',
  ACCOUNT_EXISTS: 'choose another --account'
}

interface Args {
  command: Command
  values: ReturnType<typeof parse>['values']
  password: string | undefined
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'desktop') {
    // The desktop shell parses its own options; load it only when asked for.
    const { runDesktop } = await import('../ui-desktop/main.js')
    return runDesktop(argv.slice(1))
  }
  const args = parseCommandLine(argv)
  if (args.values.help) return print(HELP)
  if (args.values.version) return print(version())
  switch (args.command) {
    case 'chat':
      return chat(args)
    case 'accounts':
      return accounts(args)
    case 'identity':
      return identity(args)
    case 'bootstrap':
      return bootstrap(args)
  }
}

async function chat({ values, password }: Args): Promise<number> {
  if (
    values.incognito &&
    (values.account || password || values['restore-phrase'] || values.storage)
  ) {
    throw BackspaceError.INVALID_ARGUMENT(
      '--incognito keeps nothing, so it takes no --storage, --account, --password or --restore-phrase'
    )
  }
  const opts: BackspaceOptions = {
    storage: values.storage,
    account: values.account,
    password,
    phrase: values['restore-phrase'],
    incognito: values.incognito,
    bootstrap: values.bootstrap
  }
  // Constructing a node opens nothing: it only checks the options, so bad ones end here.
  const { storage } = new Backspace(opts)
  if (opts.phrase !== undefined) Identity.fromPhrase(opts.phrase)
  if (!process.stdin.isTTY) {
    throw BackspaceError.INVALID_ARGUMENT('the chat needs an interactive terminal on stdin')
  }
  // A signal may come while Ink loads, before there is a UI to stop.
  let stop: (() => void) | null = null
  let stopped = false
  onStopSignal(() => {
    stopped = true
    stop?.()
  })
  // Ink takes most of a second to load, so only the chat loads it.
  const { startApp } = await import('../ui-terminal/index.js')
  if (stopped) return 0
  // The app starts before the node: it may first ask which account to create, or a password.
  // It makes the node itself and closes it before `exited` resolves.
  const session = startApp({
    storage,
    account: opts.account ?? DEFAULT_ACCOUNT,
    password,
    phrase: opts.phrase,
    incognito: opts.incognito,
    bootstrap: opts.bootstrap,
    room: values.room === undefined ? undefined : { name: values.room }
  })
  stop = session.stop
  await session.exited
  return 0
}

async function accounts({ values }: Args): Promise<number> {
  const storage = storageOf(values.storage)
  const names = await listAccounts(storage)
  if (names.length === 0) {
    process.stderr.write(`No accounts in ${storage}\n`)
    return 0
  }
  for (const name of names) {
    const encrypted = await accountIsEncrypted(storage, name)
    print(`${name}${encrypted ? '  (password)' : ''}`)
  }
  return 0
}

async function identity({ values, password }: Args): Promise<number> {
  const account = values.account ?? 'default'
  const storage = storageOf(values.storage, account)
  const restored = values['restore-phrase'] ? Identity.fromPhrase(values['restore-phrase']) : null
  let id: Identity
  if (await accountExists(storage, account)) {
    id = await loadAccount(storage, account, { password })
    if (restored && !restored.publicKey.equals(id.publicKey)) {
      throw BackspaceError.ACCOUNT_EXISTS(`Account "${account}" already holds another identity`)
    }
  } else {
    id = restored ?? Identity.generate()
    await saveAccount(storage, account, id, { password })
    const lock = password
      ? 'encrypted with the password'
      : 'no password: the key file is only mode 0600'
    process.stderr.write(`Created account "${account}" in ${storage} (${lock})\n`)
  }
  print(`account      ${account}`)
  print(`public key   ${id.publicKey.toString('hex')}`)
  print(`fingerprint  ${id.fingerprint}`)
  print(`encrypted    ${(await accountIsEncrypted(storage, account)) ? 'yes' : 'no'}`)
  if (values['show-phrase']) print(`phrase       ${id.phrase}`)
  return 0
}

async function bootstrap({ values }: Args): Promise<number> {
  const port = values.port === undefined ? DEFAULT_BOOTSTRAP_PORT : parsePort(values.port)
  // A bootstrap node and two more DHT nodes: peers are ephemeral and store no announcements.
  const { default: createTestnet } = await import('hyperdht/testnet.js')
  const testnet = await createTestnet(3, { host: '127.0.0.1', port })
  const address = testnet.nodes[0]!.address()
  // The DHT quietly takes another port when the one asked for is busy; peers would miss it.
  if (port !== 0 && address.port !== port) {
    await testnet.destroy()
    throw BackspaceError.INVALID_ARGUMENT(
      `UDP port ${port} on 127.0.0.1 is in use; pick another --port`
    )
  }
  const where = `127.0.0.1:${address.port}`
  print(`DHT bootstrap node listening on ${where}`)
  print(`Start peers with: backspace --bootstrap ${where} --storage <dir>`)
  await new Promise<void>((resolve) => onStopSignal(resolve))
  await testnet.destroy()
  return 0
}

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
}

function parseCommandLine(argv: string[]): Args {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (err) {
    // parseArgs explains at length; its first sentence is the clear part.
    const detail = (err as Error).message.split(/\.\s/)[0]!.replace(/\.$/, '')
    throw BackspaceError.INVALID_ARGUMENT(`${detail}. See backspace --help`)
  }
  const { values, positionals } = parsed
  const [name = 'chat', ...rest] = positionals
  if (!isCommand(name))
    throw BackspaceError.INVALID_ARGUMENT(`unknown command "${name}". See backspace --help`)
  if (rest.length > 0) throw BackspaceError.INVALID_ARGUMENT(`unexpected argument "${rest[0]}"`)
  for (const option of Object.keys(values) as Option[]) {
    if (option === 'help' || option === 'version' || ACCEPTS[name].includes(option)) continue
    throw BackspaceError.INVALID_ARGUMENT(`--${option} is not an option of "backspace ${name}"`)
  }
  const password = values.password ?? (process.env['BACKSPACE_PASSWORD'] || undefined)
  return { command: name, values, password }
}

function isCommand(name: string): name is Command {
  return Object.hasOwn(ACCEPTS, name)
}

function parsePort(text: string): number {
  const port = Number(text)
  if (!/^\d+$/.test(text) || port > 65535) {
    throw BackspaceError.INVALID_ARGUMENT(`--port must be a number from 0 to 65535, not "${text}"`)
  }
  return port
}

/** The storage directory, resolved the way the library resolves it (the platform default). */
function storageOf(storage: string | undefined, account?: string): string {
  // Constructing a node opens nothing; it only resolves and checks its options.
  return new Backspace({ storage, account }).storage!
}

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
  return `backspace ${pkg.version}`
}

/** Runs `stop` on the first Ctrl-C, SIGTERM or SIGHUP. */
function onStopSignal(stop: () => void): void {
  let stopping = false
  const handler = () => {
    // A second signal means a clean close is hanging: the user wants out now.
    if (stopping) process.exit(130)
    stopping = true
    stop()
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, handler)
}

function print(line: string): number {
  process.stdout.write(line + '\n')
  return 0
}

/** One line on stderr and an exit code: 2 for bad input, 1 for anything else. */
function report(err: unknown): number {
  if (process.env['BACKSPACE_DEBUG']) console.error(err)
  if (isBackspaceError(err)) {
    const hint = HINTS[err.code]
    process.stderr.write(`backspace: ${err.message}${hint ? ` (${hint})` : ''}\n`)
    return err.code.startsWith('INVALID_') ? 2 : 1
  }
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`backspace: ${message}\n`)
  return 1
}

main(process.argv.slice(2))
  .catch(report)
  .then((code) => process.exit(code))
