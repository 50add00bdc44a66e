#!/usr/bin/env node
import fs from 'fs'
import { parseArgs } from 'util'
// Only the light error module is loaded up front: `--version` and `--help` must answer fast,
// so the network stack (lib/index.js) is imported by the commands that need it.
import { BackspaceError, isBackspaceError, type ErrorCode } from '../lib/errors.js'
import {
  argvWarning,
  bootstrapFromFlags as bootstrapOf,
  readSecretFile,
  passwordFromFlags,
  secretFromFlags,
  storageFromFlags as storageFlag
} from '../lib/flags.js'
import type { BackspaceOptions, Identity } from '../lib/index.js'

const HELP = `Usage: backspace [command] [options]

Private peer-to-peer chat. Every install is a full peer; messages expire after 7 days.

Commands:
  chat                    open the chat (the default)
  relay                   a headless peer that keeps rooms available for members who
                          are offline: --join ROOM, --join-file FILE and --invite LINK,
                          each repeatable
  bootstrap               run a local DHT bootstrap node on 127.0.0.1, so peers on one
                          machine or a LAN find each other without the public DHT
  id [show]               print the account's public key and fingerprint
  id phrase               print the 24-word recovery phrase (asks for the password)
  id export [--out FILE]  print (or write, mode 0600) the secret key in hex
  id import               create an account from a recovery phrase or a secret key:
                          --phrase-file FILE, --secret-key-file FILE, --file FILE (either),
                          BACKSPACE_PHRASE or BACKSPACE_SECRET_KEY; on a terminal without
                          them, it asks (the input is hidden)
  id list                 list the accounts in the storage
  device link             make a one-time link for a new device of this identity, wait
                          for it to ask, and approve or deny it (compare fingerprints)
  device list             list this identity's devices
  device revoke KEY       revoke a device (its key or fingerprint): rooms tell members,
                          and what it writes from then on is refused
  desktop                 open the desktop shell: a local page on 127.0.0.1 in an
                          app window (backspace desktop --help for its options)

Options:
  --storage DIR           where accounts and rooms live (default: the platform's data
                          directory; BACKSPACE_STORAGE does the same)
  --account NAME          the account to use, created on first use (default: default;
                          the relay's default is relay)
  --password-file FILE    the password that unlocks the account, or encrypts a new one:
                          the first line of FILE. BACKSPACE_PASSWORD in the environment
                          does the same. Without either, a command that needs it asks on
                          the terminal (hidden); the chat asks in its window
  --incognito             an ephemeral identity; nothing is written to disk
  --bootstrap HOST:PORT[,HOST:PORT]
                          DHT bootstrap nodes instead of the public DHT (repeatable;
                          BACKSPACE_BOOTSTRAP does the same)
  --room NAME             chat: join this room on start (a name or an invite)
  --phrase-file FILE      chat, identity: create the account from the 24-word recovery
                          phrase in FILE; id import: import it
  --secret-key-file FILE  id import: the secret key in hex in FILE (as id export --out
                          writes it)
  --link-file FILE        chat: make this account a new device of an identity, with the
                          link in FILE from "backspace device link" on a device that has
                          it; BACKSPACE_LINK does the same, and the chat also offers
                          "Link to an existing device"
  --device-name NAME      a label for the new device in device lists (with a link, or
                          device link to name the device it approves)
  --join ROOM             relay: keep this named room, which has no password (repeatable)
  --join-file FILE        relay: keep the rooms in FILE, one ROOM or ROOM:PASSWORD a line;
                          empty lines and lines starting with # are skipped (repeatable)
  --invite LINK           relay: keep this private room (repeatable)
  --interval SECONDS      relay: how often the status line is printed (default 5)
  --serve                 relay: print a backspace-relay-node: link; users who add it
                          (/relay add) have it keep their inboxes and DMs, blind
  --max-storage SIZE      relay: the most it stores, e.g. 500M or 4G (default 4G); past
                          it, writers are held back (refused), never crashing
  --port N                bootstrap: the UDP port to listen on (default 49736; 0 picks one)
  -h, --help              show this help
  -v, --version           show the version

Secrets and the command line:
  Every user of this machine can read a process's arguments (ps, /proc/PID/cmdline) for
  as long as it runs. Give passwords, phrases, keys and links in a FILE (one that other
  users can read is refused: chmod 600 it), in the environment, or at the prompt. These
  older forms still work but print a warning, as the value is visible to others:
  --password PASSWORD, --restore-phrase WORDS, --link LINK, --join ROOM:PASSWORD,
  and id import --phrase WORDS or --secret-key HEX.

In the chat, type /help for the commands.
Exit status: 0 on success, 1 on an error, 2 on bad arguments.`

