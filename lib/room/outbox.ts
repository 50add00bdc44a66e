// This node's writes to a room: the sends of one tick are batched, packed into blocks under
// the target size, signed for their final index and appended one batch after another; sends
// that went out live may share an append (APPEND_WINDOW), kept in the journal until then.
// Own records then pass the same apply stage as everyone else's.
import { messageSignable, sign, type KeyPair } from '../crypto.js'
import { equalBytes } from '../bytes.js'
import { BackspaceError } from '../errors.js'
import {
  decodeBlockBody,
  encodeBlockBody,
  encodeMessageBlock,
  MAX_BLOCK_RECORDS,
  recordSize,
  TARGET_BLOCK_BYTES,
  holdsGovernance,
  MessageType,
  type BlockBody,
  type MessageRecord
} from '../messages.js'
import { backgroundError } from '../resource.js'
import type { Message } from '../types.js'
import { opKindOf, type ApplyStage } from './apply.js'
import type { RoomContext, RoomSelf } from './context.js'
import { decodeBodyOrNull, messageId, messageId16, type Feed } from './feed.js'
import type { StampedEncryption } from './expiry-stamp.js'
import type { OutboxJournal } from './journal.js'
import type { LivePath } from './live.js'
import type { Records } from './records.js'

interface PendingSend {
  record: MessageRecord
  /** The record as written, when `record` is its sealed form (lib/room/epochs.ts). */
  plain: MessageRecord | null
  seq: number
  // With the message the record made or changed, once stored; null for other records.
  resolve: (m: Message | null) => void
  reject: (err: Error) => void
}

// Blocks flushed and sent live, waiting to be appended together.
interface QueuedAppend {
  index: number
  bodies: BlockBody[]
  blocks: Buffer[]
  batch: PendingSend[]
  sentLive: boolean
  // Its records were applied, and its sends resolved, before the append.
  shown: boolean
  // The journal holds it.
  journaled: boolean
  // Its append started: it is shown, if not yet, once that append is done.
  appended: boolean
}

// Record kinds shown before their block is stored: what a member shows from a live frame, and
// what a failed append can take back. Not governance, epochs, revocations or deletes.
const SHOWN_BEFORE_APPEND: ReadonlySet<number> = new Set([
  MessageType.TEXT,
  MessageType.ACTION,
  MessageType.REPLY,
  MessageType.EDIT,
  MessageType.REACT,
  MessageType.UNREACT,
  MessageType.PROFILE
])

// Sends that went out live are appended to Hypercore together, at most this long (ms) after
// the previous append: members show them from the live frames at once, and one append (one
// tree signature, one storage write, one upgrade and one stored batch at every member) then
// confirms several. The first send after a quiet spell is appended at once.
export const APPEND_WINDOW = 2000
// A backlog this long is appended at once: readers take live blocks only a little ahead of
// what Hypercore verified (LIVE_WINDOW in live.ts).
const APPEND_MAX_BLOCKS = 16
// Sends at most this many ms after the previous one are appended at once, as they come: a
// sender that goes as fast as its appends (a bot, a burst) gains nothing from the window.
const EARLY_GAP = 10
// With one member online (a DM, a pair), each append costs one reader one upgrade: the window
// saves little there, and latency is all that matters. It starts at two.
const EARLY_MIN_PEERS = 2
// A send that comes apart from the previous one and is appended at once (one member online, or
// a record kind shown only once stored) starts its append this many ms after its live frames,
// not on the next loop turn: the append's hashing, tree signature and RocksDB flush (about a
// millisecond of CPU) then run after the members that got the frames showed them and passed
// them on, not beside them. On one machine shared by several peers (the bench's forced chain
// on two cores) the next hop waited for a core: 2 hops took 2.1-2.3x the first, and 1.8x with
// this delay. The send resolves a few ms later; sends that follow at once are not delayed.
const APPEND_DEFER = 4

