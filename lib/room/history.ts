// Reading the writers' cores: the latest page of each when the room opens, older pages when
// the timeline is paged back, and each writer's new blocks as Hypercore brings them.
import { backgroundError } from '../resource.js'
import type { Timeline } from '../timeline.js'
import type { Message } from '../types.js'
import type { RoomContext, RoomSelf } from './context.js'
import { isExpired } from './expiry.js'
import { decodeMessageBlock, type DecodedBlock } from '../messages.js'
import { decodeBodyOrNull, type Feed } from './feed.js'
import type { Ingest } from './ingest.js'
import type { LivePath } from './live.js'
import { every, type Tick } from './ticker.js'

// Live blocks are requested this many at a time per writer.
const FETCH_WINDOW = 512
// How long, in ms, blocks shown live wait for their Hypercore copy to be stored (from their
// live copies, or fetched) in one batch: per block, that storage was most of a reader's work
// per message (docs/PERFORMANCE.md, issue 9's criterion). eccd2e9 fetched them this late too.
export const STORE_DELAY = 100
// A read of a writer's new blocks that could not have one of them (Hypercore cancelled the
// request: the session it waited on closed, say) is tried again this long after (ms), then
// twice as long each time it fails again, up to RETRY_MAX. Before, it waited for the writer's
// next append, and at 80 members members whose last blocks failed so never showed them. At
// the end of such a run the block a short member had not read came within 2 s when asked, so
// the failures pass: RETRY_MAX is short, one read per writer every 10 s at most.
const RETRY_FIRST = 1000
const RETRY_MAX = 10_000
// A writer none of whose latest blocks could be had yet (see runPump) waits up to this long
// (ms) between reads: cores announced by a member and never served cost a read a minute each.
const RETRY_MAX_NEW = 60_000
// How often (ms), while the room is connected, writers are checked for a read that should be
// running and is not: a core verified past what this node has read, with no read, store or
// retry running or scheduled for it. Every path that leaves a core so is meant to schedule
// one; at 80 members one member in a run still stopped a few blocks short of the last append,
// with nothing running and no error (docs/PERFORMANCE.md). The check reads such a core again
// and counts it (`stalls`), so a lost trigger costs a second, not the message.
const SWEEP_EVERY = 1000
// How many of the latest stalls `stalled` describes.
const STALLS_KEPT = 8

type HistoryContext = Pick<RoomContext, 'historyPage' | 'fetchTimeout' | 'changed' | 'erased' | 'now' | 'ttl'>

/**
 * A writer's expiry floor, as peers announce it, is a hint and never a fact here. A hint
 * within the core's verified length may decide where a read begins, so that a joiner does not
 * wait for blocks that every peer cleared; it is checked by fetching and verifying the block
 * just below it. Only what this node verified itself (that block, expired by its own clock, or
 * its own expiry) moves the floor it saves, refuses blocks below, and tells peers.
 */
export class History {
  private readonly room: RoomSelf
  private readonly ctx: HistoryContext
  private readonly feeds: { values(): Iterable<Feed> }
  private readonly timeline: Pick<Timeline, 'countBefore'>
  private readonly ingest: Pick<Ingest, 'block'>
  // While any channel is open, writers' blocks may also come live (see onAppend).
  private readonly channels: { readonly size: number }
  private readonly live: Pick<LivePath, 'store'>
  /** Catch-ups that left blocks to be read on demand (tests count them). */
  gaps: number
  /** Reads of new blocks tried again because a block could not be had (see RETRY_FIRST). */
  retried: number
  /** Writers found behind with nothing reading them, read again (see SWEEP_EVERY). */
  stalls: number
  /** The latest few of those, for diagnostics: where the core stood and how its last read ended. */
  readonly stalled: string[]
  private sweep: Tick | null
  // Since when (the room's clock) this node has been connected to someone in the room without
  // a break; null while it is not. Blocks stamped since then were written while it was here.
  private onlineSince: number | null
  // Reads to try again (see RETRY_FIRST): the timer, and the delay of the next one.
  private readonly retries = new Map<Feed, { timer: NodeJS.Timeout | null; delay: number }>()