const OPTIONS = {
  storage: { type: 'string' },
  account: { type: 'string' },
  password: { type: 'string' },
  'password-file': { type: 'string' },
  incognito: { type: 'boolean' },
  bootstrap: { type: 'string', multiple: true },
  room: { type: 'string' },
  'restore-phrase': { type: 'string' },
  link: { type: 'string' },
  'link-file': { type: 'string' },
  'device-name': { type: 'string' },
  'show-phrase': { type: 'boolean' },
  join: { type: 'string', multiple: true },
  'join-file': { type: 'string', multiple: true },
  invite: { type: 'string', multiple: true },
  interval: { type: 'string' },
  serve: { type: 'boolean' },
  'max-storage': { type: 'string' },
  phrase: { type: 'string' },
  'phrase-file': { type: 'string' },
  'secret-key': { type: 'string' },
  'secret-key-file': { type: 'string' },
  file: { type: 'string' },
  out: { type: 'string' },
  port: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' }
} as const

type Option = keyof typeof OPTIONS
type Command = 'chat' | 'relay' | 'bootstrap' | 'id' | 'device' | 'accounts' | 'identity'
type IdCommand = 'show' | 'phrase' | 'export' | 'import' | 'list'
type DeviceCommand = 'link' | 'list' | 'revoke'

/** Which options each command takes; `help` and `version` go with any. */
const PASSWORD = ['password', 'password-file'] as const

/** Which options each command takes; `help` and `version` go with any. `id` and `device` go by subcommand. */
const ACCEPTS: Record<Command, readonly Option[]> = {
  chat: [
    'storage',
    'account',
    ...PASSWORD,
    'incognito',
    'bootstrap',
    'room',
    'restore-phrase',
    'phrase-file',
    'link',
    'link-file',
    'device-name'
  ],
  relay: ['storage', 'account', ...PASSWORD, 'bootstrap', 'join', 'join-file', 'invite', 'interval', 'serve', 'max-storage'],
  bootstrap: ['port'],
  id: [],
  device: [],
  // Older spellings: `accounts` is `id list`, `identity` creates the account if needed.
  accounts: ['storage'],
  identity: ['storage', 'account', ...PASSWORD, 'restore-phrase', 'phrase-file', 'show-phrase']
}

const DEVICE_COMMANDS: Record<DeviceCommand, readonly Option[]> = {
  link: ['storage', 'account', ...PASSWORD, 'bootstrap', 'device-name'],
  list: ['storage', 'account', ...PASSWORD],
  revoke: ['storage', 'account', ...PASSWORD, 'bootstrap']
}

const ID_COMMANDS: Record<IdCommand, readonly Option[]> = {
  show: ['storage', 'account', ...PASSWORD],
  phrase: ['storage', 'account', ...PASSWORD],
  export: ['storage', 'account', ...PASSWORD, 'out'],
  import: ['storage', 'account', ...PASSWORD, 'phrase', 'phrase-file', 'secret-key', 'secret-key-file', 'file'],
  list: ['storage']
}

// The ways id import is given the identity; it takes exactly one.
const IMPORT_SOURCES = ['phrase', 'phrase-file', 'secret-key', 'secret-key-file', 'file'] as const

// Not 49737: every HyperDHT node tries that port first, so a peer could take it.
const DEFAULT_BOOTSTRAP_PORT = 49736
const DEFAULT_RELAY_ACCOUNT = 'relay'
// What a relay stores at most unless --max-storage says otherwise.
const DEFAULT_MAX_STORAGE = 4 * 1024 * 1024 * 1024

/** A size: bytes, or a number with K, M, G or T (powers of 1024). Throws INVALID_ARGUMENT. */
function parseSize(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$/i.exec(value.trim())
  const units: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }
  const bytes = m ? Math.floor(Number(m[1]) * units[m[2]!.toUpperCase()]!) : NaN
  if (!Number.isFinite(bytes) || bytes < 1024 * 1024) {
    throw BackspaceError.INVALID_ARGUMENT(`${flag} must be a size of at least 1M, like 500M or 4G`)
  }
  return bytes
}

