// The shape of a run's results (bench/results/<date>.json), shared by the harness, the
// table and the chart.

import type { LatencyStats } from './harness.js'
import type { JoinResult, Kind } from './protocol.js'
import type { RelayRestResult } from './relay-rest.js'
import type { StartupResult } from './startup.js'
import type { WritersResult } from './writers.js'
import type { MeshConfig, MeshResults } from './mesh.js'

export interface Config {
  full: boolean
  reps: number
  smoke: boolean
  latencyCount: number
  warmup: number
  /** The paced sequence's fixed interval between sends (ms), and how many it sends. */
  paceMs: number
  pacedCount: number
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
  mesh: MeshConfig
}

export const LABELS: Record<Kind, string> = {
  swarm: 'Hyperswarm socket (floor)',
  hypercore: 'Hypercore append → replica (floor)',
  'hypercore-encrypted': 'Hypercore, encrypted blocks',
  backspace: 'Backspace',
  cabal: 'Cabal (cabal-core 16, on disk)',
  'cabal-ram': 'Cabal in memory (extra; not a Cabal client)',
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
  /**
   * Backspace: until the reader had stored and verified the message's block (confirmed),
   * median of repetitions; null for the others, whose delivery is the stored one.
   */
  confirmed: LatencyStats | null
  /** Messages not confirmed within 10 s of the last one shown, over all repetitions. */
  unconfirmed: number
  /**
   * The paced run only: the reader's CPU per message, gross and net of its idle CPU just
   * before, median of repetitions. Absent from results written before it was measured.
   */
  receiverCpu?: ReceiverCpuFigure | null
}

/** What receiving one message cost a reader's process, ms of CPU. */
export interface ReceiverCpuFigure {
  perMsgMs: number
  netPerMsgMs: number
}

/** The live floor: a raw socket one way plus the crypto a live message costs. */
export interface LiveFloor {
  /** Median µs of each step on a one-message block, and their sum. */
  cryptoUs: { sign: number; seal: number; unseal: number; verify: number; total: number }
  /** The raw socket's paced p50 / p99 plus the crypto, ms. */
  pacedP50: number
  pacedP99: number
  backToBackP50: number
  /**
   * A raw socket's reader at the paced rate: its CPU per message (net of idle) plus the
   * unseal and verify a live message costs, ms. Absent from older results.
   */
  receiverCpuPerMsgMs?: number
  /**
   * The same step back to back (hot) and once every 5 ms (paced), median µs: what waking from
   * idle costs on this machine. Absent from older results.
   */
  wakeupUs?: { verifyHot: number; verifyPaced: number; decodeHot: number; decodePaced: number }
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
  liveFloor: LiveFloor | null
  mesh: MeshResults | null
  errors: string[]
}

