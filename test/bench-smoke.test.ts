// The benchmark harness runs: a few messages through three contenders, and the results JSON
// and SVG chart come out with the expected shape; the room-size workloads deliver everything
// on a small scale. No figure is checked (tests never time things); `npm run bench` is never
// part of `npm test`.
//
// Cabal is the bench's own dependency (bench/package.json), installed by `npm run bench` or
// `npm ci --prefix bench`, never by `npm install`: without it the Cabal part is skipped here,
// and the test says so.

import test from 'brittle'
import { spawn } from 'child_process'
import { existsSync } from 'fs'
import fs from 'fs/promises'
import os from 'os'
import path from 'path'
import { fileURLToPath } from 'url'

const BENCH = fileURLToPath(new URL('../bench/index.js', import.meta.url))
const KILL_AFTER = 150_000
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CABAL = existsSync(path.join(ROOT, 'bench', 'node_modules', 'cabal-core', 'package.json'))

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

test('the contenders stay out of a user\'s install: Cabal is only in bench/package.json', async (t) => {
  const root = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8'))
  const bench = JSON.parse(await fs.readFile(path.join(ROOT, 'bench', 'package.json'), 'utf8'))
  const lock = JSON.parse(await fs.readFile(path.join(ROOT, 'package-lock.json'), 'utf8'))
  for (const deps of [root.dependencies, root.devDependencies, root.optionalDependencies]) {
    t.absent(deps?.['cabal-core'], 'cabal-core is not a dependency of backspace')
    t.absent(deps?.['random-access-memory'], 'random-access-memory is not a dependency of backspace')
  }
  t.absent(lock.packages['node_modules/cabal-core'], 'nor in its lockfile')
  t.ok(bench.dependencies['cabal-core'], 'the bench has its own')
  t.ok(existsSync(path.join(ROOT, 'bench', 'package-lock.json')), 'with its own lockfile')
})

test('bench harness: a smoke run writes results JSON and an SVG chart', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-smoke-'))
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }))
  const out = path.join(dir, 'results.json')
  const kinds = CABAL ? ['backspace', 'cabal', 'ws'] : ['backspace', 'ws']
  if (!CABAL) t.comment('cabal skipped: bench/node_modules has no cabal-core (npm ci --prefix bench installs it)')

  const run = await runBench([
    '--messages', '10',
    '--reps', '1',
    '--only', kinds.join(','),
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

  for (const kind of kinds) {
    for (const mode of ['backToBack', 'paced']) {
      const f = r.latency[mode][kind]
      t.ok(f, `${mode} latency for ${kind}`)
      t.is(f.runs.length, 1)
      t.ok(['p50', 'p90', 'p99'].every((p) => isNumber(f.median[p])), `${kind} ${mode} percentiles`)
      t.is(f.cdf.length, 101)
    }
    // The reader's CPU per message is read over the paced run only, gross and net of idle.
    const cpu = r.latency.paced[kind].receiverCpu
    t.ok(cpu && isNumber(cpu.perMsgMs) && cpu.perMsgMs > 0 && isNumber(cpu.netPerMsgMs), `${kind} paced: the reader's CPU per message`)
    t.is(r.latency.backToBack[kind].receiverCpu, null, `${kind} back to back: not read`)
    t.ok(r.throughput[kind].median.msgsPerSec > 0, `${kind} throughput`)
    const joins = Object.values(r.join[kind] ?? {}) as Array<{ median: { ms: number; shown: number } }>
    t.is(joins.length, 1, `${kind} join`)
    t.ok(isNumber(joins[0]!.median.ms) && joins[0]!.median.shown === 50, `${kind} showed the latest page`)
  }

  // What waking from idle costs this machine, beside the live floor: a step hot and paced.
  const wake = r.liveFloor?.wakeupUs
  t.ok(wake && ['verifyHot', 'verifyPaced', 'decodeHot', 'decodePaced'].every((k) => isNumber(wake[k]) && wake[k] > 0), 'wakeup cost measured')

  // Backspace's delivery is told apart: shown (live), then confirmed (stored and verified).
  for (const mode of ['backToBack', 'paced']) {
    const f = r.latency[mode].backspace
    t.ok(f.confirmed && f.confirmed.n + f.unconfirmed === 10, `backspace ${mode}: every message confirmed or counted as not`)
  }

  const svg = await fs.readFile(out.replace(/\.json$/, '.svg'), 'utf8')
  t.ok(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'), 'an SVG chart')
})

test('bench harness: the room-size workloads deliver everything on a small scale', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-smoke-mesh-'))
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }))
  const out = path.join(dir, 'results.json')

  const run = await runBench([
    '--messages', '5',
    '--only', 'backspace',
    '--workloads', 'fanout,chain,catchup',
    '--members', '3',
    '--out', out,
    '--quiet'
  ])
  t.is(run.code, 0, run.stderr)

  const r = JSON.parse(await fs.readFile(out, 'utf8'))
  t.alike(r.errors, [])
  const f = r.mesh.fanout['3']
  t.is(f.delivered, f.expected, 'fan-out: both receivers showed every message')
  t.is(f.expected, 2 * f.messages)
  t.ok(f.warmup && f.warmup.shownBy === f.warmup.of && isNumber(f.warmup.p50Ms) && isNumber(f.warmup.lastMs), 'the warm-up: when each member had it')
  t.ok(isNumber(f.senderCpuPerMsgMs) && isNumber(f.receiverCpuPerMsgMs) && f.rssPerMember > 0, 'CPU and RSS figures')
  t.ok(isNumber(f.receiverIdleCpuMsPerS) && isNumber(f.receiverNetCpuPerMsgMs), 'idle CPU and CPU net of it')
  t.ok(f.liveHeapPerMember > 0, 'the live heap after a full collection')
  t.is(f.backToBack.messages, 3 * f.messages, 'back to back: three times the paced run')
  t.ok(f.backToBack.durationMs !== null, 'back to back: every receiver showed every message')
  t.ok(isNumber(f.backToBack.receiverCpuPerMsgMs) && isNumber(f.backToBack.receiverNetCpuPerMsgMs), 'back-to-back CPU figures')
  // Who was short 2 s after the last send (`late`) depends on the machine's load: not checked.
  const settled = (s: typeof f.shortfall) => s && { members: s.members, withdrawn: s.withdrawn, gaps: s.gaps, stalls: s.stalls, behind: s.behind }
  t.alike(settled(f.shortfall), { members: 0, withdrawn: 0, gaps: 0, stalls: 0, behind: [] }, 'paced: nobody short, nothing withdrawn, no gap, no read lost')
  t.alike(settled(f.backToBack.shortfall), { members: 0, withdrawn: 0, gaps: 0, stalls: 0, behind: [] }, 'back to back: the same')
  t.alike(r.mesh.chain.connections, [1, 2, 2, 1], 'the chain was a line')
  t.alike(
    r.mesh.chain.hops.map((h: { hops: number; delivered: number }) => [h.hops, h.delivered]),
    [1, 2, 3].map((h) => [h, r.mesh.chain.messages]),
    'every hop got every message'
  )
  t.is(r.mesh.catchup.shown, r.mesh.catchup.total, 'the returning member showed every message kept by the relay')
  t.ok(r.mesh.catchup.relayHadAll)
})
