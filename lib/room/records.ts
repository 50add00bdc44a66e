// Records reach room state here, and only here: a verified block's records go, by kind, to
// the apply stage (messages and the ops that change them), to the signers (revocations) or
// to the room's extension. Autobase's apply(nodes, view) is the model.
import { clearBlocks } from './clear-blocks.js'
import b4a from 'b4a'
import { equalBytes } from '../bytes.js'
import { BackspaceError } from '../errors.js'
import { MessageType, type BlockBody } from '../messages.js'
import { displayName } from '../display-name.js'
import { isEmoji } from '../emoji.js'
import { backgroundError } from '../resource.js'
import type { Message, RoomStats } from '../types.js'
import { messageKindOf, opKindOf, type ApplyStage } from './apply.js'
import type { RoomContext, RoomSelf } from './context.js'
import { messageId, messageId16, type Feed } from './feed.js'
import { effectiveTime, isExpired, latestStamp, markVerified } from './expiry.js'
import type { IngestResult, Rejections } from './ingest.js'
import type { Members } from './members.js'
import type { Signers } from './signers.js'
import type { Governance } from '../governance/governance.js'
import type { RateLimit } from './rate-limit.js'
import type { GovernanceChain } from '../governance/chain.js'
import type { Epochs } from './epochs.js'

/**
 * Passes verified blocks' records to their reducers, and clears from disk a block whose
 * messages were all deleted, here and on every peer that applies the delete.
 */
export class Records {
  private readonly room: RoomSelf
  private readonly ctx: Pick<RoomContext, 'now' | 'ttl' | 'identity' | 'extension' | 'changed' | 'erased' | 'hidden'>
  private readonly apply: ApplyStage
  private readonly members: Pick<Members, 'fromBlock'>
  private readonly signers: Pick<Signers, 'onRevokeRecord'>
  private readonly rejections: Rejections
  private readonly stats: Pick<RoomStats, 'messages' | 'rejected' | 'rateLimited'>
  // The room's rate limit: a writer's records past it are dropped and counted.
  private readonly rate: RateLimit | null
  // Blocks whose every record is a message: when all are deleted, the block is cleared.
  // The writer cores whose blocks were loaded, by the prefix of their messages' ids, to find
  // the block of a deleted message (one entry per writer, none per message).
  private readonly feedsByPrefix: Map<string, Feed>
  // An edit record's text is content too: dead once the message it edits is deleted.
  private readonly editTargets: Map<string, string>
  // When this session began: a block verified before it was seen in an earlier one, so its
  // governance operations are replayed, not news (GovernanceEvent.replayed).
  private readonly openedAt: number
  /** The room's governance: its operations go there, and it may refuse a message. */
  governance: Pick<Governance, 'onRecord' | 'refuses'> | null = null
  /** Follows each writer's pointers to its earlier governance blocks (lib/governance/chain.ts). */
  chain: Pick<GovernanceChain, 'onBlock'> | null = null
  /** The room's key epochs (lib/room/epochs.ts): EPOCH records go there, SEALED ones open there. */
  epochs: Pick<Epochs, 'open' | 'onRecord'> | null = null
  /**
   * The node's own hook (unread counting): told of each message just before the room's
   * `message` listeners, without a second listener for every emit to copy and call.
   */
  delivered: ((m: Message) => void) | null = null

  constructor(
    room: RoomSelf,
    ctx: Pick<RoomContext, 'now' | 'ttl' | 'identity' | 'extension' | 'changed' | 'erased' | 'hidden'>,
    apply: ApplyStage,
    members: Pick<Members, 'fromBlock'>,
    signers: Pick<Signers, 'onRevokeRecord'>,
    rejections: Rejections,
    stats: Pick<RoomStats, 'messages' | 'rejected' | 'rateLimited'>,
    rate: RateLimit | null = null
  ) {
    this.rate = rate
    this.room = room
    this.ctx = ctx
    this.apply = apply
    this.members = members
    this.signers = signers
    this.rejections = rejections
    this.stats = stats
    this.feedsByPrefix = new Map()
    this.editTargets = new Map()
    this.openedAt = ctx.now()
  }

