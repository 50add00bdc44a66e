import test, { type Test } from 'brittle'
import { spawn } from 'child_process'
import fs from 'fs/promises'
import path from 'path'
import { fileURLToPath } from 'url'
import { randomBytes } from '../lib/crypto.js'
import { Backspace, Identity, saveAccount } from '../lib/index.js'
import { deviceLinkOf } from '../lib/links.js'
import { createLocalTestnet, receive, waitForPeers } from './helpers/index.js'

const BIN = fileURLToPath(new URL('../bin/backspace.js', import.meta.url))
// Tests never reach the public DHT: every command that could gets a loopback bootstrap.
const NOWHERE = '127.0.0.1:9'

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

// Secrets a test does not give are not taken from whoever runs the tests.
const NO_SECRETS = { BACKSPACE_PASSWORD: '', BACKSPACE_PHRASE: '', BACKSPACE_SECRET_KEY: '', BACKSPACE_LINK: '' }

// A run that should end but hangs (a check gone missing lets it start) fails, not lingers.
const RUN_LIMIT_MS = 60_000

/** Runs the real binary to completion, with stdin closed; SIGKILL after RUN_LIMIT_MS. */
function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...NO_SECRETS, ...env, BACKSPACE_DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const limit = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS)
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(limit)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0)
}

/** Writes `text` to a new file in `dir` that only its owner can read (or with `mode`). */
async function secretFile(dir: string, name: string, text: string, mode = 0o600): Promise<string> {
  const file = path.join(dir, name)
  await fs.writeFile(file, text, { mode })
  await fs.chmod(file, mode) // The umask does not decide a test's mode.
  return file
}

/** The warning lines on stderr: one per secret given as an argument. */
function warnings(r: Run): string[] {
  return lines(r.stderr).filter((l) => l.startsWith('backspace: warning: '))
}

/** One line on stderr, in the `backspace: CODE: detail` form, with no stack trace. */
function isOneErrorLine(t: Test, r: Run, code: string): void {
  const err = lines(r.stderr)
  t.is(err.length, 1, `one line on stderr: ${JSON.stringify(r.stderr)}`)
  t.ok(err[0]!.startsWith(`backspace: ${code}: `), `starts with backspace: ${code}:`)
  t.absent(/\n\s+at /.test(r.stderr), 'no stack trace')
}

test('cli: --help and --version', async (t) => {
  const help = await run(['--help'])
  t.is(help.code, 0)
  t.ok(help.stdout.startsWith('Usage: backspace'), 'usage first')
  for (const word of ['accounts', 'identity', 'bootstrap', '--storage', '--bootstrap', '--room', 'device link', '--link']) {
    t.ok(help.stdout.includes(word), `help mentions ${word}`)
  }
  t.is(help.stderr, '')

  const version = await run(['--version'])
  t.is(version.code, 0)
  t.ok(/^backspace \d+\.\d+\.\d+\n$/.test(version.stdout), version.stdout.trim())
})

test('cli: bad arguments exit 2 with one line', async (t) => {
  const unknown = await run(['--frobnicate'])
  t.is(unknown.code, 2)
  isOneErrorLine(t, unknown, 'INVALID_ARGUMENT')
  t.ok(unknown.stderr.includes('--frobnicate'), 'names the option')
  t.is(unknown.stdout, '')

  const command = await run(['frobnicate', '--bootstrap', NOWHERE])
  t.is(command.code, 2)
  isOneErrorLine(t, command, 'INVALID_ARGUMENT')

  const misplaced = await run(['accounts', '--port', '1'])
  t.is(misplaced.code, 2)
  isOneErrorLine(t, misplaced, 'INVALID_ARGUMENT')

  const bootstrap = await run(['--bootstrap', 'not-an-address'])
  t.is(bootstrap.code, 2)
  isOneErrorLine(t, bootstrap, 'INVALID_BOOTSTRAP')

  const account = await run(['identity', '--storage', await t.tmp(), '--account', 'No Spaces'])
  t.is(account.code, 2)
  isOneErrorLine(t, account, 'INVALID_ACCOUNT_NAME')

  const dir = await t.tmp()
  const phrase = await run(['identity', '--storage', dir, '--phrase-file', await secretFile(dir, 'phrase', 'one two\n')])
  t.is(phrase.code, 2)
  isOneErrorLine(t, phrase, 'INVALID_PHRASE')

  // The chat needs a terminal; a closed stdin is refused before anything is opened.
  const noTty = await run(['--storage', await t.tmp(), '--bootstrap', NOWHERE])
  t.is(noTty.code, 2)
  isOneErrorLine(t, noTty, 'INVALID_ARGUMENT')
})

