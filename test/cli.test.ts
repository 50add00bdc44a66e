import test from 'brittle'
import { spawn } from 'child_process'
import { Backspace, Identity, saveAccount } from '../lib/index.js'
import { createLocalTestnet, receive, waitForPeers } from './helpers/index.js'
import { BIN, endsWithTest, NOWHERE, isOneErrorLine, lines, restoredOther, run, secretFile } from './helpers/cli.js'

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
  endsWithTest(t, child)
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

test('cli: --version and the account commands answer without loading the network stack', async (t) => {
  const r = await run(['--version'])
  t.is(r.code, 0)
  // The check is what is loaded, not how long it takes: timing belongs in bench/.
  const traced = await run(['--version'], { NODE_DEBUG: 'module' })
  t.absent(/hyperswarm|corestore|hypercore/.test(traced.stderr), 'hyperswarm, corestore and hypercore are not loaded')
  const storage = await t.tmp()
  // Nor for the commands that only read and write key files.
  const accounts = await run(['id', 'list', '--storage', storage], { NODE_DEBUG: 'module' })
  t.is(accounts.code, 0)
  t.absent(/hyperswarm|corestore|hypercore/.test(accounts.stderr), 'id list loads no network stack either')
  // A relay refuses to start without rooms, after loading the library.
  const loaded = await run(['relay', '--storage', storage], { NODE_DEBUG: 'module' })
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
