import b4a from 'b4a'
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { BackspaceError } from './errors.js'
import {
  deriveRoomKeys,
  deriveWriterKeyPair,
  messageSignable,
  presenceSignable,
  sign,
  verify,
  type KeyPair,
  type RoomKeys
} from './crypto.js'
import { Feed, messageId, messageId16, parseMessageId } from './feed.js'
import {
  certificateId,
  decodeRevocation,
  encodeRevocation,
  verifyCertificate,
  verifyRevocation,
  type DeviceCertificate,
  type DeviceRevocation
} from './identity/device.js'
import { ApplyStage, opKindOf } from './room/apply.js'
import { fingerprint, type Identity } from './identity.js'
import { isMention } from './mentions.js'
import {
  decodeMessageBlock,
  encodeBlockBody,
  encodeProfile,
  encodeMessageBlock,
  MAX_BLOCK_RECORDS,
  MAX_EMOJI_BYTES,
  MAX_TEXT_BYTES,
  messageTextProblem,
  MessageType,
  recordSize,
  RoomKind,
  TARGET_BLOCK_BYTES,
  type BlockBody,
  type DecodedBlock,
  type FeedState,
  type LiveBlock,
  type MessageRecord,
  type Presence,
  type ProfileFields,
  type RoomState,
  type WriterAnnouncement
} from './messages.js'
import { inviteLink, relayLinkOf } from './links.js'
import { Resource } from './resource.js'
import type {
  Member,
  Message,
  MessageKind,
  MessagesOptions,
  Profile,
  RejectReason,
  RoomEvents,
  RoomKindName,
  RoomStats,
  SendOptions
} from './types.js'
import { Pairings, RoomChannel } from './writer-discovery.js'

/** Members beyond this many writer cores are ignored, so a hostile member cannot exhaust us. */
export const MAX_WRITERS = 1024
export const MAX_PAGE = 1000
// Live blocks are requested this many at a time per writer.
const FETCH_WINDOW = 512
// Appends of at most this many blocks are also sent straight to members online.
const LIVE_MAX_BLOCKS = 4
// Blocks per writer shown from the channel and not yet confirmed by Hypercore, at most.
const MAX_UNCONFIRMED = 1024
// How long the Hypercore copy of live-delivered blocks may wait, in ms, to be fetched in bulk.
const CATCH_UP_DELAY = 100

/** @internal What a room needs from its node. */
export interface RoomContext {
  readonly store: Corestore
  readonly identity: Identity
  now(): number
  readonly ttl: number
  /** Messages per writer fetched when a writer is first seen or on start. */
  readonly historyPage: number
  /** How long paging back waits for a block from peers. */
  readonly fetchTimeout: number
  join(topic: Buffer): void
  leave(topic: Buffer): Promise<void>
  streams(): Iterable<object & { remotePublicKey: Buffer; publicKey: Buffer }>
  /** Something persistent changed; the node saves its state soon. */
  changed(): void
  /** The room closed; with `forget` it was left and must not be restored. */
  closed(room: Room, forget: boolean): void
  /** This identity's current profile, carried by every block it writes. */
  profile(): ProfileFields
  /** A block of this room was sent to a peer. */
  uploaded(): void
  /** This node's device: its key pair signs blocks, its certificate ties it to the identity. */
  readonly device: RoomDevice
  /** Revocations of this identity's own devices, to carry to the room's members. */
  revocations(): DeviceRevocation[]
  /** For a log that is not a chat room (the account log): its own record kinds and rules. */
  readonly extension?: RoomExtension
}

/** @internal Record kinds a room's owner applies itself, and who may write them. */
export interface RoomExtension {
  readonly kinds: ReadonlySet<number>
  /** Only devices of this node's identity may write to the log. */
  readonly ownIdentityOnly: boolean
  onrecord(record: MessageRecord, meta: { id: string; author: Buffer; device: Buffer; emit: boolean }): void
}