// Hints for errors a user can fix from the command line.
const HINTS: Partial<Record<ErrorCode, string>> = {
  PASSWORD_REQUIRED: 'set BACKSPACE_PASSWORD or give --password-file FILE',
  WRONG_PASSWORD: 'check BACKSPACE_PASSWORD or the password given',
  ACCOUNT_EXISTS: 'choose another --account',
  ACCOUNT_NOT_FOUND: 'run backspace to create one, or backspace id import',
  DEVICE_LINK_EXPIRED: 'make a new link with backspace device link on the other device',
  DEVICE_LINK_INVALID: 'copy the whole backspace-device: link'
}

interface Args {
  command: Command
  sub: string | undefined
  /** `device revoke KEY`: the device. */
  target: string | undefined
  values: ReturnType<typeof parse>['values']
  // The secrets, from wherever they were given (see resolveSecrets).
  password: string | undefined
  /** chat and identity: the phrase to restore from; id import: the phrase to import. */
  phrase: string | undefined
  /** id import: the secret key to import. */
  secretKey: string | undefined
  /** chat: the device link. */
  link: string | undefined
  /** relay: the named rooms to keep. */
  joins: Array<{ name: string; password?: string }>
}

function loadLibrary() {
  return import('../lib/index.js')
}

// Commands that only read or write key files load this part alone: no network stack.
function loadAccounts() {
  return import('../lib/accounts.js')
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
    case 'relay':
      return relay(args)
    case 'bootstrap':
      return bootstrap(args)
    case 'id':
      return id(args)
    case 'device':
      return device(args)
    case 'accounts':
      return listIds(args)
    case 'identity':
      return identity(args)
  }
}

async function chat({ values, password, phrase, link }: Args): Promise<number> {
  if (values.incognito && (values.account || password || phrase || values.storage || link)) {
    throw BackspaceError.INVALID_ARGUMENT(
      '--incognito keeps nothing, so it takes no --storage, --account, password, phrase or link'
    )
  }
  if (link !== undefined && phrase !== undefined) {
    throw BackspaceError.INVALID_ARGUMENT('a device link makes a new device of another identity; it takes no phrase')
  }
  const { Backspace, DEFAULT_ACCOUNT, Identity } = await loadLibrary()
  const opts: BackspaceOptions = {
    storage: storageFlag(values.storage),
    account: values.account,
    password,
    phrase,
    incognito: values.incognito,
    bootstrap: bootstrapOf(values.bootstrap),
    link,
    deviceName: values['device-name']
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
  // Ink draws only the last frame when CI is set; a person at a terminal wants every frame.
  if (process.stdout.isTTY) delete process.env['CI']
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
    link: opts.link,
    deviceName: opts.deviceName,
    room: values.room === undefined ? undefined : { name: values.room }
  })
  stop = session.stop
  await session.exited
  return 0
}

