// The way in for blocks Hypercore delivers: decode, then verify (a valid device certificate,
// the signature over the block's place in its core, one signer per core, no revoked device,
// the extension's rule), then hand the records on. Every block refused is counted.
import { clearBlocks } from './clear-blocks.js'
import b4a from 'b4a'
import { messageSignable, verify } from '../crypto.js'
import { BackspaceError } from '../errors.js'
import { decodeMessageBlock, MAX_RECORD_BYTES, type BlockBody, type DecodedBlock } from '../messages.js'
import { backgroundError } from '../resource.js'
import type { RejectReason, RoomStats } from '../types.js'
import type { ApplyStage } from './apply.js'
import type { RoomContext, RoomSelf } from './context.js'
import { messageId, type Feed } from './feed.js'
import type { LivePath } from './live.js'
import type { Records } from './records.js'
import type { Signers } from './signers.js'

export type IngestResult = 'ok' | 'expired' | 'rejected'

/** Counts refused blocks and records, and tells 'reject' listeners why. */
export class Rejections {
  private readonly room: RoomSelf
  private readonly stats: Pick<RoomStats, 'rejected' | 'badAnnouncements'>

  constructor(room: RoomSelf, stats: Pick<RoomStats, 'rejected' | 'badAnnouncements'>) {
    this.room = room
    this.stats = stats
  }

  /** Block `index` of a writer's core, or one of its records, is refused. */
  block(reason: RejectReason, error: BackspaceError, feed: Feed, index: number): 'rejected' {
    this.stats.rejected[reason]++
    if (this.room.listenerCount('reject') > 0) this.room.emit('reject', { reason, error, writer: feed.key, index })
    return 'rejected'
  }

  // A bad block sent on the channel says nothing about the core it names: count it against
  // the channel, not the writer.
  live(): 'rejected' {
    this.stats.badAnnouncements++
    return 'rejected'
  }
}

/** Whether `signer` signed this block for its place, `index` of `feed`, in this room. */
export function verifyBlock(roomId: Buffer, feed: Feed, index: number, { bodyBytes, signature }: DecodedBlock, signer: Buffer): boolean {
  return verify(signature, messageSignable(roomId, feed.key, index, bodyBytes), signer)
}

/** What the room's writer set does with what blocks prove about their cores. */
export interface IngestAdmission {
  /** A block of a core on trial verified: a member made the core. */
  verified(feed: Feed, author: Buffer, device: Buffer): void
  /** A block larger than any a writer may write: the core is dropped and its data cleared. */
  oversized(feed: Feed): void
  /** The first verified block taught the feed its owner (where its core replicates may change). */
  owner?(feed: Feed): void
}

export class Ingest {
  private readonly room: RoomSelf
  private readonly ctx: Pick<RoomContext, 'identity' | 'extension' | 'erased'>
  // The room id that block signatures cover.
  private readonly roomId: Buffer
  private readonly apply: Pick<ApplyStage, 'has'>
  private readonly signers: Pick<Signers, 'signerOf' | 'isRevokedAt'>
  private readonly records: Pick<Records, 'load'>
  private readonly live: Pick<LivePath, 'confirm' | 'confirmSame'>
  private readonly rejections: Rejections
  private readonly admission: IngestAdmission

  constructor(
    room: RoomSelf,
    ctx: Pick<RoomContext, 'identity' | 'extension' | 'erased'>,
    roomId: Buffer,
    apply: Pick<ApplyStage, 'has'>,
    signers: Pick<Signers, 'signerOf' | 'isRevokedAt'>,
    records: Pick<Records, 'load'>,
    live: Pick<LivePath, 'confirm' | 'confirmSame'>,
    rejections: Rejections,
    admission: IngestAdmission
  ) {
    this.room = room
    this.ctx = ctx
    this.roomId = roomId
    this.apply = apply
    this.signers = signers
    this.records = records
    this.live = live
    this.rejections = rejections
    this.admission = admission
  }

