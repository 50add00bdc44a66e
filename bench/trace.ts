// Diagnostics for the bench's workers, off unless asked for (BENCH_TRACE=dir):
//
// - `TailRecorder`: a process's GC pauses and event-loop stalls, stamped with process.hrtime
//   (CLOCK_MONOTONIC, the same clock in every process and in `perf record -k CLOCK_MONOTONIC`),
//   written beside the stamps of what it sent or the latencies of what it showed, so that the
//   slowest messages of a run can be matched to what each side was doing then
//   (bench/tail-report.ts). With BENCH_TRACE_PROF=1 it also keeps a CPU profile of the paced
//   run (V8 stamps its samples on the same clock, in µs).
// - `PhaseCounters`: what a process did over one phase: storage read and write batches,
//   frames it wrote to its connections, protocol messages it received by protocol and type,
//   and its CPU time.
//
// Both patch prototypes of the stack's modules for the duration (rocksdb-native's batches,
// protomux's channels, secret-stream's writes). They are for finding where time goes, not for
// the figures the bench reports: a traced run is slower.

import fs from 'fs'
import { Session } from 'inspector'
import { createRequire } from 'module'
import path from 'path'
import { PerformanceObserver, performance } from 'perf_hooks'

const require = createRequire(import.meta.url)

/** Where traces go, or null when tracing is off. */
export const TRACE_DIR: string | null = process.env.BENCH_TRACE || null
const TRACE_PROF = !!process.env.BENCH_TRACE_PROF
/** Where the mesh workers write a CPU profile of the paced run alone (BENCH_PROF=dir), or null. */
export const PROF_DIR: string | null = process.env.BENCH_PROF || null

// An event-loop turn this much longer (ms) than the 1 ms probe interval counts as a stall.
const STALL_MS = 0.5

type Stamp = string // hrtime ns, as a decimal string

export interface TailTrace {
  /** [start, duration ms, V8's GC kind] */
  gcs: Array<[Stamp, number, number]>
  /** [last probe before the stall, stall ms] */
  stalls: Array<[Stamp, number]>
}

/** GC pauses and loop stalls of this process, from now on. */
export class TailRecorder {
  private readonly gcs: TailTrace['gcs'] = []
  private readonly stalls: TailTrace['stalls'] = []
  private readonly observer: PerformanceObserver
  private readonly probe: NodeJS.Timeout
  private profiler: PhaseProfile | null = null

  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true })
    // performance.now() and hrtime tick on the same monotonic clock, from different origins.
    const originNs = process.hrtime.bigint() - BigInt(Math.round(performance.now() * 1e6))
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = ((e as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind ?? 0
        this.gcs.push([String(originNs + BigInt(Math.round(e.startTime * 1e6))), e.duration, kind])
      }
    })
    this.observer.observe({ entryTypes: ['gc'] })
    let last = process.hrtime.bigint()
    this.probe = setInterval(() => {
      const now = process.hrtime.bigint()
      const stall = Number(now - last) / 1e6 - 1
      if (stall > STALL_MS) this.stalls.push([String(last), stall])
      last = now
    }, 1)
    this.probe.unref()
  }

  /** Starts a CPU profile (50 µs samples) if BENCH_TRACE_PROF is set. */
  async profile(): Promise<void> {
    if (!TRACE_PROF || this.profiler) return
    this.profiler = new PhaseProfile()
    await this.profiler.start(50)
  }

  /** Writes `<name>-<pid>.json` (the trace and `extra`), and the profile if one runs. */
  async write(name: string, extra: object): Promise<void> {
    const base = path.join(this.dir, `${name}-${process.pid}`)
    if (this.profiler) {
      await this.profiler.stop(base + '.cpuprofile')
      this.profiler = null
    }
    const trace: TailTrace = { gcs: this.gcs, stalls: this.stalls }
    fs.writeFileSync(base + '.json', JSON.stringify({ ...trace, ...extra }))
  }
}

