// Runs the test files in parallel, each file in its own brittle process, a few at a time.
//
// Most of a test's time is spent waiting on the network and on timers, so five files at once
// finish in well under half the time of one process running them all, on two cores too.
// Each file's output is printed whole when it ends, so files never interleave, and the run
// ends with brittle's own summary line ("# tests = P/T pass"), summed over every file, that
// .ci/run reads.
//
//   node dist/test/run.js [FILES...]        (default: every dist/test/**/*.test.js)
//   BACKSPACE_TEST_JOBS=1 npm test          (one file at a time, as before)
//   npm test -- --record                    (rewrite test/durations.json from this run)
//
// The slowest files start first, by the durations measured in an earlier run, so the last
// file to start is a short one.
import { spawn } from 'child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'fs'
import { cpus } from 'os'
import path from 'path'
import { fileURLToPath } from 'url'

const here = path.dirname(fileURLToPath(import.meta.url)) // dist/test
const root = path.resolve(here, '../..')
const durationsFile = path.join(root, 'test', 'durations.json')
const brittle = path.join(root, 'node_modules', 'brittle', 'cmd.js')

interface Outcome {
  file: string
  passed: number
  total: number
  code: number | null
  ms: number
}

function testFiles(): string[] {
  const found: string[] = []
  for (const dir of [here, path.join(here, 'hostile')]) {
    for (const name of readdirSync(dir).sort()) if (name.endsWith('.test.js')) found.push(path.join(dir, name))
  }
  return found
}

function readDurations(): Record<string, number> {
  if (!existsSync(durationsFile)) return {}
  try {
    return JSON.parse(readFileSync(durationsFile, 'utf8')) as Record<string, number>
  } catch {
    return {}
  }
}

function key(file: string): string {
  return path.relative(here, file).split(path.sep).join('/')
}

function runFile(file: string): Promise<Outcome> {
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [brittle, '--timeout', '120000', path.relative(root, file)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const chunks: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => chunks.push(b))
    child.stderr.on('data', (b: Buffer) => chunks.push(b))
    child.on('close', (code) => {
      const output = Buffer.concat(chunks).toString()
      const ms = Date.now() - started
      const summary = /^# tests = (\d+)\/(\d+) pass/m.exec(output)
      const passed = summary ? Number(summary[1]) : 0
      // A file that died before its summary counts as one failed test.
      const total = summary ? Number(summary[2]) : Math.max(1, passed)
      process.stdout.write(`\n# file ${key(file)} (${(ms / 1000).toFixed(1)} s, exit ${code})\n${output}`)
      resolve({ file, passed, total, code, ms })
    })
  })
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const record = args.includes('--record')
  const named = args.filter((a) => !a.startsWith('--')).map((a) => path.resolve(a))
  const files = named.length > 0 ? named : testFiles()
  const durations = readDurations()
  // Unknown files are guessed slow, so a new file never starts last.
  const cost = (f: string): number => durations[key(f)] ?? 60_000
  const queue = [...files].sort((a, b) => cost(b) - cost(a))
  // Five at a time on two cores: the files wait on the network and on timers as much as they
  // compute (measured: 397 s of CPU in 245 s with four, 290 s with three, 314 s with two; on a
  // slower day, 323 s with four, 296 s with five).
  const jobs = Math.max(1, Number(process.env['BACKSPACE_TEST_JOBS']) || Math.min(5, 2 * cpus().length + 1))
  const started = Date.now()
  const outcomes: Outcome[] = []
  const worker = async (): Promise<void> => {
    for (let file = queue.shift(); file; file = queue.shift()) outcomes.push(await runFile(file))
  }
  await Promise.all(Array.from({ length: jobs }, worker))

  const passed = outcomes.reduce((n, o) => n + o.passed, 0)
  const total = outcomes.reduce((n, o) => n + o.total, 0)
  const failedFiles = outcomes.filter((o) => o.code !== 0 || o.passed !== o.total)
  if (record) {
    const next: Record<string, number> = {}
    for (const o of [...outcomes].sort((a, b) => key(a.file).localeCompare(key(b.file)))) next[key(o.file)] = o.ms
    writeFileSync(durationsFile, JSON.stringify(next, null, 2) + '\n')
  }
  process.stdout.write(`\n# ${files.length} files, ${jobs} at a time, ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
  for (const o of failedFiles) process.stdout.write(`# failed: ${key(o.file)} (${o.passed}/${o.total}, exit ${o.code})\n`)
  process.stdout.write(`# tests = ${passed}/${total} pass\n`)
  process.stdout.write(failedFiles.length === 0 ? '\n# ok\n' : '\n# not ok\n')
  process.exitCode = failedFiles.length === 0 ? 0 : 1
}

await main()
