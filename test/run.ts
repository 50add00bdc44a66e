// Runs the test files in parallel, each file in its own brittle process (the light ones a few
// to a process: see `groupLight`), a few processes at a time.
//
// Most of a test's time is spent waiting on the network and on timers, so five processes at
// once finish in well under half the time of one running them all, on two cores too.
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
  /** One file, or a few light ones that shared a process (see `groupLight`). */
  files: string[]
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

function runFiles(files: string[]): Promise<Outcome> {
  const started = Date.now()
  const name = files.map(key).join(', ')
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [brittle, '--timeout', '120000', ...files.map((f) => path.relative(root, f))], {
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
      // A process that died before its summary counts as one failed test.
      const total = summary ? Number(summary[2]) : Math.max(1, passed)
      process.stdout.write(`\n# file ${name} (${(ms / 1000).toFixed(1)} s, exit ${code})\n${output}`)
      resolve({ files, passed, total, code, ms })
    })
  })
}

// Files that took less than this (ms) in the recorded run (five at a time, so about a third of
// that alone) share a process with other light ones, up to GROUP_MS of them. Starting a
// process costs about 0.8 s of CPU (Node, brittle and the library's modules), which was most
// of what a small file cost, and the suite is CPU-bound on two cores (docs/PERFORMANCE.md,
// session 16): 70 files in 31 processes ran in 275 s and 456 s of CPU, against 296 - 320 s and
// 509 - 539 s in 70. Each file still runs whole, one after the other, and their tests count one
// by one; files that change process-wide state (the environment, exit handlers) run alone.
const LIGHT_MS = 20_000
const GROUP_MS = 60_000
const ALONE = new Set(['cli.test.js', 'cli-secrets.test.js', 'tui-e2e.test.js', 'hostile/crash.test.js'])

// The light files in groups (first fit, the slowest first); every other file on its own.
function groupLight(files: string[], cost: (f: string) => number): string[][] {
  const units: string[][] = []
  const groups: Array<{ files: string[]; ms: number }> = []
  for (const file of [...files].sort((a, b) => cost(b) - cost(a))) {
    const ms = cost(file)
    if (ms >= LIGHT_MS || ALONE.has(key(file))) {
      units.push([file])
      continue
    }
    let group = groups.find((g) => g.ms + ms <= GROUP_MS)
    if (!group) groups.push((group = { files: [], ms: 0 }))
    group.files.push(file)
    group.ms += ms
  }
  return [...units, ...groups.map((g) => g.files)]
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const record = args.includes('--record')
  const named = args.filter((a) => !a.startsWith('--')).map((a) => path.resolve(a))
  const files = named.length > 0 ? named : testFiles()
  const durations = readDurations()
  // Unknown files are guessed slow, so a new file never starts last.
  const cost = (f: string): number => durations[key(f)] ?? 60_000
  const unitCost = (unit: string[]): number => unit.reduce((sum, f) => sum + cost(f), 0)
  const queue = groupLight(files, cost).sort((a, b) => unitCost(b) - unitCost(a))
  // Five processes at a time on two cores: the files wait on the network and on timers as much as they
  // compute (measured: 397 s of CPU in 245 s with four, 290 s with three, 314 s with two; on a
  // slower day, 323 s with four, 296 s with five).
  const jobs = Math.max(1, Number(process.env['BACKSPACE_TEST_JOBS']) || Math.min(5, 2 * cpus().length + 1))
  const started = Date.now()
  const outcomes: Outcome[] = []
  const worker = async (): Promise<void> => {
    for (let unit = queue.shift(); unit; unit = queue.shift()) outcomes.push(await runFiles(unit))
  }
  await Promise.all(Array.from({ length: jobs }, worker))

  const passed = outcomes.reduce((n, o) => n + o.passed, 0)
  const total = outcomes.reduce((n, o) => n + o.total, 0)
  const failedFiles = outcomes.filter((o) => o.code !== 0 || o.passed !== o.total)
  if (record) {
    // A group's time is shared among its files as their recorded times were.
    const next: Record<string, number> = {}
    for (const o of outcomes) {
      const sum = unitCost(o.files)
      for (const f of o.files) next[key(f)] = Math.round((o.ms * cost(f)) / sum)
    }
    const sorted = Object.fromEntries(Object.entries(next).sort(([a], [b]) => a.localeCompare(b)))
    writeFileSync(durationsFile, JSON.stringify(sorted, null, 2) + '\n')
  }
  process.stdout.write(`\n# ${files.length} files in ${outcomes.length} process${outcomes.length === 1 ? '' : 'es'}, ${jobs} at a time, ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
  for (const o of failedFiles) process.stdout.write(`# failed: ${o.files.map(key).join(', ')} (${o.passed}/${o.total}, exit ${o.code})\n`)
  process.stdout.write(`# tests = ${passed}/${total} pass\n`)
  process.stdout.write(failedFiles.length === 0 ? '\n# ok\n' : '\n# not ok\n')
  process.exitCode = failedFiles.length === 0 ? 0 : 1
}

await main()
