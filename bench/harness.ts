// What the bench's workloads share: forked workers spoken to over IPC, statistics, progress
// lines, and the bookkeeping that makes sure no child outlives a run.

import { fork, type ChildProcess } from 'child_process'
import path from 'path'
import { fileURLToPath } from 'url'
import type { Kind, ParentMessage, Role, WorkerMessage } from './protocol.js'

export const here = path.dirname(fileURLToPath(import.meta.url))
const startedAt = process.hrtime.bigint()

export function elapsedSeconds(): number {
  return Number(process.hrtime.bigint() - startedAt) / 1e9
}

let quiet = false
export function setQuiet(q: boolean): void {
  quiet = q
}

export function progress(what: string): void {
  if (quiet) return
  process.stderr.write(`bench [${elapsedSeconds().toFixed(1).padStart(6)} s] ${what}\n`)
}

/** Every child process alive now, killed if the run fails or times out. */
export const children = new Set<ChildProcess>()

export function killChildren(): void {
  for (const child of children) child.kill('SIGKILL')
}

export interface LatencyStats {
  n: number
  p50: number
  p90: number
  p99: number
  mean: number
  max: number
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.ceil((p / 100) * sorted.length) - 1
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!
}

/** Microsecond samples in, millisecond figures out. */
export function summarize(samplesUs: number[]): LatencyStats {
  const sorted = [...samplesUs].sort((a, b) => a - b)
  const sum = sorted.reduce((a, b) => a + b, 0)
  return {
    n: sorted.length,
    p50: percentile(sorted, 50) / 1000,
    p90: percentile(sorted, 90) / 1000,
    p99: percentile(sorted, 99) / 1000,
    mean: sum / sorted.length / 1000,
    max: (sorted[sorted.length - 1] ?? NaN) / 1000
  }
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** The field-by-field median of several results of the same shape (numbers only). */
export function medianOf<T extends object>(runs: T[]): T {
  const first = runs[0]
  if (!first) return {} as T
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(first)) {
    if (typeof v === 'number') out[k] = median(runs.map((r) => (r as Record<string, number>)[k]!))
    else out[k] = v
  }
  return out as T
}

/** The 0th to 100th percentile (101 points, ms) of the samples, for a CDF. */
export function cdfPoints(samplesUs: number[]): number[] {
  const sorted = [...samplesUs].sort((a, b) => a - b)
  return Array.from({ length: 101 }, (_, p) =>
    p === 0 ? (sorted[0] ?? NaN) / 1000 : percentile(sorted, p) / 1000
  )
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | null = null
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)
    })
  ]).finally(() => {
    if (timer) clearTimeout(timer)
  })
}

export const STEP_TIMEOUT = 60_000

/** A forked worker process and the messages it sent that nobody has waited for yet. */
export class Worker<M extends { type: string } = WorkerMessage> {
  readonly name: string
  readonly child: ChildProcess
  private readonly inbox: M[] = []
  private readonly waiters: Array<{
    type: M['type']
    resolve: (m: M) => void
    reject: (err: Error) => void
  }> = []
  private failure: Error | null = null
  private exited = false
  /** Sees every message first; returning true consumes it. */
  tap: ((msg: { type: string } & Record<string, unknown>) => boolean) | null = null

  constructor(kind: Kind | string, role: Role | string, script = 'worker.js', args: string[] = []) {
    this.name = `${kind} ${role}`
    // The mesh workloads read the live heap after a full collection (bench/mesh-worker.ts).
    const execArgv: string[] = script === 'mesh-worker.js' ? ['--expose-gc'] : []
    if (process.env.BENCH_EXEC_ARGV) execArgv.push(...process.env.BENCH_EXEC_ARGV.split(' ').filter(Boolean))
    const prof = process.env.BENCH_CPU_PROF
    if (prof)
      execArgv.push(
        '--cpu-prof',
        `--cpu-prof-dir=${prof}`,
        `--cpu-prof-name=${kind}-${role}-${Date.now()}.cpuprofile`
      )
    this.child = fork(path.join(here, script), args, {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    })
    children.add(this.child)
    this.child.on('message', (msg: M) => this.receive(msg))
    this.child.on('exit', (code, signal) => {
      this.exited = true
      children.delete(this.child)
      this.fail(new Error(`${this.name} exited (${signal ?? code})`))
    })
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  send(msg: ParentMessage | object): void {
    if (!this.exited) this.child.send(msg)
  }

  /** The next message of this type, in order of arrival. */
  next<T extends M['type']>(type: T, timeout = STEP_TIMEOUT): Promise<Extract<M, { type: T }>> {
    const i = this.inbox.findIndex((m) => m.type === type)
    if (i !== -1)
      return Promise.resolve(this.inbox.splice(i, 1)[0] as Extract<M, { type: T }>)
    if (this.failure) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      const waiter = {
        type,
        resolve: (m: M) => {
          clearTimeout(timer)
          resolve(m as Extract<M, { type: T }>)
        },
        reject: (err: Error) => {
          clearTimeout(timer)
          reject(err)
        }
      }
      const timer = setTimeout(() => {
        const at = this.waiters.indexOf(waiter)
        if (at !== -1) this.waiters.splice(at, 1)
        reject(new Error(`${this.name}: no "${type}" within ${timeout} ms`))
      }, timeout)
      this.waiters.push(waiter)
    })
  }

  async close(): Promise<void> {
    if (this.exited) return
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.send({ type: 'close' })
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL')
  }

  private receive(msg: M): void {
    if (msg.type === 'error') return this.fail(new Error(`${this.name}: ${(msg as { message?: string }).message}`))
    if (this.tap && this.tap(msg as { type: string } & Record<string, unknown>)) return
    const i = this.waiters.findIndex((w) => w.type === msg.type)
    if (i === -1) {
      this.inbox.push(msg)
      return
    }
    this.waiters.splice(i, 1)[0]!.resolve(msg)
  }

  /** Why the worker stopped, once it failed. */
  get error(): Error | null {
    return this.failure
  }

  private fail(err: Error): void {
    if (this.failure) return
    this.failure = err
    for (const w of this.waiters.splice(0)) w.reject(err)
  }
}

/** Resident memory (bytes) and CPU time (ms, user + system) of a process, from /proc. */
export async function procUsage(pid: number): Promise<{ rss: number; cpuMs: number } | null> {
  const fs = await import('fs/promises')
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // Fields after the command: state is index 0, utime 11, stime 12, rss 21 (in pages).
    const ticks = Number(fields[11]) + Number(fields[12])
    const status = await fs.readFile(`/proc/${pid}/status`, 'utf8')
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
    return { rss: rssKb * 1024, cpuMs: (ticks * 1000) / 100 }
  } catch {
    return null
  }
}
