// `npm run fuzz`: the long fuzzing run. Every decoder and link parser (test/helpers/fuzz.ts
// lists them) gets its share of the inputs; each input must decode, or fail with a coded
// BackspaceError, in under 50 ms, and what decodes must satisfy what senders are held to and
// survive a re-encode. `npm test` runs the same engine on 100,000 inputs, untimed.
//
//   npm run fuzz -- --count 1000000     inputs in total, shared by weight (default 1,000,000)
//   --seed N                            the seed (default: a random one, printed)
//   --target NAME[,NAME]                some targets only; all the inputs go to them
//   --slow-ms N                         the most one call may take (default 50)
//   --keep N                            failures printed per target (default 5)
//
// A failure prints the seed, the input's number and the input itself. Inputs depend only on
// the seed and the target, so `--seed S --target T --count (number + 1)` replays it.

import { parseArgs } from 'util'
import { formatFailure, runFuzz, TARGETS, type TargetReport } from '../test/helpers/fuzz.js'

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000000' },
    seed: { type: 'string' },
    target: { type: 'string' },
    'slow-ms': { type: 'string', default: '50' },
    keep: { type: 'string', default: '5' }
  }
})

const count = Number(values.count)
const seed = values.seed === undefined ? Math.floor(Math.random() * 0x100000000) : Number(values.seed)
const slowMs = Number(values['slow-ms'])
const keep = Number(values.keep)
if (!Number.isSafeInteger(count) || count < 1) fail('--count must be a positive integer')
if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) fail('--seed must be an integer from 0 to 2^32-1')
if (!(slowMs > 0)) fail('--slow-ms must be positive')

const names = values.target?.split(',').map((s) => s.trim()).filter(Boolean)
const targets = names ? TARGETS.filter((t) => names.includes(t.name)) : TARGETS
const unknown = names?.filter((n) => !TARGETS.some((t) => t.name === n)) ?? []
if (unknown.length > 0) fail(`no target ${unknown.join(', ')}; the targets are ${TARGETS.map((t) => t.name).join(', ')}`)

function fail(message: string): never {
  process.stderr.write(`fuzz: ${message}\n`)
  process.exit(2)
}

const num = (n: number) => n.toLocaleString('en-US')
const NAME = Math.max(...targets.map((t) => t.name.length))

// Exceptions: anything thrown but a BackspaceError (or anything at all from a total function).
// Broken: a decoded value a sender could not have sent, or one a re-encode changes.
const COLUMNS = ['inputs', 'accepted', 'rejected', 'exceptions', 'broken', 'slow', 'max ms']

function row(r: TargetReport): string {
  const rejected = Object.values(r.rejected).reduce((s, n) => s + n, 0)
  const cells = [r.inputs, r.accepted, rejected, r.stages.decode, r.stages.check + r.stages['round trip'], r.stages.slow].map(num)
  return [r.name.padEnd(NAME), ...[...cells, r.maxMs.toFixed(2)].map((cell, i) => cell.padStart(Math.max(COLUMNS[i]!.length, 9) + 2))].join('')
}

let peakRss = process.memoryUsage().rss
const started = performance.now()
process.stdout.write(`fuzz: seed ${seed}, ${num(count)} inputs over ${targets.length} targets, ${slowMs} ms per call at most\n\n`)
process.stdout.write(`${'target'.padEnd(NAME)}${COLUMNS.map((c) => c.padStart(Math.max(c.length, 9) + 2)).join('')}\n`)
const reports = runFuzz({
  seed,
  count,
  targets,
  timing: true,
  slowMs,
  keep,
  onProgress: (r) => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
    process.stdout.write(`${row(r)}\n`)
  }
})
const seconds = (performance.now() - started) / 1000

const inputs = reports.reduce((s, r) => s + r.inputs, 0)
const accepted = reports.reduce((s, r) => s + r.accepted, 0)
const failures = reports.flatMap((r) => r.failures)
const failureCount = reports.reduce((s, r) => s + r.failures.length + r.moreFailures, 0)
const stage = (k: keyof TargetReport['stages']) => reports.reduce((s, r) => s + r.stages[k], 0)
const codes: Record<string, number> = {}
for (const r of reports) for (const [code, n] of Object.entries(r.rejected)) codes[code] = (codes[code] ?? 0) + n

process.stdout.write(`\n${num(inputs)} inputs in ${seconds.toFixed(1)} s; ${num(accepted)} accepted, ${num(inputs - accepted - failureCount)} refused with a BackspaceError:\n`)
for (const [code, n] of Object.entries(codes).sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${code.padEnd(20)} ${num(n)}\n`)
process.stdout.write(`slowest call ${Math.max(...reports.map((r) => r.maxMs)).toFixed(2)} ms; peak RSS ${Math.round(peakRss / 1024 / 1024)} MiB\n`)
process.stdout.write(
  `non-BackspaceError exceptions ${stage('decode')}; values breaking what senders are held to ${stage('check')}; ` +
    `round trips that changed the value ${stage('round trip')}; calls over ${slowMs} ms ${stage('slow')}\n`
)
for (const f of failures) process.stdout.write(`\n${formatFailure(f)}\n`)
process.stdout.write(`\nseed ${seed}\n`)
process.exitCode = failureCount === 0 ? 0 : 1
