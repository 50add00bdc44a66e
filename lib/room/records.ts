// Records reach room state here, and only here: a verified block's records go, by kind, to
// the apply stage (messages and the ops that change them), to the signers (revocations) or
// to the room's extension. Autobase's apply(nodes, view) is the model.
import b4a from 'b4a'
import { BackspaceError } from '../errors.js'
import { MAX_EMOJI_BYTES, MessageType, type BlockBody } from '../messages.js'
import { backgroundError } from '../resource.js'
import type { Message, MessageKind, RoomStats } from '../types.js'
import { opKindOf, type ApplyStage } from './apply.js'
import type { RoomContext, RoomSelf } from './context.js'
import { messageId, messageId16, type Feed } from './feed.js'
import { isExpired } from './expiry.js'
import type { IngestResult, Rejections } from './ingest.js'
import type { Members } from './members.js'
import type { Signers } from './signers.js'

/**
 * Passes verified blocks' records to their reducers, and clears from disk a block whose
 * messages were all deleted, here and on every peer that applies the delete.
 */
export class Records {
  private readonly room: RoomSelf
  private readonly ctx: Pick<RoomContext, 'now' | 'ttl' | 'identity' | 'extension' | 'changed' | 'erased'>
  private readonly apply: ApplyStage
  private readonly members: Pick<Members, 'fromBlock'>
  private readonly signers: Pick<Signers, 'onRevokeRecord'>
  private readonly rejections: Rejections
  private readonly stats: Pick<RoomStats, 'messages' | 'rejected'>
  // Blocks whose every record is a message: when all are deleted, the block is cleared.
  private readonly contentBlocks: Map<string, { feed: Feed; index: number; ids: string[] }>
  private readonly blockOfMessage: Map<string, string>
  // An edit record's text is content too: dead once the message it edits is deleted.
  private readonly editTargets: Map<string, string>

  constructor(
    room: RoomSelf,
    ctx: Pick<RoomContext, 'now' | 'ttl' | 'identity' | 'extension' | 'changed' | 'erased'>,
    apply: ApplyStage,
    members: Pick<Members, 'fromBlock'>,
    signers: Pick<Signers, 'onRevokeRecord'>,
    rejections: Rejections,
    stats: Pick<RoomStats, 'messages' | 'rejected'>
  ) {
    this.room = room
    this.ctx = ctx
    this.apply = apply
    this.members = members
    this.signers = signers
    this.rejections = rejections
    this.stats = stats
    this.contentBlocks = new Map()
    this.blockOfMessage = new Map()
    this.editTargets = new Map()
  }