test('cli: identity creates the account once and prints its keys', async (t) => {
  const storage = await t.tmp()
  const first = await run(['identity', '--storage', storage, '--show-phrase'])
  t.is(first.code, 0, first.stderr.trim())
  t.ok(first.stderr.includes('Created account "default"'), 'says it created the account')
  const key = /^public key\s+([0-9a-f]{64})$/m.exec(first.stdout)?.[1]
  const fp = /^fingerprint\s+([0-9a-f]{4}(-[0-9a-f]{4}){3})$/m.exec(first.stdout)?.[1]
  const phrase = /^phrase\s+(.+)$/m.exec(first.stdout)?.[1]
  t.ok(key, 'prints the public key')
  t.is(fp, `${key!.slice(0, 4)}-${key!.slice(4, 8)}-${key!.slice(8, 12)}-${key!.slice(12, 16)}`)
  t.is(phrase!.split(' ').length, 24, 'prints a 24-word phrase')

  const again = await run(['identity', '--storage', storage])
  t.is(again.code, 0)
  t.is(again.stderr, '', 'nothing created the second time')
  t.ok(again.stdout.includes(key!), 'same key')
  t.absent(again.stdout.includes(phrase!), 'the phrase only with --show-phrase')

  // The phrase brings the same identity back elsewhere.
  const files = await t.tmp()
  const restored = await run(['identity', '--storage', await t.tmp(), '--phrase-file', await secretFile(files, 'p', phrase!)])
  t.is(restored.code, 0, restored.stderr.trim())
  t.ok(restored.stdout.includes(key!), 'restored from the phrase')

  const clash = await run(['identity', '--storage', storage, '--phrase-file', await secretFile(files, 'o', restoredOther())])
  t.is(clash.code, 1)
  isOneErrorLine(t, clash, 'ACCOUNT_EXISTS')
})

test('cli: accounts lists accounts; encrypted ones need their password', async (t) => {
  const storage = await t.tmp()
  const empty = await run(['accounts', '--storage', storage])
  t.is(empty.code, 0)
  t.is(empty.stdout, '', 'no accounts yet')

  t.is((await run(['identity', '--storage', storage, '--account', 'bob'])).code, 0)
  const created = await run([
    'identity',
    '--storage',
    storage,
    '--account',
    'alice',
    '--password',
    'pw'
  ])
  t.is(created.code, 0, created.stderr.trim())
  t.ok(/^encrypted\s+yes$/m.test(created.stdout))

  const list = await run(['accounts', '--storage', storage])
  t.is(list.code, 0)
  t.alike(lines(list.stdout), ['alice  (password)', 'bob'])

  const locked = await run(['identity', '--storage', storage, '--account', 'alice'])
  t.is(locked.code, 1)
  isOneErrorLine(t, locked, 'PASSWORD_REQUIRED')

  const wrong = await run(['identity', '--storage', storage, '--account', 'alice'], { BACKSPACE_PASSWORD: 'no' })
  t.is(wrong.code, 1)
  isOneErrorLine(t, wrong, 'WRONG_PASSWORD')

  const env = await run(['identity', '--storage', storage, '--account', 'alice'], {
    BACKSPACE_PASSWORD: 'pw'
  })
  t.is(env.code, 0, 'BACKSPACE_PASSWORD unlocks it')
})

test('cli: bootstrap runs a local DHT that peers meet on, and stops on SIGTERM', async (t) => {
  const child = spawn(process.execPath, [BIN, 'bootstrap', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  // The bootstrap never ends by itself: make sure it ends with this test, or with this process.
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  process.once('exit', kill)
  t.teardown(() => {
    process.off('exit', kill)
    kill()
  })
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  let stdout = ''
  child.stdout.setEncoding('utf8')
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: string) => {
      stdout += d
      const m = /listening on (127\.0\.0\.1:\d+)/.exec(stdout)
      if (m) resolve(m[1]!)
    })
    child.on('close', () => reject(new Error(`bootstrap exited early: ${stdout}`)))
  })
  t.ok(address, `bootstrap at ${address}`)

  const peer = async () => {
    const node = new Backspace({ storage: await t.tmp(), bootstrap: [address] })
    t.teardown(() => node.close())
    await node.ready()
    return node
  }
  const a = await peer()
  const b = await peer()
  const ra = await a.join('meet')
  const rb = await b.join('meet')
  await waitForPeers(ra)
  const atB = receive(rb, ['through the bootstrap'])
  await ra.send('through the bootstrap')
  await atB
  t.pass('two peers met through it')

  await a.close()
  await b.close()
  child.kill('SIGTERM')
  t.is(await exited, 0, 'exits 0 on SIGTERM')
})

