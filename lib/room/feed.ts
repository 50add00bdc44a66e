import b4a from 'b4a'
import { BackspaceError } from '../errors.js'
import type Hypercore from 'hypercore'
import { decodeMessageBlock, MAX_HOLES, type BlockBody, type FeedState, type LengthMark } from '../messages.js'
import type { Admission } from './admission.js'

/** A block loaded this session: its first seq, how many records, and whether they are all messages or edits. */
export interface LoadedBlock {
  seq: number
  count: number
  /** Every record is a message or an edit: cleared once all of them are dead. */
  content: boolean
}

/** A block shown from the channel that Hypercore has not delivered yet. */
export interface UnconfirmedBlock {
  seq: number
  count: number
  /** The bytes shown: Hypercore's copy, if identical, needs no second decode. */
  block: Buffer
  /** The clear bytes of its encryption, if the writer sent them: it can be stored without a download. */
  padding: Buffer | null
}

/**
 * One writer core in a room, this node's own or a member's, and how far this node has read,
 * stored and pruned it. Indexes satisfy start <= storedFrom <= indexedFrom <= seen <= length,
 * except that a feed read tail-first after a long absence fills [seen, tail) in the background.
 */
export class Feed {
  readonly key: Buffer
  readonly hex: string
  readonly core: Hypercore
  /** True for this node's own writer core. */
  readonly local: boolean
  /**
   * Every block below this index has expired and was cleared. Only this node's own checks
   * move it: its expiry, or a block of this core it fetched, verified and found expired.
   */
  start: number
  /** The lowest index stored locally; [storedFrom, seen) is stored contiguously. */
  storedFrom: number
  /** Every block below this index has been delivered once (as an event or from storage). */
  seen: number
  /** The lowest index loaded into the room's timeline this session. */
  indexedFrom: number
  /**
   * A peer's word that blocks below this index expired: in memory only, never saved, never
   * passed on, never a reason to refuse a block. Reads may begin there until it is checked
   * (see History), and only while it is within the core's verified length.
   */
  hintStart: number
  /** The hint value last checked, so a hint is checked once. */
  hintChecked: number
  /** Blocks a read stepped over on a peer's word: read after all if that word proves false. */
  skipped: { from: number; to: number } | null
  /** Until the core's length is known, where to start reading it is undecided. */
  fresh: boolean
  // The running pump, so pumps never overlap, and whether another one was asked for meanwhile.
  pumping: Promise<void> | null
  pumpAgain: boolean
  /**
   * The device that signs this core's blocks: the one the core's own key pair named in its
   * proof (Admission.bound), or else learned from a block Hypercore verified as this core's.
   * Only its blocks are accepted, live or stored; the live path shows them from the first.
   */
  owner: Buffer | null
  /** Blocks shown from the channel that Hypercore has not delivered yet: index → messages. */
  readonly unconfirmed = new Map<number, UnconfirmedBlock>()
  /**
   * One past the highest index this node showed from the channel this session, withdrawn or
   * not: below it, this node was following the writer live (see History's catch-up).
   */
  liveTo: number
  /** When, ms, Hypercore's verified length of the core last grew here, or the core was opened. */
  grewAt: number
  /** A scheduled, batched fetch of blocks that already arrived live. */
  catchUp: NodeJS.Timeout | null
  /** Storing live blocks from their live copies (see live-store.ts): one run at a time. */
  storing: Promise<boolean> | null
  /** The prefix of the ids of this core's messages. */
  readonly idPrefix: string
  /** Blocks loaded into the room this session: index → the seqs they hold. */
  readonly loaded = new Map<number, LoadedBlock>()
  /**
   * Blocks cleared because every message in them was deleted: reads skip them instead of
   * waiting for a block that no peer should have any more.
   */
  readonly holes: Set<number>
  /**
   * When this node first verified the core's blocks: every block below `length` was verified
   * by `time`. A record's time never goes past its block's (see `markVerified` in expiry.ts).
   */
  readonly marks: LengthMark[]
  /** Whether the last mark may still move forward: only while no record's time rests on it. */
  markOpen: boolean
  /** How the core was admitted (see WriterSet); null while it is on trial. */
  admission: Admission | null
  /** Set once the core left the room's set: nothing more is fetched for it. */
  dropped: boolean
  /** The code of the last error a read of a block ended with (Hypercore's), for diagnostics. */
  fetchError: string | null
  /** Waits for a block from peers that Hypercore ended with no block and no error (see `fetch`). */
  emptyReads: number
  /**
   * Blocks a read wanted from peers and did not ask for (diagnostics): over the quota, or
   * not to be fetched (`mayFetch`: on trial, or dropped).
   */
  readonly notFetched = { quota: 0, gated: 0 }
  /** How the last read of new blocks ended (see History), for diagnostics. */
  readEnd: string
  /** Bytes of this core stored here, as far as this node counts them (see Room's quota). */
  bytes: number
  /**
   * Whether block `index` may be fetched from peers now: not for a core that was dropped, and
   * only the latest few of a core on trial. Local blocks always load.
   */
  mayFetch: (index: number) => boolean
  /**
   * Of `wanted` blocks to fetch from peers, how many the quota allows now, each counted at
   * the largest size a block may have: fetches never take the node past its quota.
   */
  fetchBudget: (wanted: number) => number

