// Expiry: a room drops messages older than its TTL from memory and deletes their blocks
// from disk. A relay, which cannot read blocks, decides by when it saw them instead; both
// clear the same way.
import type { ApplyStage } from './apply.js'
import type { RoomContext, RoomSelf } from './context.js'
import { decodeBodyOrNull, type Feed } from './feed.js'
import type { WriterFeed } from './writers.js'

/** Whether a record stamped `timestamp` has expired at `now`. */
export function isExpired(timestamp: number, now: number, ttl: number): boolean {
  return timestamp + ttl <= now
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
    await feed.core.clear(feed.start, boundary)
    const from = feed.start
    feed.start = boundary
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
    for (const feed of this.feeds.values()) {
      for (const index of feed.loaded.keys()) if (index < feed.start) feed.loaded.delete(index)
      for (const index of feed.holes) if (index < feed.start) feed.holes.delete(index)
    }
    this.stats.messages = this.apply.size
    if (changed) this.ctx.changed()
  }

  /**
   * The first index of `feed` whose block is still alive, found by binary search over the
   * contiguous stored range (a writer's timestamps never decrease). Blocks that are not
   * stored count as alive: this node cannot tell, and has nothing of them to delete.
   */
  private async boundary(feed: Feed, now: number): Promise<number> {
    let lo = Math.max(feed.start, feed.storedFrom)
    let hi = Math.min(feed.seen, feed.core.length)
    if (lo >= hi) return feed.start
    const first = lo
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const block = await feed.core.get(mid, { wait: false }).catch(() => null)
      // Undecodable blocks are garbage and go with the expired ones.
      const body = block ? decodeBodyOrNull(block) : null
      const ts = body ? body.records[body.records.length - 1]!.timestamp : null
      const expired = block !== null && (ts === null || this.isExpired(ts, now))
      if (expired) lo = mid + 1
      else hi = mid
    }
    return lo === first ? feed.start : lo
  }
}