// A valid phrase of another identity, for the clash check.
function restoredOther(): string {
  return 'abandon '.repeat(23) + 'art'
}

test('cli: id shows, exports, imports and lists accounts; BACKSPACE_STORAGE picks the storage', async (t) => {
  const storage = await t.tmp()
  const files = await t.tmp()
  const env = { BACKSPACE_STORAGE: storage }
  const pw = { ...env, BACKSPACE_PASSWORD: 'pw' }

  const missing = await run(['id'], env)
  t.is(missing.code, 1)
  isOneErrorLine(t, missing, 'ACCOUNT_NOT_FOUND')

  const created = await run(['identity', '--account', 'ann'], pw)
  t.is(created.code, 0, created.stderr)
  const key = /public key\s+([0-9a-f]{64})/.exec(created.stdout)![1]!

  const shown = await run(['id', 'show', '--account', 'ann'], env)
  t.is(shown.code, 0, 'the public key needs no password')
  t.ok(shown.stdout.includes(key))

  const locked = await run(['id', 'phrase', '--account', 'ann'], env)
  t.is(locked.code, 1, 'the phrase needs the password')
  isOneErrorLine(t, locked, 'PASSWORD_REQUIRED')
  const wrong = await run(['id', 'phrase', '--account', 'ann'], { ...env, BACKSPACE_PASSWORD: 'nope' })
  isOneErrorLine(t, wrong, 'WRONG_PASSWORD')
  const phrase = await run(['id', 'phrase', '--account', 'ann'], pw)
  t.is(phrase.code, 0)
  const words = phrase.stdout.trim()
  t.is(words.split(' ').length, 24)

  const exported = await run(['id', 'export', '--account', 'ann'], pw)
  const hex = exported.stdout.trim()
  t.ok(/^[0-9a-f]{64}$/.test(hex), 'the secret key in hex')

  const viaPhrase = await run(['id', 'import', '--account', 'ann2'], { ...env, BACKSPACE_PHRASE: words })
  t.is(viaPhrase.code, 0, viaPhrase.stderr)
  t.ok(viaPhrase.stdout.includes(key), 'the phrase restores the same identity')
  const viaKey = await run(['id', 'import', '--account', 'ann3'], { ...env, BACKSPACE_SECRET_KEY: hex })
  t.ok(viaKey.stdout.includes(key), 'the secret key restores the same identity')
  const again = await run(['id', 'import', '--account', 'ann3'], { ...env, BACKSPACE_SECRET_KEY: hex })
  isOneErrorLine(t, again, 'ACCOUNT_EXISTS')
  const bad = await run(['id', 'import', '--account', 'x'], { ...env, BACKSPACE_PHRASE: 'one two three' })
  t.is(bad.code, 2)
  isOneErrorLine(t, bad, 'INVALID_PHRASE')
  const badKey = await run(['id', 'import', '--account', 'y'], { ...env, BACKSPACE_SECRET_KEY: 'zz' })
  isOneErrorLine(t, badKey, 'INVALID_SECRET_KEY')
  const both = await run(
    ['id', 'import', '--phrase-file', await secretFile(files, 'p', words), '--secret-key-file', await secretFile(files, 'k', hex)],
    env
  )
  t.is(both.code, 2)
  isOneErrorLine(t, both, 'INVALID_ARGUMENT')
  const sub = await run(['id', 'burn'], env)
  t.is(sub.code, 2)
  isOneErrorLine(t, sub, 'INVALID_ARGUMENT')
  const flag = await run(['id', 'list', '--account', 'ann'], env)
  t.is(flag.code, 2, '--account is not an option of id list')

  const list = await run(['id', 'list'], env)
  t.alike(lines(list.stdout), ['ann  (password)', 'ann2', 'ann3'])
})

