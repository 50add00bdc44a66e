// `npm run bench`: Backspace next to what users would pick instead, on the same workloads in
// the same run, all on 127.0.0.1:
//
//   backspace  Backspace rooms, peers in separate processes on a local DHT testnet
//   cabal      cabal-core 16 (hypercore 9, multifeed) on disk, as a Cabal client runs,
//              replicating over loopback TCP
//   cabal-ram  the same on random-access-memory: a labelled extra, not what a user runs
//   ws         a central WebSocket relay (bench/ws-relay.ts) in its own process
//   hypercore  the storage floor: raw Hypercore 11 append → replica get (a pull), over
//              Hyperswarm; its throughput packs payloads into blocks as Backspace does
//   swarm      a raw Hyperswarm socket; with the measured cost of sign, seal, unseal and
//              verify of one block added, the live floor
//
// The contenders (cabal-core) are bench/package.json's, installed into bench/node_modules by
// `npm run bench` on first use (bench/install.ts), never by `npm install`.
//
// Workloads: latency (back to back, and paced at a fixed rate; Backspace's "shown" and
// "confirmed" = stored and verified), throughput, join (a fresh peer shows the latest 50 of
// 10k / 100k messages), writers (10 / 100 / 1,000 writers in one room), the relay at rest
// (10 / 100 / 1,000 rooms), start-up, and the room-size workloads of bench/mesh.ts: fanout
// (10 / 25 / 50 members; 80 with --full), chain (1, 2, 3 hops), catchup (10,000 messages
// through a relay) and rooms (a member in 100 rooms). Every pairwise figure is the median of
// `--reps` repetitions (3 by default), each with fresh processes; the mesh workloads run once.
// See docs/PERFORMANCE.md.
//
//   npm run bench                  the fast set
//   npm run bench -- --full        everything
//   --reps N                       repetitions per figure (default 3)
//   --only backspace,cabal         some contenders only
//   --workloads latency,join       some workloads only (latency, throughput, join, writers,
//                                  relay, startup, fanout, chain, catchup, rooms)
//   --interval MS                  the paced workloads' fixed interval (default 20 ms: 50 msg/s)
//   --members 10,25,50             the fan-out room sizes
//   --procs N                      the most member processes (default 50); past it, several
//                                  nodes share a process, as the results say
//   --messages N                   scale every count down to about N (a smoke run)
//   --writers 10,1000              the writer counts of the writers workload
//   --writers-budget SECONDS       how long making the writers may take (default 600, Cabal 180)
//   --out FILE                     where the JSON goes (default bench/results/<date>.json,
//                                  with the SVG chart next to it)
//   --render FILE.json             run nothing: print the table of a results JSON and redraw
//                                  its SVG chart next to it
//   BENCH_CPU_PROF=dir             workers run with --cpu-prof
//   BENCH_EXEC_ARGV="--flag …"     more Node/V8 flags for the workers (an experiment's, never a figure's)
//   BENCH_TRACE=dir                workers write where their time went (bench/trace.ts): the
//                                  latency workload, each side's GC pauses and loop stalls with
//                                  the stamps of what it sent or showed (read them with
//                                  `node dist/bench/tail-report.js dir`); the mesh workloads,
//                                  each process's storage batches, frames and protocol messages
//                                  over the paced run. BENCH_TRACE_PROF=1 adds a CPU profile of
//                                  the latency workload's paced sender.
//   BENCH_PROF=dir                 each mesh worker writes a CPU profile of its paced run alone
//                                  (mesh-<pid>.cpuprofile; nothing else patched)
//   BENCH_PACED_AGAIN=1            the fan-out repeats its paced run after the back-to-back one
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
  median,
  medianOf,
  progress,
  setQuiet,
  summarize,
  Worker
} from './harness.js'
import type { InitMessage, JoinResult, Kind, Role } from './protocol.js'
import type { Config, LatencyFigure, LiveFloor, ReceiverCpuFigure, Results, ThroughputRun } from './results.js'
import { measureRelayAtRest } from './relay-rest.js'
import { measureStartup } from './startup.js'
import { report } from './report.js'
import { measureWriters } from './writers.js'
import { contendersInstalled } from './contenders.js'
import { measureMesh } from './mesh.js'
import { isCabal } from './protocol.js'
import { seal, sign, unseal, verify, keyPairFromSeed, randomBytes as sodiumRandom } from '../lib/crypto.js'
import { decodeMessageBlock, encodeBlockBody, encodeMessageBlock, MessageType } from '../lib/messages.js'