  constructor(
    room: RoomSelf,
    ctx: HistoryContext,
    feeds: { values(): Iterable<Feed> },
    timeline: Pick<Timeline, 'countBefore'>,
    ingest: Pick<Ingest, 'block'>,
    channels: { readonly size: number },
    live: Pick<LivePath, 'store'>
  ) {
    this.room = room
    this.ctx = ctx
    this.feeds = feeds
    this.timeline = timeline
    this.ingest = ingest
    this.channels = channels
    this.live = live
    this.gaps = 0
    this.retried = 0
    this.stalls = 0
    this.stalled = []
    this.sweep = null
    this.onlineSince = null
  }

  /** A channel of the room opened or closed (`channels.size` counts them already). */
  connections(): void {
    if (this.channels.size === 0) {
      this.onlineSince = null
      this.stopSweep()
      return
    }
    this.onlineSince ??= this.ctx.now()
    if (this.sweep === null && !this.room.closing) {
      // On the period's shared tick: one wakeup for every room's sweep (lib/room/ticker.ts).
      this.sweep = every(SWEEP_EVERY, () => this.sweepStalls())
    }
  }

  private stopSweep(): void {
    this.sweep?.stop()
    this.sweep = null
  }

  // Reads the writers that are behind with nothing under way to read them (see SWEEP_EVERY).
  private sweepStalls(): void {
    if (this.room.closing) return this.stopSweep()
    for (const feed of this.feeds.values()) {
      if (feed.local || feed.dropped || feed.seen >= feed.core.length) continue
      if (feed.pumping !== null || feed.storing !== null || feed.catchUp !== null) continue
      if (this.retries.get(feed)?.timer) continue
      this.stalls++
      const note = `${feed.hex.slice(0, 8)} read ${feed.seen} of ${feed.core.length} (stored ${feed.core.contiguousLength}, live ${feed.unconfirmed.size}, to ${feed.liveTo}); last read: ${feed.readEnd}`
      if (this.stalled.push(note) > STALLS_KEPT) this.stalled.shift()
      this.pump(feed)
    }
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
    this.stopSweep()
    for (const feed of this.feeds.values()) if (feed.catchUp) clearTimeout(feed.catchUp)
    for (const retry of this.retries.values()) if (retry.timer) clearTimeout(retry.timer)
    this.retries.clear()
  }

  /** A core left the room: nothing of it is tried again. */
  forget(feed: Feed): void {
    const retry = this.retries.get(feed)
    if (retry?.timer) clearTimeout(retry.timer)
    this.retries.delete(feed)
  }

  // A read of `feed`'s new blocks could not have them all: tried again later, while the room
  // is connected (a channel that opens reads every writer again anyway), at most `max` ms on.
  private retryLater(feed: Feed, max: number, why: string): void {
    feed.readEnd = why
    if (this.room.closing || feed.dropped || this.channels.size === 0) return this.forget(feed)
    let retry = this.retries.get(feed)
    if (!retry) this.retries.set(feed, (retry = { timer: null, delay: RETRY_FIRST }))
    if (retry.timer !== null) return
    const delay = Math.min(retry.delay, max)
    retry.delay = Math.min(delay * 2, max)
    this.retried++
    retry.timer = setTimeout(() => {
      retry.timer = null
      this.pump(feed)
    }, delay)
  }

  // A read of `feed` reached the core's length: the next failure waits RETRY_FIRST again.
  private caughtUp(feed: Feed): void {
    const retry = this.retries.get(feed)
    if (retry && retry.timer === null) this.retries.delete(feed)
  }

