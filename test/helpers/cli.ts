// Helpers of the CLI tests (test/cli*.test.ts): the real binary, run to completion or on a
// terminal, and the secrets given to it.
import { type Test } from 'brittle'
import { spawn, type ChildProcess } from 'child_process'
import fs from 'fs/promises'
import path from 'path'
import { fileURLToPath } from 'url'
import { randomBytes } from '../../lib/crypto.js'
import { deviceLinkOf } from '../../lib/links.js'

export const BIN = fileURLToPath(new URL('../../bin/backspace.js', import.meta.url))
// Tests never reach the public DHT: every command that could gets a loopback bootstrap.
export const NOWHERE = '127.0.0.1:9'

export interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

// Secrets a test does not give are not taken from whoever runs the tests.
export const NO_SECRETS = { BACKSPACE_PASSWORD: '', BACKSPACE_PHRASE: '', BACKSPACE_SECRET_KEY: '', BACKSPACE_LINK: '' }

// A run that should end but hangs (a check gone missing lets it start) fails, not lingers.
export const RUN_LIMIT_MS = 60_000

/** Runs the real binary to completion, with stdin closed; SIGKILL after RUN_LIMIT_MS. */
export function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...NO_SECRETS, ...env, BACKSPACE_DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  return settle(child, () => stdout)
}

export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0)
}

/** Writes `text` to a new file in `dir` that only its owner can read (or with `mode`). */
export async function secretFile(dir: string, name: string, text: string, mode = 0o600): Promise<string> {
  const file = path.join(dir, name)
  await fs.writeFile(file, text, { mode })
  await fs.chmod(file, mode) // The umask does not decide a test's mode.
  return file
}

/** The warning lines on stderr: one per secret given as an argument. */
export function warnings(r: Run): string[] {
  return lines(r.stderr).filter((l) => l.startsWith('backspace: warning: '))
}

/** One line on stderr, in the `backspace: CODE: detail` form, with no stack trace. */
export function isOneErrorLine(t: Test, r: Run, code: string): void {
  const err = lines(r.stderr)
  t.is(err.length, 1, `one line on stderr: ${JSON.stringify(r.stderr)}`)
  t.ok(err[0]!.startsWith(`backspace: ${code}: `), `starts with backspace: ${code}:`)
  t.absent(/\n\s+at /.test(r.stderr), 'no stack trace')
}

export function restoredOther(): string {
  return 'abandon '.repeat(23) + 'art'
}

export function deviceLink(): string {
  return deviceLinkOf({
    secret: randomBytes(32),
    expiresAt: (Math.floor(Date.now() / 1000) + 600) * 1000,
    identityCheck: Buffer.alloc(16)
  })
}

export const SCRIPT = '/usr/bin/script'
export const hasScript = await fs.access(SCRIPT).then(
  () => true,
  () => false
)

/**
 * Runs the binary on a terminal and answers each prompt (a pattern of the output) with a
 * line typed at it. Resolves with all the terminal showed.
 */
export function runOnTerminal(args: string[], env: Record<string, string>, answers: Array<[RegExp, string]>): Promise<Run> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
  const command = [process.execPath, BIN, ...args].map(quote).join(' ')
  const child = spawn(SCRIPT, ['-qec', command, '/dev/null'], {
    env: { ...process.env, ...NO_SECRETS, ...env, BACKSPACE_DEBUG: '' },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let stdout = ''
  const pending = [...answers]
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
    // Answer only once the prompt is up: before that the terminal would echo what is typed.
    while (pending.length > 0 && pending[0]![0].test(stdout)) {
      const [, answer] = pending.shift()!
      child.stdin.write(answer + '\r')
    }
  })
  return settle(child, () => stdout)
}

/**
 * Resolves once `child` exits, with its exit and all it printed (`stdout()` gives what its
 * caller collected, stderr is collected here); killed after RUN_LIMIT_MS.
 */
function settle(child: ChildProcess, stdout: () => string): Promise<Run> {
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const limit = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS)
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(limit)
      child.stdin?.destroy()
      resolve({ code, signal, stdout: stdout(), stderr })
    })
  })
}

/** Kills `child` when the test ends, or when this process exits if the test cannot finish. */
export function endsWithTest(t: Test, child: ChildProcess): void {
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  process.once('exit', kill)
  t.teardown(() => {
    process.off('exit', kill)
    kill()
  })
}