async function relay({ values, password, joins }: Args): Promise<number> {
  const invites = values.invite ?? []
  const interval = values.interval === undefined ? 5 : parsePositive('--interval', values.interval)
  const { accountExists, accountIsEncrypted, Backspace, isInvite, isRelayLink } = await loadLibrary()
  for (const link of invites) {
    if (!isInvite(link) && !isRelayLink(link)) {
      throw BackspaceError.INVALID_ARGUMENT(`--invite "${short(link)}" is neither a relay link nor an invite`)
    }
  }
  const account = values.account ?? DEFAULT_RELAY_ACCOUNT
  const serve = values.serve === true
  const maxStorage = values['max-storage'] === undefined ? DEFAULT_MAX_STORAGE : parseSize('--max-storage', values['max-storage'])
  const noRooms = 'the relay has no rooms: give --join ROOM, --join-file FILE, --invite LINK or --serve'
  const storage = await storageOf(values.storage, account)
  const exists = await accountExists(storage, account)
  // Without rooms to keep, a relay that never ran has nothing to do: say so before creating it.
  if (joins.length + invites.length === 0 && !exists && !serve) throw BackspaceError.INVALID_ARGUMENT(noRooms)
  if (exists && password === undefined && (await accountIsEncrypted(storage, account))) {
    password = await askPassword(`Password for "${account}": `)
  }
  const node = new Backspace({
    storage: storageFlag(values.storage),
    account,
    password,
    bootstrap: bootstrapOf(values.bootstrap),
    relay: true,
    quota: { total: maxStorage, room: Math.min(maxStorage, 1024 * 1024 * 1024), writer: Math.min(maxStorage, 64 * 1024 * 1024) }
  })
  let stopping: (() => void) | null = null
  const stopped = new Promise<void>((resolve) => (stopping = resolve))
  onStopSignal(() => stopping!())
  node.on('error', (err) => process.stderr.write(`backspace relay: ${err.message}\n`))
  await node.ready()
  try {
    // Only the relay secret of each room is kept: this process never holds a key that reads.
    for (const { name, password: roomPassword } of joins) {
      await node.keep(name, roomPassword === undefined ? {} : { password: roomPassword })
    }
    for (const link of invites) await node.keep(link)
    const rooms = node.relayedRooms
    if (rooms.length === 0 && !serve) throw BackspaceError.INVALID_ARGUMENT(noRooms)
    if (serve) print(`backspace relay: serving ${await node.serveRelay()}`)
    if (rooms.length > 0) print(`backspace relay: keeping ${rooms.map((r) => r.name).join(', ')} (blind: it cannot read them)`)
    const status = async () => {
      const s = node.stats()
      const bytes = await node.diskUsage()
      // Over the quota the oldest data goes first (issue 13): how much went, since the start.
      // What the quota counts (the blocks kept) against its limit, and apart from it the disk
      // the storage takes, which runs ahead of it until RocksDB compacts what was evicted.
      let evicted = 0
      let evictedBytes = 0
      let kept = 0
      for (const room of node.relayedRooms) {
        evicted += room.stats.evicted
        evictedBytes += room.stats.evictedBytes
        kept += room.stats.quota.used
      }
      print(
        `relay  peers ${s.peers}  rooms ${s.rooms}  writers ${s.writers}  kept ${formatBytes(kept)} of ${formatBytes(maxStorage)}  disk ${formatBytes(bytes)}  relayed ${s.relayed}  evicted ${evicted} blocks (${formatBytes(evictedBytes)})`
      )
      const served = node.relayServerStats
      if (served) print(`relay  served: ${served.kept} rooms kept for users, ${served.refused} refused, ${served.bad} bad`)
      for (const room of node.relayedRooms) {
        const q = room.stats.quota
        if (q.reached) print(`relay  ${room.name}: the ${q.reached} quota is reached; some writers are held back (${formatBytes(q.used)} kept)`)
        if (!room.stats.checked) print(`relay  ${room.name}: its link has no admission key, so cores are not checked; keep it again with a new relay link`)
      }
    }
    await status()
    const timer = setInterval(() => void status().catch(() => {}), interval * 1000)
    await stopped
    clearInterval(timer)
  } finally {
    await node.close()
  }
  print('relay closed')
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
    throw BackspaceError.INVALID_ARGUMENT(`UDP port ${port} on 127.0.0.1 is in use; pick another --port`)
  }
  const where = `127.0.0.1:${address.port}`
  print(`DHT bootstrap node listening on ${where}`)
  print(`Start peers with: backspace --bootstrap ${where} --storage <dir>`)
  await new Promise<void>((resolve) => onStopSignal(resolve))
  await testnet.destroy()
  return 0
}

async function id(args: Args): Promise<number> {
  switch (args.sub as IdCommand) {
    case 'list':
      return listIds(args)
    case 'import':
      return importId(args)
    default:
      return showId(args.sub as 'show' | 'phrase' | 'export', args)
  }
}

async function device(args: Args): Promise<number> {
  const sub = args.sub as DeviceCommand
  if (sub === 'revoke' && args.target === undefined) {
    throw BackspaceError.INVALID_ARGUMENT('device revoke needs the device: its key or fingerprint (see backspace device list)')
  }
  const { accountExists, accountIsEncrypted } = await loadAccounts()
  const account = args.values.account ?? 'default'
  const storage = await storageOf(args.values.storage, account)
  // Linking or revoking never creates an identity: the account must be there.
  if (!(await accountExists(storage, account))) {
    throw BackspaceError.ACCOUNT_NOT_FOUND(`No account "${account}" in ${storage}`)
  }
  let password = args.password
  if (password === undefined && (await accountIsEncrypted(storage, account))) {
    password = await askPassword(`Password for "${account}": `)
  }
  const opened = { ...args, password }
  switch (sub) {
    case 'list':
      return listDevices(storage, account, password)
    case 'link':
      return linkDevice(opened)
    case 'revoke':
      return revokeDevice(opened)
  }
}

