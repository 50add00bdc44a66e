import type Hypercore from 'hypercore'
import { deriveRelayKeys } from '../crypto.js'
import { MAX_LENGTH_MARKS, RoomKind, type FeedState, type LengthMark, type RoomState } from '../messages.js'
import { relayLinkOf } from '../links.js'
import { backgroundError, Resource } from '../resource.js'
import { RoomChannels, type Stream } from './channel.js'
import type { RelayContext } from './context.js'
import { clearExpired } from './expiry.js'
import { stampedBoundary } from './expiry-stamp.js'
import { WriterSet } from './writers.js'

export interface RelayedRoomStats {
  /** Writer cores kept. */
  writers: number
  /** Members connected in this room now. */
  peers: number
  /** Blocks sent to members. */
  uploaded: number
  /** Blocks fetched from members. */
  downloaded: number
  /** Blocks deleted because they expired. */
  pruned: number
  badAnnouncements: number
  /** Opens of the room's channel whose proof of the relay secret did not verify. */
  badProofs: number
}

interface RelayedFeed {
  key: Buffer
  core: Hypercore
  /** Blocks below this were cleared, by this relay's own length marks. */
  start: number
  /**
   * A member's word that blocks below this expired. A relay cannot read a block to check it,
   * so it never acts on it: it neither deletes nor stops fetching on anyone's word.
   */
  hintStart: number
  marks: LengthMark[]
  /** The one live download range: replaced, never stacked, when the start moves. */
  range: { destroy(): void } | null
}

/**
 * A room as a relay keeps it: every member's core, downloaded whole and served, without
 * the key that decrypts a block. The relay learns writer cores from the room channel
 * (it holds the channel key) and prunes by time: a block that existed when the relay saw
 * the core reach some length is deleted once that moment is older than the TTL, whatever
 * the block says inside, which the relay cannot read; or earlier, once the expiry its
 * writer stamped in its clear bytes has passed.
 */
export class RelayedRoom extends Resource<{ close: []; error: [Error] }>() {
  readonly kind = 'relayed' as const
  /** A label for status lines: the room name if the relay was given one, else the topic. */
  readonly name: string
  readonly topic: Buffer
  readonly joinedAt: number
  readonly stats: RelayedRoomStats

  private readonly ctx: RelayContext
  private readonly relaySecret: Buffer
  private readonly keys: ReturnType<typeof deriveRelayKeys>
  private readonly channels: RoomChannels
  private readonly writers: WriterSet<RelayedFeed>
  private restore: FeedState[]
  private forget: boolean

  /** @internal */
  constructor(ctx: RelayContext, state: RoomState) {
    super()
    this.ctx = ctx
    this.relaySecret = state.secret
    this.keys = deriveRelayKeys(state.secret)
    this.topic = this.keys.topic
    this.name = state.name || this.topic.toString('hex').slice(0, 8)
    this.joinedAt = state.joinedAt
    this.restore = state.feeds
    this.forget = false
    this.stats = { writers: 0, peers: 0, uploaded: 0, downloaded: 0, pruned: 0, badAnnouncements: 0, badProofs: 0 }
    // Live blocks and presence are sealed with the member key, which a relay lacks.
    const channelKeys = {
      channelIdKey: this.keys.channelIdKey,
      channelKey: this.keys.channelKey,
      relayProofKey: this.keys.relayProofKey,
      memberProofKey: null,
      memberKey: null
    }
    this.channels = new RoomChannels(channelKeys, () => !this.closing, this.stats, {
      cores: () => [...this.writers.values()].map((f) => f.core),
      open: (channel) => channel.announce(this.writers.announcements()),
      close: () => {},
      writers: (writers) => this.writers.onAnnouncement(writers)
    })
    this.writers = new WriterSet<RelayedFeed>(this.channels, this.stats, {
      open: (key) => this.openFeed(key, null),
      announced: () => {},
      // Members who are never online together learn each other's cores from the relay.
      added: () => this.ctx.changed()
    })
  }

  get id(): string {
    return this.topic.toString('hex')
  }

  /** The relay link this room can be kept by again. */
  get link(): string {
    return relayLinkOf(this.relaySecret)
  }