  /** Passes a verified block's records to the apply stage. */
  load(feed: Feed, index: number, body: BlockBody, emit: boolean): IngestResult {
    const records = body.records
    const now = this.ctx.now()
    const ttl = this.ctx.ttl
    const lastTimestamp = records[records.length - 1]!.timestamp
    if (isExpired(lastTimestamp, now, ttl)) return 'expired'
    feed.markLoaded(index, body.seq, records.length)
    const self = b4a.equals(body.author, this.ctx.identity.publicKey)
    const member = this.members.fromBlock(body.author, body.profile, lastTimestamp, self)
    const device = body.certificate ? body.certificate.device : body.author
    const name = body.profile?.name ?? ''
    const contentIds: string[] = []
    let onlyContent = true
    const updated: Message[] = []
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!
      const seq = body.seq + i
      const id = messageId(feed.key, seq)
      // A timestamp from the future is clamped to now, so it cannot pin itself to the bottom.
      const timestamp = Math.min(record.timestamp, now)
      if (isExpired(record.timestamp, now, ttl)) continue
      const kind: MessageKind | null =
        record.type === MessageType.TEXT || record.type === MessageType.REPLY
          ? 'text'
          : record.type === MessageType.ACTION
            ? 'action'
            : null
      if (kind !== null) {
        contentIds.push(id)
        const message = this.apply.addMessage(
          {
            id,
            author: body.author,
            device,
            text: record.text,
            timestamp,
            seq,
            kind,
            name,
            fingerprint: member.fingerprint,
            self,
            replyTo: record.type === MessageType.REPLY && record.target ? messageId16(record.target.core, record.target.seq) : null
          },
          updated
        )
        if (message && emit) this.room.emit('message', message)
        continue
      }
      const op = opKindOf(record.type)
      if ((op === 'react' || op === 'unreact') && !isEmoji(record.text)) {
        this.rejections.block('malformed', BackspaceError.INVALID_EMOJI(`record ${id}`), feed, index)
        continue
      }
      if (op !== null && record.target) {
        const target = messageId16(record.target.core, record.target.seq)
        if (op !== 'edit') onlyContent = false
        else {
          contentIds.push(id)
          this.editTargets.set(id, target)
        }
        const result = this.apply.addOp({ id, kind: op, target, author: body.author, timestamp, seq, text: record.text })
        this.stats.rejected.forbidden = this.apply.forbidden
        if (result.forbidden) {
          this.stats.rejected.forbidden-- // counted by the rejection below
          this.rejections.block('forbidden', BackspaceError.NOT_ALLOWED(`record ${id} changes another author's message`), feed, index)
        }
        updated.push(...result.updated)
        if (op === 'delete' && this.apply.isDeleted(target)) this.clearDeleted(target)
        continue
      }
      onlyContent = false
      if (record.type === MessageType.REVOKE) {
        const revocation = this.signers.onRevokeRecord(record, body.author)
        if (revocation) this.ctx.extension?.onrevocation?.(revocation)
      } else if (this.ctx.extension?.kinds.has(record.type)) {
        this.ctx.extension.onrecord(record, { id, author: body.author, device, certificate: body.certificate ?? null, emit })
      } else if (record.type !== MessageType.PROFILE) {
        // A kind from a newer build: skipped and counted, never fatal.
        this.rejections.block('unknown-kind', BackspaceError.UNSUPPORTED_VERSION(`record kind ${record.type}`), feed, index)
      }
    }
    this.stats.messages = this.apply.size
    // Ops held for a message that just loaded may have been refused as it arrived.
    this.stats.rejected.forbidden = this.apply.forbidden
    if (onlyContent && contentIds.length > 0) {
      const key = `${feed.hex}:${index}`
      this.contentBlocks.set(key, { feed, index, ids: contentIds })
      for (const id of contentIds) this.blockOfMessage.set(id, key)
      // A block loaded after its messages were deleted (from a peer that still had it).
      if (contentIds.some((id) => this.apply.isDeleted(id))) this.clearDeleted(contentIds[0]!)
    }
    for (const m of updated) this.room.emit('message-update', m)
    return 'ok'
  }

  /** Takes back the shown messages `drop` selects, and tells listeners. */
  withdraw(drop: (m: Message) => boolean): void {
    const withdrawn = this.apply.removeWhere(drop)
    this.stats.messages = this.apply.size
    for (const m of withdrawn) this.room.emit('message-withdrawn', m)
  }

  // Deleted text leaves the disk too: once every record of a block is a deleted message (or
  // an edit of one), the block is cleared, here and on every peer that applies the delete.
  private clearDeleted(id: string): void {
    const key = this.blockOfMessage.get(id)
    if (!key) return
    const block = this.contentBlocks.get(key)
    if (!block) return
    const dead = block.ids.every((m) => this.apply.isDeleted(m) || this.isDeadEdit(m))
    if (!dead) return
    this.contentBlocks.delete(key)
    for (const m of block.ids) this.blockOfMessage.delete(m)
    block.feed.holes.add(block.index)
    block.feed.core.clear(block.index, block.index + 1).then(
      () => this.ctx.erased(),
      (err: unknown) => backgroundError(this.room, err)
    )
    this.ctx.changed()
  }

  private isDeadEdit(id: string): boolean {
    const target = this.editTargets.get(id)
    return target !== undefined && this.apply.isDeleted(target)
  }
}

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' })
const PICTOGRAPHIC = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u

/** True for exactly one emoji (one grapheme cluster that is pictographic), within the size cap. */
export function isEmoji(text: unknown): text is string {
  if (typeof text !== 'string' || text.length === 0 || b4a.byteLength(text) > MAX_EMOJI_BYTES) return false
  let count = 0
  for (const _ of segmenter.segment(text)) if (++count > 1) return false
  return PICTOGRAPHIC.test(text)
}