export class Outbox {
  private own_: Feed | null
  // The sequence number of this node's next message (not block) in the room.
  private nextSeq: number
  // The key pair of this node's core: Hypercore signs appends with it, the device key the blocks.
  private readonly writerKeyPair: KeyPair
  private readonly room: RoomSelf
  private readonly ctx: Pick<RoomContext, 'now' | 'identity' | 'device' | 'profile'>
  // The room id that block signatures cover.
  private readonly roomId: Buffer
  private readonly apply: Pick<ApplyStage, 'get'>
  private readonly records: Pick<Records, 'load' | 'withdrawBlock'>
  private readonly live: Pick<LivePath, 'send' | 'wants' | 'peers'>
  private readonly stats: { ownBlocks: number }
  // Own timestamps never go backwards, even if the clock does.
  private lastTimestamp: number
  private batch: PendingSend[]
  private flushQueued: boolean
  // Appends run one after another, so each block is signed knowing its final index.
  private appending: Promise<void>
  // Blocks signed and queued for appending, not appended yet (in the window's queue or in an
  // append under way): a few at most are acknowledged before their append.
  private inFlight: number
  // The index the next flushed block gets: the core's length plus the blocks in flight,
  // counted here rather than read from the core, whose length grows before an append's
  // caller learns it has (a flush in between would count the same blocks twice).
  private nextIndex = 0
  // Fixes each block's expiry stamp before its append, so the live path can send it along.
  private stamps: Pick<StampedEncryption, 'stamp' | 'unfix' | 'prepare'> | null
  // The index of this node's latest block holding a governance operation, and the last few
  // (to fall back on if an append fails), for the pointer each new block carries.
  private govHead: number | null = null
  private readonly govHeads: number[] = []
  /** Where sends that resolved before their append wait until it (null: nothing on disk). */
  readonly journal: OutboxJournal | null
  // Groups journaled and not yet appended (or failed): the journal empties when none are left.
  private journaled = 0
  // Blocks signed and sent live, waiting for the append window (see APPEND_WINDOW).
  private queued: QueuedAppend[] = []
  private queuedBlocks = 0
  private appendTimer: NodeJS.Timeout | null = null
  // The timer is the next loop iteration's, after a live send (see appendSoon).
  private appendSoonQueued = false
  private lastAppendAt = 0

  /** When this node last appended to its core (Date.now()), 0 if not this session. */
  get appendedAt(): number {
    return this.lastAppendAt
  }
  private lastFlushAt = 0

  constructor(
    room: RoomSelf,
    ctx: Pick<RoomContext, 'now' | 'identity' | 'device' | 'profile'>,
    roomId: Buffer,
    writerKeyPair: KeyPair,
    apply: Pick<ApplyStage, 'get'>,
    records: Pick<Records, 'load' | 'withdrawBlock'>,
    live: Pick<LivePath, 'send' | 'wants' | 'peers'>,
    stats: { ownBlocks: number },
    journal: OutboxJournal | null = null
  ) {
    this.journal = journal
    this.own_ = null
    this.nextSeq = 0
    this.writerKeyPair = writerKeyPair
    this.room = room
    this.ctx = ctx
    this.roomId = roomId
    this.apply = apply
    this.records = records
    this.live = live
    this.stats = stats
    this.lastTimestamp = 0
    this.batch = []
    this.flushQueued = false
    this.appending = Promise.resolve()
    this.inFlight = 0
    this.stamps = null
  }

  /** This node's writer core in the room, once the room has opened it. */
  get own(): Feed | null {
    return this.own_
  }

  /** Takes over this node's core, and goes on from the sequence numbers and time it reached. */
  async open(own: Feed, stamps: Pick<StampedEncryption, 'stamp' | 'unfix' | 'prepare'> | null = null): Promise<void> {
    this.own_ = own
    this.stamps = stamps
    const length = own.core.length
    if (length > 0) {
      const last = await own.core.get(length - 1, { wait: false }).catch(() => null)
      const body = last ? decodeBodyOrNull(last) : null
      if (body) {
        this.govHead = holdsGovernance(body) ? length - 1 : (body.govPrev ?? null)
        this.nextSeq = body.seq + body.records.length
        this.lastTimestamp = body.records[body.records.length - 1]!.timestamp
      } else {
        // The last block is gone (pruned) or unreadable: sequence numbers only need to grow.
        this.nextSeq = length * MAX_BLOCK_RECORDS
      }
    }
    await this.recover(own)
    this.nextIndex = own.core.length
  }