async function listDevices(storage: string, account: string, password: string | undefined): Promise<number> {
  const { accountDevices, describeDevice } = await loadAccounts()
  for (const d of await accountDevices(storage, account, { password })) print(describeDevice(d))
  return 0
}

/** Opens the account's node on the network for one device operation, and closes it after. */
async function withNode<T>(
  { values, password }: Args,
  run: (node: import('../lib/index.js').Backspace, stopped: Promise<void>) => Promise<T>
): Promise<T> {
  const { Backspace } = await loadLibrary()
  const node = new Backspace({
    storage: storageFlag(values.storage),
    account: values.account,
    password,
    bootstrap: bootstrapOf(values.bootstrap)
  })
  let stop!: () => void
  const stopped = new Promise<void>((resolve) => (stop = resolve))
  onStopSignal(() => stop())
  try {
    await node.ready()
    return await run(node, stopped)
  } finally {
    await node.close()
  }
}

async function linkDevice(args: Args): Promise<number> {
  return withNode(args, async (node, stopped) => {
    const invite = await node.devices.invite({ name: args.values['device-name'] })
    print(`identity     ${node.identity.fingerprint}`)
    print(`link         ${invite.link}`)
    print(`expires      ${new Date(invite.expiresAt).toTimeString().slice(0, 8)}`)
    process.stderr.write(
      'Start the new device with BACKSPACE_LINK=<link> backspace, or choose "Link to an existing device".\n' +
        'Waiting for it to ask. The link works once. Ctrl-C cancels.\n'
    )
    type Outcome = import('../lib/index.js').DeviceRequest | 'expired' | 'stopped'
    let timer: NodeJS.Timeout | undefined
    const outcome = await new Promise<Outcome>((resolve) => {
      node.once('device-request', resolve)
      timer = setTimeout(() => resolve('expired'), Math.max(0, invite.expiresAt - Date.now()))
      void stopped.then(() => resolve('stopped'))
    })
    clearTimeout(timer)
    if (outcome === 'stopped') return 0
    if (outcome === 'expired') throw BackspaceError.DEVICE_LINK_EXPIRED('No device asked before the link expired')
    const request = outcome
    print(`request      ${request.fingerprint}${request.name ? `  "${request.name}"` : ''}`)
    process.stderr.write('Compare this fingerprint with the one the new device shows.\n')
    if (!(await askYesNo('Approve this device? [y/N] '))) {
      await request.deny()
      print('denied')
      return 0
    }
    const info = await request.approve()
    print(`linked       ${info.fingerprint}`)
    return 0
  })
}

async function revokeDevice(args: Args): Promise<number> {
  return withNode(args, async (node) => {
    await node.devices.revoke(args.target!)
    print(node.device.revoked ? 'this device is logged out of the identity' : `revoked      ${args.target}`)
    return 0
  })
}

/**
 * Asks a yes/no question: one key on a terminal; otherwise one line from stdin, so a script
 * can answer. Anything but y or yes, and the end of input, is no.
 */
