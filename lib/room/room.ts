import b4a from 'b4a'
import type Hypercore from 'hypercore'
import { BackspaceError } from '../errors.js'
import { deriveRoomKeys, deriveWriterKeyPair, messageSignable, sign, type KeyPair, type RoomKeys } from '../crypto.js'
import { encodeRevocation, type DeviceRevocation } from '../identity/device.js'
import { inviteLink, relayLinkOf } from '../links.js'
import {
  encodeBlockBody,
  encodeMessageBlock,
  MAX_BLOCK_RECORDS,
  MAX_TEXT_BYTES,
  MessageType,
  recordSize,
  RoomKind,
  TARGET_BLOCK_BYTES,
  type BlockBody,
  type FeedState,
  type MessageRecord,
  type RoomState
} from '../messages.js'
import { backgroundError, Resource } from '../resource.js'
import type { Member, Message, MessagesOptions, RoomEvents, RoomKindName, RoomStats, SendOptions } from '../types.js'
import { ApplyStage, opKindOf } from './apply.js'
import { RoomChannels, type Stream } from './channel.js'
import type { RoomContext } from './context.js'
import { clearExpired, isExpired } from './expiry.js'
import { decodeBodyOrNull, Feed, messageId, messageId16, parseMessageId } from './feed.js'
import { Ingest, Rejections } from './ingest.js'
import { LivePath } from './live.js'
import { Members } from './members.js'
import { isEmoji, Records } from './records.js'
import { Signers } from './signers.js'
import { WriterSet } from './writers.js'

export const MAX_PAGE = 1000
// Live blocks are requested this many at a time per writer.
const FETCH_WINDOW = 512
// How long the Hypercore copy of live-delivered blocks may wait, in ms, to be fetched in bulk.
const CATCH_UP_DELAY = 100

interface PendingSend {
  record: MessageRecord
  seq: number
  // With the message the record made or changed, once stored; null for other records.
  resolve: (m: Message | null) => void
  reject: (err: Error) => void
}

/**
 * A joined room. Each member writes an encrypted Hypercore; the room replicates every
 * member's core, verifies every message and keeps the loaded ones in one agreed order.
 */
export class Room extends Resource<RoomEvents>() {
  /** The normalised name of a named room, or the label of a private one. */
  readonly name: string
  readonly kind: RoomKindName
  /** The Hyperswarm topic. Public by nature: DHT nodes see it. */
  readonly topic: Buffer
  readonly joinedAt: number
  readonly stats: RoomStats

  private readonly ctx: RoomContext
  private readonly secret: Buffer
  private readonly keys: RoomKeys
  // Per device and room: two devices of one identity never write the same core, and nobody
  // can link a device's cores across rooms.
  private readonly writerKeyPair: KeyPair
  // The persisted feed records to restore on open, consumed by _open.
  private restore: FeedState[]
  private own: Feed | null
  // The sequence number of this node's next message (not block) in the room.
  private nextSeq: number
  // Own timestamps never go backwards, even if the clock does.
  private lastTimestamp: number
  private batch: PendingSend[]
  private flushQueued: boolean
  // Appends run one after another, so each block is signed knowing its final index.
  private appending: Promise<void>
  private pruning: Promise<void> | null
  private forget: boolean

  // The parts, each the one owner of its concern (see lib/room/*.ts).
  // The apply stage: the only place where verified records become messages and their state.
  private readonly apply: ApplyStage
  private readonly channels: RoomChannels
  private readonly writers: WriterSet<Feed>
  private readonly signers: Signers
  private readonly roster: Members
  private readonly rejections: Rejections
  private readonly records: Records
  private readonly live: LivePath
  private readonly ingest: Ingest

