// `npm run bench`: Backspace next to what users would pick instead, on the same workloads in
// the same run, all on 127.0.0.1:
//
//   backspace  Backspace rooms, peers in separate processes on a local DHT testnet
//   cabal      cabal-core 16 (hypercore 9, multifeed), replicating over loopback TCP
//   ws         a central WebSocket relay (bench/ws-relay.ts) in its own process
//   hypercore  the floor: raw Hypercore 11 append → replica get, over Hyperswarm
//   swarm      the floor: a raw Hyperswarm socket (latency and throughput only)
//
// Workloads: latency (back to back, and paced at 5 ms), throughput, join (a fresh peer shows
// the latest 50 of 10k / 100k messages), writers (10 / 100 / 1,000 writers in one room), the
// relay at rest (10 / 100 / 1,000 rooms) and start-up. Every figure is the median of
// `--reps` repetitions (3 by default), each with fresh processes. See docs/PERFORMANCE.md.
//
//   npm run bench                  the fast set (under 5 minutes)
//   npm run bench -- --full        everything
//   --reps N                       repetitions per figure (default 3)
//   --only backspace,cabal         some contenders only
//   --workloads latency,join       some workloads only (latency, throughput, join, writers,
//                                  relay, startup)
//   --messages N                   scale every count down to about N (a smoke run)
//   --writers 10,1000              the writer counts of the writers workload
//   --writers-budget SECONDS       how long making the writers may take (default 600, Cabal 180)
//   --out FILE                     where the JSON goes (default bench/results/<date>.json,
//                                  with the SVG chart next to it)
//   --render FILE.json             run nothing: print the table of a results JSON and redraw
//                                  its SVG chart next to it
//   BENCH_CPU_PROF=dir             workers run with --cpu-prof
//   BENCH_DEBUG=1                  workers log their connections

import { randomBytes } from 'crypto'
import fs from 'fs/promises'
import os from 'os'
import path from 'path'
import { parseArgs } from 'util'
import createTestnet from 'hyperdht/testnet.js'
import { renderChart } from './chart.js'
import {
  cdfPoints,
  elapsedSeconds,
  here,
  killChildren,
  medianOf,
  progress,
  setQuiet,
  summarize,
  Worker
} from './harness.js'
import type { InitMessage, JoinResult, Kind, Role } from './protocol.js'
import type { Config, LatencyFigure, Results, ThroughputRun } from './results.js'
import { measureRelayAtRest } from './relay-rest.js'
import { measureStartup } from './startup.js'
import { report } from './report.js'
import { measureWriters } from './writers.js'

/** A chat-sized message text. */
const TEXT_BYTES = 100
const FRAME_BYTES = 64
const PAGE = 50
const PACE_MS = 5

const { values: args } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    reps: { type: 'string' },
    only: { type: 'string' },
    workloads: { type: 'string' },
    messages: { type: 'string' },
    out: { type: 'string' },
    writers: { type: 'string' },
    'writers-budget': { type: 'string' },
    quiet: { type: 'boolean', default: false },
    render: { type: 'string' }
  }
})

const FULL = !!args.full
const REPS = Math.max(1, Number(args.reps ?? 3))
const SMOKE = args.messages !== undefined ? Math.max(10, Number(args.messages)) : null
setQuiet(!!args.quiet)

export const config: Config = {
  full: FULL,
  reps: REPS,
  smoke: SMOKE !== null,
  latencyCount: SMOKE ?? 1000,
  warmup: SMOKE ? 10 : 100,
  paceMs: PACE_MS,
  throughputCount: SMOKE ? SMOKE * 5 : 10_000,
  hypercoreBatch: 200,
  joinHistories: SMOKE ? [Math.max(PAGE * 2, SMOKE * 5)] : FULL ? [10_000, 100_000] : [10_000],
  page: PAGE,
  writerCounts: args.writers
    ? args.writers.split(',').map(Number)
    : SMOKE
      ? [3]
      : FULL
        ? [10, 100, 1000]
        : [10],
  writersBudgetSeconds: args['writers-budget'] ? Number(args['writers-budget']) : null,
  messagesPerWriter: 10,
  relayRooms: SMOKE ? [2] : FULL ? [10, 100, 1000] : [10],
  textBytes: TEXT_BYTES,
  frameBytes: FRAME_BYTES
}

