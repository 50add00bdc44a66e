import type Hypercore from 'hypercore'
import type { FeedState } from './messages.js'

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
  /** Every block below this index has expired and was cleared. */
  start: number
  /** The lowest index stored locally; [storedFrom, seen) is stored contiguously. */
  storedFrom: number
  /** Every block below this index has been delivered once (as an event or from storage). */
  seen: number
  /** The lowest index loaded into the room's timeline this session. */
  indexedFrom: number
  /** A peer's word that blocks below this index expired; reads never go below it. */
  hintStart: number
  /** Until the core's length is known, where to start reading it is undecided. */
  fresh: boolean
  // The running pump, so pumps never overlap, and whether another one was asked for meanwhile.
  pumping: Promise<void> | null
  pumpAgain: boolean
  /**
   * The identity that signs this core's blocks, learned from a block Hypercore verified as
   * this core's. Only blocks by this author are accepted when sent directly on the channel.
   */
  owner: Buffer | null
  /** Blocks shown from the channel that Hypercore has not delivered yet: index → messages. */
  readonly unconfirmed = new Map<number, { seq: number; count: number }>()
  /** A scheduled, batched fetch of blocks that already arrived live. */
  catchUp: NodeJS.Timeout | null

  constructor(key: Buffer, core: Hypercore, local: boolean, state: FeedState | null) {
    this.key = key
    this.hex = key.toString('hex')
    this.core = core
    this.local = local
    this.start = state ? state.start : 0
    this.storedFrom = state ? state.storedFrom : 0
    this.seen = state ? state.seen : 0
    this.indexedFrom = this.seen
    this.hintStart = this.start
    // A writer nothing was ever read from is treated as new: read from its latest page.
    this.fresh = !local && (state === null || state.seen === 0)
    this.pumping = null
    this.pumpAgain = false
    this.owner = null
    this.catchUp = null
  }

  /** The lowest index worth reading: nothing below it is alive. */
  get floor(): number {
    return Math.max(this.start, this.hintStart)
  }

  state(): FeedState {
    return { key: this.key, start: this.start, storedFrom: this.storedFrom, seen: this.seen }
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
    for (let i = from; i < to; i++) gets.push(this.core.get(i, getOpts).catch(() => null))
    return Promise.all(gets)
  }
}

/** A message id: the writer core (16 bytes of it) and the index, unique across peers. */
export function messageId(coreKey: Buffer, seq: number): string {
  return `${coreKey.toString('hex', 0, 16)}-${seq}`
}