test('cli: --version answers without loading the network stack', async (t) => {
  const r = await run(['--version'])
  t.is(r.code, 0)
  // The check is what is loaded, not how long it takes: timing belongs in bench/.
  const traced = await run(['--version'], { NODE_DEBUG: 'module' })
  t.absent(/hyperswarm|corestore|hypercore/.test(traced.stderr), 'hyperswarm, corestore and hypercore are not loaded')
  const storage = await t.tmp()
  const loaded = await run(['id', 'list', '--storage', storage], { NODE_DEBUG: 'module' })
  t.ok(/hyperswarm/.test(loaded.stderr), 'the trace does show them for a command that needs them')
})

test('cli: device link approves a new device; device list and revoke', async (t) => {
  const testnet = await createLocalTestnet(t)
  const bootstrap = `127.0.0.1:${testnet.bootstrap[0]!.port}`
  const storage = await t.tmp()
  await saveAccount(storage, 'default', Identity.generate())

  const missing = await run(['device', 'link', '--storage', await t.tmp(), '--bootstrap', bootstrap])
  t.is(missing.code, 1)
  isOneErrorLine(t, missing, 'ACCOUNT_NOT_FOUND')
  const noKey = await run(['device', 'revoke', '--storage', storage])
  t.is(noKey.code, 2)
  isOneErrorLine(t, noKey, 'INVALID_ARGUMENT')

  const child = spawn(process.execPath, [BIN, 'device', 'link', '--storage', storage, '--bootstrap', bootstrap], {
    env: { ...process.env, BACKSPACE_DEBUG: '' },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  t.teardown(kill)
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  let stdout = ''
  const waiters: Array<() => void> = []
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
    for (const w of waiters.splice(0)) w()
  })
  child.stderr.resume()
  const line = async (re: RegExp): Promise<RegExpExecArray> => {
    for (;;) {
      const m = re.exec(stdout)
      if (m) return m
      await new Promise<void>((resolve) => waiters.push(resolve))
    }
  }
  const link = (await line(/^link +(\S+)$/m))[1]!
  t.ok(link.startsWith('backspace-device:'), 'prints the link')

  const b = new Backspace({ storage: await t.tmp(), bootstrap: testnet.bootstrap, link, deviceName: 'cli-test' })
  t.teardown(() => b.close())
  const ready = b.ready()
  const asked = (await line(/^request +(\S+)/m))[1]!
  t.is(asked, b.linking!.fingerprint, 'prints the fingerprint the new device shows')
  child.stdin.end('y\n')
  await ready
  t.is(await exited, 0, 'exits once approved')
  t.ok(/^linked +\S+/m.test(stdout), 'says it is linked')
  await b.close()

  const list = await run(['device', 'list', '--storage', storage])
  t.is(list.code, 0)
  t.is(lines(list.stdout).length, 2, 'two devices')
  t.ok(list.stdout.includes('"cli-test"') && list.stdout.includes('(this device)'))

  const revoke = await run(['device', 'revoke', asked, '--storage', storage, '--bootstrap', bootstrap])
  t.is(revoke.code, 0, revoke.stderr)
  const after = await run(['device', 'list', '--storage', storage])
  t.ok(lines(after.stdout).some((l) => l.startsWith(asked) && l.includes('REVOKED')), 'listed as revoked')
  const self = await run(['device', 'revoke', lines(after.stdout).find((l) => l.includes('(this device)'))!.split(' ')[0]!, '--storage', storage, '--bootstrap', bootstrap])
  t.is(self.code, 1)
  isOneErrorLine(t, self, 'NOT_ALLOWED')
})

/** A device link that parses (nobody waits on it): what `backspace device link` prints. */
function deviceLink(): string {
  return deviceLinkOf({
    secret: randomBytes(32),
    expiresAt: (Math.floor(Date.now() / 1000) + 600) * 1000,
    identityCheck: Buffer.alloc(16)
  })
}

test('cli: --help names the ways to give a secret that others cannot read', async (t) => {
  const help = await run(['--help'])
  t.is(help.code, 0)
  for (const word of [
    '--password-file FILE',
    '--phrase-file FILE',
    '--secret-key-file FILE',
    '--link-file FILE',
    '--join-file FILE',
    'BACKSPACE_PASSWORD',
    'BACKSPACE_PHRASE',
    'BACKSPACE_SECRET_KEY',
    'BACKSPACE_LINK',
    '/proc/PID/cmdline',
    'chmod 600'
  ]) {
    t.ok(help.stdout.includes(word), `help mentions ${word}`)
  }
  t.ok(/older forms still work but print a warning/.test(help.stdout), 'says the old options warn')

  const desktop = await run(['desktop', '--help'])
  t.is(desktop.code, 0)
  for (const word of ['--password-file FILE', '--link-file FILE', 'BACKSPACE_PASSWORD', 'BACKSPACE_LINK', '/proc/PID/cmdline']) {
    t.ok(desktop.stdout.includes(word), `desktop help mentions ${word}`)
  }
})

