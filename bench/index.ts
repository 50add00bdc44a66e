// `npm run bench`: Backspace delivery latency and throughput, next to raw Hypercore and a raw
// Hyperswarm socket, measured in one run on a local testnet bound to 127.0.0.1.
//
// Every measurement uses two worker processes (bench/worker.ts), a writer and a reader, so
// each side gets a core of its own. Latency is one-way: the writer stamps
// process.hrtime.bigint() (CLOCK_MONOTONIC, the same clock in every process) into the
// payload, and the reader subtracts it from its own reading on arrival.
//
// Environment knobs, for investigation: BENCH_ONLY=backspace,hypercore (a subset),
// BENCH_CPU_PROF=dir (workers run with --cpu-prof), BENCH_JSON=file (the raw figures).

import { fork, type ChildProcess } from 'child_process'
import { randomBytes } from 'crypto'
import fs from 'fs/promises'
import os from 'os'
import path from 'path'
import { fileURLToPath } from 'url'
import createTestnet from 'hyperdht/testnet.js'
import type { InitMessage, Kind, ParentMessage, Role, Tag, WorkerMessage } from './protocol.js'

const LATENCY_WARMUP = 200
const LATENCY_COUNT = 1000
const THROUGHPUT_WARMUP = 2000
const THROUGHPUT_COUNT = 20_000
const BURST = 200
/** A chat-sized message text. */
const TEXT_BYTES = 100
const FRAME_BYTES = 64
/** The whole run is stopped past this, whatever happens. */
const RUN_TIMEOUT = 170_000
const STEP_TIMEOUT = 60_000

const TARGETS = { p50Ms: 2, p99Ms: 10, msgsPerSec: 10_000, ratio: 2 }

const here = path.dirname(fileURLToPath(import.meta.url))
const startedAt = process.hrtime.bigint()

function progress(what: string): void {
  const s = Number(process.hrtime.bigint() - startedAt) / 1e9
  process.stderr.write(`bench [${s.toFixed(1).padStart(5)} s] ${what}\n`)
}
const children = new Set<ChildProcess>()

interface LatencyStats {
  n: number
  p50: number
  p99: number
  mean: number
  max: number
}

interface ThroughputResult {
  count: number
  /** Messages per second, from the first send to the reader holding the last one. */
  msgsPerSec: number
  /** Milliseconds until the writer had stored (handed over) every message. */
  storedMs: number
  /** Milliseconds until the reader had every message. */
  receivedMs: number
  /** One-way latency while the writer sends as fast as it can store (a queueing figure). */
  loaded: LatencyStats
}

interface KindResult {
  kind: Kind
  latency: LatencyStats
  /** How long the writer's send (append, socket write) took to resolve, in lockstep. */
  stored: LatencyStats
  throughput: ThroughputResult | null
}

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

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.ceil((p / 100) * sorted.length) - 1
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!
}

/** Microsecond samples in, millisecond figures out. */
function summarize(samplesUs: number[]): LatencyStats {
  const sorted = [...samplesUs].sort((a, b) => a - b)
  const sum = sorted.reduce((a, b) => a + b, 0)
  return {
    n: sorted.length,
    p50: percentile(sorted, 50) / 1000,
    p99: percentile(sorted, 99) / 1000,
    mean: sum / sorted.length / 1000,
    max: (sorted[sorted.length - 1] ?? NaN) / 1000
  }
}

/** A forked worker and the messages it sent that nobody has waited for yet. */
class Worker {
  readonly role: Role
  private readonly child: ChildProcess
  private readonly inbox: WorkerMessage[] = []
  private readonly waiters: Array<{
    type: WorkerMessage['type']
    resolve: (m: WorkerMessage) => void
    reject: (err: Error) => void
  }> = []
  private failure: Error | null = null
  private exited = false
  /** Called for every ack the reader sends, instead of queueing it. */
  onAck: (() => void) | null = null

