// The live path, the measured fast path (docs/PERFORMANCE.md): a few fresh blocks also go
// straight to the members online, and arrive in one trip instead of Hypercore's several
// storage and network round trips. A reader shows them at once, and reconciles with the
// Hypercore copy of the same index when it arrives.
import b4a from 'b4a'
import { decodeMessageBlock, type DecodedBlock, type LiveBlock } from '../messages.js'
import type { RoomChannel } from './channel.js'
import type { Feed } from './feed.js'
import { verifyBlock, type Rejections } from './ingest.js'
import type { Records } from './records.js'
import type { Signers } from './signers.js'

// Appends of at most this many blocks are also sent straight to members online.
const LIVE_MAX_BLOCKS = 4
// Blocks per writer shown from the channel and not yet confirmed by Hypercore, at most.
const MAX_UNCONFIRMED = 1024

export class LivePath {
  // The room id that block signatures cover.
  private readonly roomId: Buffer
  private readonly channels: { readonly size: number } & Iterable<RoomChannel>
  private readonly feeds: { get(hex: string): Feed | undefined }
  private readonly signers: Pick<Signers, 'signerOf' | 'isRevokedAt'>
  private readonly records: Pick<Records, 'load' | 'withdraw'>
  private readonly rejections: Rejections

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
  }

  /**
   * Sends blocks just signed for indexes `index`… of this node's core `key` to the members
   * online. Bulk writes are left to Hypercore alone, which batches them better: false then.
   */
  send(key: Buffer, index: number, blocks: Buffer[]): boolean {
    if (this.channels.size === 0 || blocks.length > LIVE_MAX_BLOCKS) return false
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
    if (!feed || feed.local || feed.owner === null || live.index < feed.floor) return
    if (live.index < feed.seen || feed.unconfirmed.has(live.index)) return
    let decoded: DecodedBlock
    try {
      decoded = decodeMessageBlock(live.block)
    } catch {
      this.rejections.live()
      return
    }
    const { body } = decoded
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
    feed.unconfirmed.set(live.index, { seq: body.seq, count: body.records.length })
    if (feed.unconfirmed.size > MAX_UNCONFIRMED) {
      feed.unconfirmed.delete(feed.unconfirmed.keys().next().value!)
    }
  }

  // Hypercore delivered block `index`: if a different block had come live for that index (its
  // author's append failed after sending it), the messages shown from it are withdrawn.
  confirm(feed: Feed, index: number, seq: number, count: number): void {
    const live = feed.unconfirmed.get(index)
    if (!live) return
    feed.unconfirmed.delete(index)
    if (live.seq === seq && live.count === count) return
    feed.loaded.delete(index)
    const end = live.seq + live.count
    const prefix = feed.idPrefix
    this.records.withdraw((m) => m.seq >= live.seq && m.seq < end && m.id.startsWith(prefix))
  }
}
