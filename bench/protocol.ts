// The messages the benchmark's parent process and its worker processes exchange over IPC.
// Times cross the process boundary as decimal strings of process.hrtime.bigint() (the
// system-wide CLOCK_MONOTONIC), so no precision is lost.

/** What is measured: a raw Hyperswarm socket, a raw Hypercore, or a Backspace room. */
export type Kind = 'swarm' | 'hypercore' | 'hypercore-encrypted' | 'backspace'
export type Role = 'writer' | 'reader'

/** How a payload is used. Warm-up payloads are received like the others and not counted. */
export type Tag = 'lw' | 'l' | 'tw' | 't'

export interface InitMessage {
  type: 'init'
  kind: Kind
  role: Role
  bootstrap: Array<{ host: string; port: number }>
  /** Shared by writer and reader: the swarm topic (hex), or the Backspace room name. */
  rendezvous: string
  /** The writer's core key (hex), for the Hypercore reader. */
  coreKey: string | null
  /** The Hypercore block encryption key (hex) when the core is encrypted. */
  encryptionKey: string | null
  /** A fresh storage directory for this worker. */
  dir: string
  /** Bytes of a Backspace message text. */
  textBytes: number
  /** Bytes of a raw Hypercore block: the size of a one-message Backspace block with such a text. */
  blockBytes: number
  /** Bytes of a raw socket frame. */
  frameBytes: number
}

/** Parent → writer: send `count` payloads one at a time, each after the reader acked the last. */
export interface LockstepMessage {
  type: 'lockstep'
  tag: Tag
  count: number
}

/** Parent → writer: send `count` payloads in bursts of `burst`, each burst stored before the next. */
export interface BurstMessage {
  type: 'burst'
  tag: Tag
  count: number
  burst: number
}

/** Parent → reader: count payloads with `tag` until `count` arrived, acking each if `ack`. */
export interface ExpectMessage {
  type: 'expect'
  tag: Tag
  count: number
  ack: boolean
}

export type ParentMessage =
  InitMessage | LockstepMessage | BurstMessage | ExpectMessage | { type: 'ack' } | { type: 'close' }

export type WorkerMessage =
  /** The worker is set up; a Hypercore writer tells its core key. */
  | { type: 'ready'; coreKey: string | null }
  /** The worker is connected to its peer and can send or receive. */
  | { type: 'connected' }
  /** Reader: a payload of a lockstep run arrived. */
  | { type: 'ack' }
  /** Reader: the reader is counting payloads of the announced tag. */
  | { type: 'expecting' }
  /** Reader: every expected payload arrived. `latencies` are one-way, in microseconds. */
  | { type: 'received'; tag: Tag; count: number; lastNs: string; latencies: number[] }
  /**
   * Writer: every payload was handed over, and stored locally (for Hypercore and Backspace).
   * In a lockstep run, `stored` has each send's time until it resolved, in microseconds.
   */
  | { type: 'sent'; tag: Tag; firstNs: string; storedNs: string; stored: number[] }
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
  if (tag !== 'lw' && tag !== 'l' && tag !== 'tw' && tag !== 't') return null
  return { tag, seq: Number(seq), stampNs: BigInt(stamp) }
}