  constructor(kind: Kind, role: Role) {
    this.role = role
    const execArgv: string[] = []
    const prof = process.env.BENCH_CPU_PROF
    if (prof)
      execArgv.push(
        '--cpu-prof',
        `--cpu-prof-dir=${prof}`,
        `--cpu-prof-name=${kind}-${role}.cpuprofile`
      )
    this.child = fork(path.join(here, 'worker.js'), [], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    })
    children.add(this.child)
    this.child.on('message', (msg: WorkerMessage) => this.receive(msg))
    this.child.on('exit', (code) => {
      this.exited = true
      children.delete(this.child)
      if (code !== 0) this.fail(new Error(`${kind} ${role} exited with ${code}`))
      else this.fail(new Error(`${kind} ${role} exited`))
    })
  }

  send(msg: ParentMessage): void {
    this.child.send(msg)
  }

  /** The next message of this type, in order of arrival. */
  next<T extends WorkerMessage['type']>(
    type: T,
    timeout = STEP_TIMEOUT
  ): Promise<Extract<WorkerMessage, { type: T }>> {
    const i = this.inbox.findIndex((m) => m.type === type)
    if (i !== -1)
      return Promise.resolve(this.inbox.splice(i, 1)[0] as Extract<WorkerMessage, { type: T }>)
    if (this.failure) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.role}: no "${type}" within ${timeout} ms`))
      }, timeout)
      this.waiters.push({
        type,
        resolve: (m) => {
          clearTimeout(timer)
          resolve(m as Extract<WorkerMessage, { type: T }>)
        },
        reject: (err) => {
          clearTimeout(timer)
          reject(err)
        }
      })
    })
  }

  async close(): Promise<void> {
    if (this.exited) return
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.send({ type: 'close' })
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000)
    await exited
    clearTimeout(timer)
  }

  private receive(msg: WorkerMessage): void {
    if (msg.type === 'error') return this.fail(new Error(`${this.role}: ${msg.message}`))
    if (msg.type === 'ack' && this.onAck) return this.onAck()
    const i = this.waiters.findIndex((w) => w.type === msg.type)
    if (i === -1) {
      this.inbox.push(msg)
      return
    }
    this.waiters.splice(i, 1)[0]!.resolve(msg)
  }

  private fail(err: Error): void {
    if (this.failure) return
    this.failure = err
    for (const w of this.waiters.splice(0)) w.reject(err)
  }
}

/** One writer and one reader of `kind`: warm-up, lockstep latency, then burst throughput. */
async function measure(
  kind: Kind,
  bootstrap: Array<{ host: string; port: number }>,
  root: string,
  blockBytes: number
): Promise<KindResult> {
  const writer = new Worker(kind, 'writer')
  const reader = new Worker(kind, 'reader')
  try {
    const base: Omit<InitMessage, 'role' | 'dir' | 'coreKey'> = {
      type: 'init',
      kind,
      bootstrap,
      rendezvous:
        kind === 'backspace'
          ? `bench-${randomBytes(6).toString('hex')}`
          : randomBytes(32).toString('hex'),
      encryptionKey: kind === 'hypercore-encrypted' ? randomBytes(32).toString('hex') : null,
      textBytes: TEXT_BYTES,
      blockBytes,
      frameBytes: FRAME_BYTES
    }
    const dir = (role: Role) => fs.mkdtemp(path.join(root, `${kind}-${role}-`))
    progress(`${kind}: starting`)
    const dirs = { writer: await dir('writer'), reader: await dir('reader') }
    writer.send({ ...base, role: 'writer', dir: dirs.writer, coreKey: null })
    if (kind === 'backspace') {
      // Both join at once, as the room name is known in advance.
      reader.send({ ...base, role: 'reader', dir: dirs.reader, coreKey: null })
      await writer.next('ready')
    } else {
      // Raw writers are announced when ready; the Hypercore reader needs the core key.
      const { coreKey } = await writer.next('ready')
      reader.send({ ...base, role: 'reader', dir: dirs.reader, coreKey })
    }
    await reader.next('ready')
    progress(`${kind}: ready`)
    await Promise.all([writer.next('connected'), reader.next('connected')])
    reader.onAck = () => writer.send({ type: 'ack' })

    const run = async (tag: Tag, count: number, order: 'lockstep' | 'burst') => {
      progress(`${kind}: ${tag} ×${count}`)
      reader.send({ type: 'expect', tag, count, ack: order === 'lockstep' })
      await reader.next('expecting')
      if (order === 'lockstep') writer.send({ type: 'lockstep', tag, count })
      else writer.send({ type: 'burst', tag, count, burst: BURST })
      const [sent, received] = await Promise.all([writer.next('sent'), reader.next('received')])
      return { sent, received }
    }

    await run('lw', LATENCY_WARMUP, 'lockstep')
    const lat = await run('l', LATENCY_COUNT, 'lockstep')
    const latency = summarize(lat.received.latencies)
    const stored = summarize(lat.sent.stored)

    let throughput: ThroughputResult | null = null
    if (kind !== 'swarm') {
      await run('tw', THROUGHPUT_WARMUP, 'burst')
      const tp = await run('t', THROUGHPUT_COUNT, 'burst')
      const first = BigInt(tp.sent.firstNs)
      const receivedMs = Number(BigInt(tp.received.lastNs) - first) / 1e6
      throughput = {
        count: THROUGHPUT_COUNT,
        msgsPerSec: THROUGHPUT_COUNT / (receivedMs / 1000),
        storedMs: Number(BigInt(tp.sent.storedNs) - first) / 1e6,
        receivedMs,
        loaded: summarize(tp.received.latencies)
      }
    }
    return { kind, latency, stored, throughput }
  } finally {
    await Promise.all([writer.close(), reader.close()])
  }
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

const LABELS: Record<Kind, string> = {
  swarm: `Hyperswarm socket, ${FRAME_BYTES} B frame`,
  hypercore: 'Hypercore append → replica get',
  'hypercore-encrypted': 'Hypercore, encrypted blocks',
  backspace: 'Backspace send() → message event'
}

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '–')
const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–')
const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : '–')
const verdict = (ok: boolean) => (ok ? 'pass' : '**FAIL**')

function report(results: KindResult[], blockBytes: number, seconds: number): string {
  const by = (k: Kind) => results.find((r) => r.kind === k)
  const lines: string[] = []
  const cpus = os.cpus()
  lines.push(
    `Node ${process.version}, ${cpus.length} × ${cpus[0]?.model.trim() ?? 'cpu'}, ${os.platform()} ${os.release()}. ` +
      `Texts of ${TEXT_BYTES} B; raw Hypercore blocks of ${blockBytes} B, the size of a one-message Backspace block. ` +
      `Run took ${seconds.toFixed(1)} s.`
  )
  lines.push('')
  lines.push(
    `**One-way latency** (ms; ${LATENCY_COUNT} messages, one at a time, after ${LATENCY_WARMUP} warm-up)`
  )
  lines.push('')
  lines.push('| Path | p50 | p99 | mean | max | writer-side send resolved p50 / p99 |')
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: |')
  for (const r of results) {
    const l = r.latency
    const s = r.stored
    lines.push(
      `| ${LABELS[r.kind]} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.mean)} | ${ms(l.max)} | ${ms(s.p50)} / ${ms(s.p99)} |`
    )
  }
  lines.push('')
  lines.push(
    `**Throughput**, one writer → one reader (${THROUGHPUT_COUNT.toLocaleString('en-US')} messages in bursts of ${BURST}, ` +
      `after ${THROUGHPUT_WARMUP.toLocaleString('en-US')} warm-up). Raw Hypercore appends each burst as ${BURST} ` +
      `blocks, one per message; Backspace packs the sends of one tick into one signed block.`
  )
  lines.push('')
  lines.push(
    '| Path | msgs/s | all stored (ms) | all received (ms) | latency under load p50 / p99 (ms) |'
  )
  lines.push('| --- | ---: | ---: | ---: | ---: |')
  for (const r of results) {
    const t = r.throughput
    if (!t) continue
    lines.push(
      `| ${LABELS[r.kind]} | ${int(t.msgsPerSec)} | ${int(t.storedMs)} | ${int(t.receivedMs)} | ` +
        `${ms(t.loaded.p50)} / ${ms(t.loaded.p99)} |`
    )
  }

  const bs = by('backspace')
  if (bs) {
    const refs = (['hypercore', 'hypercore-encrypted'] as const)
      .map(by)
      .filter((r) => r !== undefined)
    if (refs.length > 0) {
      lines.push('')
      lines.push('**Backspace / raw Hypercore**')
      lines.push('')
      lines.push('| Ratio | ' + refs.map((r) => `vs ${LABELS[r.kind]}`).join(' | ') + ' |')
      lines.push('| --- |' + refs.map(() => ' ---: |').join(''))
      lines.push(
        '| latency p50 (lower is better) | ' +
          refs.map((r) => ratio(bs.latency.p50 / r.latency.p50)).join(' | ') +
          ' |'
      )
      lines.push(
        '| latency p99 | ' +
          refs.map((r) => ratio(bs.latency.p99 / r.latency.p99)).join(' | ') +
          ' |'
      )
      lines.push(
        '| throughput (higher is better) | ' +
          refs
            .map((r) =>
              ratio((bs.throughput?.msgsPerSec ?? NaN) / (r.throughput?.msgsPerSec ?? NaN))
            )
            .join(' | ') +
          ' |'
      )
    }

    const ref = by('hypercore')
    const tput = bs.throughput?.msgsPerSec ?? NaN
    lines.push('')
    lines.push('**Targets**')
    lines.push('')
    lines.push('| Target | Measured | Result |')
    lines.push('| --- | ---: | --- |')
    lines.push(
      `| latency p50 ≤ ${TARGETS.p50Ms} ms | ${ms(bs.latency.p50)} ms | ${verdict(bs.latency.p50 <= TARGETS.p50Ms)} |`
    )
    lines.push(
      `| latency p99 ≤ ${TARGETS.p99Ms} ms | ${ms(bs.latency.p99)} ms | ${verdict(bs.latency.p99 <= TARGETS.p99Ms)} |`
    )
    lines.push(
      `| throughput ≥ ${int(TARGETS.msgsPerSec)} msg/s | ${int(tput)} msg/s | ${verdict(tput >= TARGETS.msgsPerSec)} |`
    )
    if (ref) {
      const lr = bs.latency.p50 / ref.latency.p50
      const tr = (ref.throughput?.msgsPerSec ?? NaN) / tput
      lines.push(
        `| latency p50 within ${TARGETS.ratio}x of raw Hypercore | ${ratio(lr)} | ${verdict(lr <= TARGETS.ratio)} |`
      )
      lines.push(
        `| throughput within ${TARGETS.ratio}x of raw Hypercore | ` +
          `${tr <= 1 ? `${ratio(1 / tr)} faster` : `${ratio(tr)} slower`} | ${verdict(tr <= TARGETS.ratio)} |`
      )
    }
  }
  return lines.join('\n')
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const all: Kind[] = ['swarm', 'hypercore', 'hypercore-encrypted', 'backspace']
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim())
  const kinds = only ? all.filter((k) => only.includes(k)) : all
  const blockBytes = backspaceBlockBytes()

  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'backspace-bench-'))
  const results: KindResult[] = []
  try {
    for (const kind of kinds) {
      results.push(await measure(kind, testnet.bootstrap, root, blockBytes))
    }
  } finally {
    await testnet.destroy()
    await fs.rm(root, { recursive: true, force: true })
  }
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9
  console.log(report(results, blockBytes, seconds))
  if (process.env.BENCH_JSON) {
    await fs.writeFile(
      process.env.BENCH_JSON,
      JSON.stringify({ blockBytes, results }, null, 2) + '\n'
    )
  }
}

const deadline = setTimeout(() => {
  console.error(`bench: stopped after ${RUN_TIMEOUT / 1000} s`)
  for (const child of children) child.kill('SIGKILL')
  process.exit(1)
}, RUN_TIMEOUT)

main().then(
  () => clearTimeout(deadline),
  (err) => {
    console.error('bench failed:', err)
    for (const child of children) child.kill('SIGKILL')
    process.exit(1)
  }
)