  /** @internal Rooms are made by `Backspace.join` and `Backspace.createRoom`. */
  constructor(ctx: RoomContext, state: RoomState) {
    super()
    this.ctx = ctx
    this.secret = state.secret
    this.keys = deriveRoomKeys(state.secret)
    this.name = state.name
    this.kind = state.kind === RoomKind.PRIVATE ? 'private' : 'named'
    this.topic = this.keys.topic
    this.joinedAt = state.joinedAt
    this.writerKeyPair = deriveWriterKeyPair(ctx.device.keyPair.secretKey, state.secret)
    this.restore = state.feeds
    this.own = null
    this.nextSeq = 0
    this.lastTimestamp = 0
    this.batch = []
    this.flushQueued = false
    this.appending = Promise.resolve()
    this.pruning = null
    this.forget = false
    this.stats = {
      writers: 0,
      peers: 0,
      messages: 0,
      rejected: { malformed: 0, 'invalid-signature': 0, oversized: 0, unsupported: 0, 'unauthorized-device': 0, forbidden: 0, 'unknown-kind': 0 },
      badAnnouncements: 0,
      uploaded: 0,
      delivered: 0,
      ownBlocks: 0
    }

    const { keys, stats } = this
    this.apply = new ApplyStage(ctx.identity.publicKey, () => ctx.profile().name)
    this.channels = new RoomChannels(
      { channelId: keys.channelId, channelKey: keys.channelKey, memberKey: keys.memberKey },
      () => !this.closing && this.own !== null,
      stats,
      {
        open: (channel) => {
          channel.announce(this.writers.announcements())
          this.roster.sendPresence(channel)
          this.emit('peer-add', channel.remotePublicKey)
        },
        close: (channel) => {
          this.roster.disconnected(channel)
          this.emit('peer-remove', channel.remotePublicKey)
        },
        writers: (writers) => this.writers.onAnnouncement(writers),
        live: (live) => this.live.receive(live),
        presence: (p, channel) => this.roster.onPresence(p, channel)
      }
    )
    this.writers = new WriterSet<Feed>(this.channels, stats, {
      open: (key) => this.openRemoteFeed(key, null),
      announced: (feed) => this.pump(feed),
      added: (feeds) => {
        for (const feed of feeds) this.emit('writer-add', feed.key)
        ctx.changed()
      }
    })
    this.signers = new Signers(this.writers, (drop) => this.records.withdraw(drop), stats)
    this.roster = new Members(this, ctx, keys.id, this.signers, this.channels, stats)
    this.rejections = new Rejections(this, stats)
    this.records = new Records(this, ctx, this.apply, this.roster, this.signers, this.rejections, stats)
    this.live = new LivePath(keys.id, this.channels, this.writers, this.signers, this.records, this.rejections)
    this.ingest = new Ingest(this, ctx, keys.id, this.apply, this.signers, this.records, this.live, this.rejections)
  }

  /** A stable id for this room on this node: its topic in hex. Not secret; DHT nodes see the topic. */
  get id(): string {
    return this.topic.toString('hex')
  }

  /** An invite string that `Backspace.join` accepts. Anyone holding it can read the room. */
  get invite(): string {
    return inviteLink({ secret: this.secret, name: this.name })
  }

  /**
   * A link for `backspace relay --invite`: it lets a relay keep this room's logs available
   * for members who are offline, without the key to read them.
   */
  get relayLink(): string {
    return relayLinkOf(this.keys.relaySecret)
  }

  /** The identity key of this node, the author of the messages it sends. */
  get author(): Buffer {
    return this.ctx.identity.publicKey
  }

  /** This node's writer core key in this room (unlinkable to its identity). */
  get writerKey(): Buffer {
    if (!this.own) throw BackspaceError.NOT_READY()
    return this.own.key
  }