  // Sends that resolved before their append, and did not reach it before the process ended:
  // stored now, ahead of anything new, under their sequence numbers (the same message ids
  // members may have shown live).
  private async recover(own: Feed): Promise<void> {
    if (!this.journal) return
    const bodies: BlockBody[] = []
    let seq = this.nextSeq
    for (const bytes of this.journal.read()) {
      let body: BlockBody
      try {
        body = decodeBlockBody(bytes)
      } catch {
        break
      }
      if (body.seq < seq) continue // stored before the process ended
      if (body.seq !== seq || body.records.length === 0 || !equalBytes(body.author, this.ctx.identity.publicKey)) break
      bodies.push(body)
      seq += body.records.length
    }
    if (bodies.length > 0) {
      const at = own.core.length
      await own.core.append(bodies.map((body, i) => this.signBody(at + i, body)), { keyPair: this.writerKeyPair })
      this.nextSeq = seq
      const last = bodies[bodies.length - 1]!
      this.lastTimestamp = Math.max(this.lastTimestamp, last.records[last.records.length - 1]!.timestamp)
      this.stats.ownBlocks = own.core.length
      // Read like the rest of the core when the room loads its history.
      own.seen = own.indexedFrom = own.core.length
    }
    this.journal.clear()
  }

  /** Appends what waits for the window now, and resolves once every append so far is done. */
  async stored(): Promise<void> {
    if (this.batch.length > 0) this.flush()
    this.appendQueued()
    await this.appending
  }

  /** Rejects what was not appended yet, and waits for the append under way. */
  async close(): Promise<void> {
    const closed = BackspaceError.ROOM_CLOSED()
    for (const pending of this.batch) pending.reject(closed)
    this.batch = []
    // What was sent live is stored before the room closes.
    this.appendQueued()
    await this.appending
  }

  // Own timestamps never go backwards, even if the clock does.
  /** The seq the next record enqueued gets. */
  get next(): number {
    return this.nextSeq
  }

  stamp(): number {
    return (this.lastTimestamp = Math.max(this.ctx.now(), this.lastTimestamp))
  }

  // Resolves, once stored, with the message a record made or changed (null for others).
  enqueue(record: MessageRecord, plain: MessageRecord | null = null): Promise<Message | null> {
    const seq = this.nextSeq++
    return new Promise<Message | null>((resolve, reject) => {
      this.batch.push({ record, plain, seq, resolve, reject })
      if (!this.flushQueued) {
        this.flushQueued = true
        queueMicrotask(() => this.flush())
      }
    })
  }

  /** Encodes and signs the block of `records` that will sit at `index` of this node's core. */
  private signBlock(index: number, seq: number, records: MessageRecord[]): Buffer {
    return this.signBody(index, this.blockBody(seq, records))
  }