/** The whole run is stopped past this, whatever happens. */
const RUN_TIMEOUT = (SMOKE ? 3 : FULL ? 60 : 12) * 60_000 + (config.writersBudgetSeconds ?? 0) * 2000

const ALL_KINDS: Kind[] = ['swarm', 'hypercore', 'hypercore-encrypted', 'backspace', 'cabal', 'ws']
const DEFAULT_KINDS: Kind[] = FULL ? ALL_KINDS : ALL_KINDS.filter((k) => k !== 'hypercore-encrypted')
const only = args.only?.split(',').map((s) => s.trim())
const KINDS = only ? ALL_KINDS.filter((k) => only.includes(k)) : DEFAULT_KINDS
const ALL_WORKLOADS = ['latency', 'throughput', 'join', 'writers', 'relay', 'startup'] as const
type Workload = (typeof ALL_WORKLOADS)[number]
const WORKLOADS: Workload[] = args.workloads
  ? ALL_WORKLOADS.filter((w) => args.workloads!.split(',').includes(w))
  : [...ALL_WORKLOADS]

/**
 * The size of a Backspace block holding one TEXT_BYTES text, which raw Hypercore blocks are
 * padded to. Worked out here rather than by encoding one, so the bench does not reach into
 * lib/messages.ts: version 1 + flags 1 + author 32 + first seq 3 (a compact uint, past 252)
 * + record count 1, then the record: its length 1 + type 1 + timestamp 9 (a millisecond clock
 * is past 2^32) + text length 1 + the text; then the 64-byte signature.
 */
function backspaceBlockBytes(): number {
  return 1 + 1 + 32 + 3 + 1 + (1 + 1 + 9 + 1 + TEXT_BYTES) + 64
}

// ---------------------------------------------------------------------------

interface Net {
  bootstrap: Array<{ host: string; port: number }>
  root: string
}

function baseInit(kind: Kind, net: Net, blockBytes: number): Omit<InitMessage, 'role' | 'dir'> {
  return {
    type: 'init',
    kind,
    bootstrap: net.bootstrap,
    rendezvous:
      kind === 'backspace' ? `bench-${randomBytes(6).toString('hex')}` : randomBytes(32).toString('hex'),
    coreKey: null,
    port: null,
    encryptionKey: kind === 'hypercore-encrypted' ? randomBytes(32).toString('hex') : null,
    textBytes: TEXT_BYTES,
    blockBytes,
    frameBytes: FRAME_BYTES
  }
}

/** The processes of one contender: writer A, optionally the relay server, and more later. */
class Group {
  readonly workers: Worker[] = []
  add(kind: Kind, role: Role): Worker {
    const w = new Worker(kind, role)
    this.workers.push(w)
    return w
  }
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()))
  }
}

async function dir(net: Net, kind: Kind, role: string): Promise<string> {
  return fs.mkdtemp(path.join(net.root, `${kind}-${role}-`))
}

/** Starts A (and the ws relay), ready for a reader or joiners. */
async function startWriter(group: Group, kind: Kind, net: Net, blockBytes: number, create = false) {
  const base = baseInit(kind, net, blockBytes)
  if (kind === 'ws') {
    const server = group.add('ws', 'server')
    server.send({ ...base, role: 'server', dir: '' })
    base.port = (await server.next('ready')).port
  }
  const writer = group.add(kind, 'writer')
  writer.send({ ...base, role: 'writer', dir: await dir(net, kind, 'writer'), create })
  const ready = await writer.next('ready')
  if (kind !== 'ws') {
    base.coreKey = ready.coreKey
    if (ready.port !== null) base.port = ready.port
  }
  return { writer, base }
}

interface PairRun {
  backToBack: { latencies: number[]; stored: number[] }
  paced: { latencies: number[]; stored: number[] }
  throughput: ThroughputRun | null
}

