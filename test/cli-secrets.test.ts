// The CLI, continued (test/cli.test.ts): secrets from files, the environment and a terminal.
import test from 'brittle'
import { spawn } from 'child_process'
import path from 'path'
import { Backspace, Identity } from '../lib/index.js'
import { createLocalTestnet } from './helpers/index.js'
import { BIN, endsWithTest, NOWHERE, NO_SECRETS, deviceLink, hasScript, isOneErrorLine, restoredOther, run, runOnTerminal, secretFile, warnings, type Run } from './helpers/cli.js'

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
  endsWithTest(t, child)
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