  override async _open(): Promise<void> {
    const ownCore = this.ctx.store.get({
      // The secret half is passed per append and never handed to storage.
      keyPair: { publicKey: this.writerKeyPair.publicKey, secretKey: null },
      encryption: { key: this.keys.encryptionKey }
    })
    await ownCore.ready()
    // A core's key is the hash of its manifest, not the signer's public key.
    const ownKey = ownCore.key!
    const ownState = this.restore.find((f) => b4a.equals(f.key, ownKey)) ?? null
    this.own = this.addFeed(ownKey, ownCore, true, ownState)
    this.own.seen = ownCore.length
    this.own.indexedFrom = ownCore.length
    this.stats.ownBlocks = ownCore.length

    for (const state of this.restore) {
      if (b4a.equals(state.key, ownKey)) continue
      this.openRemoteFeed(state.key, state)
    }
    this.restore = []
    await Promise.all([...this.writers.values()].map((f) => f.core.ready()))

    if (ownCore.length > 0) {
      const last = await ownCore.get(ownCore.length - 1, { wait: false }).catch(() => null)
      const body = last ? decodeBodyOrNull(last) : null
      if (body) {
        this.nextSeq = body.seq + body.records.length
        this.lastTimestamp = body.records[body.records.length - 1]!.timestamp
      } else {
        // The last block is gone (pruned) or unreadable: sequence numbers only need to grow.
        this.nextSeq = ownCore.length * MAX_BLOCK_RECORDS
      }
    }

    await this.pruneNow()
    await this.loadHistory(this.ctx.historyPage, null, true)
    this.carryRevocations()

    this.ctx.join(this.topic)
    for (const stream of this.ctx.streams()) this.attach(stream)
    for (const feed of this.writers.values()) if (!feed.local) this.pump(feed)
  }

  override async _close(): Promise<void> {
    const closed = BackspaceError.ROOM_CLOSED()
    for (const pending of this.batch) pending.reject(closed)
    this.batch = []
    for (const feed of this.writers.values()) if (feed.catchUp) clearTimeout(feed.catchUp)
    this.channels.close()
    await this.appending
    if (this.pruning) await this.pruning.catch(() => {})
    await this.ctx.leave(this.topic)
    // Leaving deletes what this node stored for the room.
    await this.writers.close(this.forget)
    this.ctx.closed(this, this.forget)
  }

  /** Leaves the room: stops replicating, deletes its local data and forgets it. */
  async leave(): Promise<void> {
    this.forget = true
    await this.close()
  }

  async send(text: string, opts: SendOptions = {}): Promise<Message> {
    await this.whenOpen()
    checkText(text)
    let replyTo: string | null = null
    if (opts.replyTo !== undefined) replyTo = this.targetOf(opts.replyTo).id
    const type = replyTo !== null ? MessageType.REPLY : opts.action ? MessageType.ACTION : MessageType.TEXT
    // A `/me` reply is not a thing: a reply is always text.
    const record: MessageRecord = { type, timestamp: this.stamp(), text }
    if (replyTo !== null) record.target = parseMessageId(replyTo)
    return (await this.enqueue(record))!
  }

  /** Replaces the text of one of this identity's messages; members see it with "(edited)". */
  async edit(target: Message | string, text: string): Promise<Message> {
    await this.whenOpen()
    checkText(text)
    const m = this.ownTarget(target)
    if (m.deleted) throw BackspaceError.NOT_ALLOWED('a deleted message cannot be edited')
    if (m.text === text) return m
    return (await this.enqueue({ type: MessageType.EDIT, timestamp: this.stamp(), text, target: parseMessageId(m.id) }))!
  }

  /** Deletes one of this identity's messages everywhere: it becomes a tombstone. */
  async delete(target: Message | string): Promise<void> {
    await this.whenOpen()
    const m = this.ownTarget(target)
    if (m.deleted) return
    await this.enqueue({ type: MessageType.DELETE, timestamp: this.stamp(), text: '', target: parseMessageId(m.id) })
  }

  /** Adds this identity's `emoji` reaction to a message (once per emoji). */
  async react(target: Message | string, emoji: string): Promise<void> {
    await this.reaction(target, emoji, true)
  }