  constructor(key: Buffer, core: Hypercore, local: boolean, state: FeedState | null, admission: Admission | null = null) {
    this.key = key
    this.hex = key.toString('hex')
    this.core = core
    this.local = local
    this.start = state ? state.start : 0
    this.storedFrom = state ? state.storedFrom : 0
    this.seen = state ? state.seen : 0
    this.indexedFrom = this.seen
    this.hintStart = this.start
    this.hintChecked = this.start
    this.skipped = null
    // A writer nothing was ever read from is treated as new: read from its latest page.
    this.fresh = !local && (state === null || state.seen === 0)
    this.pumping = null
    this.pumpAgain = false
    this.owner = boundDevice(local, admission)
    this.liveTo = 0
    this.grewAt = Date.now()
    this.catchUp = null
    this.storing = null
    this.idPrefix = `${key.toString('hex', 0, 16)}-`
    this.holes = new Set(state?.holes ?? [])
    this.marks = state?.marks?.map((m) => ({ time: m.time, length: m.length })) ?? []
    // A restored mark may carry the time of a record shown before the restart.
    this.markOpen = false
    this.admission = admission
    this.dropped = false
    this.fetchError = null
    this.readEnd = 'none'
    this.emptyReads = 0
    this.bytes = 0
    this.mayFetch = () => true
    this.fetchBudget = (wanted) => wanted
  }

  markLoaded(index: number, seq: number, count: number, content = false): void {
    this.loaded.set(index, { seq, count, content })
  }

  /** The index of the loaded block that holds message `seq`, if any. */
  blockOf(seq: number): number | undefined {
    for (const [index, b] of this.loaded) if (seq >= b.seq && seq < b.seq + b.count) return index
    return undefined
  }

  /**
   * Where reads may stop going down: the verified start, or a peer's unchecked word that
   * blocks below it expired, if that word is within the core's verified length. A hint past
   * it could only hide blocks the writer has not written yet, so it is ignored.
   */
  get readFloor(): number {
    if (this.local || this.hintStart > this.core.length) return this.start
    return Math.max(this.start, this.hintStart)
  }

  state(): FeedState {
    const state: FeedState = { key: this.key, start: this.start, storedFrom: this.storedFrom, seen: this.seen }
    const holes = [...this.holes].filter((i) => i >= this.start)
    if (holes.length > 0) state.holes = holes.slice(-MAX_HOLES)
    if (this.marks.length > 0) state.marks = this.marks.map((m) => ({ time: m.time, length: m.length }))
    if (this.admission) {
      state.admitted = true
      if (this.admission.proof) state.proof = this.admission.proof
    }
    return state
  }