  private async loadFeed(feed: Feed, limit: number, before: Message | null, localOnly: boolean): Promise<void> {
    while (!this.room.closing && !feed.fresh && feed.indexedFrom > feed.readFloor) {
      // Only messages from indexedFrom up count: below it lies a gap left by a catch-up, and
      // the messages loaded before the absence sit under that gap.
      const floorSeq = feed.loaded.get(feed.indexedFrom)?.seq ?? 0
      const prefix = feed.idPrefix
      const mine = (m: Message) => m.id.startsWith(prefix) && (floorSeq === 0 || Number(m.id.slice(prefix.length)) >= floorSeq)
      const have = this.timeline.countBefore(before, mine, limit)
      if (have >= limit) return
      const to = feed.indexedFrom
      // A page counts messages, not blocks: a writer that packs many messages per block is
      // read a block or two at a time (the density of the block above tells how many).
      const perBlock = feed.loaded.get(to)?.count ?? 1
      const need = limit - have
      const span = perBlock <= 1 ? Math.max(need, 16) : Math.ceil(need / perBlock)
      const from = Math.max(feed.readFloor, to - span)
      const wait = !localOnly && feed.core.peers.length > 0
      const blocks = await feed.getRange(from, to, { wait, timeout: this.ctx.fetchTimeout })
      if (this.room.closing) return
      let lowest = to
      let expiredBelow = 0
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
          // This node verified it itself: that is the writer's floor now.
          expiredBelow = lowest = from + i + 1
          break
        }
        lowest = from + i
      }
      if (expiredBelow > 0) await this.adoptFloor(feed, expiredBelow)
      if (lowest === to && feed.indexedFrom > feed.readFloor) return // nothing more can be had now
      feed.indexedFrom = Math.max(lowest, feed.readFloor)
      feed.storedFrom = Math.min(feed.storedFrom, feed.indexedFrom)
    }
  }

  // While a writer's blocks also come live on the channel, Hypercore's verified length is
  // all this node needs of it: the blocks shown live are stored from their live copies, which
  // Hypercore verifies against the signed tree (see live-store.ts), and nobody downloads them
  // again. That happens a little later and in batches (STORE_DELAY): one verification and one
  // storage write for the blocks of many appends instead of several writes per block, and
  // none of it on the path of the next live message. What cannot be stored that way (a frame
  // lost, an older writer's frame without its clear bytes) is then fetched, in batches too.
  onAppend(feed: Feed): void {
    if (feed.owner === null || this.channels.size === 0) return this.pump(feed)
    if (feed.catchUp !== null) return
    feed.catchUp = setTimeout(() => this.catchUp(feed), STORE_DELAY)
  }

  // Stores what came live below the core's new length; what cannot be stored so is fetched
  // (see fetchLive: only the blocks that came with no frame).
  private catchUp(feed: Feed): void {
    feed.catchUp = null
    if (this.room.closing) return
    this.live.store(feed).then(
      (done) => {
        if (!done && !this.room.closing) this.pump(feed)
      },
      (err: unknown) => backgroundError(this.room, err)
    )
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
      this.checkHint(feed)
      if (feed.fresh) {
        // A writer seen for the first time: start at its latest page, not its beginning.
        if (length === 0) {
          feed.readEnd = 'new, empty'
          return
        }
        const from = this.skipTo(feed, Math.max(feed.start, length - page), length)
        const lowest = await this.fetchLatest(feed, from, length, page)
        if (lowest === null) return this.retryLater(feed, RETRY_MAX, `new, interrupted at ${length}`)
        // Not one block to be had yet (a member that just joined, whose peers have not stored
        // its first block): still new, and tried again, or its writer stays unknown here and
        // its core on every connection.
        if (lowest === length && from < length) return this.retryLater(feed, RETRY_MAX_NEW, `new, none had of ${length}`)
        feed.fresh = false
        feed.storedFrom = feed.indexedFrom = lowest
        feed.seen = length
        this.ctx.changed()
        continue
      }
      const skipped = feed.skipped
      if (skipped !== null && feed.readFloor < skipped.to) {
        // The word that stepped over these blocks is gone (found false): read them after all.
        feed.skipped = null
        const begin = this.skipTo(feed, skipped.from, skipped.to)
        const lowest = await this.fetchHistory(feed, begin, skipped.to)
        if (lowest === null) {
          feed.skipped = skipped
          return this.retryLater(feed, RETRY_MAX, `stepped over, interrupted at ${skipped.to}`)
        }
        // Joined to what is stored and loaded above them, if nothing lies between.
        if (feed.storedFrom <= skipped.to) feed.storedFrom = Math.min(feed.storedFrom, lowest)
        if (feed.indexedFrom <= skipped.to) feed.indexedFrom = Math.min(feed.indexedFrom, lowest)
        this.ctx.changed()
        continue
      }
      const seen = Math.max(feed.seen, feed.start)
      const from = this.skipTo(feed, seen, length)
      if (from > seen) {
        // What is stored below is no longer contiguous with what is read from here.
        feed.storedFrom = Math.max(feed.storedFrom, from)
        feed.indexedFrom = Math.max(feed.indexedFrom, from)
        feed.seen = from
      }
      if (from >= length) {
        feed.readEnd = 'read to the end'
        return
      }
      if (length - from > page && !this.following(feed, from, length) && !(await this.writtenOnline(feed, from))) {
        // Back after a long absence: the latest page of messages, and the rest only when the
        // timeline is paged back to it. Memory holds a window, not the week (issue 11). Not
        // for a node following the conversation (see `following` and `writtenOnline`): the
        // blocks it fell behind on are delivered like the rest, or they would never be shown.
        // At 80 members, members online the whole time skipped whole runs of messages when
        // Hypercore's copies came in late and in large steps.
        const lowest = await this.fetchLatest(feed, from, length, page)
        if (lowest === null) return this.retryLater(feed, RETRY_MAX, `back, interrupted at ${length}`)
        if (lowest > from) {
          // [from, lowest) is read on demand by `load`, from indexedFrom down.
          feed.storedFrom = feed.indexedFrom = lowest
          this.gaps++
        }
      } else if (!(await this.fetchLive(feed, from, length))) {
        return this.retryLater(feed, RETRY_MAX, `not had, ${from} to ${length}`)
      }
      // Blocks stored from their live copies meanwhile may have moved it further.
      feed.seen = Math.max(feed.seen, length)
      this.caughtUp(feed)
      this.ctx.changed(true)
    }
  }

  // Whether blocks in [from, to) came live this session, still shown or since withdrawn
  // because Hypercore's copy came late: this node was following the writer there, and what
  // the live path could not store (a frame lost or refused, a copy withdrawn) is delivered.
  private following(feed: Feed, from: number, to: number): boolean {
    if (feed.liveTo > from) return true
    if (feed.loaded.size === 0) return false
    for (let i = to - 1; i >= from; i--) if (feed.loaded.has(i)) return true
    return false
  }

  // Whether block `index`, the first this node has not read, was stamped while this node has
  // been connected to the room: writers stamp in order, so everything after it was written
  // while this node was here, and it fell behind (the copies came through members who lagged,
  // in large steps), not away. One block fetched to tell; a writer that stamps its blocks
  // late can make this node read them all, as it can by appending less than a page at a time.
  private async writtenOnline(feed: Feed, index: number): Promise<boolean> {
    const since = this.onlineSince
    if (since === null) return false
    const [block] = await feed.getRange(index, index + 1, { wait: true, timeout: this.ctx.fetchTimeout })
    const body = block ? decodeBodyOrNull(block) : null
    return body !== null && body.records[0]!.timestamp >= since
  }

  // Where a read of [from, …) begins: at a peer's unchecked word that the blocks below it
  // expired, if that is higher (and at most `to`). The blocks stepped over are remembered, to
  // be read if the word proves false.
  private skipTo(feed: Feed, from: number, to: number): number {
    const floor = Math.min(feed.readFloor, to)
    if (floor <= from) return from
    const prev = feed.skipped
    feed.skipped = prev ? { from: Math.min(prev.from, from), to: Math.max(prev.to, floor) } : { from, to: floor }
    return floor
  }

  // Checks a peer's word that the writer's blocks below `hint` expired, where it can be: block
  // hint-1 is fetched through Hypercore and verified like any other. Expired by this node's
  // clock: the word was true, and becomes the floor. Alive: it was false; it is dropped and
  // what it stepped over is read. Not to be had from anyone: it stays a hint, in memory.
  private checkHint(feed: Feed): void {
    const hint = feed.hintStart
    if (feed.local || hint <= feed.start || hint <= feed.hintChecked || hint > feed.core.length) return
    feed.hintChecked = hint
    this.verdict(feed, hint - 1)
      .then(async (verdict) => {
        if (this.room.closing) return
        if (verdict === 'expired') {
          await this.adoptFloor(feed, hint)
        } else if (verdict === 'alive' && feed.hintStart >= hint) {
          // Blocks are stamped in order: every word at or above this one is false too.
          feed.hintStart = feed.hintChecked = feed.start
          this.pump(feed)
        }
      })
      .catch((err) => backgroundError(this.room, err))
  }

  private async verdict(feed: Feed, index: number): Promise<'expired' | 'alive' | 'unknown'> {
    const [block] = await feed.getRange(index, index + 1, { wait: true, timeout: this.ctx.fetchTimeout })
    if (!block || this.room.closing) return 'unknown'
    const body = decodeBodyOrNull(block)
    if (!body) return 'unknown'
    const last = body.records[body.records.length - 1]!
    if (!isExpired(last.timestamp, this.ctx.now(), this.ctx.ttl)) return 'alive'
    // Expired by this node's clock; and its writer's, as verified like any block Hypercore
    // delivers (device chain, signature, one signer per core, device not revoked).
    return this.ingest.block(feed, index, block, false) === 'rejected' ? 'unknown' : 'expired'
  }

  // Every block of `feed` below `floor` expired, as this node saw for itself: they are
  // cleared, and the floor is saved and told to peers.
  private async adoptFloor(feed: Feed, floor: number): Promise<void> {
    if (floor <= feed.start || this.room.closing) return
    try {
      await feed.core.clear(feed.start, floor)
    } catch (err) {
      if (this.room.closing) return
      throw err
    }
    if (floor <= feed.start) return
    feed.start = floor
    feed.storedFrom = Math.max(feed.storedFrom, floor)
    feed.indexedFrom = Math.max(feed.indexedFrom, floor)
    feed.seen = Math.max(feed.seen, floor)
    if (feed.skipped !== null && feed.skipped.to <= floor) feed.skipped = null
    this.ctx.erased()
    this.ctx.changed()
  }

  // Fetches history, blocks [from, to) that existed before this node read them, and delivers
  // its messages in order. A block no peer serves within the fetch timeout is not waited for:
  // every peer here cleared it, or never had it. Returns the lowest index from which every
  // block up to `to` was had, or null if interrupted (closing, or no peer to ask yet).
  private async fetchHistory(feed: Feed, from: number, to: number): Promise<number | null> {
    let missing = -1
    for (let start = from; start < to; start += FETCH_WINDOW) {
      const end = Math.min(to, start + FETCH_WINDOW)
      const blocks = await feed.getRange(start, end, { wait: true, timeout: this.ctx.fetchTimeout })
      if (this.room.closing) return null
      for (let i = 0; i < blocks.length; i++) {
        const block = blocks[i]
        if (block) {
          this.ingest.block(feed, start + i, block, true, null, true)
        } else if (!feed.holes.has(start + i)) {
          if (feed.core.peers.length === 0) return null
          missing = start + i
        }
      }
    }
    return missing < 0 ? from : missing + 1
  }

  // Fetches the latest `page` messages of [from, to), going back from `to` a few blocks at a
  // time (one first, then as many as the blocks read so far say are needed), and delivers them
  // in order. The page counts messages, so a writer that packs a thousand messages per block
  // costs one block, not `page` of them. Returns as fetchHistory.
  private async fetchLatest(feed: Feed, from: number, to: number, page: number): Promise<number | null> {
    const got: Array<{ index: number; block: Buffer; decoded: DecodedBlock | null }> = []
    let records = 0
    let lowest = to
    let reachable = true
    while (lowest > from && records < page && reachable) {
      const perBlock = got.length === 0 ? page : Math.max(1, records / got.length)
      const span = got.length === 0 ? 1 : Math.min(FETCH_WINDOW, Math.ceil((page - records) / perBlock))
      const start = Math.max(from, lowest - span)
      const blocks = await feed.getRange(start, lowest, { wait: true, timeout: this.ctx.fetchTimeout })
      if (this.room.closing) return null
      for (let i = blocks.length - 1; i >= 0; i--) {
        const block = blocks[i]
        if (!block) {
          if (feed.holes.has(start + i)) {
            lowest = start + i
            continue
          }
          if (feed.core.peers.length === 0) return null
          // Not to be had from anyone: what lies below it waits for paging back.
          reachable = false
          break
        }
        let decoded: DecodedBlock | null = null
        try {
          decoded = decodeMessageBlock(block)
          records += decoded.body.records.length
        } catch {
          records++ // refused by the ingest below, and counted there
        }
        got.push({ index: start + i, block, decoded })
        lowest = start + i
      }
    }
    for (let k = got.length - 1; k >= 0; k--) {
      const { index, block, decoded } = got[k]!
      this.ingest.block(feed, index, block, true, decoded, true)
    }
    return lowest
  }

  // Fetches [from, to) in windows and delivers each message in order. False if interrupted.
  private async fetchLive(feed: Feed, from: number, to: number): Promise<boolean> {
    for (let start = from, end = from; start < to; start = end) {
      end = Math.min(to, start + FETCH_WINDOW)
      // Blocks shown live are stored from their copies: only those that came with none are
      // fetched (a frame lost on the way, say), and then the rest are stored around them. At
      // 80 members, one missing frame made a member download every block after it again.
      // Blocks delivered here are not delivered again below: one refused (junk a member wrote
      // before a message shown live) would be counted twice.
      const delivered = new Set<number>()
      if (feed.unconfirmed.size > 0) {
        // Those that came with no live copy and were not delivered yet.
        const uncopied = (i: number): boolean => !feed.unconfirmed.has(i) && !feed.loaded.has(i)
        if ((await this.deliverWhere(feed, Math.max(start, feed.seen), end, uncopied, delivered)) < end) return false
        if (feed.seen < end) await this.live.store(feed)
        if (this.room.closing) return false
        if (feed.seen >= end) continue
        start = Math.max(start, feed.seen)
      }
      const had = await this.deliverWhere(feed, start, end, (i) => !delivered.has(i))
      if (this.room.closing) return false
      if (had < end) {
        // The request was cancelled (its session closed): tried again later, from here.
        if (feed.seen >= start && feed.seen < had) feed.seen = had
        return false
      }
      if (feed.seen >= start && feed.seen < end) feed.seen = end
    }
    return true
  }

  // Fetches and delivers the runs of blocks in [start, end) that `wanted` picks, adding their
  // indexes to `delivered`: the index of the first that could not be had, or `end`.
  private async deliverWhere(
    feed: Feed,
    start: number,
    end: number,
    wanted: (index: number) => boolean,
    delivered: Set<number> | null = null
  ): Promise<number> {
    for (let i = start; i < end; ) {
      if (!wanted(i)) {
        i++
        continue
      }
      let to = i + 1
      while (to < end && wanted(to)) to++
      const had = await this.deliver(feed, i, to)
      if (had < to) return had
      if (delivered !== null) for (let j = i; j < to; j++) delivered.add(j)
      i = to
    }
    return end
  }

  // Fetches blocks [start, end) and delivers them in order, stepping over cleared ones (their
  // messages were deleted): the index of the first that could not be had, or `end`. Nothing is
  // delivered once the room is closing.
  private async deliver(feed: Feed, start: number, end: number): Promise<number> {
    const blocks = await feed.getRange(start, end, { wait: true })
    if (this.room.closing) return start
    for (let i = 0; i < blocks.length; i++) {
      const block = blocks[i]
      if (block) this.ingest.block(feed, start + i, block, true)
      else if (!feed.holes.has(start + i)) return start + i
    }
    return end
  }
}