  /** Removes this identity's `emoji` reaction from a message. */
  async unreact(target: Message | string, emoji: string): Promise<void> {
    await this.reaction(target, emoji, false)
  }

  private async reaction(target: Message | string, emoji: string, add: boolean): Promise<void> {
    await this.whenOpen()
    checkEmoji(emoji)
    const m = this.targetOf(target)
    if (m.deleted) throw BackspaceError.NOT_ALLOWED('a deleted message takes no reactions')
    const mine = m.reactions.find((r) => r.emoji === emoji)?.self ?? false
    if (mine === add) return
    const type = add ? MessageType.REACT : MessageType.UNREACT
    await this.enqueue({ type, timestamp: this.stamp(), text: emoji, target: parseMessageId(m.id) })
  }

  /** The loaded message with this id, in its current state. */
  message(id: string): Message | undefined {
    return this.apply.get(id)
  }

  /**
   * @internal Carries a verified revocation of one of this identity's devices to the room's
   * members: a record in this node's core, with where the revoked device's cores here end,
   * so that blocks it writes after it are rejected by every member.
   */
  async applyRevocation(revocation: DeviceRevocation): Promise<void> {
    await this.whenOpen()
    const cuts = this.signers.revokeOwn(revocation)
    await this.enqueue({
      type: MessageType.REVOKE,
      timestamp: this.stamp(),
      text: '',
      revocation: encodeRevocation(revocation),
      cuts
    })
  }

  private carryRevocations(): void {
    for (const revocation of this.signers.dueToCarry(this.ctx.revocations(), this.ctx.now(), this.ctx.ttl)) {
      this.applyRevocation(revocation).catch((err) => backgroundError(this, err))
    }
  }

  /** @internal Appends a record of the room's extension kinds; resolves once stored. */
  async appendRecord(record: Omit<MessageRecord, 'timestamp'>): Promise<void> {
    await this.whenOpen()
    await this.enqueue({ ...record, timestamp: this.stamp() })
  }

  private async whenOpen(): Promise<void> {
    if (this.closing) throw BackspaceError.ROOM_CLOSED()
    if (!this.opened) await this.ready()
    if (this.closing) throw BackspaceError.ROOM_CLOSED()
  }

  // Own timestamps never go backwards, even if the clock does.
  private stamp(): number {
    return (this.lastTimestamp = Math.max(this.ctx.now(), this.lastTimestamp))
  }

  private targetOf(target: Message | string): Message {
    const id = typeof target === 'string' ? target : target?.id
    if (typeof id !== 'string') throw BackspaceError.INVALID_ARGUMENT('target must be a message of this room or its id')
    const m = this.apply.get(id)
    if (!m) throw BackspaceError.MESSAGE_NOT_FOUND(id)
    return m
  }

  private ownTarget(target: Message | string): Message {
    const m = this.targetOf(target)
    if (!b4a.equals(m.author, this.ctx.identity.publicKey)) {
      throw BackspaceError.NOT_ALLOWED('only its author can edit or delete a message')
    }
    return m
  }

  /** The members this node knows of: authors it has read and members online now. */
  members(): Member[] {
    return this.roster.list()
  }

  /**
   * @internal Publishes this identity's new profile: a block that carries it, so members
   * who read the log later learn it too, and a presence message to the members online.
   */
  async publishProfile(): Promise<void> {
    if (this.closing) return
    if (!this.opened) await this.ready()
    this.roster.publishOwn()
    for (const m of this.apply.refreshAll()) if (m.mention) this.emit('message-update', m)
    await this.enqueue({ type: MessageType.PROFILE, timestamp: this.stamp(), text: '' })
  }

  // Resolves, once stored, with the message a record made or changed (null for others).
  private enqueue(record: MessageRecord): Promise<Message | null> {
    const seq = this.nextSeq++
    return new Promise<Message | null>((resolve, reject) => {
      this.batch.push({ record, seq, resolve, reject })
      if (!this.flushQueued) {
        this.flushQueued = true
        queueMicrotask(() => this.flush())
      }
    })
  }

