// This node's writes to a room: the sends of one tick are batched, packed into blocks under
// the target size, signed for their final index and appended one batch after another. Own
// records then pass the same apply stage as everyone else's.
import { messageSignable, sign, type KeyPair } from '../crypto.js'
import { BackspaceError } from '../errors.js'
import {
  encodeBlockBody,
  encodeMessageBlock,
  MAX_BLOCK_RECORDS,
  recordSize,
  TARGET_BLOCK_BYTES,
  holdsGovernance,
  type BlockBody,
  type MessageRecord
} from '../messages.js'
import type { Message } from '../types.js'
import { opKindOf, type ApplyStage } from './apply.js'
import type { RoomContext, RoomSelf } from './context.js'
import { decodeBodyOrNull, messageId, messageId16, type Feed } from './feed.js'
import type { StampedEncryption } from './expiry-stamp.js'
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
  private readonly records: Pick<Records, 'load'>
  private readonly live: Pick<LivePath, 'send' | 'wants'>
  private readonly stats: { ownBlocks: number }
  // Own timestamps never go backwards, even if the clock does.
  private lastTimestamp: number
  private batch: PendingSend[]
  private flushQueued: boolean
  // Appends run one after another, so each block is signed knowing its final index.
  private appending: Promise<void>
  // Blocks signed and queued for appending, not appended yet: the next batch's index is
  // the core's length plus these, known at flush without waiting for the appends before it.
  private inFlight: number
  // Fixes each block's expiry stamp before its append, so the live path can send it along.
  private stamps: Pick<StampedEncryption, 'stamp' | 'unfix' | 'prepare'> | null
  // The index of this node's latest block holding a governance operation, and the last few
  // (to fall back on if an append fails), for the pointer each new block carries.
  private govHead: number | null = null
  private readonly govHeads: number[] = []

  constructor(
    room: RoomSelf,
    ctx: Pick<RoomContext, 'now' | 'identity' | 'device' | 'profile'>,
    roomId: Buffer,
    writerKeyPair: KeyPair,
    apply: Pick<ApplyStage, 'get'>,
    records: Pick<Records, 'load'>,
    live: Pick<LivePath, 'send' | 'wants'>,
    stats: { ownBlocks: number }
  ) {
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
    if (length === 0) return
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

  /** Rejects what was not appended yet, and waits for the append under way. */
  async close(): Promise<void> {
    const closed = BackspaceError.ROOM_CLOSED()
    for (const pending of this.batch) pending.reject(closed)
    this.batch = []
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
    const index = own.core.length + this.inFlight
    const bodies = Outbox.packBlocks(batch).map((group) => this.blockBody(group[0]!.seq, group.map((p) => p.record)))
    // Each block names this writer's previous block holding a governance operation, so that a
    // reader who loads only the latest page still finds every operation (lib/governance/chain.ts).
    this.chainGovernance(bodies, index)
    let blocks = bodies.map((body, i) => this.signBody(index + i, body))
    this.inFlight += blocks.length
    const counts = bodies.map((body) => body.records.length)
    const paddings = this.live.wants(blocks.length, counts) && this.stamps ? blocks.map((_, i) => this.stamps!.stamp(index + i, own.core.fork)) : null
    // If an earlier append fails, these indexes are wrong: members drop what they showed once
    // Hypercore has another block there (see LivePath.confirm).
    const sentLive = this.live.send(own.key, index, blocks, counts, paddings)
    const queued = blocks.length
    this.appending = this.appending.then(async () => {
      try {
        if (this.room.closing) throw BackspaceError.ROOM_CLOSED()
        if (own.core.length !== index) {
          // An earlier append failed: sign again for where these blocks really go.
          this.stamps?.unfix(index)
          this.govHead = this.govHeadAt(own.core.length)
          this.chainGovernance(bodies, own.core.length)
          blocks = bodies.map((body, i) => this.signBody(own.core.length + i, body))
        } else if (sentLive) {
          // The append starts on the next loop iteration, after the poll phase has put the
          // frames on the wire: its hashing, signing and synchronous RocksDB flush (about a
          // millisecond) would otherwise run in front of them. Measured in docs/PERFORMANCE.md.
          await new Promise<void>((resolve) => setTimeout(resolve, 0))
        }
        await own.core.append(blocks, { keyPair: this.writerKeyPair })
      } catch (err) {
        this.inFlight -= queued
        this.stamps?.unfix(own.core.length)
        // These blocks are not in the core: the head falls back below them.
        this.govHead = this.govHeadAt(own.core.length)
        // The failed messages' sequence numbers stay unused; they only need to grow.
        for (const p of batch) p.reject(err as Error)
        return
      }
      this.inFlight -= queued
      own.seen = own.core.length
      this.stats.ownBlocks = own.core.length
      // Own records pass the same apply stage as everyone else's.
      const first = own.core.length - bodies.length
      for (let i = 0; i < bodies.length; i++) this.records.load(own, first + i, bodies[i]!, true)
      for (const p of batch) p.resolve(this.resultOf(own, p))
      // The next block's expiry stamp, computed now rather than while its live frame waits.
      if (sentLive) this.stamps?.prepare(own.core.length + this.inFlight, own.core.fork)
    })
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