/** One repetition of latency and throughput: a fresh writer and reader. */
async function pairRun(kind: Kind, net: Net, blockBytes: number): Promise<PairRun> {
  const group = new Group()
  try {
    const { writer, base } = await startWriter(group, kind, net, blockBytes)
    const reader = group.add(kind, 'reader')
    // A Backspace reader joins the named room at once; raw readers need the writer's key.
    reader.send({ ...base, role: 'reader', dir: await dir(net, kind, 'reader') })
    await reader.next('ready')
    await Promise.all([writer.next('connected'), reader.next('connected')])

    const sequence = async (tag: 'w' | 'l' | 'p', count: number, pauseMs: number) => {
      reader.send({ type: 'expect', tag, count })
      await reader.next('expecting')
      writer.send({ type: 'sequence', tag, count, pauseMs })
      const [sent, received] = await Promise.all([writer.next('sent'), reader.next('received')])
      return { latencies: received.latencies, stored: sent.stored }
    }

    await sequence('w', config.warmup, 0)
    const run: PairRun = {
      backToBack: await sequence('l', config.latencyCount, 0),
      paced: await sequence('p', config.latencyCount, PACE_MS),
      throughput: null
    }
    if (WORKLOADS.includes('throughput')) {
      const count = config.throughputCount
      reader.send({ type: 'expect', tag: 't', count })
      await reader.next('expecting')
      const batch = kind === 'hypercore' || kind === 'hypercore-encrypted' ? config.hypercoreBatch : 0
      writer.send({ type: 'burst', tag: 't', count, batch })
      const [sent, received] = await Promise.all([
        writer.next('sent', 120_000),
        reader.next('received', 120_000)
      ])
      const first = BigInt(sent.firstNs)
      const receivedMs = Number(BigInt(received.lastNs) - first) / 1e6
      run.throughput = {
        count,
        msgsPerSec: count / (receivedMs / 1000),
        storedMs: Number(BigInt(sent.storedNs) - first) / 1e6,
        receivedMs
      }
    }
    return run
  } finally {
    await group.close()
  }
}

async function latencyAndThroughput(results: Results, net: Net, blockBytes: number) {
  for (const kind of KINDS) {
    const runs: PairRun[] = []
    for (let r = 0; r < REPS; r++) {
      progress(`${kind}: latency${WORKLOADS.includes('throughput') ? ' + throughput' : ''}, repetition ${r + 1}/${REPS}`)
      try {
        runs.push(await pairRun(kind, net, blockBytes))
      } catch (err) {
        results.errors.push(`${kind} latency/throughput repetition ${r + 1}: ${(err as Error).message}`)
        progress(`${kind}: FAILED ${(err as Error).message}`)
      }
    }
    if (runs.length === 0) continue
    const figure = (pick: (r: PairRun) => { latencies: number[]; stored: number[] }): LatencyFigure => {
      const stats = runs.map((r) => summarize(pick(r).latencies))
      return {
        runs: stats,
        median: medianOf(stats),
        cdf: cdfPoints(runs.flatMap((r) => pick(r).latencies)),
        sendResolved: medianOf(runs.map((r) => summarize(pick(r).stored)))
      }
    }
    results.latency.backToBack[kind] = figure((r) => r.backToBack)
    results.latency.paced[kind] = figure((r) => r.paced)
    const tps = runs.map((r) => r.throughput).filter((t): t is ThroughputRun => t !== null)
    if (tps.length > 0) results.throughput[kind] = { runs: tps, median: medianOf(tps) }
    const m = results.latency.backToBack[kind]!.median
    progress(
      `${kind}: p50 ${m.p50.toFixed(3)} ms back to back, ${results.latency.paced[kind]!.median.p50.toFixed(3)} ms paced` +
        (results.throughput[kind] ? `, ${Math.round(results.throughput[kind]!.median.msgsPerSec)} msg/s` : '')
    )
  }
}