/** @internal The device a room writes as. */
export interface RoomDevice {
  readonly keyPair: KeyPair
  readonly certificate: DeviceCertificate
}

/** Where a revoked device's authority ends in this room. */
interface RevokedDevice {
  revokedAt: number
  /** Per writer core (hex) of that device, the length from which its blocks are void. */
  cuts: Map<string, number>
}

// Certificates verified once, by id; a room sees the same few again and again.
const MAX_CERT_CACHE = 4096

interface MemberState {
  key: Buffer
  fingerprint: string
  profile: ProfileFields
  // The timestamp of the block the profile came from: older blocks never overwrite it.
  profileTime: number
  // The room channels on which this member proved its presence.
  channels: Set<RoomChannel>
}

interface PendingSend {
  record: MessageRecord
  seq: number
  // With the message the record made or changed, once stored; null for other records.
  resolve: (m: Message | null) => void
  reject: (err: Error) => void
}

type IngestResult = 'ok' | 'expired' | 'rejected'

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
  private readonly writerKeyPair: KeyPair
  // The persisted feed records to restore on open, consumed by _open.
  private restore: FeedState[]
  private readonly feeds = new Map<string, Feed>()
  private own: Feed | null = null
  // The apply stage: the only place where verified records become messages and their state.
  private readonly apply: ApplyStage
  // Blocks whose every record is a message: when all are deleted, the block is cleared.
  private readonly contentBlocks = new Map<string, { feed: Feed; index: number; ids: string[] }>()
  private readonly blockOfMessage = new Map<string, string>()
  private readonly certificates = new Map<string, DeviceCertificate>()
  // Devices revoked, by device key hex: their later blocks are rejected.
  private readonly revoked = new Map<string, RevokedDevice>()
  // When a revocation of this identity's devices was last carried in this room, by device hex.
  private readonly revocationCarried = new Map<string, number>()
  // Certificates of devices seen writing, by device key hex, to check revocations against.
  private readonly deviceCertificates = new Map<string, DeviceCertificate>()
  private readonly channels = new Set<RoomChannel>()
  private readonly members_ = new Map<string, MemberState>()
  // Per connection, the function that stops answering the peer's opens of this room's channel.
  private readonly pairings = new Pairings()
  // The sequence number of this node's next message (not block) in the room.
  private nextSeq = 0
  // Own timestamps never go backwards, even if the clock does.
  private lastTimestamp = 0
  private batch: PendingSend[] = []
  private flushQueued = false
  // Appends run one after another, so each block is signed knowing its final index.
  private appending: Promise<void> = Promise.resolve()
  private pruning: Promise<void> | null = null
  private forget = false

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
    // Per device and room: two devices of one identity never write the same core, and nobody
    // can link a device's cores across rooms.
    this.writerKeyPair = deriveWriterKeyPair(ctx.device.keyPair.secretKey, state.secret)
    this.apply = new ApplyStage(ctx.identity.publicKey, () => ctx.profile().name)
    this.restore = state.feeds
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
    const self = this.member(ctx.identity.publicKey)
    self.profile = ctx.profile()
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
    await Promise.all([...this.feeds.values()].map((f) => f.core.ready()))

    if (ownCore.length > 0) {
      const last = await ownCore.get(ownCore.length - 1, { wait: false }).catch(() => null)
      const body = last ? tryDecode(last) : null
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
    for (const feed of this.feeds.values()) if (!feed.local) this.pump(feed)
  }

  override async _close(): Promise<void> {
    const closed = BackspaceError.ROOM_CLOSED()
    for (const pending of this.batch) pending.reject(closed)
    this.batch = []
    for (const feed of this.feeds.values()) if (feed.catchUp) clearTimeout(feed.catchUp)
    this.pairings.clear()
    for (const channel of this.channels) channel.close()
    this.channels.clear()
    await this.appending
    if (this.pruning) await this.pruning.catch(() => {})
    await this.ctx.leave(this.topic)
    if (this.forget) {
      // Leaving deletes what this node stored for the room.
      for (const feed of this.feeds.values()) {
        if (feed.core.length > 0) await feed.core.clear(0, feed.core.length).catch(() => {})
      }
    }
    await Promise.all([...this.feeds.values()].map((f) => f.core.close().catch(() => {})))
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
    this.revoke(revocation, this.cutsOf(revocation.device))
    await this.enqueue({
      type: MessageType.REVOKE,
      timestamp: this.stamp(),
      text: '',
      revocation: encodeRevocation(revocation),
      cuts: [...(this.revoked.get(revocation.device.toString('hex'))?.cuts ?? [])].map(([hex, length]) => ({
        core: b4a.from(hex, 'hex'),
        length
      }))
    })
  }

  // Revocation records expire with the TTL like everything else, so each device carries its
  // identity's revocations again once the last record of one is half a TTL old: a revoked
  // device never gets its authority back by waiting.
  private carryRevocations(): void {
    const now = this.ctx.now()
    for (const revocation of this.ctx.revocations()) {
      const carried = this.revocationCarried.get(revocation.device.toString('hex')) ?? 0
      if (carried > now - this.ctx.ttl / 2) continue
      this.revocationCarried.set(revocation.device.toString('hex'), now)
      this.applyRevocation(revocation).catch((err) => this.backgroundError(err))
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
    return [...this.members_.values()].map((m) => this.memberView(m))
  }

  /**
   * @internal Publishes this identity's new profile: a block that carries it, so members
   * who read the log later learn it too, and a presence message to the members online.
   */
  async publishProfile(): Promise<void> {
    if (this.closing) return
    if (!this.opened) await this.ready()
    const profile = this.ctx.profile()
    const self = this.member(this.ctx.identity.publicKey)
    self.profile = profile
    this.emit('member-update', this.memberView(self))
    for (const channel of this.channels) this.sendPresence(channel)
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
        if (this.sendLive(index, blocks)) {
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
      for (let i = 0; i < bodies.length; i++) this.load(own, first + i, bodies[i]!, true)
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

  // A few fresh blocks also go straight to the members online: they arrive in one trip
  // instead of Hypercore's several storage and network round trips. Bulk writes are left to
  // Hypercore alone, which batches them better.
  private sendLive(index: number, blocks: Buffer[]): boolean {
    if (this.channels.size === 0 || blocks.length > LIVE_MAX_BLOCKS) return false
    const key = this.own!.key
    for (let i = 0; i < blocks.length; i++) {
      for (const channel of this.channels) channel.sendLive({ key, index: index + i, block: blocks[i]! })
    }
    return true
  }

  private onLive(live: LiveBlock): void {
    if (this.closing) return
    const feed = this.feeds.get(live.key.toString('hex'))
    // Only for a writer whose owner Hypercore has confirmed, and only what is not yet seen:
    // a member cannot slip a block into someone else's core or ahead of its real one.
    if (!feed || feed.local || feed.owner === null || live.index < feed.floor) return
    if (live.index < feed.seen || feed.unconfirmed.has(live.index)) return
    let decoded: DecodedBlock
    try {
      decoded = decodeMessageBlock(live.block)
    } catch {
      this.rejectLive()
      return
    }
    const { body } = decoded
    const signer = this.signerOf(body)
    if (signer === null || !b4a.equals(signer, feed.owner) || !this.verifyBlock(feed, live.index, decoded, signer)) {
      this.rejectLive()
      return
    }
    if (this.isRevokedAt(signer, feed, live.index, body)) {
      this.rejectLive()
      return
    }
    if (this.load(feed, live.index, body, true) !== 'ok') return
    feed.unconfirmed.set(live.index, { seq: body.seq, count: body.records.length })
    if (feed.unconfirmed.size > MAX_UNCONFIRMED) {
      feed.unconfirmed.delete(feed.unconfirmed.keys().next().value!)
    }
  }

  // Hypercore delivered block `index`: if a different block had come live for that index (its
  // author's append failed after sending it), the messages shown from it are withdrawn.
  private confirmLive(feed: Feed, index: number, seq: number, count: number): void {
    const live = feed.unconfirmed.get(index)
    if (!live) return
    feed.unconfirmed.delete(index)
    if (live.seq === seq && live.count === count) return
    feed.loaded.delete(index)
    const end = live.seq + live.count
    const prefix = feed.idPrefix
    this.withdraw((m) => m.seq >= live.seq && m.seq < end && m.id.startsWith(prefix))
  }

  private withdraw(drop: (m: Message) => boolean): void {
    const withdrawn = this.apply.removeWhere(drop)
    this.stats.messages = this.apply.size
    for (const m of withdrawn) this.emit('message-withdrawn', m)
  }

  // -------------------------------------------------------------------------
  // Reading: verification, then the apply stage
  // -------------------------------------------------------------------------

  /**
   * Verifies block `index` of `feed`, as Hypercore delivered it, and loads its records.
   * 'expired' if all of them are. The first valid block teaches the feed its owner.
   */
  private ingest(feed: Feed, index: number, block: Buffer, emit: boolean): IngestResult {
    let decoded: DecodedBlock
    try {
      decoded = decodeMessageBlock(block)
    } catch (err) {
      const e = err as BackspaceError
      const reason: RejectReason =
        e.code === 'MESSAGE_TOO_LARGE' ? 'oversized' : e.code === 'UNSUPPORTED_VERSION' ? 'unsupported' : 'malformed'
      return this.reject(reason, e, feed, index)
    }
    const { body } = decoded
    const last = body.seq + body.records.length - 1
    if (feed.unconfirmed.size > 0) this.confirmLive(feed, index, body.seq, body.records.length)
    // Hypercore has authenticated this block as the core's; if it came live first and its
    // records are loaded, it was verified then and needs no second verification.
    if (feed.loaded.has(index) || (this.apply.has(messageId(feed.key, body.seq)) && this.apply.has(messageId(feed.key, last)))) {
      // Fetched while its delete was being applied: clear it again.
      if (feed.holes.has(index)) feed.core.clear(index, index + 1).catch((err: unknown) => this.backgroundError(err))
      return 'ok'
    }
    const signer = this.signerOf(body)
    if (signer === null) {
      return this.reject('unauthorized-device', BackspaceError.BAD_SIGNATURE(`block ${index}: no valid device certificate`), feed, index)
    }
    if (!this.verifyBlock(feed, index, decoded, signer)) {
      return this.reject('invalid-signature', BackspaceError.BAD_SIGNATURE(`block ${index}`), feed, index)
    }
    // One core, one signer: a block by any other key is not this writer's.
    if (feed.owner !== null && !b4a.equals(feed.owner, signer)) {
      return this.reject('unauthorized-device', BackspaceError.BAD_SIGNATURE(`block ${index}: another device`), feed, index)
    }
    if (this.isRevokedAt(signer, feed, index, body)) {
      return this.reject('unauthorized-device', BackspaceError.DEVICE_REVOKED(`block ${index}`), feed, index)
    }
    if (this.ctx.extension?.ownIdentityOnly && !b4a.equals(body.author, this.ctx.identity.publicKey)) {
      return this.reject('unauthorized-device', BackspaceError.NOT_ALLOWED(`block ${index}: another identity`), feed, index)
    }
    if (feed.owner === null) feed.owner = signer
    return this.load(feed, index, body, emit)
  }

  /**
   * The key that must have signed `body`: the device of a valid certificate (v2), or the
   * author itself (v1, written before devices). Null when the certificate does not verify.
   */
  private signerOf(body: BlockBody): Buffer | null {
    const cert = body.certificate
    if (!cert) return body.author
    const id = certificateId(cert.signature)
    const known = this.certificates.get(id)
    if (known) return sameCertificate(known, cert) ? cert.device : null
    if (!verifyCertificate(cert)) return null
    if (this.certificates.size >= MAX_CERT_CACHE) this.certificates.delete(this.certificates.keys().next().value!)
    this.certificates.set(id, cert)
    this.deviceCertificates.set(cert.device.toString('hex'), cert)
    return cert.device
  }

  private verifyBlock(feed: Feed, index: number, { bodyBytes, signature }: DecodedBlock, signer: Buffer): boolean {
    return verify(signature, messageSignable(this.keys.id, feed.key, index, bodyBytes), signer)
  }

  // Whether the device's authority had ended when it wrote this block: at or past where its
  // core was cut, or stamped at or after the revocation.
  private isRevokedAt(device: Buffer, feed: Feed, index: number, body: BlockBody): boolean {
    const r = this.revoked.get(device.toString('hex'))
    if (!r) return false
    const cut = r.cuts.get(feed.hex)
    if (cut !== undefined && index >= cut) return true
    return body.records[body.records.length - 1]!.timestamp >= r.revokedAt
  }

  /** Passes a verified block's records to the apply stage. */
  private load(feed: Feed, index: number, body: BlockBody, emit: boolean): IngestResult {
    const records = body.records
    const now = this.ctx.now()
    const lastTimestamp = records[records.length - 1]!.timestamp
    if (this.isExpired(lastTimestamp, now)) return 'expired'
    feed.markLoaded(index, body.seq, records.length)
    const self = b4a.equals(body.author, this.ctx.identity.publicKey)
    const member = this.member(body.author)
    if (body.profile && !self && lastTimestamp > member.profileTime) {
      const changed = !sameProfile(member.profile, body.profile)
      member.profile = body.profile
      member.profileTime = lastTimestamp
      // Every block carries the profile: only a change is news, not each message.
      if (changed) this.emit('member-update', this.memberView(member))
    }
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
      if (this.isExpired(record.timestamp, now)) continue
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
        if (message && emit) this.emit('message', message)
        continue
      }
      const op = opKindOf(record.type)
      if ((op === 'react' || op === 'unreact') && !isEmoji(record.text)) {
        this.reject('malformed', BackspaceError.INVALID_EMOJI(`record ${id}`), feed, index)
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
          this.stats.rejected.forbidden-- // counted by reject() below
          this.reject('forbidden', BackspaceError.NOT_ALLOWED(`record ${id} changes another author's message`), feed, index)
        }
        updated.push(...result.updated)
        if (op === 'delete' && this.apply.isDeleted(target)) this.clearDeleted(target)
        continue
      }
      onlyContent = false
      if (record.type === MessageType.REVOKE) {
        this.onRevokeRecord(record, body.author)
      } else if (this.ctx.extension?.kinds.has(record.type)) {
        this.ctx.extension.onrecord(record, { id, author: body.author, device, emit })
      } else if (record.type !== MessageType.PROFILE) {
        // A kind from a newer build: skipped and counted, never fatal.
        this.reject('unknown-kind', BackspaceError.UNSUPPORTED_VERSION(`record kind ${record.type}`), feed, index)
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
    for (const m of updated) this.emit('message-update', m)
    return 'ok'
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
    block.feed.core.clear(block.index, block.index + 1).catch((err: unknown) => this.backgroundError(err))
    this.ctx.changed()
  }

  // An edit record's text is content too: dead once the message it edits is deleted.
  private editTargets = new Map<string, string>()
  private isDeadEdit(id: string): boolean {
    const target = this.editTargets.get(id)
    return target !== undefined && this.apply.isDeleted(target)
  }

  private onRevokeRecord(record: MessageRecord, author: Buffer): void {
    if (!record.revocation) return
    let revocation: DeviceRevocation
    try {
      revocation = decodeRevocation(record.revocation)
    } catch {
      this.stats.badAnnouncements++
      return
    }
    // Only the identity's own word, checked by its signature chain, revokes its devices.
    if (!b4a.equals(revocation.identity, author)) return
    const target = this.deviceCertificates.get(revocation.device.toString('hex')) ?? null
    if (!verifyRevocation(revocation, target)) {
      this.stats.badAnnouncements++
      return
    }
    const cuts = new Map<string, number>()
    for (const cut of record.cuts ?? []) cuts.set(cut.core.toString('hex'), cut.length)
    const hex = revocation.device.toString('hex')
    this.revocationCarried.set(hex, Math.max(this.revocationCarried.get(hex) ?? 0, record.timestamp))
    this.revoke(revocation, cuts)
  }

  // Records a revocation and withdraws what the device wrote after it.
  private revoke(revocation: DeviceRevocation, cuts: Map<string, number>): void {
    const hex = revocation.device.toString('hex')
    const current = this.revoked.get(hex)
    const entry: RevokedDevice = current ?? { revokedAt: revocation.revokedAt, cuts: new Map() }
    entry.revokedAt = Math.min(entry.revokedAt, revocation.revokedAt)
    for (const [core, length] of cuts) {
      const was = entry.cuts.get(core)
      entry.cuts.set(core, was === undefined ? length : Math.min(was, length))
    }
    this.revoked.set(hex, entry)
    const device = revocation.device
    this.withdraw((m) => b4a.equals(m.device, device) && (m.timestamp >= entry.revokedAt || this.pastCut(m, entry)))
  }

  private pastCut(m: Message, entry: RevokedDevice): boolean {
    for (const [core, length] of entry.cuts) {
      const feed = this.feeds.get(core)
      if (feed && m.id.startsWith(feed.idPrefix) && (feed.blockOf(m.seq) ?? -1) >= length) return true
    }
    return false
  }

  // This node's view of where a device's cores in this room end.
  private cutsOf(device: Buffer): Map<string, number> {
    const cuts = new Map<string, number>()
    for (const feed of this.feeds.values()) {
      if (feed.owner && b4a.equals(feed.owner, device)) cuts.set(feed.hex, feed.core.length)
    }
    return cuts
  }

  private reject(reason: RejectReason, error: BackspaceError, feed: Feed, index: number): 'rejected' {
    this.stats.rejected[reason]++
    if (this.listenerCount('reject') > 0) this.emit('reject', { reason, error, writer: feed.key, index })
    return 'rejected'
  }

  // A bad block sent on the channel says nothing about the core it names: count it against
  // the channel, not the writer.
  private rejectLive(): 'rejected' {
    this.stats.badAnnouncements++
    return 'rejected'
  }

  private isExpired(timestamp: number, now: number): boolean {
    return timestamp + this.ctx.ttl <= now
  }

  /**
   * Makes sure that, for every writer, the timeline holds `limit` messages before `before`,
   * or everything that writer has that is still alive. Reads go back from the lowest loaded
   * index, so a joiner fetches about a page per writer, never the whole history.
   */
  private async loadHistory(limit: number, before: Message | null, localOnly: boolean): Promise<void> {
    await Promise.all([...this.feeds.values()].map((f) => this.loadFeedHistory(f, limit, before, localOnly)))
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
        if (this.ingest(feed, from + i, block, false) === 'expired') {
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
      .catch((err) => this.backgroundError(err))
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
        this.ingest(feed, start + i, block, true)
      }
      if (feed.seen >= start && feed.seen < end) feed.seen = end
    }
    return true
  }

  // -------------------------------------------------------------------------
  // Writer discovery
  // -------------------------------------------------------------------------

  /** @internal Opens the room's channel on a new connection. */
  attach(stream: object & { remotePublicKey: Buffer; publicKey: Buffer }): void {
    // Called from _open too, before `opened` is set: a room joined on an existing connection
    // must open its channel there, or members already connected would never meet in it.
    if (this.closing || this.own === null) return
    this.pairings.add(stream, this.keys.channelId, () => this.attach(stream))
    RoomChannel.open(
      stream,
      { channelId: this.keys.channelId, channelKey: this.keys.channelKey, memberKey: this.keys.memberKey },
      {
        onopen: (channel) => {
          if (this.closing) return channel.close()
          this.channels.add(channel)
          this.stats.peers = this.channels.size
          channel.announce(this.announcements())
          this.sendPresence(channel)
          this.emit('peer-add', channel.remotePublicKey)
        },
        onclose: (channel) => {
          if (!this.channels.delete(channel)) return
          this.stats.peers = this.channels.size
          for (const member of this.members_.values()) {
            if (member.channels.delete(channel) && member.channels.size === 0) {
              this.emit('member-update', this.memberView(member))
            }
          }
          this.emit('peer-remove', channel.remotePublicKey)
        },
        onpresence: (p, channel) => this.onPresence(p, channel),
        onwriters: (writers) => this.onWriters(writers),
        onlive: (live) => this.onLive(live),
        onbadannouncement: () => {
          this.stats.badAnnouncements++
        }
      }
    )
  }

  // -------------------------------------------------------------------------
  // Members and presence
  // -------------------------------------------------------------------------

  private member(author: Buffer): MemberState {
    const hex = author.toString('hex')
    let m = this.members_.get(hex)
    if (!m) {
      m = {
        key: author,
        fingerprint: fingerprint(author),
        profile: { name: '', status: '', away: null },
        profileTime: 0,
        channels: new Set()
      }
      this.members_.set(hex, m)
    }
    return m
  }

  private memberView(m: MemberState): Member {
    const self = b4a.equals(m.key, this.ctx.identity.publicKey)
    const profile: Profile = self ? this.ctx.profile() : m.profile
    return {
      key: m.key,
      fingerprint: m.fingerprint,
      name: profile.name,
      status: profile.status,
      away: profile.away,
      online: self || m.channels.size > 0,
      self
    }
  }

  private sendPresence(channel: RoomChannel): void {
    const { keyPair, certificate } = this.ctx.device
    const profile = this.ctx.profile()
    const signable = presenceSignable(this.keys.id, channel.localPublicKey, encodeProfile(profile))
    channel.sendPresence({ author: certificate.identity, certificate, profile, signature: sign(signable, keyPair.secretKey) })
  }

  // A member proves who it is on this connection: the signature covers the connection's
  // Noise key, so a presence cannot be replayed by anyone else.
  private onPresence(p: Presence, channel: RoomChannel): void {
    if (this.closing || !this.channels.has(channel)) return
    const signable = presenceSignable(this.keys.id, channel.remotePublicKey, encodeProfile(p.profile))
    const signer = this.signerOf({ author: p.author, certificate: p.certificate ?? null, seq: 0, records: [] })
    if (signer === null || this.revoked.has(signer.toString('hex')) || !verify(p.signature, signable, signer)) {
      this.stats.badAnnouncements++
      return
    }
    if (b4a.equals(p.author, this.ctx.identity.publicKey)) return
    const member = this.member(p.author)
    member.channels.add(channel)
    const now = this.ctx.now()
    if (now >= member.profileTime) {
      member.profile = p.profile
      member.profileTime = now
    }
    this.emit('member-update', this.memberView(member))
  }

  private announcements(feeds: Iterable<Feed> = this.feeds.values()): WriterAnnouncement[] {
    const out: WriterAnnouncement[] = []
    for (const f of feeds) out.push({ key: f.key, length: f.core.length, start: f.floor })
    return out
  }

  private onWriters(writers: WriterAnnouncement[]): void {
    if (this.closing) return
    const added: Feed[] = []
    for (const w of writers) {
      let feed = this.feeds.get(w.key.toString('hex'))
      if (!feed) {
        if (this.feeds.size >= MAX_WRITERS) continue
        feed = this.openRemoteFeed(w.key, null)
        added.push(feed)
      }
      // A peer's word on expiry only ever narrows what this node reads, never what it shows.
      if (w.start <= w.length && w.start > feed.hintStart) feed.hintStart = w.start
      this.pump(feed)
    }
    if (added.length === 0) return
    // Gossip new writers onwards, so members who are never online together still meet.
    const news = this.announcements(added)
    for (const channel of this.channels) channel.announce(news)
    for (const feed of added) this.emit('writer-add', feed.key)
    this.ctx.changed()
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
    this.feeds.set(feed.hex, feed)
    this.stats.writers = this.feeds.size
    return feed
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
    let changed = false
    for (const feed of this.feeds.values()) {
      if (this.closing) return
      const boundary = await this.expiryBoundary(feed, now)
      if (boundary <= feed.start) continue
      await feed.core.clear(feed.start, boundary)
      feed.start = boundary
      feed.hintStart = Math.max(feed.hintStart, boundary)
      feed.storedFrom = Math.max(feed.storedFrom, boundary)
      feed.indexedFrom = Math.max(feed.indexedFrom, boundary)
      feed.seen = Math.max(feed.seen, boundary)
      changed = true
    }
    this.apply.removeWhere((m) => this.isExpired(m.timestamp, now))
    this.apply.expireHeld(now - this.ctx.ttl)
    for (const feed of this.feeds.values()) {
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
      const body = block ? tryDecode(block) : null
      const ts = body ? body.records[body.records.length - 1]!.timestamp : null
      const expired = block !== null && (ts === null || this.isExpired(ts, now))
      if (expired) lo = mid + 1
      else hi = mid
    }
    return lo === first ? feed.start : lo
  }

  // -------------------------------------------------------------------------
  // Persistence
  // -------------------------------------------------------------------------

  /** @internal The record the node persists for this room. */
  state(): RoomState {
    return {
      kind: this.kind === 'private' ? RoomKind.PRIVATE : RoomKind.NAMED,
      secret: this.secret,
      name: this.name,
      joinedAt: this.joinedAt,
      ttl: this.ctx.ttl,
      feeds: this.restore.length > 0 ? this.restore : [...this.feeds.values()].map((f) => f.state())
    }
  }

  private backgroundError(err: unknown): void {
    if (this.closing) return
    if (this.listenerCount('error') > 0) this.emit('error', err as Error)
  }
}

