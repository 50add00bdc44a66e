// The shape of a run's results (bench/results/<date>.json), shared by the harness, the
// table and the chart.

import type { LatencyStats } from './harness.js'
import type { JoinResult, Kind } from './protocol.js'
import type { RelayRestResult } from './relay-rest.js'
import type { StartupResult } from './startup.js'
import type { WritersResult } from './writers.js'

export interface Config {
  full: boolean
  reps: number
  smoke: boolean
  latencyCount: number
  warmup: number
  paceMs: number
  throughputCount: number
  hypercoreBatch: number
  joinHistories: number[]
  page: number
  writerCounts: number[]
  messagesPerWriter: number
  /** Seconds making the writers may take, when set (--writers-budget). */
  writersBudgetSeconds: number | null
  relayRooms: number[]
  textBytes: number
  frameBytes: number
}

export const LABELS: Record<Kind, string> = {
  swarm: 'Hyperswarm socket (floor)',
  hypercore: 'Hypercore append → replica (floor)',
  'hypercore-encrypted': 'Hypercore, encrypted blocks',
  backspace: 'Backspace',
  cabal: 'Cabal (cabal-core 16)',
  ws: 'WebSocket relay (central)'
}

export interface Figure<T> {
  runs: T[]
  median: T
}

export interface LatencyFigure extends Figure<LatencyStats> {
  /** Percentiles 0..100 of all repetitions' samples together, in ms (for the CDF). */
  cdf: number[]
  /** How long the writer's awaited send took to resolve, median of repetitions. */
  sendResolved: LatencyStats
}

export interface ThroughputRun {
  count: number
  msgsPerSec: number
  /** Until the writer had handed over (and stored) every message. */
  storedMs: number
  /** Until the reader had every message. */
  receivedMs: number
}

export interface Results {
  version: 1
  date: string
  machine: {
    cpu: string
    cores: number
    node: string
    platform: string
    release: string
    memory: number
    loadavg: number[]
  }
  config: Config & { kinds: Kind[]; workloads: string[]; blockBytes: number }
  seconds: number
  latency: {
    backToBack: Partial<Record<Kind, LatencyFigure>>
    paced: Partial<Record<Kind, LatencyFigure>>
  }
  throughput: Partial<Record<Kind, Figure<ThroughputRun>>>
  join: Partial<Record<Kind, Record<string, Figure<JoinResult>>>>
  writers: Partial<Record<'backspace' | 'cabal', Record<string, WritersResult>>>
  relay: RelayRestResult | null
  startup: StartupResult | null
  errors: string[]
}