  /**
   * Verifies block `index` of `feed`, as Hypercore delivered it, and loads its records.
   * 'expired' if all of them are. The first valid block teaches the feed its owner. `replay`:
   * history being caught up with, not live (Records.load).
   */
  block(feed: Feed, index: number, block: Buffer, emit: boolean, predecoded: DecodedBlock | null = null, replay = false): IngestResult {
    if (block.byteLength > MAX_RECORD_BYTES && !feed.local) {
      // No honest writer writes one: the core goes, with what was stored of it.
      this.admission.oversized(feed)
      return this.rejections.block('oversized', BackspaceError.MESSAGE_TOO_LARGE(`block ${index}: ${block.byteLength} bytes`), feed, index)
    }
    // The common case on the live path: Hypercore's copy of a block already shown live, or
    // of one loaded before. Hypercore authenticated it as the core's, and its records were
    // verified and loaded then: nothing to decode.
    if (feed.loaded.has(index) && (feed.unconfirmed.size === 0 || !feed.unconfirmed.has(index) || this.live.confirmSame(feed, index, block))) {
      return this.loadedAgain(feed, index)
    }
    let decoded: DecodedBlock
    try {
      decoded = predecoded ?? decodeMessageBlock(block)
    } catch (err) {
      const e = err as BackspaceError
      const reason: RejectReason =
        e.code === 'MESSAGE_TOO_LARGE' ? 'oversized' : e.code === 'UNSUPPORTED_VERSION' ? 'unsupported' : 'malformed'
      return this.rejections.block(reason, e, feed, index)
    }
    const { body } = decoded
    const last = body.seq + body.records.length - 1
    if (feed.unconfirmed.size > 0) this.live.confirm(feed, index, body.seq, body.records.length, decoded.bodyBytes)
    // Hypercore has authenticated this block as the core's; if it came live first and its
    // records are loaded, it was verified then and needs no second verification.
    if (feed.loaded.has(index) || (this.apply.has(messageId(feed.key, body.seq)) && this.apply.has(messageId(feed.key, last)))) {
      return this.loadedAgain(feed, index)
    }
    const signer = this.check(feed, index, decoded)
    if (signer === null) return 'rejected'
    if (feed.owner === null) this.learnOwner(feed, signer)
    if (feed.admission === null && !feed.local) this.admission.verified(feed, body.author, signer)
    return this.records.load(feed, index, body, emit, null, replay)
  }

  /**
   * Block `index` of `feed`, as Hypercore delivered it, decoded and verified like any block
   * (refusals counted), without loading its records: for the governance chain. Null if refused.
   */
  verified(feed: Feed, index: number, block: Buffer): BlockBody | null {
    if (block.byteLength > MAX_RECORD_BYTES) {
      this.rejections.block('oversized', BackspaceError.MESSAGE_TOO_LARGE(`block ${index}: ${block.byteLength} bytes`), feed, index)
      return null
    }
    let decoded: DecodedBlock
    try {
      decoded = decodeMessageBlock(block)
    } catch (err) {
      const e = err as BackspaceError
      const reason: RejectReason = e.code === 'UNSUPPORTED_VERSION' ? 'unsupported' : 'malformed'
      this.rejections.block(reason, e, feed, index)
      return null
    }
    const signer = this.check(feed, index, decoded)
    if (signer === null) return null
    if (feed.owner === null) this.learnOwner(feed, signer)
    return decoded.body
  }

  private learnOwner(feed: Feed, signer: Buffer): void {
    // A copy of its own: the key is a slice of a decoded block (often of an 8 KiB pool slab),
    // and the feed keeps it as long as the room is open.
    const owner = Buffer.alloc(signer.byteLength)
    signer.copy(owner)
    feed.owner = owner
    this.admission.owner?.(feed)
  }

  // The signer of a decoded block if it verifies as block `index` of `feed`; else counts why not.
  private check(feed: Feed, index: number, decoded: DecodedBlock): Buffer | null {
    const { body } = decoded
    const signer = this.signers.signerOf(body)
    if (signer === null) {
      this.rejections.block('unauthorized-device', BackspaceError.BAD_SIGNATURE(`block ${index}: no valid device certificate`), feed, index)
      return null
    }
    if (!verifyBlock(this.roomId, feed, index, decoded, signer)) {
      this.rejections.block('invalid-signature', BackspaceError.BAD_SIGNATURE(`block ${index}`), feed, index)
      return null
    }
    // One core, one signer: a block by any other key is not this writer's.
    if (feed.owner !== null && !b4a.equals(feed.owner, signer)) {
      this.rejections.block('unauthorized-device', BackspaceError.BAD_SIGNATURE(`block ${index}: another device`), feed, index)
      return null
    }
    if (this.signers.isRevokedAt(signer, feed, index, body)) {
      this.rejections.block('unauthorized-device', BackspaceError.DEVICE_REVOKED(`block ${index}`), feed, index)
      return null
    }
    if (this.ctx.extension?.ownIdentityOnly && !b4a.equals(body.author, this.ctx.identity.publicKey)) {
      this.rejections.block('unauthorized-device', BackspaceError.NOT_ALLOWED(`block ${index}: another identity`), feed, index)
      return null
    }
    return signer
  }

  private loadedAgain(feed: Feed, index: number): 'ok' {
    // Fetched while its delete was being applied: clear it again.
    if (feed.holes.has(index)) {
      clearBlocks(feed.core, index, index + 1).then(
        () => this.ctx.erased(),
        (err: unknown) => backgroundError(this.room, err)
      )
    }
    return 'ok'
  }
}
