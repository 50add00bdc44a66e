// The messages the benchmark's parent process and its worker processes exchange over IPC.
// Times cross the process boundary as decimal strings of process.hrtime.bigint() (the
// system-wide CLOCK_MONOTONIC), so no precision is lost.

/**
 * What is measured: a raw Hyperswarm socket, a raw Hypercore (plain or with block
 * encryption), a Backspace room, a Cabal (cabal-core) over a loopback TCP socket on disk as a
 * Cabal client runs (`cabal`) or in memory (`cabal-ram`, a labelled extra), or a central
 * WebSocket relay.
 */
export type Kind = 'swarm' | 'hypercore' | 'hypercore-encrypted' | 'backspace' | 'cabal' | 'cabal-ram' | 'ws'

/** Cabal either way. */
export const isCabal = (k: Kind | string): k is 'cabal' | 'cabal-ram' => k === 'cabal' || k === 'cabal-ram'
/** writer = A, reader = B, joiner = a fresh peer C, server = the WebSocket relay. */
export type Role = 'writer' | 'reader' | 'joiner' | 'server'

/**
 * How a payload is used: warm-up (w), back-to-back latency (l), paced latency (p),
 * throughput (t), join history (h). Payloads of another tag than the one expected are
 * received and not counted.
 */
export type Tag = 'w' | 'l' | 'p' | 't' | 'h'
const TAGS: readonly string[] = ['w', 'l', 'p', 't', 'h']

export interface InitMessage {
  type: 'init'
  kind: Kind
  role: Role
  bootstrap: Array<{ host: string; port: number }>
  /** Shared by all sides: the swarm topic (hex), or the Backspace room name. */
  rendezvous: string
  /**
   * The writer's core key or cabal key (hex), for readers and joiners that need it; for
   * Backspace, an invite to join instead of the named room `rendezvous`.
   */
  coreKey: string | null
  /** Backspace writer: create a private room (its invite comes back as `coreKey`). */
  create?: boolean
  /** The loopback TCP port to dial: the Cabal writer's replication server, or the ws relay. */
  port: number | null
  /** The Hypercore block encryption key (hex) when the core is encrypted. */
  encryptionKey: string | null
  /** A fresh storage directory for this worker. */
  dir: string
  /** Bytes of a message text (Backspace, Cabal, ws). */
  textBytes: number
  /** Bytes of a raw Hypercore block: the size of a one-message Backspace block with such a text. */
  blockBytes: number
  /** Bytes of a raw socket frame. */
  frameBytes: number
}

/**
 * Parent → writer: send `count` payloads one at a time, awaiting each send (the contender's
 * own completion: stored locally, or written to the socket). With `intervalMs` > 0 the sends
 * keep a fixed rate: payload k is sent at start + k × intervalMs (at once if the previous
 * send resolved later than that); with 0, back to back.
 */
export interface SequenceMessage {
  type: 'sequence'
  tag: Tag
  count: number
  intervalMs: number
}

/**
 * Parent → writer: send `count` payloads without awaiting them. `batch` > 0 hands them over
 * in arrays of that many (raw Hypercore's batched append); 0 means one call per payload.
 */
export interface BurstMessage {
  type: 'burst'
  tag: Tag
  count: number
  batch: number
  /**
   * Raw Hypercore: pack each batch's payloads into blocks of up to Backspace's target block
   * size (lib/messages.ts TARGET_BLOCK_BYTES), as Backspace packs the sends of one tick, rather
   * than one block per payload.
   */
  pack?: boolean
}

/** Parent → reader: count payloads with `tag` until `count` arrived. */
export interface ExpectMessage {
  type: 'expect'
  tag: Tag
  count: number
  /** Post a `got` for each payload as it arrives (the writers workload waits on them). */
  report?: boolean
  /**
   * Read this process's idle CPU for this long before answering `expecting`, then report the
   * CPU the run cost (`received.cpu`): what receiving a message costs, net of idle.
   */
  idleMs?: number
}

/** Parent → joiner: start with empty storage and show the latest `page` of `total` messages. */
export interface JoinMessage {
  type: 'join'
  total: number
  page: number
}