  /**
   * Passes a verified block's records to the apply stage, each at its effective time (see
   * expiry.ts): its stamp, but never later than when this node first verified the block.
   * `replay`: the block is history being caught up with, not live (see History).
   */
  load(feed: Feed, index: number, body: BlockBody, emit: boolean, only: ReadonlySet<number> | null = null, replay = false): IngestResult {
    const records = body.records
    const now = this.ctx.now()
    const ttl = this.ctx.ttl
    const stamp = latestStamp(body)
    const verified = markVerified(feed, index, stamp, now, ttl)
    if (verified.changed) this.ctx.changed(true)
    // The block's time: that of its latest record. It has expired once all of them have.
    const blockTime = effectiveTime(stamp, verified.at)
    if (isExpired(blockTime, now, ttl)) return this.dropExpired(feed, index)
    // Governance told from here is history: paged or read at open (no events), caught up
    // with, or verified in an earlier session (a restart).
    const replayed = replay || !emit || verified.at < this.openedAt
    feed.markLoaded(index, body.seq, records.length)
    const self = equalBytes(body.author, this.ctx.identity.publicKey)
    const member = this.members.fromBlock(body.author, body.profile, blockTime, self)
    const device = body.certificate ? body.certificate.device : body.author
    const name = displayName(body.profile?.name ?? '')
    const contentIds: string[] = []
    let onlyContent = only === null
    const updated: Message[] = []
    // Messages written before a wipe: a block of nothing else leaves the disk at once.
    let wiped = 0
    for (let i = 0; i < records.length; i++) {
      // A retry loads only the sealed records whose epoch key just arrived.
      if (only !== null && !only.has(i)) continue
      let record = records[i]!
      if (record.type === MessageType.SEALED) {
        const inner = this.epochs?.open(record, feed, index, body, i) ?? null
        if (inner === null) {
          onlyContent = false
          continue
        }
        record = inner
      }
      const seq = body.seq + i
      const id = feed.idPrefix + seq
      // A stamp from the future counts from when the block arrived, so it cannot pin itself
      // to the bottom, nor outlive the TTL; the same value after a restart.
      const timestamp = effectiveTime(record.timestamp, verified.at)
      if (isExpired(timestamp, now, ttl)) continue
      if (this.rate && !this.rate.admit(feed.hex, seq, record.timestamp, record.type)) {
        this.stats.rateLimited = this.rate.dropped
        continue
      }
      const kind = messageKindOf(record.type)
      if (kind !== null) {
        const refused = this.governance?.refuses(member.hex, feed, index, id, seq, timestamp, body.profile?.name ?? '') ?? null
        if (refused === 'wiped') wiped++
        else if (refused !== null) this.rejections.block('governance', BackspaceError.NOT_ALLOWED(`record ${id}: ${refused}`), feed, index)
        if (refused !== null) continue
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
        if (message && emit && !(this.ctx.hidden?.(body.author) && !self)) {
          this.delivered?.(message)
          this.room.emit('message', message)
        }
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
      if (record.type === MessageType.GOVERN && this.governance) {
        this.governance.onRecord(record, id, feed, index, i, body.author, { timestamp, replayed })
      } else if (record.type === MessageType.EPOCH && this.epochs) {
        this.epochs.onRecord(record, id, feed, index, body.author.toString('hex'))
      } else if (record.type === MessageType.REVOKE) {
        const revocation = this.signers.onRevokeRecord(record, body.author)
        if (revocation) this.ctx.extension?.onrevocation?.(revocation)
      } else if (this.ctx.extension?.kinds.has(record.type)) {
        this.ctx.extension.onrecord(record, { id, author: body.author, device, certificate: body.certificate ?? null, emit })
      } else if (record.type !== MessageType.PROFILE) {
        // A kind from a newer build: skipped and counted, never fatal.
        this.rejections.block('unknown-kind', BackspaceError.UNSUPPORTED_VERSION(`record kind ${record.type}`), feed, index)
      }
    }
    if (only === null) this.chain?.onBlock(feed, index, body)
    if (only === null && wiped > 0 && wiped === records.length) return this.dropWiped(feed, index)
    this.stats.messages = this.apply.size
    // Ops held for a message that just loaded may have been refused as it arrived.
    this.stats.rejected.forbidden = this.apply.forbidden
    if (onlyContent && contentIds.length > 0) {
      feed.markLoaded(index, body.seq, records.length, true)
      if (!this.feedsByPrefix.has(feed.idPrefix)) this.feedsByPrefix.set(feed.idPrefix, feed)
      // A block loaded after its messages were deleted (from a peer that still had it).
      if (contentIds.some((id) => this.apply.isDeleted(id))) this.clearDeleted(contentIds[0]!)
    }
    for (const m of updated) this.room.emit('message-update', m)
    return 'ok'
  }

  /** Whether every record of a block just verified has expired: it would not be shown. */
  expired(body: BlockBody): boolean {
    const now = this.ctx.now()
    return isExpired(latestStamp(body), now, this.ctx.ttl)
  }

  /**
   * Passes only the governance operations of a verified block to governance: a block reached
   * by a writer's governance chain, outside the window of history loaded. Its messages are
   * not shown; they load if the timeline is paged back to them.
   */
  loadGovernance(feed: Feed, index: number, body: BlockBody): void {
    const governance = this.governance
    if (!governance) return
    const now = this.ctx.now()
    const ttl = this.ctx.ttl
    const verified = markVerified(feed, index, latestStamp(body), now, ttl)
    if (verified.changed) this.ctx.changed(true)
    for (let i = 0; i < body.records.length; i++) {
      const record = body.records[i]!
      if (record.type !== MessageType.GOVERN && record.type !== MessageType.EPOCH) continue
      const timestamp = effectiveTime(record.timestamp, verified.at)
      if (isExpired(timestamp, now, ttl)) continue
      if (record.type === MessageType.EPOCH) this.epochs?.onRecord(record, feed.idPrefix + (body.seq + i), feed, index, body.author.toString('hex'))
      // Reached by a chain's pointer, below the window read: always history.
      else governance.onRecord(record, feed.idPrefix + (body.seq + i), feed, index, i, body.author, { timestamp, replayed: true })
    }
  }

  // A block whose records all expired is not kept, even when it sits after live blocks (it was
  // back-dated): Hypercore stored it to hand it over, and it is cleared at once. Not a block
  // that came live ahead of the core's length: the one stored at that index may differ.
  private dropExpired(feed: Feed, index: number): 'expired' {
    if (feed.local || index < feed.start || index >= feed.core.length || feed.holes.has(index)) return 'expired'
    feed.holes.add(index)
    clearBlocks(feed.core, index, index + 1).then(
      () => this.ctx.erased(),
      (err: unknown) => backgroundError(this.room, err)
    )
    this.ctx.changed()
    return 'expired'
  }

  // A block of messages written before a wipe, fetched from a peer that had not applied it.
  private dropWiped(feed: Feed, index: number): 'ok' {
    if (feed.holes.has(index) && feed.local) return 'ok'
    feed.holes.add(index)
    clearBlocks(feed.core, index, index + 1).then(
      () => this.ctx.erased(),
      (err: unknown) => backgroundError(this.room, err)
    )
    this.ctx.changed()
    return 'ok'
  }

  /**
   * Takes back the messages of block `index` of `feed` (records `seq`… `seq + count - 1`),
   * shown before Hypercore stored that block: a live copy it did not confirm, or an own block
   * whose append failed or moved.
   */
  withdrawBlock(feed: Feed, index: number, seq: number, count: number): void {
    feed.loaded.delete(index)
    const end = seq + count
    const prefix = feed.idPrefix
    this.withdraw((m) => m.seq >= seq && m.seq < end && m.id.startsWith(prefix))
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
    const dash = id.indexOf('-')
    const feed = this.feedsByPrefix.get(id.slice(0, dash + 1))
    if (!feed) return
    const index = feed.blockOf(Number(id.slice(dash + 1)))
    const block = index === undefined ? undefined : feed.loaded.get(index)
    if (index === undefined || !block || !block.content) return
    for (let seq = block.seq; seq < block.seq + block.count; seq++) {
      const m = messageId(feed.key, seq)
      if (!this.apply.isDeleted(m) && !this.isDeadEdit(m)) return
    }
    block.content = false
    feed.holes.add(index)
    clearBlocks(feed.core, index, index + 1).then(
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