test('cli: a password from --password-file or BACKSPACE_PASSWORD, with no warning', async (t) => {
  const files = await t.tmp()
  const env = { BACKSPACE_STORAGE: await t.tmp() }
  // The first line is the password, spaces and all; the rest of the file is not.
  const file = await secretFile(files, 'pw', ' two words \nnot this\n')

  const created = await run(['identity', '--account', 'ann', '--password-file', file], env)
  t.is(created.code, 0, created.stderr)
  t.ok(/^encrypted\s+yes$/m.test(created.stdout), 'encrypted with it')
  t.alike(warnings(created), [], 'no warning')
  const viaEnv = await run(['id', 'phrase', '--account', 'ann'], { ...env, BACKSPACE_PASSWORD: ' two words ' })
  t.is(viaEnv.code, 0, 'the same password from the environment opens it')
  t.alike(warnings(viaEnv), [])
  const trimmed = await run(['id', 'phrase', '--account', 'ann'], { ...env, BACKSPACE_PASSWORD: 'two words' })
  isOneErrorLine(t, trimmed, 'WRONG_PASSWORD')
  // The file was named on this command line: it wins over the environment.
  const exported = await run(['id', 'export', '--account', 'ann', '--password-file', file], {
    ...env,
    BACKSPACE_PASSWORD: 'wrong'
  })
  t.is(exported.code, 0, exported.stderr)
  t.ok(/^[0-9a-f]{64}$/.test(exported.stdout.trim()), 'the file opened it')
  const devices = await run(['device', 'list', '--account', 'ann', '--password-file', file], env)
  t.is(devices.code, 0, `device list takes it too: ${devices.stderr}`)

  // A refused file is one line and exit 2, and nothing is opened.
  for (const [what, args] of [
    ['readable by others', ['--password-file', await secretFile(files, 'open', 'x\n', 0o644)]],
    ['readable by the group', ['--password-file', await secretFile(files, 'group', 'x\n', 0o640)]],
    ['missing', ['--password-file', path.join(files, 'missing')]],
    ['empty', ['--password-file', await secretFile(files, 'empty', '\n')]],
    ['a directory', ['--password-file', files]],
    ['given twice', ['--password', 'x', '--password-file', file]]
  ] as const) {
    const r = await run(['id', 'phrase', '--account', 'ann', ...args], env)
    t.is(r.code, 2, `${what}: exit 2`)
    isOneErrorLine(t, r, 'INVALID_ARGUMENT')
    t.is(r.stdout, '', `${what}: prints nothing`)
  }
  const open = await run(['id', 'phrase', '--account', 'ann', '--password-file', path.join(files, 'open')], env)
  t.ok(open.stderr.includes('(mode 0644); chmod 600 it'), open.stderr.trim())
})

test('cli: id import reads the phrase or the key from a file or the environment', async (t) => {
  const files = await t.tmp()
  const env = { BACKSPACE_STORAGE: await t.tmp() }
  const made = await run(['identity', '--account', 'ann', '--show-phrase'], env)
  const key = /public key\s+([0-9a-f]{64})/.exec(made.stdout)![1]!
  const words = /^phrase\s+(.+)$/m.exec(made.stdout)![1]!
  const out = path.join(files, 'key')
  t.is((await run(['id', 'export', '--account', 'ann', '--out', out], env)).code, 0)

  const viaPhrase = await run(['id', 'import', '--account', 'p', '--phrase-file', await secretFile(files, 'p', `  ${words}\n\n`)], env)
  t.is(viaPhrase.code, 0, viaPhrase.stderr)
  t.ok(viaPhrase.stdout.includes(key), '--phrase-file restores it')
  t.alike(warnings(viaPhrase), [])
  const viaKey = await run(['id', 'import', '--account', 'k', '--secret-key-file', out], env)
  t.is(viaKey.code, 0, viaKey.stderr)
  t.ok(viaKey.stdout.includes(key), '--secret-key-file reads what id export --out wrote')
  // An option names the source: the variable of the other kind is not a second one.
  const optionWins = await run(['id', 'import', '--account', 'o', '--secret-key-file', out], {
    ...env,
    BACKSPACE_PHRASE: restoredOther()
  })
  t.ok(optionWins.stdout.includes(key), 'the option, not the environment')

  const twoVariables = await run(['id', 'import', '--account', 'x'], {
    ...env,
    BACKSPACE_PHRASE: words,
    BACKSPACE_SECRET_KEY: key
  })
  t.is(twoVariables.code, 2)
  isOneErrorLine(t, twoVariables, 'INVALID_ARGUMENT')
  const nothing = await run(['id', 'import', '--account', 'x'], env)
  t.is(nothing.code, 2, 'without a terminal there is nobody to ask')
  isOneErrorLine(t, nothing, 'INVALID_ARGUMENT')
  t.ok(nothing.stderr.includes('--phrase-file FILE') && nothing.stderr.includes('BACKSPACE_SECRET_KEY'), 'names the ways')
  const open = await run(['id', 'import', '--account', 'x', '--file', await secretFile(files, 'o', words, 0o644)], env)
  t.is(open.code, 2, '--file follows the same rule')
  isOneErrorLine(t, open, 'INVALID_ARGUMENT')

  // Restoring reads no variable: one left set would quietly make every new account from it.
  const fresh = await run(['identity', '--account', 'fresh'], { ...env, BACKSPACE_PHRASE: words })
  t.is(fresh.code, 0, fresh.stderr)
  t.absent(fresh.stdout.includes(key), 'identity made a new key, not the one in BACKSPACE_PHRASE')
})