async function askYesNo(prompt: string): Promise<boolean> {
  const stdin = process.stdin
  process.stderr.write(prompt)
  if (stdin.isTTY) {
    stdin.setRawMode(true)
    stdin.resume()
    try {
      const key = await new Promise<string>((resolve) => stdin.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8'))))
      return key === 'y' || key === 'Y'
    } finally {
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
    }
  }
  const readline = await import('readline')
  const lines = readline.createInterface({ input: stdin })
  try {
    const line = await new Promise<string>((resolve) => {
      lines.once('line', resolve)
      lines.once('close', () => resolve(''))
    })
    return /^\s*y(es)?\s*$/i.test(line)
  } finally {
    lines.close()
  }
}

async function listIds({ values }: Args): Promise<number> {
  const { accountIsEncrypted, listAccounts } = await loadAccounts()
  const storage = await storageOf(values.storage)
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

async function showId(sub: 'show' | 'phrase' | 'export', { values, password }: Args): Promise<number> {
  const { accountExists, accountIsEncrypted, accountPublicKey, fingerprint, loadAccount } = await loadAccounts()
  const account = values.account ?? 'default'
  const storage = await storageOf(values.storage, account)
  if (!(await accountExists(storage, account))) {
    throw BackspaceError.ACCOUNT_NOT_FOUND(`No account "${account}" in ${storage}`)
  }
  const encrypted = await accountIsEncrypted(storage, account)
  if (sub === 'show') {
    const publicKey = await accountPublicKey(storage, account)
    return printAccount(account, publicKey, fingerprint(publicKey), encrypted)
  }
  // The secret parts are shown only after the password, asked for on a terminal.
  if (encrypted && password === undefined) password = await askPassword(`Password for "${account}": `)
  const identity: Identity = await loadAccount(storage, account, { password })
  if (sub === 'phrase') {
    process.stderr.write('Anyone with these 24 words is you. Keep them offline.\n')
    return print(identity.phrase)
  }
  if (sub === 'export') {
    const hex = identity.secretKey.subarray(0, 32).toString('hex')
    if (values.out === undefined) {
      process.stderr.write('This is your secret key. Anyone with it is you.\n')
      return print(hex)
    }
    await fs.promises.writeFile(values.out, hex + '\n', { mode: 0o600, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') throw BackspaceError.INVALID_ARGUMENT(`${values.out} exists; it is not overwritten`)
      throw BackspaceError.INVALID_ARGUMENT(`cannot write ${values.out}: ${err.code ?? err.message}`)
    })
    process.stderr.write(`Secret key written to ${values.out} (mode 0600)\n`)
  }
  return 0
}

async function importId({ values, password, phrase, secretKey }: Args): Promise<number> {
  const { accountExists, Identity, saveAccount } = await loadAccounts()
  if (phrase === undefined && secretKey === undefined) {
    if (!process.stdin.isTTY) {
      throw BackspaceError.INVALID_ARGUMENT(
        'id import needs the identity: --phrase-file FILE, --secret-key-file FILE, BACKSPACE_PHRASE or BACKSPACE_SECRET_KEY'
      )
    }
    ;({ phrase, secretKey } = phraseOrKey(await askHidden('Recovery phrase or secret key (hidden): ')))
  }
  const identity = phrase !== undefined ? Identity.fromPhrase(phrase) : Identity.fromSecretKey(secretKey!)
  const account = values.account ?? 'default'
  const storage = await storageOf(values.storage, account)
  if (await accountExists(storage, account)) {
    throw BackspaceError.ACCOUNT_EXISTS(`Account "${account}" already exists in ${storage}`)
  }
  await saveAccount(storage, account, identity, { password })
  const lock = password ? 'encrypted with the password' : 'no password: the key file is only mode 0600'
  process.stderr.write(`Imported account "${account}" into ${storage} (${lock})\n`)
  print(`public key   ${identity.publicKey.toString('hex')}`)
  print(`fingerprint  ${identity.fingerprint}`)
  return 0
}

async function identity({ values, password, phrase }: Args): Promise<number> {
  const { accountExists, accountIsEncrypted, Identity, loadAccount, saveAccount } = await loadAccounts()
  const account = values.account ?? 'default'
  const storage = await storageOf(values.storage, account)
  const restored = phrase ? Identity.fromPhrase(phrase) : null
  let id: Identity
  if (await accountExists(storage, account)) {
    if (password === undefined && (await accountIsEncrypted(storage, account))) {
      password = await askPassword(`Password for "${account}": `)
    }
    id = await loadAccount(storage, account, { password })
    if (restored && !restored.publicKey.equals(id.publicKey)) {
      throw BackspaceError.ACCOUNT_EXISTS(`Account "${account}" already holds another identity`)
    }
  } else {
    id = restored ?? Identity.generate()
    await saveAccount(storage, account, id, { password })
    const lock = password ? 'encrypted with the password' : 'no password: the key file is only mode 0600'
    process.stderr.write(`Created account "${account}" in ${storage} (${lock})\n`)
  }
  printAccount(account, id.publicKey, id.fingerprint, await accountIsEncrypted(storage, account))
  if (values['show-phrase']) print(`phrase       ${id.phrase}`)
  return 0
}

function printAccount(account: string, publicKey: Buffer, fingerprint: string, encrypted: boolean): number {
  print(`account      ${account}`)
  print(`public key   ${publicKey.toString('hex')}`)
  print(`fingerprint  ${fingerprint}`)
  print(`encrypted    ${encrypted ? 'yes' : 'no'}`)
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
  if (!isCommand(name)) throw BackspaceError.INVALID_ARGUMENT(`unknown command "${name}". See backspace --help`)
  let sub = name === 'id' || name === 'device' ? rest.shift() : undefined
  const target = name === 'device' && sub === 'revoke' ? rest.shift() : undefined
  if (rest.length > 0) throw BackspaceError.INVALID_ARGUMENT(`unexpected argument "${rest[0]}"`)
  let accepted = ACCEPTS[name]
  let command: string = name
  if (name === 'id') {
    sub ??= 'show'
    if (!Object.hasOwn(ID_COMMANDS, sub)) {
      throw BackspaceError.INVALID_ARGUMENT(`unknown command "id ${sub}": use show, phrase, export, import or list`)
    }
    accepted = ID_COMMANDS[sub as IdCommand]
    command = `id ${sub}`
  } else if (name === 'device') {
    sub ??= 'list'
    if (!Object.hasOwn(DEVICE_COMMANDS, sub)) {
      throw BackspaceError.INVALID_ARGUMENT(`unknown command "device ${sub}": use link, list or revoke`)
    }
    accepted = DEVICE_COMMANDS[sub as DeviceCommand]
    command = `device ${sub}`
  }
  for (const option of Object.keys(values) as Option[]) {
    if (option === 'help' || option === 'version' || accepted.includes(option)) continue
    throw BackspaceError.INVALID_ARGUMENT(`--${option} is not an option of "backspace ${command}"`)
  }
  const args: Args = {
    command: name,
    sub,
    target,
    values,
    password: undefined,
    phrase: undefined,
    secretKey: undefined,
    link: undefined,
    joins: []
  }
  // --help and --version read no files.
  return values.help || values.version ? args : resolveSecrets(args)
}

/**
 * Reads each secret from where it was given: its file option, the environment, or the old
 * option that shows it to other users (which warns). Files are read and checked here, so a
 * bad one ends the command before anything opens.
 */
function resolveSecrets(args: Args): Args {
  const { values } = args
  const warn = (line: string) => process.stderr.write(`backspace: ${line}\n`)
  const password = passwordFromFlags(values, warn)
  // Restoring in the chat reads no environment variable: one left set would quietly make
  // every new account from it.
  const { phrase, secretKey } =
    args.command === 'id' && args.sub === 'import'
      ? importSource(values, warn)
      : {
          phrase: secretFromFlags(
            { option: '--restore-phrase', value: values['restore-phrase'], fileOption: '--phrase-file', file: values['phrase-file'] },
            warn
          ),
          secretKey: undefined
        }
  // A link left in the environment fails loudly on the next start (the account exists).
  const link =
    args.command === 'chat'
      ? secretFromFlags(
          { option: '--link', value: values.link, fileOption: '--link-file', file: values['link-file'], envName: 'BACKSPACE_LINK' },
          warn
        )
      : undefined
  const joins = (values.join ?? []).map((text) => parseJoin(text, `--join "${text}"`))
  for (const file of values['join-file'] ?? []) {
    const lines = readSecretFile('--join-file', file, 'text').split(/\r?\n/)
    lines.forEach((line, i) => {
      if (line.trim() === '' || line.trimStart().startsWith('#')) return
      joins.push(parseJoin(line, `--join-file ${file} line ${i + 1}`))
    })
  }
  if ((values.join ?? []).some((text) => text.includes(':'))) {
    warn(argvWarning('the password in --join ROOM:PASSWORD', ['--join-file FILE']))
  }
  return { ...args, password, phrase, secretKey, link, joins }
}

/** id import's identity: exactly one option, else one of the two environment variables. */
function importSource(
  values: Args['values'],
  warn: (line: string) => void
): { phrase: string | undefined; secretKey: string | undefined } {
  const given = IMPORT_SOURCES.filter((option) => values[option] !== undefined)
  if (given.length > 1) {
    throw BackspaceError.INVALID_ARGUMENT(
      `id import takes one of --phrase-file FILE, --secret-key-file FILE or --file FILE, not ${given.map((o) => `--${o}`).join(' and ')}`
    )
  }
  if (values.file !== undefined) return phraseOrKey(readSecretFile('--file', values.file, 'trim'))
  if (given.length === 0) {
    const phrase = process.env['BACKSPACE_PHRASE'] || undefined
    const secretKey = process.env['BACKSPACE_SECRET_KEY'] || undefined
    if (phrase !== undefined && secretKey !== undefined) {
      throw BackspaceError.INVALID_ARGUMENT('BACKSPACE_PHRASE and BACKSPACE_SECRET_KEY are both set: id import takes one')
    }
    return { phrase: phrase?.trim(), secretKey: secretKey?.trim() }
  }
  return {
    phrase: secretFromFlags(
      { option: '--phrase', value: values.phrase, fileOption: '--phrase-file', file: values['phrase-file'], envName: 'BACKSPACE_PHRASE' },
      warn,
      {}
    ),
    secretKey: secretFromFlags(
      {
        option: '--secret-key',
        value: values['secret-key'],
        fileOption: '--secret-key-file',
        file: values['secret-key-file'],
        envName: 'BACKSPACE_SECRET_KEY'
      },
      warn,
      {}
    )
  }
}

/** Text that is a phrase or a key: several words are a phrase, one is a key in hex. */
function phraseOrKey(text: string): { phrase: string | undefined; secretKey: string | undefined } {
  const value = text.trim()
  return /\s/.test(value) ? { phrase: value, secretKey: undefined } : { phrase: undefined, secretKey: value }
}

function isCommand(name: string): name is Command {
  return Object.hasOwn(ACCEPTS, name)
}

/** `ROOM[:PASSWORD]`: the password is everything after the first colon. `where` names it in errors. */
function parseJoin(text: string, where: string): { name: string; password?: string } {
  const colon = text.indexOf(':')
  const name = colon === -1 ? text : text.slice(0, colon)
  if (name.trim() === '') throw BackspaceError.INVALID_ARGUMENT(`${where} has no room name`)
  return colon === -1 ? { name } : { name, password: text.slice(colon + 1) }
}

function parsePort(text: string): number {
  const port = Number(text)
  if (!/^\d+$/.test(text) || port > 65535) {
    throw BackspaceError.INVALID_ARGUMENT(`--port must be a number from 0 to 65535, not "${text}"`)
  }
  return port
}

function parsePositive(flag: string, text: string): number {
  const n = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text) || n <= 0 || n > 3600) {
    throw BackspaceError.INVALID_ARGUMENT(`${flag} must be a number of seconds from 0.1 to 3600, not "${text}"`)
  }
  return n
}

