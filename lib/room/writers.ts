import type Hypercore from 'hypercore'
import type { WriterAnnouncement } from '../messages.js'

/** Members beyond this many writer cores are ignored, so a hostile member cannot exhaust us. */
export const MAX_WRITERS = 1024

/** What the writer set needs of a writer core, whether a member reads it or a relay keeps it. */
export interface WriterFeed {
  readonly key: Buffer
  readonly core: Hypercore
  /** Every block below this index has expired and was cleared. */
  start: number
  /** A peer's word that blocks below this index expired. */
  hintStart: number
}

/** What the owner of a writer set does when peers announce writers. */
export interface WriterSetHooks<F> {
  /** Opens the core of a writer first heard of from a peer, and adds it to the set. */
  open(key: Buffer): F
  /** A peer announced `feed`; `hinted` when its word on expiry moved the feed's hint. */
  announced(feed: F, hinted: boolean): void
  /** Writers first heard of in one announcement, once they were passed on to the other peers. */
  added(feeds: F[]): void
}

/**
 * The writer cores of a room, one per member device, by key hex. Learned from the room
 * channel and passed on to the other peers, so members who are never online together still
 * meet. Rooms and relays share it; each opens and reads its cores its own way.
 */
export class WriterSet<F extends WriterFeed> {
  private readonly feeds: Map<string, F>
  private readonly channels: { announce(writers: WriterAnnouncement[]): void }
  private readonly stats: { writers: number }
  private readonly hooks: WriterSetHooks<F>

  constructor(
    channels: { announce(writers: WriterAnnouncement[]): void },
    stats: { writers: number },
    hooks: WriterSetHooks<F>
  ) {
    this.feeds = new Map()
    this.channels = channels
    this.stats = stats
    this.hooks = hooks
  }

  get size(): number {
    return this.feeds.size
  }

  get(hex: string): F | undefined {
    return this.feeds.get(hex)
  }

  values(): IterableIterator<F> {
    return this.feeds.values()
  }

  add(feed: F): F {
    this.feeds.set(feed.key.toString('hex'), feed)
    this.stats.writers = this.feeds.size
    return feed
  }

  /** What to tell a peer of `feeds` (all of them by default): key, length and live start. */
  announcements(feeds: Iterable<F> = this.feeds.values()): WriterAnnouncement[] {
    const out: WriterAnnouncement[] = []
    for (const f of feeds) out.push({ key: f.key, length: f.core.length, start: Math.max(f.start, f.hintStart) })
    return out
  }

  /** A peer told of writers: opens the new ones (up to MAX_WRITERS) and passes them on. */
  onAnnouncement(writers: WriterAnnouncement[]): void {
    const added: F[] = []
    for (const w of writers) {
      let feed = this.feeds.get(w.key.toString('hex'))
      if (!feed) {
        if (this.feeds.size >= MAX_WRITERS) continue
        feed = this.hooks.open(w.key)
        added.push(feed)
      }
      // A peer's word on expiry only ever narrows what this node reads, never what it shows.
      const hinted = w.start <= w.length && w.start > feed.hintStart
      if (hinted) feed.hintStart = w.start
      this.hooks.announced(feed, hinted)
    }
    if (added.length === 0) return
    // Gossip new writers onwards, so members who are never online together still meet.
    this.channels.announce(this.announcements(added))
    this.hooks.added(added)
  }

  /** Closes every core; with `forget`, first deletes what this node stored of them. */
  async close(forget: boolean): Promise<void> {
    if (forget) {
      for (const feed of this.feeds.values()) {
        if (feed.core.length > 0) await feed.core.clear(0, feed.core.length).catch(() => {})
      }
    }
    await Promise.all([...this.feeds.values()].map((f) => f.core.close().catch(() => {})))
  }
}