test('cli: the old secret options still work, and warn that other users can read them', async (t) => {
  const env = { BACKSPACE_STORAGE: await t.tmp() }
  const warnsOnce = (r: Run, option: string, instead: string) => {
    const w = warnings(r)
    t.is(w.length, 1, `one warning for ${option}: ${JSON.stringify(r.stderr)}`)
    t.ok(w[0]?.includes(`${option} is visible to other users`), `names ${option}`)
    t.ok(w[0]?.includes('/proc/PID/cmdline') && w[0]?.includes(instead), `says why, and to use ${instead}`)
  }

  const created = await run(['identity', '--account', 'ann', '--password', 'pw', '--show-phrase'], env)
  t.is(created.code, 0, created.stderr)
  t.ok(/^encrypted\s+yes$/m.test(created.stdout))
  warnsOnce(created, '--password', '--password-file FILE or BACKSPACE_PASSWORD')
  const key = /public key\s+([0-9a-f]{64})/.exec(created.stdout)![1]!
  const words = /^phrase\s+(.+)$/m.exec(created.stdout)![1]!
  const exported = await run(['id', 'export', '--account', 'ann', '--password', 'pw'], env)
  t.is(exported.code, 0)
  warnsOnce(exported, '--password', '--password-file FILE')
  const hex = exported.stdout.trim()

  const viaPhrase = await run(['id', 'import', '--account', 'p', '--phrase', words], env)
  t.ok(viaPhrase.stdout.includes(key), '--phrase imports')
  warnsOnce(viaPhrase, '--phrase', '--phrase-file FILE or BACKSPACE_PHRASE')
  const viaKey = await run(['id', 'import', '--account', 'k', '--secret-key', hex], env)
  t.ok(viaKey.stdout.includes(key), '--secret-key imports')
  warnsOnce(viaKey, '--secret-key', '--secret-key-file FILE or BACKSPACE_SECRET_KEY')
  const restored = await run(['identity', '--account', 'r', '--restore-phrase', words], env)
  t.ok(restored.stdout.includes(key), '--restore-phrase restores')
  warnsOnce(restored, '--restore-phrase', '--phrase-file FILE')

  // The link passes its checks: what stops the chat is the missing terminal.
  const link = await run(['--storage', await t.tmp(), '--bootstrap', NOWHERE, '--link', deviceLink()])
  t.is(link.code, 2)
  t.ok(link.stderr.includes('interactive terminal'), link.stderr.trim())
  warnsOnce(link, '--link', '--link-file FILE or BACKSPACE_LINK')
  const desktop = await run(['desktop', '--storage', await t.tmp(), '--bootstrap', NOWHERE, '--no-open', '--link', 'nope'])
  t.is(desktop.code, 1)
  t.ok(desktop.stderr.includes('DEVICE_LINK_INVALID'), 'the desktop reads --link')
  warnsOnce(desktop, '--link', '--link-file FILE')

  const storage = await t.tmp()
  const withPassword = await run(['relay', '--storage', storage, '--bootstrap', NOWHERE, '--join', 'x:pw', '--invite', 'nope'])
  t.is(withPassword.code, 2)
  warnsOnce(withPassword, 'the password in --join ROOM:PASSWORD', '--join-file FILE')
  const without = await run(['relay', '--storage', storage, '--bootstrap', NOWHERE, '--join', 'x', '--invite', 'nope'])
  t.is(without.code, 2)
  isOneErrorLine(t, without, 'INVALID_ARGUMENT')
})

