// The live path, the measured fast path (docs/PERFORMANCE.md): a few fresh blocks also go
// straight to the members online, and arrive in one trip instead of Hypercore's several
// storage and network round trips. A reader shows them at once, and reconciles with the
// Hypercore copy of the same index when it arrives. A member can sign live blocks it never
// stores, so what a reader shows from the channel is bounded: blocks just past what Hypercore
// has verified of the core, few records each, few at a time, each withdrawn unless Hypercore
// confirms it in time.
import b4a from 'b4a'
import { decodeMessageBlock, type DecodedBlock, type LiveBlock } from '../messages.js'
import type { RoomChannel } from './channel.js'
import type { Feed } from './feed.js'
import { verifyBlock, type Rejections } from './ingest.js'
import type { Records } from './records.js'
import type { Signers } from './signers.js'

// Appends of at most this many blocks are also sent straight to members online.
const LIVE_MAX_BLOCKS = 4
// Appends whose blocks hold more records than this are left to Hypercore alone; readers show
// no live block that holds more.
export const LIVE_MAX_RECORDS = 32
// How far past a writer's verified length a live block may sit: a few appends that Hypercore
// has not announced yet. Anything further waits for Hypercore.
export const LIVE_WINDOW = 16
// Blocks shown from the channel and not yet confirmed by Hypercore, at most: per writer, and in
// the room. More wait for Hypercore.
const MAX_UNCONFIRMED = 64
const MAX_UNCONFIRMED_ROOM = 256
// How long, in ms, a block shown from the channel may wait for its Hypercore copy before its
// messages are withdrawn. Hypercore delivers it in well under a second when its author stored it.
export const CONFIRM_TIMEOUT = 10_000

export class LivePath {
  // The room id that block signatures cover.
  private readonly roomId: Buffer
  private readonly channels: { readonly size: number } & Iterable<RoomChannel>
  private readonly feeds: { get(hex: string): Feed | undefined }
  private readonly signers: Pick<Signers, 'signerOf' | 'isRevokedAt'>
  private readonly records: Pick<Records, 'load' | 'withdraw'>
  private readonly rejections: Rejections
  // Writers with blocks shown and not yet confirmed, and when each such block was shown.
  private readonly pending: Set<Feed>
  private readonly shownAt: WeakMap<object, number>
  // Per writer, the highest index of a block withdrawn for want of confirmation: its live
  // blocks are not shown again until Hypercore has verified the core past it.
  private readonly withdrawnTo: WeakMap<Feed, number>
  private unconfirmed: number
  // Withdraws what Hypercore did not confirm in time; runs while anything is unconfirmed.
  private timer: NodeJS.Timeout | null

  constructor(
    roomId: Buffer,
    channels: { readonly size: number } & Iterable<RoomChannel>,
    feeds: { get(hex: string): Feed | undefined },
    signers: Pick<Signers, 'signerOf' | 'isRevokedAt'>,
    records: Pick<Records, 'load' | 'withdraw'>,
    rejections: Rejections
  ) {
    this.roomId = roomId
    this.channels = channels
    this.feeds = feeds
    this.signers = signers
    this.records = records
    this.rejections = rejections
    this.pending = new Set()
    this.shownAt = new WeakMap()
    this.withdrawnTo = new WeakMap()
    this.unconfirmed = 0
    this.timer = null
  }