/**
 * A CPU profile of one phase of this process, with nothing else patched or recorded
 * (BENCH_PROF): where a receiver's CPU per message goes, without the counters' own cost.
 */
export class PhaseProfile {
  private readonly session = new Session()

  constructor() {
    this.session.connect()
  }

  async start(intervalUs = 100): Promise<void> {
    await this.post('Profiler.enable')
    await this.post('Profiler.setSamplingInterval', { interval: intervalUs })
    await this.post('Profiler.start')
  }

  async stop(file: string): Promise<void> {
    const { profile } = (await this.post('Profiler.stop')) as { profile: object }
    this.session.disconnect()
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, JSON.stringify(profile))
  }

  private post(method: string, params: object = {}): Promise<unknown> {
    return new Promise((resolve, reject) => this.session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))))
  }
}

export interface PhaseCounts {
  storage: { readBatches: number; writeBatches: number; reads: number; writes: number }
  /** Frames written to connections (secret-stream writes). */
  framesSent: number
  /** Protocol messages received, by "protocol/type". */
  received: Record<string, number>
  cpu: NodeJS.CpuUsage
}

type Patchable = Record<string, unknown> & { prototype: Record<string, unknown> }

// A module as the stack itself loads it: resolved from the package that depends on it.
function stackModule(name: string, from: string): Patchable {
  return require(require.resolve(name, { paths: [path.dirname(require.resolve(from))] })) as Patchable
}

/** Counts what this process does from now until `stop()`; one phase at a time. */
export class PhaseCounters {
  private readonly undo: Array<() => void> = []
  private readonly counts: PhaseCounts = {
    storage: { readBatches: 0, writeBatches: 0, reads: 0, writes: 0 },
    framesSent: 0,
    received: {},
    cpu: { user: 0, system: 0 }
  }
  private readonly cpu0 = process.cpuUsage()

  constructor() {
    const batches = require(path.join(path.dirname(require.resolve('rocksdb-native')), 'lib/batch.js')) as Record<string, Patchable>
    const storage = this.counts.storage
    this.wrap(batches.ReadBatch!.prototype, '_flush', (self) => {
      storage.readBatches++
      storage.reads += (self._operations as unknown[] | undefined)?.length ?? 0
    })
    this.wrap(batches.WriteBatch!.prototype, '_flush', (self) => {
      storage.writeBatches++
      storage.writes += (self._operations as unknown[] | undefined)?.length ?? 0
    })
    // protomux keeps its Channel class to itself: one made on a stand-in stream shows it.
    const Protomux = stackModule('protomux', 'hypercore') as unknown as new (stream: object) => {
      createChannel(opts: object): { constructor: Patchable }
    }
    const stub = { on() {}, isProtomux: false, userData: null, opened: Promise.resolve(true) }
    const Channel = new Protomux(stub).createChannel({ protocol: 'bench/trace' }).constructor
    const received = this.counts.received
    this.wrap(Channel.prototype, '_recv', (self, type) => {
      const key = `${String(self.protocol)}/${String(type)}`
      received[key] = (received[key] ?? 0) + 1
    })
    const SecretStream = stackModule('@hyperswarm/secret-stream', 'hyperswarm')
    this.wrap(SecretStream.prototype, '_write', () => {
      this.counts.framesSent++
    })
  }

  /** Puts the prototypes back and returns the counts. */
  stop(): PhaseCounts {
    for (const undo of this.undo.splice(0)) undo()
    this.counts.cpu = process.cpuUsage(this.cpu0)
    return this.counts
  }

  private wrap(proto: Record<string, unknown>, method: string, count: (self: Record<string, unknown>, ...args: unknown[]) => void): void {
    const original = proto[method] as (...args: unknown[]) => unknown
    proto[method] = function (this: Record<string, unknown>, ...args: unknown[]) {
      count(this, ...args)
      return original.apply(this, args)
    }
    this.undo.push(() => {
      proto[method] = original
    })
  }
}