test('cli: a device link from --link-file or BACKSPACE_LINK', async (t) => {
  const files = await t.tmp()
  const chat = (args: string[], env: Record<string, string> = {}) =>
    run(['--bootstrap', NOWHERE, ...args], env)
  // Without a link, the chat stops at the missing terminal.
  const none = await chat(['--storage', await t.tmp()])
  isOneErrorLine(t, none, 'INVALID_ARGUMENT')
  // A bad link is read and refused before that: that is how the tests see it was read.
  const badEnv = await chat(['--storage', await t.tmp()], { BACKSPACE_LINK: 'backspace-device:nope' })
  t.is(badEnv.code, 1)
  isOneErrorLine(t, badEnv, 'DEVICE_LINK_INVALID')
  const badFile = await chat(['--storage', await t.tmp(), '--link-file', await secretFile(files, 'bad', 'nope\n')])
  isOneErrorLine(t, badFile, 'DEVICE_LINK_INVALID')

  // A good one passes its checks, as the file holds it (trimmed) and with no warning.
  const good = await secretFile(files, 'good', `${deviceLink()}\n`)
  const fromFile = await chat(['--storage', await t.tmp(), '--link-file', good])
  t.is(fromFile.code, 2)
  isOneErrorLine(t, fromFile, 'INVALID_ARGUMENT')
  t.ok(fromFile.stderr.includes('interactive terminal'), 'stops only at the terminal')
  const withPhrase = await chat(['--storage', await t.tmp(), '--phrase-file', await secretFile(files, 'p', restoredOther())], {
    BACKSPACE_LINK: deviceLink()
  })
  isOneErrorLine(t, withPhrase, 'INVALID_ARGUMENT')
  t.ok(withPhrase.stderr.includes('takes no phrase'), 'BACKSPACE_LINK is read')
  const incognito = await chat(['--incognito'], { BACKSPACE_LINK: deviceLink() })
  isOneErrorLine(t, incognito, 'INVALID_ARGUMENT')
  t.ok(incognito.stderr.includes('--incognito keeps nothing'), incognito.stderr.trim())

  const desktop = (args: string[], env: Record<string, string> = {}) =>
    run(['desktop', '--bootstrap', NOWHERE, '--no-open', ...args], env)
  const deskFile = await desktop(['--storage', await t.tmp(), '--link-file', path.join(files, 'bad')])
  t.is(deskFile.code, 1)
  isOneErrorLine(t, deskFile, 'DEVICE_LINK_INVALID')
  const deskEnv = await desktop(['--incognito'], { BACKSPACE_LINK: deviceLink() })
  t.is(deskEnv.code, 2)
  isOneErrorLine(t, deskEnv, 'INVALID_ARGUMENT')
  const deskOpen = await desktop(['--storage', await t.tmp(), '--password-file', await secretFile(files, 'pw', 'pw\n', 0o604)])
  t.is(deskOpen.code, 2, 'the desktop refuses a password file others can read')
  isOneErrorLine(t, deskOpen, 'INVALID_ARGUMENT')
})