/** A chat-sized message text. */
const TEXT_BYTES = 100
const FRAME_BYTES = 64
const PAGE = 50

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
    interval: { type: 'string' },
    members: { type: 'string' },
    procs: { type: 'string' },
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
  paceMs: args.interval ? Number(args.interval) : 20,
  pacedCount: SMOKE ?? 500,
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
  frameBytes: FRAME_BYTES,
  mesh: {
    members: args.members ? args.members.split(',').map(Number) : SMOKE ? [2, 4] : FULL ? [2, 10, 25, 50, 80] : [2, 10, 25, 50],
    maxProcs: args.procs ? Number(args.procs) : 50,
    messages: SMOKE ?? 100,
    intervalMs: 100,
    catchupTotal: SMOKE ? SMOKE * 20 : 10_000,
    rooms: SMOKE ? 5 : 100,
    textBytes: TEXT_BYTES,
    page: PAGE,
    // The fan-out's quiet spell before its run (a settle, then the idle-rate window).
    settleMs: SMOKE ? 100 : 2000,
    idleMs: SMOKE ? 500 : 5000
  }
}

/** How long the parent waits for a Backspace reader to confirm what it already showed. */
const CONFIRM_WAIT_MS = 10_000
// Before each paced run the reader reads its own idle CPU this long, so that its CPU per
// message can be told net of idle, like the fan-out's receivers.
const PACED_IDLE_MS = SMOKE === null ? 1500 : 200

/** The whole run is stopped past this, whatever happens. */
const RUN_TIMEOUT = (SMOKE ? 4 : FULL ? 90 : 40) * 60_000 + (config.writersBudgetSeconds ?? 0) * 2000

const ALL_KINDS: Kind[] = ['swarm', 'hypercore', 'hypercore-encrypted', 'backspace', 'cabal', 'cabal-ram', 'ws']
const DEFAULT_KINDS: Kind[] = FULL ? ALL_KINDS : ALL_KINDS.filter((k) => k !== 'hypercore-encrypted')
const only = args.only?.split(',').map((s) => s.trim())
const WANTED_KINDS = only ? ALL_KINDS.filter((k) => only.includes(k)) : DEFAULT_KINDS
// Without bench/node_modules (`npm ci --prefix bench`), Cabal is left out and the run says so.
const CABAL_MISSING = WANTED_KINDS.some(isCabal) && !contendersInstalled()
const KINDS = CABAL_MISSING ? WANTED_KINDS.filter((k) => !isCabal(k)) : WANTED_KINDS
const ALL_WORKLOADS = [
  'latency',
  'throughput',
  'join',
  'writers',
  'relay',
  'startup',
  'fanout',
  'chain',
  'catchup',
  'rooms'
] as const
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

interface SequenceRun {
  /** Shown, µs. */
  latencies: number[]
  /** The writer's awaited send, µs. */
  stored: number[]
  /** Backspace: stored and verified by the reader, µs; null where not measured. */
  confirmed: number[] | null
  /** Payloads never confirmed within the sequence (Backspace). */
  unconfirmed: number
  /** The paced run: the reader's CPU per message (PACED_IDLE_MS). */
  receiverCpu: ReceiverCpuFigure | null
}

interface PairRun {
  backToBack: SequenceRun
  paced: SequenceRun
  throughput: ThroughputRun | null
}

/**
 * When each payload was confirmed: the first time the reader's stored contiguous length
 * reached the writer's log length after that payload's append.
 */