/** The storage directory, resolved the way the library resolves it (the platform default). */
async function storageOf(storage: string | undefined, account?: string): Promise<string> {
  const { assertAccountName, resolveStorage } = await loadAccounts()
  if (account !== undefined) assertAccountName(account)
  return resolveStorage(storageFlag(storage))
}

/** Reads a password from the terminal without echoing it; without a terminal, PASSWORD_REQUIRED. */
async function askPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) throw BackspaceError.PASSWORD_REQUIRED()
  return askHidden(prompt, () => BackspaceError.PASSWORD_REQUIRED('cancelled'))
}

/** Reads a line from the terminal without echoing it. Ctrl-C rejects with `cancelled()`. */
async function askHidden(
  prompt: string,
  cancelled: () => Error = () => BackspaceError.INVALID_ARGUMENT('cancelled')
): Promise<string> {
  const stdin = process.stdin
  // Echo goes off before the prompt shows: what is typed as soon as it appears stays hidden.
  stdin.setRawMode(true)
  process.stderr.write(prompt)
  stdin.resume()
  let typed = ''
  try {
    return await new Promise<string>((resolve, reject) => {
      stdin.on('data', (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') return resolve(typed)
          if (ch === '\u0003') return reject(cancelled())
          if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1)
          else typed += ch
        }
      })
    })
  } finally {
    stdin.setRawMode(false)
    stdin.pause()
    stdin.removeAllListeners('data')
    process.stderr.write('\n')
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`
}

function short(text: string): string {
  return text.length > 24 ? text.slice(0, 21) + '...' : text
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
  .catch(async (err: unknown) => {
    // A raw start-up error (a storage in use, a path that is a file) becomes one sentence.
    if (isBackspaceError(err)) return report(err)
    const { startupError } = await import('../lib/storage-check.js')
    return report(startupError(err, null))
  })
  .then((code) => process.exit(code))