/** A seeder A holding `total` messages, then REPS fresh joiners, one after another. */
async function join(results: Results, net: Net, blockBytes: number) {
  const kinds = KINDS.filter((k) => k === 'backspace' || k === 'cabal' || k === 'hypercore' || k === 'ws')
  for (const total of config.joinHistories) {
    for (const kind of kinds) {
      // 100k only for Backspace and Cabal, to show how join time grows with history.
      if (total > 10_000 && kind !== 'backspace' && kind !== 'cabal') continue
      const group = new Group()
      const runs: JoinResult[] = []
      try {
        progress(`${kind}: join, filling a room with ${total.toLocaleString('en-US')} messages`)
        const { writer, base } = await startWriter(group, kind, net, blockBytes)
        // The ws relay keeps history only of what clients send through it: A is its client.
        const batch = kind === 'hypercore' ? 1000 : 0
        writer.send({ type: 'burst', tag: 'h', count: total, batch })
        await writer.next('sent', 600_000)
        if (kind === 'ws') {
          // Every send was written to the socket; the relay has them once a reader can see them.
          await new Promise((r) => setTimeout(r, 200))
        }
        for (let r = 0; r < REPS; r++) {
          const joiner = new Worker(kind, 'joiner')
          try {
            joiner.send({ ...base, role: 'joiner', dir: await dir(net, kind, 'joiner') })
            await joiner.next('ready', 120_000)
            joiner.send({ type: 'join', total, page: PAGE })
            const joined = await joiner.next('joined', total > 10_000 ? 600_000 : 180_000)
            const { type: _t, ...result } = joined
            runs.push(result)
            progress(`${kind}: join ${r + 1}/${REPS} of ${total}: ${result.ms.toFixed(0)} ms, rss ${(result.rss / 2 ** 20).toFixed(0)} MiB`)
          } finally {
            await joiner.close()
          }
        }
      } catch (err) {
        results.errors.push(`${kind} join ${total}: ${(err as Error).message}`)
        progress(`${kind}: join FAILED ${(err as Error).message}`)
      } finally {
        await group.close()
      }
      if (runs.length > 0) {
        const byKind = (results.join[kind] ??= {})
        byKind[String(total)] = { runs, median: medianOf(runs) }
      }
    }
  }
}

// ---------------------------------------------------------------------------

async function machine(): Promise<Results['machine']> {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: os.platform(),
    release: os.release(),
    memory: os.totalmem(),
    loadavg: os.loadavg()
  }
}

async function main(): Promise<void> {
  const blockBytes = backspaceBlockBytes()
  const date = new Date().toISOString()
  const results: Results = {
    version: 1,
    date,
    machine: await machine(),
    config: { ...config, kinds: KINDS, workloads: WORKLOADS, blockBytes },
    seconds: 0,
    latency: { backToBack: {}, paced: {} },
    throughput: {},
    join: {},
    writers: {},
    relay: null,
    startup: null,
    errors: []
  }

  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'backspace-bench-'))
  const net: Net = { bootstrap: testnet.bootstrap, root }
  try {
    if (WORKLOADS.includes('latency') || WORKLOADS.includes('throughput')) {
      await latencyAndThroughput(results, net, blockBytes)
    }
    if (WORKLOADS.includes('join')) await join(results, net, blockBytes)
    if (WORKLOADS.includes('writers')) {
      for (const kind of ['backspace', 'cabal'] as const) {
        if (!KINDS.includes(kind)) continue
        results.writers[kind] = await measureWriters(kind, net, config, results.errors)
      }
    }
    if (WORKLOADS.includes('startup')) {
      results.startup = await measureStartup(net.bootstrap, REPS, results.errors)
    }
    // Last: the relay subcommand may land while the bench is being written.
    if (WORKLOADS.includes('relay') && KINDS.includes('backspace')) {
      results.relay = await measureRelayAtRest(net, config.relayRooms, results.errors)
    }
  } finally {
    await testnet.destroy()
    await fs.rm(root, { recursive: true, force: true })
  }
  results.seconds = elapsedSeconds()

  console.log(report(results))
  const out = args.out ?? path.join(here, '..', '..', 'bench', 'results', `${date.slice(0, 10)}.json`)
  await fs.mkdir(path.dirname(out), { recursive: true })
  await fs.writeFile(out, JSON.stringify(results, null, 2) + '\n')
  const svg = out.replace(/\.json$/, '') + '.svg'
  await fs.writeFile(svg, renderChart(results))
  progress(`wrote ${out} and ${svg}`)
  if (results.errors.length > 0) progress(`${results.errors.length} errors: see "errors" in the JSON`)
}

async function render(file: string): Promise<void> {
  const results = JSON.parse(await fs.readFile(file, 'utf8')) as Results
  console.log(report(results))
  await fs.writeFile(file.replace(/\.json$/, '') + '.svg', renderChart(results))
}

if (args.render) {
  render(args.render).catch((err) => {
    console.error('bench: cannot render', err)
    process.exit(1)
  })
} else {
  start()
}

function start(): void {
  const deadline = setTimeout(() => {
    console.error(`bench: stopped after ${RUN_TIMEOUT / 1000} s`)
    killChildren()
    process.exit(1)
  }, RUN_TIMEOUT)

  main().then(
    () => {
      clearTimeout(deadline)
    },
    (err) => {
      console.error('bench failed:', err)
      killChildren()
      process.exit(1)
    }
  )
}
