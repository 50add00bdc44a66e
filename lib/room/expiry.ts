// Expiry: a room drops messages older than its TTL from memory and deletes their blocks
// from disk. A relay, which cannot read blocks, decides by when it saw them instead; both
// clear the same way.
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
