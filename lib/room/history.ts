// Reading the writers' cores: the latest page of each when the room opens, older pages when
// the timeline is paged back, and each writer's new blocks as Hypercore brings them.
import { backgroundError } from '../resource.js'
import type { Timeline } from '../timeline.js'
import type { Message } from '../types.js'
import type { RoomContext, RoomSelf } from './context.js'
import type { Feed } from './feed.js'
import type { Ingest } from './ingest.js'

// Live blocks are requested this many at a time per writer.
const FETCH_WINDOW = 512
// How long the Hypercore copy of live-delivered blocks may wait, in ms, to be fetched in bulk.
const CATCH_UP_DELAY = 100

export class History {
  private readonly room: RoomSelf
  private readonly ctx: Pick<RoomContext, 'historyPage' | 'fetchTimeout' | 'changed'>
  private readonly feeds: { values(): Iterable<Feed> }
  private readonly timeline: Pick<Timeline, 'countBefore'>
  private readonly ingest: Pick<Ingest, 'block'>
  // While any channel is open, writers' blocks may also come live (see onAppend).
  private readonly channels: { readonly size: number }

  constructor(
    room: RoomSelf,
    ctx: Pick<RoomContext, 'historyPage' | 'fetchTimeout' | 'changed'>,
    feeds: { values(): Iterable<Feed> },
    timeline: Pick<Timeline, 'countBefore'>,
    ingest: Pick<Ingest, 'block'>,
    channels: { readonly size: number }
  ) {
    this.room = room
    this.ctx = ctx
    this.feeds = feeds
    this.timeline = timeline
    this.ingest = ingest
    this.channels = channels
  }

  /**
   * Makes sure that, for every writer, the timeline holds `limit` messages before `before`,
   * or everything that writer has that is still alive. Reads go back from the lowest loaded
   * index, so a joiner fetches about a page per writer, never the whole history.
   */
  async load(limit: number, before: Message | null, localOnly: boolean): Promise<void> {
    await Promise.all([...this.feeds.values()].map((f) => this.loadFeed(f, limit, before, localOnly)))
  }

  /** Stops the catch-ups that were scheduled. */
  close(): void {
    for (const feed of this.feeds.values()) if (feed.catchUp) clearTimeout(feed.catchUp)
  }

  private async loadFeed(feed: Feed, limit: number, before: Message | null, localOnly: boolean): Promise<void> {
    while (!this.room.closing && !feed.fresh && feed.indexedFrom > feed.floor) {
      const have = this.timeline.countBefore(before, (m) => m.id.startsWith(feed.idPrefix), limit)
      if (have >= limit) return
      const to = feed.indexedFrom
      const from = Math.max(feed.floor, to - Math.max(limit - have, 16))
      const wait = !localOnly && feed.core.peers.length > 0
      const blocks = await feed.getRange(from, to, { wait, timeout: this.ctx.fetchTimeout })
      if (this.room.closing) return
      let lowest = to
      for (let i = blocks.length - 1; i >= 0; i--) {
        const block = blocks[i]
        if (!block) {
          // A block cleared because its messages were deleted: step over it.
          if (feed.holes.has(from + i)) {
            lowest = from + i
            continue
          }
          break
        }
        if (this.ingest.block(feed, from + i, block, false) === 'expired') {
          // Writers stamp their messages in order, so everything below this one expired too.
          feed.hintStart = Math.max(feed.hintStart, from + i + 1)
          lowest = from + i + 1
          break
        }
        lowest = from + i
      }
      if (lowest === to && feed.indexedFrom > feed.floor) return // nothing more can be had now
      feed.indexedFrom = Math.max(lowest, feed.floor)
      feed.storedFrom = Math.min(feed.storedFrom, feed.indexedFrom)
    }
  }

  // While a writer's blocks also come live on the channel, their Hypercore copies are
  // fetched a little later and in batches: reading them at once would put this node's
  // requests, and the writer's proof reads, on the path of the next live message.
  onAppend(feed: Feed): void {
    if (feed.owner === null || this.channels.size === 0) return this.pump(feed)
    if (feed.catchUp !== null) return
    feed.catchUp = setTimeout(() => {
      feed.catchUp = null
      this.pump(feed)
    }, CATCH_UP_DELAY)
  }

  /** Delivers a writer's blocks this node has not seen yet, in order; one pump per writer at a time. */
  pump(feed: Feed): void {
    if (this.room.closing || feed.local) return
    if (feed.pumping) {
      feed.pumpAgain = true
      return
    }
    feed.pumping = this.runPump(feed)
      .catch((err) => backgroundError(this.room, err))
      .finally(() => {
        feed.pumping = null
        if (feed.pumpAgain) {
          feed.pumpAgain = false
          this.pump(feed)
        }
      })
  }

  private async runPump(feed: Feed): Promise<void> {
    await feed.core.ready()
    const page = this.ctx.historyPage
    while (!this.room.closing) {
      const length = feed.core.length
      if (feed.fresh) {
        // A writer seen for the first time: start at its latest page, not its beginning.
        if (length === 0) return
        feed.fresh = false
        feed.start = feed.hintStart
        feed.seen = feed.storedFrom = feed.indexedFrom = Math.max(feed.floor, length - page)
      }
      const from = Math.max(feed.seen, feed.floor)
      if (from >= length) {
        feed.seen = Math.max(feed.seen, from)
        return
      }
      if (length - from > 2 * page) {
        // Back after a long absence: show the latest page first, then fill the gap.
        if (!(await this.fetchLive(feed, length - page, length))) return
        if (!(await this.fetchLive(feed, from, length - page))) return
      } else if (!(await this.fetchLive(feed, from, length))) {
        return
      }
      feed.seen = length
      this.ctx.changed()
    }
  }

  // Fetches [from, to) in windows and delivers each message in order. False if interrupted.
  private async fetchLive(feed: Feed, from: number, to: number): Promise<boolean> {
    for (let start = from; start < to; start += FETCH_WINDOW) {
      const end = Math.min(to, start + FETCH_WINDOW)
      const blocks = await feed.getRange(start, end, { wait: true })
      if (this.room.closing) return false
      for (let i = 0; i < blocks.length; i++) {
        const block = blocks[i]
        if (!block) {
          if (feed.holes.has(start + i)) continue // cleared: its messages were deleted
          return false // the session closed under us
        }
        this.ingest.block(feed, start + i, block, true)
      }
      if (feed.seen >= start && feed.seen < end) feed.seen = end
    }
    return true
  }
}