function confirmedLatencies(
  stamps: string[],
  blocks: number[] | null,
  stored: Array<[string, number]> | null
): { confirmed: number[] | null; unconfirmed: number } {
  if (!blocks || !stored) return { confirmed: null, unconfirmed: 0 }
  const out: number[] = []
  let unconfirmed = 0
  let j = 0
  for (let i = 0; i < stamps.length; i++) {
    while (j < stored.length && stored[j]![1] < blocks[i]!) j++
    if (j === stored.length) {
      unconfirmed++
      continue
    }
    out.push(Number(BigInt(stored[j]![0]) - BigInt(stamps[i]!)) / 1000)
  }
  return { confirmed: out, unconfirmed }
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

    const sequence = async (tag: 'w' | 'l' | 'p', count: number, intervalMs: number): Promise<SequenceRun> => {
      reader.send({ type: 'expect', tag, count, idleMs: tag === 'p' ? PACED_IDLE_MS : undefined })
      await reader.next('expecting', PACED_IDLE_MS + 30_000)
      writer.send({ type: 'sequence', tag, count, intervalMs })
      const timeout = 60_000 + count * intervalMs
      const [sent, received] = await Promise.all([writer.next('sent', timeout), reader.next('received', timeout)])
      // The reader reports once it showed every payload; what it stores may come later.
      let stored = received.stored
      if (kind === 'backspace' && sent.blocks && stored) {
        const want = sent.blocks[sent.blocks.length - 1]!
        for (let waited = 0; (stored.at(-1)?.[1] ?? 0) < want && waited < CONFIRM_WAIT_MS; waited += 100) {
          await new Promise((r) => setTimeout(r, 100))
          reader.send({ type: 'take-stored' })
          const more = await reader.next('stored')
          stored = [...stored, ...more.stored]
        }
      }
      const cpu = received.cpu
      return {
        latencies: received.latencies,
        stored: sent.stored,
        ...confirmedLatencies(sent.stamps, sent.blocks, stored),
        receiverCpu: cpu
          ? { perMsgMs: cpu.us / 1000 / count, netPerMsgMs: (cpu.us - (cpu.idleUsPerS * cpu.ms) / 1000) / 1000 / count }
          : null
      }
    }

    await sequence('w', config.warmup, 0)
    const run: PairRun = {
      backToBack: await sequence('l', config.latencyCount, 0),
      paced: await sequence('p', config.pacedCount, config.paceMs),
      throughput: null
    }
    if (WORKLOADS.includes('throughput')) {
      const count = config.throughputCount
      reader.send({ type: 'expect', tag: 't', count })
      await reader.next('expecting')
      const raw = kind === 'hypercore' || kind === 'hypercore-encrypted'
      writer.send({ type: 'burst', tag: 't', count, batch: raw ? config.hypercoreBatch : 0, pack: raw })
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
    const figure = (pick: (r: PairRun) => SequenceRun): LatencyFigure => {
      const stats = runs.map((r) => summarize(pick(r).latencies))
      const confirmed = runs.map((r) => pick(r).confirmed).filter((c): c is number[] => c !== null)
      const cpus = runs.map((r) => pick(r).receiverCpu).filter((c): c is ReceiverCpuFigure => c !== null)
      return {
        runs: stats,
        median: medianOf(stats),
        cdf: cdfPoints(runs.flatMap((r) => pick(r).latencies)),
        sendResolved: medianOf(runs.map((r) => summarize(pick(r).stored))),
        confirmed: confirmed.length > 0 ? medianOf(confirmed.map((c) => summarize(c))) : null,
        unconfirmed: runs.reduce((s, r) => s + pick(r).unconfirmed, 0),
        receiverCpu: cpus.length > 0 ? medianOf(cpus) : null
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

/**
 * The crypto a live Backspace message costs between the two sockets, measured here with the
 * library's own helpers on a block of the size one message makes: the sender signs and
 * seals, the receiver unseals and verifies. Median of many runs each, µs.
 */
function cryptoCost(blockBytes: number): LiveFloor['cryptoUs'] {
  const keys = keyPairFromSeed(sodiumRandom(32))
  const key = sodiumRandom(32)
  const block = sodiumRandom(blockBytes - 64)
  const time = (fn: () => void) => {
    const xs: number[] = []
    for (let i = 0; i < 2000; i++) {
      const t = process.hrtime.bigint()
      fn()
      xs.push(Number(process.hrtime.bigint() - t) / 1000)
    }
    return xs.slice(200).sort((a, b) => a - b)[900]!
  }
  const signature = sign(block, keys.secretKey)
  const box = seal(block, key)
  const c = {
    sign: time(() => sign(block, keys.secretKey)),
    seal: time(() => seal(block, key)),
    unseal: time(() => unseal(box, key)),
    verify: time(() => verify(signature, block, keys.publicKey)),
    total: 0
  }
  c.total = c.sign + c.seal + c.unseal + c.verify
  return c
}

/**
 * What this machine charges a step that runs right after the process slept, as every step of
 * a message at a paced rate does: the same step timed back to back, and once every 5 ms,
 * median µs. A native step (verifying a signature) and a JavaScript one (decoding a block).
 */
async function wakeupCost(): Promise<NonNullable<LiveFloor['wakeupUs']>> {
  const keys = keyPairFromSeed(sodiumRandom(32))
  const text = { type: MessageType.TEXT, timestamp: Date.now(), text: 'x'.repeat(TEXT_BYTES) }
  const body = encodeBlockBody({ author: keys.publicKey, seq: 1, records: [text] })
  const signature = sign(body, keys.secretKey)
  const block = encodeMessageBlock(body, signature)
  const once = (fn: () => unknown) => {
    const t = process.hrtime.bigint()
    fn()
    return Number(process.hrtime.bigint() - t) / 1000
  }
  const measure = async (fn: () => unknown) => {
    for (let i = 0; i < 500; i++) fn()
    const hot = Array.from({ length: 1000 }, () => once(fn))
    const paced: number[] = []
    for (let i = 0; i < 200; i++) {
      await new Promise((r) => setTimeout(r, 5))
      paced.push(once(fn))
    }
    return { hot: median(hot), paced: median(paced) }
  }
  const v = await measure(() => verify(signature, body, keys.publicKey))
  const d = await measure(() => decodeMessageBlock(block))
  return { verifyHot: v.hot, verifyPaced: v.paced, decodeHot: d.hot, decodePaced: d.paced }
}

async function liveFloor(results: Results, blockBytes: number): Promise<void> {
  const socket = results.latency.paced.swarm?.median
  const b2b = results.latency.backToBack.swarm?.median
  const cryptoUs = cryptoCost(blockBytes)
  results.liveFloor = {
    cryptoUs,
    pacedP50: socket ? socket.p50 + cryptoUs.total / 1000 : NaN,
    pacedP99: socket ? socket.p99 + cryptoUs.total / 1000 : NaN,
    backToBackP50: b2b ? b2b.p50 + cryptoUs.total / 1000 : NaN
  }
  const cpu = results.latency.paced.swarm?.receiverCpu
  if (cpu) results.liveFloor.receiverCpuPerMsgMs = cpu.netPerMsgMs + (cryptoUs.unseal + cryptoUs.verify) / 1000
  results.liveFloor.wakeupUs = await wakeupCost()
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
    liveFloor: null,
    mesh: null,
    errors: []
  }
  if (CABAL_MISSING) {
    results.errors.push('cabal: not measured, bench/node_modules has no cabal-core (run `npm ci --prefix bench`)')
    progress('cabal: left out, not installed (npm ci --prefix bench)')
  }

  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'backspace-bench-'))
  const net: Net = { bootstrap: testnet.bootstrap, root }
  try {
    if (WORKLOADS.includes('latency') || WORKLOADS.includes('throughput')) {
      await latencyAndThroughput(results, net, blockBytes)
      await liveFloor(results, blockBytes)
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
    const mesh = {
      fanout: WORKLOADS.includes('fanout'),
      chain: WORKLOADS.includes('chain'),
      catchup: WORKLOADS.includes('catchup'),
      rooms: WORKLOADS.includes('rooms')
    }
    if (KINDS.includes('backspace') && Object.values(mesh).some(Boolean)) {
      results.mesh = await measureMesh(mesh, net, config.mesh, results.errors)
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