  /** Stops the withdrawal timer; the room is closing. */
  close(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  /**
   * Sends blocks just signed for indexes `index`… of this node's core `key` to the members
   * online. Bulk writes are left to Hypercore alone, which batches them better: false then.
   */
  send(key: Buffer, index: number, blocks: Buffer[], records: number[]): boolean {
    if (this.channels.size === 0 || blocks.length > LIVE_MAX_BLOCKS) return false
    // Readers show no live block with more records: such a block waits for Hypercore.
    if (records.some((n) => n > LIVE_MAX_RECORDS)) return false
    for (let i = 0; i < blocks.length; i++) {
      for (const channel of this.channels) channel.sendLive({ key, index: index + i, block: blocks[i]! })
    }
    return true
  }

  /** A member sent a block live: shown if its writer's known signer signed it for that index. */
  receive(live: LiveBlock): void {
    const feed = this.feeds.get(live.key.toString('hex'))
    // Only for a writer whose owner Hypercore has confirmed, and only what is not yet seen:
    // a member cannot slip a block into someone else's core or ahead of its real one.
    if (!feed || feed.local || feed.owner === null || live.index < feed.start) return
    if (live.index < feed.seen || feed.unconfirmed.has(live.index)) return
    // Only just past what Hypercore verified: a block far ahead would never be confirmed.
    if (live.index >= Math.max(feed.core.length, feed.seen) + LIVE_WINDOW) return
    if (feed.unconfirmed.size >= MAX_UNCONFIRMED || this.unconfirmed >= MAX_UNCONFIRMED_ROOM) return
    if (feed.core.length <= (this.withdrawnTo.get(feed) ?? -1)) return
    let decoded: DecodedBlock
    try {
      decoded = decodeMessageBlock(live.block)
    } catch {
      this.rejections.live()
      return
    }
    const { body } = decoded
    // Honest writers send none larger; such a block is shown once Hypercore has it.
    if (body.records.length > LIVE_MAX_RECORDS) return
    const signer = this.signers.signerOf(body)
    if (signer === null || !b4a.equals(signer, feed.owner) || !verifyBlock(this.roomId, feed, live.index, decoded, signer)) {
      this.rejections.live()
      return
    }
    if (this.signers.isRevokedAt(signer, feed, live.index, body)) {
      this.rejections.live()
      return
    }
    if (this.records.load(feed, live.index, body, true) !== 'ok') return
    const shown = { seq: body.seq, count: body.records.length, block: live.block }
    feed.unconfirmed.set(live.index, shown)
    this.shownAt.set(shown, Date.now())
    this.pending.add(feed)
    this.unconfirmed++
    if (this.timer === null) this.schedule(CONFIRM_TIMEOUT)
  }

  // Hypercore delivered block `index`: if a different block had come live for that index (its
  // author's append failed after sending it), the messages shown from it are withdrawn.
  confirm(feed: Feed, index: number, seq: number, count: number): void {
    const live = feed.unconfirmed.get(index)
    if (!live) return
    this.settle(feed, index)
    if (live.seq === seq && live.count === count) return
    this.withdraw(feed, index, live)
  }

  /**
   * Hypercore delivered block `index`, byte for byte the one shown live: confirmed with no
   * decoding. False if it differs (or never came live); the caller then decodes it.
   */
  confirmSame(feed: Feed, index: number, block: Buffer): boolean {
    const live = feed.unconfirmed.get(index)
    if (!live || !b4a.equals(live.block, block)) return false
    this.settle(feed, index)
    return true
  }

  private settle(feed: Feed, index: number): void {
    feed.unconfirmed.delete(index)
    this.unconfirmed--
    if (feed.unconfirmed.size === 0) this.pending.delete(feed)
  }

  // Takes back the messages shown from a live block; Hypercore's copy, if it ever comes, is
  // then loaded like any other block.
  private withdraw(feed: Feed, index: number, live: { seq: number; count: number }): void {
    feed.loaded.delete(index)
    const end = live.seq + live.count
    const prefix = feed.idPrefix
    this.records.withdraw((m) => m.seq >= live.seq && m.seq < end && m.id.startsWith(prefix))
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => this.expire(), Math.max(delay, 0))
  }

  // Withdraws the blocks shown longer ago than CONFIRM_TIMEOUT that Hypercore never confirmed:
  // their author never stored them (or a member signed blocks it never meant to store).
  private expire(): void {
    this.timer = null
    const now = Date.now()
    let next = Infinity
    for (const feed of [...this.pending]) {
      for (const [index, live] of [...feed.unconfirmed]) {
        const shownAt = this.shownAt.get(live) ?? 0
        if (shownAt > now - CONFIRM_TIMEOUT) {
          next = Math.min(next, shownAt)
          continue
        }
        this.settle(feed, index)
        this.withdraw(feed, index, live)
        this.withdrawnTo.set(feed, Math.max(index, this.withdrawnTo.get(feed) ?? -1))
      }
    }
    if (next !== Infinity) this.schedule(next + CONFIRM_TIMEOUT - now)
  }
}