  private signBody(index: number, body: BlockBody): Buffer {
    const bytes = encodeBlockBody(body)
    const signature = sign(messageSignable(this.roomId, this.own_!.key, index, bytes), this.ctx.device.keyPair.secretKey)
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
    // One send (the common case when messages are typed): a block of its own, whatever its size.
    if (batch.length === 1) return [batch]
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
    const own = this.own_!
    if (this.room.closing) {
      const closed = BackspaceError.ROOM_CLOSED()
      for (const p of batch) p.reject(closed)
      return
    }
    // Indexes are final now: appends run one at a time, in flush order. The live frames go out
    // at once, whatever the appends before this one still wait for (storage, a slow disk).
    // (Never below the core's length: a test, or a tool, may append to the core directly.)
    const index = Math.max(this.nextIndex, own.core.length)
    if (index > this.nextIndex) this.nextIndex = index
    const bodies = Outbox.packBlocks(batch).map((group) => this.blockBody(group[0]!.seq, group.map((p) => p.record)))
    // Each block names this writer's previous block holding a governance operation, so that a
    // reader who loads only the latest page still finds every operation (lib/governance/chain.ts).
    this.chainGovernance(bodies, index)
    let blocks = bodies.map((body, i) => this.signBody(index + i, body))
    this.inFlight += blocks.length
    this.nextIndex += blocks.length
    const counts = bodies.map((body) => body.records.length)
    const paddings = this.live.wants(blocks.length, counts) && this.stamps ? blocks.map((_, i) => this.stamps!.stamp(index + i, own.core.fork)) : null
    // If an earlier append fails, these indexes are wrong: members drop what they showed once
    // Hypercore has another block there (see LivePath.confirm).
    const sentLive = this.live.send(own.key, index, blocks, counts, paddings)
    // Messages, edits and reactions that went out live are shown here too, and their sends
    // resolve, before their append: they are stored with the next one (see APPEND_WINDOW),
    // and kept in the journal until then. Only with two members online or more, only sends
    // that come apart (typed, paced), and a few blocks in flight at most: sends that follow
    // each other at once are batched by the appends they wait for, and a sender far ahead of
    // its appends would send live frames past what readers take (LIVE_WINDOW).
    const now = Date.now()
    const apart = now - this.lastFlushAt >= EARLY_GAP
    this.lastFlushAt = now
    const early =
      sentLive &&
      this.live.peers >= EARLY_MIN_PEERS &&
      apart &&
      this.inFlight <= APPEND_MAX_BLOCKS && batch.every((p) => SHOWN_BEFORE_APPEND.has((p.plain ?? p.record).type))
    const group: QueuedAppend = { index, bodies, blocks, batch, sentLive, shown: false, journaled: false, appended: false }
    this.queued.push(group)
    this.queuedBlocks += blocks.length
    // Bulk writes, governance, deletes (whose text must leave the disk, so the block they
    // clear must be there) and a backlog as long as readers take live blocks ahead of
    // Hypercore are appended at once; a few live sends wait for the window to share one append.
    if (!early || this.queuedBlocks >= APPEND_MAX_BLOCKS) {
      if (sentLive) this.appendSoon(apart && !early ? APPEND_DEFER : 0)
      else this.appendQueued()
    } else if (this.appendTimer === null) {
      const wait = Math.max(0, this.lastAppendAt + APPEND_WINDOW - now)
      this.appendTimer = setTimeout(() => this.appendQueued(), wait)
    }
    // On the next loop iteration, once the poll phase has put the live frames on the wire:
    // the journal's write and this node's own apply would otherwise run in front of them.
    if (early) setTimeout(() => this.showEarly(own, group), 0)
  }

  // Journals a group sent live, then shows it here and resolves its sends, unless its append
  // came first (which shows it itself) or the journal cannot take it (it is appended now).
  private showEarly(own: Feed, g: QueuedAppend): void {
    if (g.appended || g.shown || this.room.closing) return
    if (this.journal) {
      if (!this.journal.append(g.bodies.map((body) => encodeBlockBody(body)))) {
        if (this.queued.includes(g)) this.appendQueued()
        return
      }
      g.journaled = true
      this.journaled++
    }
    g.shown = true
    for (let i = 0; i < g.bodies.length; i++) this.records.load(own, g.index + i, g.bodies[i]!, true)
    for (const p of g.batch) p.resolve(this.resultOf(own, p))
  }

  // After a live send, the append starts on the next loop iteration (or `delay` ms later, see
  // APPEND_DEFER), once the poll phase has put the frames on the wire: its hashing, signing and
  // synchronous RocksDB flush (about a millisecond) would otherwise run in front of them, and
  // so would the promise chain that waits for it (measured in docs/PERFORMANCE.md: nothing of
  // ours runs between a live frame and its socket write). Replaces a window's timer, not an
  // earlier call's: sends that keep coming must not keep putting the append off.
  private appendSoon(delay = 0): void {
    if (this.appendSoonQueued) return
    if (this.appendTimer !== null) clearTimeout(this.appendTimer)
    this.appendSoonQueued = true
    this.appendTimer = setTimeout(() => this.appendQueued(), delay)
  }