test('cli: relay --join-file keeps the rooms of a file, with their passwords', async (t) => {
  const testnet = await createLocalTestnet(t)
  const bootstrap = `127.0.0.1:${testnet.bootstrap[0]!.port}`
  const files = await t.tmp()
  const rooms = await secretFile(files, 'rooms', '# kept for the night shift\n\nalpha:pw 1\r\nbeta\n')

  const open = await run(['relay', '--storage', await t.tmp(), '--bootstrap', NOWHERE, '--join-file', await secretFile(files, 'open', 'a:b\n', 0o644)])
  t.is(open.code, 2)
  isOneErrorLine(t, open, 'INVALID_ARGUMENT')
  const noName = await run(['relay', '--storage', await t.tmp(), '--bootstrap', NOWHERE, '--join-file', await secretFile(files, 'bad', 'a\n:hunter2\n')])
  t.is(noName.code, 2)
  isOneErrorLine(t, noName, 'INVALID_ARGUMENT')
  t.ok(noName.stderr.includes('line 2'), 'names the line')
  t.absent(noName.stderr.includes('hunter2'), 'and not the password on it')

  const child = spawn(
    process.execPath,
    [BIN, 'relay', '--storage', await t.tmp(), '--bootstrap', bootstrap, '--interval', '0.2', '--join-file', rooms],
    { env: { ...process.env, ...NO_SECRETS, BACKSPACE_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] }
  )
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  // Ends with this test, or with this process if the test cannot finish.
  process.once('exit', kill)
  t.teardown(() => {
    process.off('exit', kill)
    kill()
  })
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  let stdout = ''
  let stderr = ''
  const waiters: Array<() => void> = []
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
    for (const w of waiters.splice(0)) w()
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  child.on('close', () => {
    for (const w of waiters.splice(0)) w()
  })
  /** Checks `done` on each line the relay prints, for up to a minute or until it exits. */
  const waitFor = async (done: () => boolean) => {
    const deadline = Date.now() + 60_000
    while (!done() && Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => waiters.push(resolve))
    }
    return done()
  }
  t.ok(await waitFor(() => /^relay +peers/m.test(stdout)), `a status line: ${stderr}`)
  t.ok(/keeping #alpha, #beta/.test(stdout), `keeps both rooms: ${stdout.split('\n')[0]}`)
  t.is(stderr, '', 'no warning')

  // The relay has the room of that name and that password: a member's blocks reach it.
  const member = new Backspace({ storage: await t.tmp(), bootstrap: testnet.bootstrap })
  t.teardown(() => member.close())
  await member.ready()
  const room = await member.join('alpha', { password: 'pw 1' })
  await room.send('kept by the relay')
  await room.flush()
  // Another password would be another room: the relay would never fetch them.
  const delivered = () => room.stats.ownBlocks > 0 && room.stats.delivered >= room.stats.ownBlocks
  t.ok(await waitFor(delivered), 'the relay fetched the member blocks')
  await member.close()

  child.kill('SIGTERM')
  t.is(await exited, 0)
})

// A terminal for the prompts: util-linux `script` runs the command on a pseudo-terminal.
const SCRIPT = '/usr/bin/script'
const hasScript = await fs.access(SCRIPT).then(
  () => true,
  () => false
)

/**
 * Runs the binary on a terminal and answers each prompt (a pattern of the output) with a
 * line typed at it. Resolves with all the terminal showed.
 */
function runOnTerminal(args: string[], env: Record<string, string>, answers: Array<[RegExp, string]>): Promise<Run> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
  const command = [process.execPath, BIN, ...args].map(quote).join(' ')
  const child = spawn(SCRIPT, ['-qec', command, '/dev/null'], {
    env: { ...process.env, ...NO_SECRETS, ...env, BACKSPACE_DEBUG: '' },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  const pending = [...answers]
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
    // Answer only once the prompt is up: before that the terminal would echo what is typed.
    while (pending.length > 0 && pending[0]![0].test(stdout)) {
      const [, answer] = pending.shift()!
      child.stdin.write(answer + '\r')
    }
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const limit = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS)
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(limit)
      child.stdin.destroy()
      resolve({ code, signal, stdout, stderr })
    })
  })
}

test('cli: on a terminal, id import and identity ask, and what is typed is not shown', { skip: !hasScript }, async (t) => {
  const env = { BACKSPACE_STORAGE: await t.tmp() }
  const words = restoredOther()
  const imported = await runOnTerminal(['id', 'import', '--account', 'ann', '--password-file', await secretFile(await t.tmp(), 'pw', 'hidden pw\n')], env, [
    [/Recovery phrase or secret key \(hidden\): /, words]
  ])
  t.is(imported.code, 0, imported.stdout)
  t.ok(/^fingerprint\s+\S+/m.test(imported.stdout), 'imported')
  t.absent(imported.stdout.includes('abandon'), 'the phrase is not echoed')
  const expected = Identity.fromPhrase(words).publicKey.toString('hex')
  t.ok(imported.stdout.includes(expected), 'the typed phrase was imported')

  const unlocked = await runOnTerminal(['identity', '--account', 'ann'], env, [[/Password for "ann": /, 'hidden pw']])
  t.is(unlocked.code, 0, unlocked.stdout)
  t.ok(unlocked.stdout.includes(expected), 'the typed password opened it')
  t.absent(unlocked.stdout.includes('hidden pw'), 'the password is not echoed')
})