  override async _open(): Promise<void> {
    for (const state of this.restore) this.openFeed(state.key, state)
    this.restore = []
    await Promise.all([...this.writers.values()].map((f) => f.core.ready()))
    await this.prune()
    this.ctx.join(this.topic)
    for (const stream of this.ctx.streams()) this.attach(stream)
  }

  override async _close(): Promise<void> {
    this.channels.close()
    await this.ctx.leave(this.topic)
    await this.writers.close(this.forget)
    this.ctx.closed(this, this.forget)
  }

  /** Stops keeping the room and deletes what was kept. */
  async leave(): Promise<void> {
    this.forget = true
    await this.close()
  }

  /**
   * Deletes blocks that are certainly expired: by this relay's own length marks, once it has
   * known a block to exist for longer than the TTL, or earlier, by the expiry its writer
   * stamped on it, which the core's signature covers (see expiry-stamp.ts).
   */
  async prune(): Promise<void> {
    const now = this.ctx.now()
    const cutoff = now - this.ctx.ttl
    let marksDropped = false
    const moved = await clearExpired(
      this.writers.values(),
      () => !!this.closing,
      (f) => {
        let boundary = f.start
        while (f.marks.length > 0 && f.marks[0]!.time <= cutoff) {
          boundary = Math.max(boundary, f.marks.shift()!.length)
          marksDropped = true
        }
        // Then blocks whose verified expiry stamp has passed, even if first seen late.
        return stampedBoundary(f.core, Math.min(boundary, f.core.length), now)
      },
      (f, from) => {
        this.stats.pruned += f.start - from
        this.download(f)
      }
    )
    if (moved === null) return
    if (moved) this.ctx.erased()
    if (moved || marksDropped) this.ctx.changed()
  }

  /** @internal */
  attach(stream: Stream): void {
    this.channels.attach(stream)
  }

  /** @internal */
  state(): RoomState {
    return {
      kind: RoomKind.RELAYED,
      secret: this.relaySecret,
      name: this.name,
      joinedAt: this.joinedAt,
      ttl: this.ctx.ttl,
      feeds: [...this.writers.values()].map((f) => ({
        key: f.key,
        start: f.start,
        storedFrom: f.start,
        seen: f.core.length,
        marks: f.marks.slice()
      }))
    }
  }

  private openFeed(key: Buffer, state: FeedState | null): RelayedFeed {
    // No encryption key: Hypercore stores, verifies and serves the ciphertext as it is.
    const core = this.ctx.store.get({ key })
    const feed: RelayedFeed = {
      key,
      core,
      start: state?.start ?? 0,
      hintStart: state?.start ?? 0,
      marks: state?.marks?.slice() ?? [],
      range: null
    }
    this.writers.add(feed)
    // Only to connections on which a peer proved the room.
    this.channels.replicate(core)
    core.on('upload', () => {
      this.stats.uploaded++
      this.ctx.uploaded()
    })
    core.on('download', () => {
      this.stats.downloaded++
    })
    core.on('append', () => this.mark(feed))
    core
      .ready()
      .then(() => {
        this.mark(feed)
        this.download(feed)
      })
      .catch((err: Error) => backgroundError(this, err))
    return feed
  }

  // Everything from the first live block on, including blocks appended later.
  private download(feed: RelayedFeed): void {
    if (this.closing) return
    // An older range would fetch again the blocks that pruning just cleared.
    feed.range?.destroy()
    feed.range = feed.core.download({ start: feed.start, end: -1 })
  }

  // Records that every block below the core's current length exists now. Marks are coarse:
  // within one slot of 1/200 of the TTL, the latest mark moves forward in time and length,
  // so a block is deleted at most one slot (50 minutes for 7 days) after it expired.
  private mark(feed: RelayedFeed): void {
    const length = feed.core.length
    const last = feed.marks[feed.marks.length - 1]
    if (last && last.length >= length) return
    const now = this.ctx.now()
    const slot = this.ctx.ttl / 200
    if (last && Math.floor(last.time / slot) === Math.floor(now / slot)) {
      // Not saved at once: losing this update in a crash only keeps blocks longer.
      last.time = now
      last.length = length
      return
    }
    feed.marks.push({ time: now, length })
    // Dropping the oldest mark leaves its blocks to the next one: later, never early.
    if (feed.marks.length > MAX_LENGTH_MARKS) feed.marks.splice(0, 1)
    this.ctx.changed()
  }
}