function tryDecode(block: Buffer) {
  try {
    return decodeMessageBlock(block).body
  } catch {
    return null
  }
}

function sameProfile(a: ProfileFields, b: ProfileFields): boolean {
  return a.name === b.name && a.status === b.status && a.away === b.away
}

function checkText(text: unknown): asserts text is string {
  if (typeof text !== 'string') throw BackspaceError.INVALID_ARGUMENT('text must be a string')
  if (text.trim().length === 0) throw BackspaceError.EMPTY_MESSAGE()
  const problem = messageTextProblem(text)
  if (problem) throw BackspaceError.INVALID_ARGUMENT(problem)
  const size = b4a.byteLength(text)
  if (size > MAX_TEXT_BYTES) {
    throw BackspaceError.MESSAGE_TOO_LARGE(`${size} bytes; the limit is ${MAX_TEXT_BYTES}`)
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

function checkEmoji(emoji: unknown): asserts emoji is string {
  if (!isEmoji(emoji)) throw BackspaceError.INVALID_EMOJI(`${JSON.stringify(String(emoji)).slice(0, 40)} is not one emoji`)
}

function sameCertificate(a: DeviceCertificate, b: DeviceCertificate): boolean {
  return (
    b4a.equals(a.identity, b.identity) &&
    b4a.equals(a.device, b.device) &&
    a.createdAt === b.createdAt &&
    a.primary === b.primary &&
    a.name === b.name &&
    b4a.equals(a.signature, b.signature)
  )
}