export type ParentMessage =
  | InitMessage
  | SequenceMessage
  | BurstMessage
  | ExpectMessage
  | JoinMessage
  /** Parent → Backspace reader: what it stored since the last `received` or `stored`. */
  | { type: 'take-stored' }
  | { type: 'close' }

export interface JoinResult {
  /** From the joiner's start (empty storage) to the latest page being shown. */
  ms: number
  /** From the first connection to a peer to the latest page being shown. */
  afterConnectMs: number
  /** How many messages the page held. */
  shown: number
  /** Resident memory of the joiner when the page was shown, in bytes. */
  rss: number
}

export type WorkerMessage =
  /** The worker is set up; a Hypercore or Cabal writer tells its key, a server its port. */
  | { type: 'ready'; coreKey: string | null; port: number | null }
  /** The worker is connected to its peer and can send or receive. */
  | { type: 'connected' }
  /** Reader: the reader is counting payloads of the announced tag. */
  | { type: 'expecting' }
  /**
   * Reader: every expected payload arrived. `latencies` are one-way, in microseconds, to the
   * payload being shown. A Backspace reader adds `stored`: each time the contiguous length of
   * the replicas it holds grew, [time (ns), length], so the parent can tell when each message
   * was stored and verified (confirmed), not only shown.
   */
  | {
      type: 'received'
      tag: Tag
      count: number
      lastNs: string
      latencies: number[]
      stored: Array<[string, number]> | null
      /** With `idleMs`: CPU µs from `expecting` to the last payload, that span, and idle µs per s. */
      cpu?: ReceiverCpu
    }
  /**
   * Writer: every payload was handed over, and stored locally (for Hypercore, Backspace
   * and Cabal). `stored` has each awaited send's time until it resolved, in microseconds.
   */
  | {
      type: 'sent'
      tag: Tag
      firstNs: string
      storedNs: string
      stored: number[]
      /** Each payload's stamp (ns), for a sequence. */
      stamps: string[]
      /**
       * Backspace, a sequence of awaited sends: the writer's log length once each payload was
       * appended (one block per awaited send), or null when the log did not grow by exactly
       * one block per send.
       */
      blocks: number[] | null
    }
  | ({ type: 'joined' } & JoinResult)
  /** Reader: the answer to `take-stored`. */
  | { type: 'stored'; stored: Array<[string, number]> }
  /** Reader, when asked to report: one payload arrived. */
  | { type: 'got'; seq: number }
  | { type: 'closed' }
  | { type: 'error'; message: string }

/** A payload's header: `tag|seq|stampNs|`, padded with dots to the size wanted. */
export function makePayload(tag: Tag, seq: number, bytes: number): string {
  const head = `${tag}|${seq}|${process.hrtime.bigint()}|`
  return head.length >= bytes ? head : head + '.'.repeat(bytes - head.length)
}

export interface Header {
  tag: Tag
  seq: number
  stampNs: bigint
}

export function parseHeader(text: string): Header | null {
  const parts = text.split('|', 3)
  if (parts.length < 3) return null
  const [tag, seq, stamp] = parts as [string, string, string]
  if (!TAGS.includes(tag)) return null
  try {
    return { tag: tag as Tag, seq: Number(seq), stampNs: BigInt(stamp) }
  } catch {
    return null
  }
}

/**
 * Every peer of a bench run is on 127.0.0.1, so the per-address limit on inbound connections
 * (default 16) would refuse peers that are only many local processes.
 */
// The bench measures throughput, not the rate limit (15 messages in 10 s by default).
export const LOOPBACK_LIMITS = { maxPeers: 4096, maxPeersPerIp: 4096, rateLimit: false } as const

/** A reader's CPU over one run (ExpectMessage.idleMs). */
export interface ReceiverCpu {
  /** process.cpuUsage() µs, user + system, from `expecting` to the last payload. */
  us: number
  /** That span, ms. */
  ms: number
  /** The same process's CPU µs per second over `idleMs` just before. */
  idleUsPerS: number
}