  /**
   * The latest page of messages, oldest first; with `before`, the page before that message.
   * Older history is fetched from peers as needed. Expired messages are never returned.
   */
  async messages(opts: MessagesOptions = {}): Promise<Message[]> {
    if (this.closing) throw BackspaceError.ROOM_CLOSED()
    if (!this.opened) await this.ready()
    const limit = opts.limit ?? 50
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw BackspaceError.INVALID_ARGUMENT(`limit must be an integer from 1 to ${MAX_PAGE}`)
    }
    let before: Message | null = null
    if (opts.before !== undefined) {
      before = typeof opts.before === 'string' ? (this.apply.get(opts.before) ?? null) : opts.before
      if (!before || typeof before.timestamp !== 'number' || !b4a.isBuffer(before.author)) {
        throw BackspaceError.INVALID_ARGUMENT('before must be a message of this room or its id')
      }
    }
    await this.loadHistory(limit, before, false)
    const now = this.ctx.now()
    return this.apply.timeline.page(limit, before, (m) => !this.isExpired(m.timestamp, now))
  }

  /** Deletes expired messages from memory and their blocks from disk. Runs periodically too. */
  async prune(): Promise<void> {
    if (this.closing) return
    if (!this.opened) await this.ready()
    await this.pruneNow()
  }

  // -------------------------------------------------------------------------
  // Sending
  // -------------------------------------------------------------------------

  /** Encodes and signs the block of `records` that will sit at `index` of this node's core. */
  private signBlock(index: number, seq: number, records: MessageRecord[]): Buffer {
    return this.signBody(index, this.blockBody(seq, records))
  }

  private signBody(index: number, body: BlockBody): Buffer {
    const bytes = encodeBlockBody(body)
    const signature = sign(messageSignable(this.keys.id, this.own!.key, index, bytes), this.ctx.device.keyPair.secretKey)
    return encodeMessageBlock(bytes, signature)
  }

  private blockBody(seq: number, records: MessageRecord[]): BlockBody {
    // The profile is always carried, even when empty (3 bytes), so that clearing a name
    // reaches readers too.
    return {
      author: this.ctx.identity.publicKey,
      certificate: this.ctx.device.certificate,
      seq,
      records,
      profile: this.ctx.profile()
    }
  }

  // Splits a batch of sends into blocks that stay under the target block size.
  private static packBlocks(batch: PendingSend[]): PendingSend[][] {
    const blocks: PendingSend[][] = []
    let current: PendingSend[] = []
    let size = 0
    for (const p of batch) {
      const bytes = recordSize(p.record)
      if (current.length > 0 && (size + bytes > TARGET_BLOCK_BYTES || current.length === MAX_BLOCK_RECORDS)) {
        blocks.push(current)
        current = []
        size = 0
      }
      current.push(p)
      size += bytes
    }
    if (current.length > 0) blocks.push(current)
    return blocks
  }

  private flush(): void {
    const batch = this.batch
    this.batch = []
    this.flushQueued = false
    if (batch.length === 0) return
    const own = this.own!
    this.appending = this.appending.then(async () => {
      let bodies: BlockBody[]
      try {
        if (this.closing) throw BackspaceError.ROOM_CLOSED()
        const index = own.core.length
        bodies = Room.packBlocks(batch).map((group) => this.blockBody(group[0]!.seq, group.map((p) => p.record)))
        const blocks = bodies.map((body, i) => this.signBody(index + i, body))
        // Sent before the append: the blocks and their indexes are final (appends run one at
        // a time), and waiting for storage would double the latency members see. If the
        // append fails, members drop what they showed once Hypercore has another block there.
        if (this.live.send(own.key, index, blocks)) {
          // The append starts on the next loop iteration, after the poll phase has put the
          // frames on the wire: its hashing, signing and synchronous RocksDB flush (about a
          // millisecond) would otherwise run in front of them. Measured in docs/PERFORMANCE.md.
          await new Promise<void>((resolve) => setTimeout(resolve, 0))
        }
        await own.core.append(blocks, { keyPair: this.writerKeyPair })
      } catch (err) {
        // The failed messages' sequence numbers stay unused; they only need to grow.
        for (const p of batch) p.reject(err as Error)
        return
      }
      own.seen = own.core.length
      this.stats.ownBlocks = own.core.length
      // Own records pass the same apply stage as everyone else's.
      const first = own.core.length - bodies.length
      for (let i = 0; i < bodies.length; i++) this.records.load(own, first + i, bodies[i]!, true)
      for (const p of batch) p.resolve(this.resultOf(own, p))
    })
  }

  private resultOf(own: Feed, p: PendingSend): Message | null {
    const { record } = p
    if (opKindOf(record.type) !== null && record.target) {
      return this.apply.get(messageId16(record.target.core, record.target.seq)) ?? null
    }
    return this.apply.get(messageId(own.key, p.seq)) ?? null
  }

  // -------------------------------------------------------------------------
  // Reading: each writer's history and new blocks
  // -------------------------------------------------------------------------

  /**
   * Makes sure that, for every writer, the timeline holds `limit` messages before `before`,
   * or everything that writer has that is still alive. Reads go back from the lowest loaded
   * index, so a joiner fetches about a page per writer, never the whole history.
   */
  private async loadHistory(limit: number, before: Message | null, localOnly: boolean): Promise<void> {
    await Promise.all([...this.writers.values()].map((f) => this.loadFeedHistory(f, limit, before, localOnly)))
  }

  private async loadFeedHistory(
    feed: Feed,
    limit: number,
    before: Message | null,
    localOnly: boolean
  ): Promise<void> {
    while (!this.closing && !feed.fresh && feed.indexedFrom > feed.floor) {
      const have = this.apply.timeline.countBefore(before, (m) => m.id.startsWith(feed.idPrefix), limit)
      if (have >= limit) return
      const to = feed.indexedFrom
      const from = Math.max(feed.floor, to - Math.max(limit - have, 16))
      const wait = !localOnly && feed.core.peers.length > 0
      const blocks = await feed.getRange(from, to, { wait, timeout: this.ctx.fetchTimeout })
      if (this.closing) return
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

  // -------------------------------------------------------------------------
  // Live replication: each member's new blocks, as they arrive
  // -------------------------------------------------------------------------

  // While a writer's blocks also come live on the channel, their Hypercore copies are
  // fetched a little later and in batches: reading them at once would put this node's
  // requests, and the writer's proof reads, on the path of the next live message.
  private onAppend(feed: Feed): void {
    if (feed.owner === null || this.channels.size === 0) return this.pump(feed)
    if (feed.catchUp !== null) return
    feed.catchUp = setTimeout(() => {
      feed.catchUp = null
      this.pump(feed)
    }, CATCH_UP_DELAY)
  }

  private pump(feed: Feed): void {
    if (this.closing || feed.local) return
    if (feed.pumping) {
      feed.pumpAgain = true
      return
    }
    feed.pumping = this.runPump(feed)
      .catch((err) => backgroundError(this, err))
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
    while (!this.closing) {
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
      if (this.closing) return false
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

  // -------------------------------------------------------------------------
  // TTL
  // -------------------------------------------------------------------------

  private pruneNow(): Promise<void> {
    if (this.pruning) return this.pruning
    this.pruning = this.runPrune().finally(() => {
      this.pruning = null
    })
    return this.pruning
  }

  private async runPrune(): Promise<void> {
    const now = this.ctx.now()
    const changed = await clearExpired(
      this.writers.values(),
      () => !!this.closing,
      (feed) => this.expiryBoundary(feed, now),
      (feed) => {
        const boundary = feed.start
        feed.hintStart = Math.max(feed.hintStart, boundary)
        feed.storedFrom = Math.max(feed.storedFrom, boundary)
        feed.indexedFrom = Math.max(feed.indexedFrom, boundary)
        feed.seen = Math.max(feed.seen, boundary)
      }
    )
    if (changed === null) return
    this.apply.removeWhere((m) => this.isExpired(m.timestamp, now))
    this.apply.expireHeld(now - this.ctx.ttl)
    for (const feed of this.writers.values()) {
      for (const index of feed.loaded.keys()) if (index < feed.start) feed.loaded.delete(index)
      for (const index of feed.holes) if (index < feed.start) feed.holes.delete(index)
    }
    this.stats.messages = this.apply.size
    if (changed) this.ctx.changed()
  }

  /**
   * The first index of `feed` whose block is still alive, found by binary search over the
   * contiguous stored range (a writer's timestamps never decrease). Blocks that are not
   * stored count as alive: this node cannot tell, and has nothing of them to delete.
   */
  private async expiryBoundary(feed: Feed, now: number): Promise<number> {
    let lo = Math.max(feed.start, feed.storedFrom)
    let hi = Math.min(feed.seen, feed.core.length)
    if (lo >= hi) return feed.start
    const first = lo
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const block = await feed.core.get(mid, { wait: false }).catch(() => null)
      // Undecodable blocks are garbage and go with the expired ones.
      const body = block ? decodeBodyOrNull(block) : null
      const ts = body ? body.records[body.records.length - 1]!.timestamp : null
      const expired = block !== null && (ts === null || this.isExpired(ts, now))
      if (expired) lo = mid + 1
      else hi = mid
    }
    return lo === first ? feed.start : lo
  }

  private isExpired(timestamp: number, now: number): boolean {
    return isExpired(timestamp, now, this.ctx.ttl)
  }

  /** @internal Opens the room's channel on a new connection. */
  attach(stream: Stream): void {
    // Called from _open too, before `opened` is set: a room joined on an existing connection
    // must open its channel there, or members already connected would never meet in it.
    this.channels.attach(stream)
  }

  /** @internal The record the node persists for this room. */
  state(): RoomState {
    return {
      kind: this.kind === 'private' ? RoomKind.PRIVATE : RoomKind.NAMED,
      secret: this.secret,
      name: this.name,
      joinedAt: this.joinedAt,
      ttl: this.ctx.ttl,
      feeds: this.restore.length > 0 ? this.restore : [...this.writers.values()].map((f) => f.state())
    }
  }

  private openRemoteFeed(key: Buffer, state: FeedState | null): Feed {
    const core = this.ctx.store.get({ key, encryption: { key: this.keys.encryptionKey } })
    const feed = this.addFeed(key, core, false, state)
    core.on('append', () => this.onAppend(feed))
    if (this.opened) this.pump(feed)
    return feed
  }

  private addFeed(key: Buffer, core: Hypercore, local: boolean, state: FeedState | null): Feed {
    const feed = new Feed(key, core, local, state)
    core.on('upload', (index: number) => {
      this.stats.uploaded++
      if (local && index >= this.stats.delivered) this.stats.delivered = index + 1
      this.ctx.uploaded()
    })
    return this.writers.add(feed)
  }
}

function checkText(text: unknown): asserts text is string {
  if (typeof text !== 'string') throw BackspaceError.INVALID_ARGUMENT('text must be a string')
  if (text.trim().length === 0) throw BackspaceError.EMPTY_MESSAGE()
  const size = b4a.byteLength(text)
  if (size > MAX_TEXT_BYTES) {
    throw BackspaceError.MESSAGE_TOO_LARGE(`${size} bytes; the limit is ${MAX_TEXT_BYTES}`)
  }
}

function checkEmoji(emoji: unknown): asserts emoji is string {
  if (!isEmoji(emoji)) throw BackspaceError.INVALID_EMOJI(`${JSON.stringify(String(emoji)).slice(0, 40)} is not one emoji`)
}
