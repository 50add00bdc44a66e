import type Hypercore from 'hypercore'
import type { WriterAnnouncement } from '../messages.js'

/** Members beyond this many writer cores are ignored, so a hostile member cannot exhaust us. */
export const MAX_WRITERS = 1024

/** What the writer set needs of a writer core, whether a member reads it or a relay keeps it. */
export interface WriterFeed {
  readonly key: Buffer
  readonly core: Hypercore
  /** Every block below this index has expired and was cleared, as this node itself decided. */
  start: number
  /** A peer's word that blocks below this index expired: in memory only, and only a hint. */
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

  /**
   * What to tell a peer of `feeds` (all of them by default): key, length and the start this
   * node verified itself. Hints heard from others are never passed on.
   */
  announcements(feeds: Iterable<F> = this.feeds.values()): WriterAnnouncement[] {
    const out: WriterAnnouncement[] = []
    for (const f of feeds) out.push({ key: f.key, length: f.core.length, start: f.start })
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
      const hinted = this.hint(feed, w)
      if (hinted) feed.hintStart = w.start
      this.hooks.announced(feed, hinted)
    }
    if (added.length === 0) return
    // Gossip new writers onwards, so members who are never online together still meet.
    this.channels.announce(this.announcements(added))
    this.hooks.added(added)
  }

  // A peer's word that the writer's blocks below `w.start` expired is kept as a hint (never a
  // fact: see History and RelayedRoom) if it is above what this node verified and within the
  // core's verified length. While that length is not known yet (0), the latest word is kept,
  // replacing one that the length, once known, showed to be out of reach.
  private hint(feed: F, w: WriterAnnouncement): boolean {
    const length = feed.core.length
    if (w.start <= feed.start || w.start > w.length) return false
    if (length > 0 && w.start > length) return false
    return w.start > feed.hintStart || feed.hintStart > length
  }

  /** Closes every core; with `forget`, first deletes what this node stored of them. */
  async close(forget: boolean): Promise<void> {
    if (forget) {
      // Leaving deletes each core from storage: its blocks, its tree, its key and its
      // discovery key (compaction, scheduled by the node, then takes them out of the files).
      await Promise.all([...this.feeds.values()].map((f) => purge(f.core)))
      return
    }
    await Promise.all([...this.feeds.values()].map((f) => f.core.close().catch(() => {})))
  }
}

// Deletes a core and everything stored for it: its blocks and tree, and the entries that
// hold its key and discovery key. Hypercore 11 has no public call for it yet (its `purge`
// reaches a method the core lacks), so this goes to the storage as Hypercore's own audit
// does for a corrupt core. If that fails, the blocks are cleared at least.
async function purge(core: Hypercore): Promise<void> {
  const storage = (core as unknown as { state?: { storage?: CoreStorage } }).state?.storage
  if (core.length > 0) await core.clear(0, core.length).catch(() => {})
  await core.close().catch(() => {})
  if (!storage?.store?.deleteCore || !storage.core) return
  await storage.store.deleteCore(storage.core).catch(() => {})
}

interface CoreStorage {
  store?: { deleteCore?(ptr: object): Promise<void> }
  core?: object
}
