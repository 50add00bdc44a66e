// The benchmark harness runs: a few messages through three contenders, and the results JSON
// and SVG chart come out with the expected shape. No figure is checked (tests never time
// things); `npm run bench` is never part of `npm test`.

import test from 'brittle'
import { spawn } from 'child_process'
import fs from 'fs/promises'
import os from 'os'
import path from 'path'
import { fileURLToPath } from 'url'

const BENCH = fileURLToPath(new URL('../bench/index.js', import.meta.url))
const KILL_AFTER = 90_000

function runBench(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BENCH, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)))
  // The harness stops itself; this only guards the test run against a hang.
  const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER)
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stderr })
    })
  })
}

const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x)

test('bench harness: a smoke run writes results JSON and an SVG chart', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-smoke-'))
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }))
  const out = path.join(dir, 'results.json')

  const run = await runBench([
    '--messages', '10',
    '--reps', '1',
    '--only', 'backspace,cabal,ws',
    '--workloads', 'latency,throughput,join',
    '--out', out,
    '--quiet'
  ])
  t.is(run.code, 0, run.stderr)

  const r = JSON.parse(await fs.readFile(out, 'utf8'))
  t.is(r.version, 1)
  t.ok(typeof r.machine.cpu === 'string' && r.machine.cpu.length > 0, 'CPU model')
  t.ok(isNumber(r.machine.cores) && r.machine.cores > 0, 'cores')
  t.is(r.machine.node, process.version)
  t.alike(r.errors, [])

  for (const kind of ['backspace', 'cabal', 'ws']) {
    for (const mode of ['backToBack', 'paced']) {
      const f = r.latency[mode][kind]
      t.ok(f, `${mode} latency for ${kind}`)
      t.is(f.runs.length, 1)
      t.ok(['p50', 'p90', 'p99'].every((p) => isNumber(f.median[p])), `${kind} ${mode} percentiles`)
      t.is(f.cdf.length, 101)
    }
    t.ok(r.throughput[kind].median.msgsPerSec > 0, `${kind} throughput`)
    const joins = Object.values(r.join[kind] ?? {}) as Array<{ median: { ms: number; shown: number } }>
    t.is(joins.length, 1, `${kind} join`)
    t.ok(isNumber(joins[0]!.median.ms) && joins[0]!.median.shown === 50, `${kind} showed the latest page`)
  }

  const svg = await fs.readFile(out.replace(/\.json$/, '.svg'), 'utf8')
  t.ok(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'), 'an SVG chart')
})
