// Expiry: a room drops messages older than its TTL from memory and deletes their blocks
// from disk. A relay, which cannot read blocks, decides by when it saw them instead; both
// clear the same way.
//
// Time has one rule, here. A record's effective time is its stamp, but never later than when
// this node first verified the block that holds it: a block stamped a year ahead is placed,
// and expires, as of when it arrived. First-verified times are kept per writer as length
// marks (every block below `length` was verified by `time`) and saved with the room, so the
// value is the same after a restart. The timeline orders by it, `messages()` filters by it,
// and pruning deletes by it, in memory and on disk.
import type { ApplyStage } from './apply.js'
import { clearBlocks } from './clear-blocks.js'
import type { RoomContext, RoomSelf } from './context.js'
import { decodeBodyOrNull, type Feed } from './feed.js'
import { MAX_LENGTH_MARKS, type BlockBody, type LengthMark } from '../messages.js'
import type { WriterFeed } from './writers.js'

/** Whether a record of effective time `timestamp` has expired at `now`. */
export function isExpired(timestamp: number, now: number, ttl: number): boolean {
  return timestamp + ttl <= now
}

/** A record's effective time: its stamp, but never later than its block's first verification. */
export function effectiveTime(stamp: number, firstVerified: number | null): number {
  return firstVerified === null ? stamp : Math.min(stamp, firstVerified)
}

/** The latest stamp of a block's records: a block has expired once all of them have. */
export function latestStamp(body: BlockBody): number {
  let latest = 0
  for (const r of body.records) if (r.timestamp > latest) latest = r.timestamp
  return latest
}