  /**
   * Blocks [from, to) in order. With `wait` false only local blocks are returned; otherwise
   * missing blocks are fetched from peers, giving up after `timeout` ms (0 waits for ever).
   * A block that could not be had is null.
   */
  async getRange(
    from: number,
    to: number,
    opts: { wait: boolean; timeout?: number }
  ): Promise<Array<Buffer | null>> {
    const gets: Array<Promise<Buffer | null>> = []
    const getOpts = opts.wait ? { wait: true, timeout: opts.timeout ?? 0 } : { wait: false }
    const localOnly = { wait: false }
    // Blocks not stored here count against the quota; the latest ones are fetched first.
    const remote: boolean[] = new Array(Math.max(0, to - from)).fill(opts.wait && !this.dropped)
    if (opts.wait && !this.local && !this.dropped && to > from && !(await this.core.has(from, to).catch(() => false))) {
      const missing: number[] = []
      for (let i = to - 1; i >= from; i--) {
        if (!this.holes.has(i) && !(await this.core.has(i).catch(() => false))) missing.push(i)
      }
      let budget = missing.length > 0 ? this.fetchBudget(missing.length) : 0
      for (const i of missing) {
        const allowed = this.mayFetch(i)
        const fetch = budget > 0 && allowed
        if (fetch) budget--
        else if (allowed) this.notFetched.quota++
        else this.notFetched.gated++
        remote[i - from] = fetch
      }
    }
    for (let i = from; i < to; i++) {
      if (this.holes.has(i) || this.dropped) {
        gets.push(Promise.resolve(null))
        continue
      }
      gets.push(remote[i - from] ? this.fetch(i, getOpts) : this.get(i, localOnly))
    }
    return Promise.all(gets)
  }

  // A block from peers. Hypercore can end a wait for one with no block and no error (at 80
  // members, reads of a writer's last blocks did so again and again while one get of the
  // same block, asked at the end, had it): asked once more then, which waits for it afresh.
  private async fetch(index: number, opts: { wait: boolean; timeout?: number }): Promise<Buffer | null> {
    const block = await this.get(index, opts)
    if (block !== null || this.dropped || this.holes.has(index)) return block
    this.emptyReads++
    return this.get(index, opts)
  }

  private get(index: number, opts: { wait: boolean; timeout?: number }): Promise<Buffer | null> {
    return this.core.get(index, opts).catch((err: { code?: unknown }) => {
      this.fetchError = typeof err?.code === 'string' ? err.code : 'ERROR'
      return null
    })
  }
}

/** A message id: the writer core (16 bytes of it) and the seq, unique across peers. */
export function messageId(coreKey: Buffer, seq: number): string {
  return `${coreKey.toString('hex', 0, 16)}-${seq}`
}

/** The id of the message a record targets (`core` is the first 16 bytes of the writer core). */
export function messageId16(core: Buffer, seq: number): string {
  return `${core.toString('hex')}-${seq}`
}

const MESSAGE_ID = /^([0-9a-f]{32})-(0|[1-9][0-9]{0,15})$/

/** The writer-core prefix and seq of a message id. Throws MESSAGE_NOT_FOUND for a malformed one. */
export function parseMessageId(id: string): { core: Buffer; seq: number } {
  const m = typeof id === 'string' ? MESSAGE_ID.exec(id) : null
  const seq = m ? Number(m[2]) : NaN
  if (!m || !Number.isSafeInteger(seq)) throw BackspaceError.MESSAGE_NOT_FOUND(`${String(id)} is not a message id`)
  return { core: Buffer.from(m[1]!, 'hex'), seq }
}

/** The body of a stored block, or null if it does not decode. */
export function decodeBodyOrNull(block: Buffer): BlockBody | null {
  try {
    return decodeMessageBlock(block).body
  } catch {
    return null
  }
}

/** The device a core's proof binds it to (see `Feed.owner`), or null. */
export function boundDevice(local: boolean, admission: Admission | null): Buffer | null {
  return !local && admission?.bound && admission.device !== null ? b4a.from(admission.device, 'hex') : null
}