  // Appends every queued block in one `core.append`: one tree signature, one storage write and
  // one upgrade for each member, whatever number of sends it carries.
  private appendQueued(): void {
    if (this.appendTimer !== null) clearTimeout(this.appendTimer)
    this.appendTimer = null
    this.appendSoonQueued = false
    const groups = this.queued
    if (groups.length === 0) return
    this.queued = []
    const queued = this.queuedBlocks
    this.queuedBlocks = 0
    this.lastAppendAt = Date.now()
    const own = this.own_!
    const bodies = groups.flatMap((g) => g.bodies)
    const sentLive = groups.some((g) => g.sentLive)
    let blocks = groups.flatMap((g) => g.blocks)
    this.appending = this.appending.then(async () => {
      try {
        if (!Outbox.inPlace(groups, own.core.length)) {
          // An earlier append failed: sign again for where these blocks really go. What was
          // shown from them is taken back, and shown again at its new index once stored.
          for (const g of groups) if (g.shown) this.unshow(own, g)
          this.stamps?.unfix(groups[0]!.index)
          this.govHead = this.govHeadAt(own.core.length)
          this.chainGovernance(bodies, own.core.length)
          blocks = bodies.map((body, i) => this.signBody(own.core.length + i, body))
        }
        for (const g of groups) g.appended = true
        await own.core.append(blocks, { keyPair: this.writerKeyPair })
      } catch (err) {
        this.inFlight -= queued
        // Blocks flushed after these were signed for places they will not have: their appends
        // sign them again (see inPlace); new ones go right after them.
        this.nextIndex = own.core.length + this.inFlight
        this.stamps?.unfix(own.core.length)
        // These blocks are not in the core: the head falls back below them.
        this.govHead = this.govHeadAt(own.core.length)
        // The failed messages' sequence numbers stay unused; they only need to grow. Messages
        // shown before the append are taken back (edits and reactions stay applied here until
        // the room reopens), and the room reports why.
        const shown = groups.filter((g) => g.shown)
        this.unjournal(groups)
        for (const g of groups) if (!g.shown) for (const p of g.batch) p.reject(err as Error)
        for (const g of shown) this.unshow(own, g)
        if (shown.length > 0 && !this.room.closing) backgroundError(this.room, err)
        return
      }
      this.inFlight -= queued
      own.seen = own.core.length
      this.stats.ownBlocks = own.core.length
      this.unjournal(groups)
      // Own records pass the same apply stage as everyone else's.
      let at = own.core.length - bodies.length
      for (const g of groups) {
        if (!g.shown) {
          for (let i = 0; i < g.bodies.length; i++) this.records.load(own, at + i, g.bodies[i]!, true)
          for (const p of g.batch) p.resolve(this.resultOf(own, p))
        }
        at += g.bodies.length
      }
      // The next block's expiry stamp, computed now rather than while its live frame waits.
      if (sentLive) this.stamps?.prepare(this.nextIndex, own.core.fork)
    })
  }

  // These groups were appended (or failed): with no journaled group left, the journal empties.
  private unjournal(groups: QueuedAppend[]): void {
    let count = 0
    for (const g of groups) if (g.journaled) count++
    if (!this.journal || count === 0) return
    this.journaled -= count
    if (this.journaled <= 0) {
      this.journaled = 0
      this.journal.clear()
    }
  }

  // Whether each group was signed for the place it takes when appended after `length` blocks.
  private static inPlace(groups: QueuedAppend[], length: number): boolean {
    let at = length
    for (const g of groups) {
      if (g.index !== at) return false
      at += g.blocks.length
    }
    return true
  }

  // Takes back what was shown from a group of blocks before its append, which failed or moved.
  private unshow(own: Feed, g: QueuedAppend): void {
    g.shown = false
    for (let i = 0; i < g.bodies.length; i++) this.records.withdrawBlock(own, g.index + i, g.bodies[i]!.seq, g.bodies[i]!.records.length)
  }

  // Sets each body's pointer to the previous governance block, the first at `index`.
  private chainGovernance(bodies: BlockBody[], index: number): void {
    for (let i = 0; i < bodies.length; i++) {
      const body = bodies[i]!
      if (this.govHead !== null && this.govHead < index + i) body.govPrev = this.govHead
      else delete body.govPrev
      if (holdsGovernance(body)) {
        this.govHeads.push(index + i)
        if (this.govHeads.length > 64) this.govHeads.shift()
        this.govHead = index + i
      }
    }
  }

  // The latest governance block this node wrote below `length`, as far as it remembers.
  private govHeadAt(length: number): number | null {
    for (let i = this.govHeads.length - 1; i >= 0; i--) if (this.govHeads[i]! < length) return this.govHeads[i]!
    return this.govHead !== null && this.govHead < length ? this.govHead : null
  }

  private resultOf(own: Feed, p: PendingSend): Message | null {
    const record = p.plain ?? p.record
    if (opKindOf(record.type) !== null && record.target) {
      return this.apply.get(messageId16(record.target.core, record.target.seq)) ?? null
    }
    return this.apply.get(messageId(own.key, p.seq)) ?? null
  }
}