/** The position of the first mark past block `index` (marks.length if none is). */
function markOf(marks: readonly LengthMark[], index: number): number {
  let lo = 0
  let hi = marks.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (marks[mid]!.length > index) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** When this node first verified block `index`, by its marks; null if it never did. */
export function firstVerified(marks: readonly LengthMark[], index: number): number | null {
  const i = markOf(marks, index)
  return i < marks.length ? marks[i]!.time : null
}

// Marks are coarse, as a relay's are: within one slot of 1/200 of the TTL the last mark moves
// forward in time and length, as long as no record's time rests on it.
const MARK_SLOTS = 200

/**
 * Notes that block `index` of `feed`, whose records claim times up to `stamp`, is verified at
 * `now`, and returns when the block was first verified. A stamp later than that makes the
 * record's time rest on the mark, which then never moves again. `changed`: save the marks.
 */
export function markVerified(
  feed: Pick<Feed, 'marks' | 'markOpen'>,
  index: number,
  stamp: number,
  now: number,
  ttl: number
): { at: number; changed: boolean } {
  const marks = feed.marks
  let changed = false
  let i = markOf(marks, index)
  if (i === marks.length) {
    const last = marks[marks.length - 1]
    // Marks only go forward, even if the clock does not.
    const time = Math.max(now, last?.time ?? 0)
    const slot = ttl / MARK_SLOTS
    if (last && feed.markOpen && Math.floor(last.time / slot) === Math.floor(time / slot)) {
      // Not saved at once: if a crash loses the move, its blocks are marked again later, and
      // no record's time rests on this mark.
      last.time = time
      last.length = index + 1
      i = marks.length - 1
    } else {
      marks.push({ time, length: index + 1 })
      feed.markOpen = true
      changed = true
      if (marks.length > MAX_LENGTH_MARKS) mergeClosestMarks(feed)
      i = markOf(marks, index)
    }
  }
  const at = marks[i]!.time
  if (stamp > at && feed.markOpen && i === marks.length - 1) {
    feed.markOpen = false
    changed = true
  }
  return { at, changed }
}

// Over the cap, the two marks closest in time become one: the earlier one's blocks take the
// later time. Only a record stamped later than it arrived has its time moved, and by the
// smallest gap there is (at most TTL / 255 while the marks span one TTL).
function mergeClosestMarks(feed: Pick<Feed, 'marks' | 'markOpen'>): void {
  const marks = feed.marks
  let best = 0
  for (let i = 1; i < marks.length - 1; i++) {
    if (marks[i + 1]!.time - marks[i]!.time < marks[best + 1]!.time - marks[best]!.time) best = i
  }
  marks.splice(best, 1)
  if (best === marks.length - 1) feed.markOpen = false
}

/**
 * Deletes each writer's blocks below the boundary `boundaryOf` gives and moves the writer's
 * start there; `cleared` then moves whatever else follows the start. Returns whether any
 * start moved, or null if the room began to close meanwhile.
 */
export async function clearExpired<F extends WriterFeed>(
  feeds: Iterable<F>,
  closing: () => boolean,
  boundaryOf: (feed: F) => number | Promise<number>,
  cleared: (feed: F, from: number) => void
): Promise<boolean | null> {
  let moved = false
  for (const feed of feeds) {
    if (closing()) return null
    const boundary = await boundaryOf(feed)
    if (boundary <= feed.start) continue
    const from = feed.start
    // Moved before the clear: a block that lands while it runs (a download asked for earlier,
    // a live copy being stored) is then below the start, and leaves as it lands (Room's
    // 'download' handler, LivePath.storeNow); no later prune goes back below it. If the clear
    // fails, the start goes back, so that the next prune tries again.
    feed.start = boundary
    try {
      await clearBlocks(feed.core, from, boundary)
    } catch (err) {
      if (feed.start === boundary) feed.start = from
      throw err
    }
    cleared(feed, from)
    moved = true
  }
  return moved
}

/** A room's expiry: at open, every `pruneInterval` and on demand; one prune at a time. */
export class Expiry {
  private readonly room: RoomSelf
  private readonly ctx: Pick<RoomContext, 'now' | 'ttl' | 'changed' | 'erased'>
  private readonly feeds: { values(): Iterable<Feed> }
  private readonly apply: ApplyStage
  private readonly stats: { messages: number }
  // The prune under way, which a second caller joins instead of starting another.
  private pruning: Promise<void> | null

  constructor(
    room: RoomSelf,
    ctx: Pick<RoomContext, 'now' | 'ttl' | 'changed' | 'erased'>,
    feeds: { values(): Iterable<Feed> },
    apply: ApplyStage,
    stats: { messages: number }
  ) {
    this.room = room
    this.ctx = ctx
    this.feeds = feeds
    this.apply = apply
    this.stats = stats
    this.pruning = null
  }

  isExpired(timestamp: number, now: number): boolean {
    return isExpired(timestamp, now, this.ctx.ttl)
  }

  prune(): Promise<void> {
    if (this.pruning) return this.pruning
    this.pruning = this.run().finally(() => {
      this.pruning = null
    })
    return this.pruning
  }

  /** Waits for a prune under way to end; whoever started it hears of its errors. */
  async close(): Promise<void> {
    if (this.pruning) await this.pruning.catch(() => {})
  }

  private async run(): Promise<void> {
    const now = this.ctx.now()
    const changed = await clearExpired(
      this.feeds.values(),
      () => !!this.room.closing,
      (feed) => this.boundary(feed, now),
      (feed) => {
        const boundary = feed.start
        feed.hintStart = Math.max(feed.hintStart, boundary)
        feed.storedFrom = Math.max(feed.storedFrom, boundary)
        feed.indexedFrom = Math.max(feed.indexedFrom, boundary)
        feed.seen = Math.max(feed.seen, boundary)
      }
    )
    if (changed === null) return
    if (changed) this.ctx.erased()
    this.apply.removeWhere((m) => this.isExpired(m.timestamp, now))
    this.apply.expireHeld(now - this.ctx.ttl)
    let marksDropped = false
    for (const feed of this.feeds.values()) {
      for (const index of feed.loaded.keys()) if (index < feed.start) feed.loaded.delete(index)
      for (const index of feed.holes) if (index < feed.start) feed.holes.delete(index)
      // A mark whose blocks are all cleared times nothing any more.
      while (feed.marks.length > 0 && feed.marks[0]!.length <= feed.start) {
        feed.marks.shift()
        marksDropped = true
      }
    }
    this.stats.messages = this.apply.size
    if (changed || marksDropped) this.ctx.changed(true)
  }

  /**
   * The first index of `feed` whose block is still alive. Every block below a mark older than
   * the TTL has expired, whatever it says. Above that, a binary search over the contiguous
   * stored range by effective time (a writer's stamps never decrease, nor do its marks).
   * Blocks that are not stored count as alive: this node cannot tell, and has nothing of them
   * to delete.
   */
  private async boundary(feed: Feed, now: number): Promise<number> {
    let marked = feed.start
    for (const m of feed.marks) {
      if (!this.isExpired(m.time, now)) break
      marked = Math.max(marked, Math.min(m.length, feed.core.length))
    }
    let lo = Math.max(feed.start, feed.storedFrom, marked)
    let hi = Math.min(feed.seen, feed.core.length)
    if (lo >= hi) return marked
    const first = lo
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (await this.expiredBlock(feed, mid, first, now)) lo = mid + 1
      else hi = mid
    }
    return lo === first ? marked : lo
  }

  // Whether block `index` of `feed` has expired, for the boundary search. A block cleared on
  // purpose (its messages deleted, or expired when it arrived) goes with the stored block
  // below it: nothing of it is left to keep, and the search stays a search over a prefix.
  private async expiredBlock(feed: Feed, index: number, first: number, now: number): Promise<boolean> {
    let i = index
    while (feed.holes.has(i)) if (--i < first) return true
    const block = await feed.core.get(i, { wait: false }).catch(() => null)
    if (block === null) return false
    // Undecodable blocks are garbage and go with the expired ones.
    const body = decodeBodyOrNull(block)
    if (!body) return true
    return this.isExpired(effectiveTime(latestStamp(body), firstVerified(feed.marks, i)), now)
  }
}
