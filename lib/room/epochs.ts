// Key epochs (issue 12, "removal is real"), in rooms whose key does not come from a shared
// password (rooms made by createRoom). Anyone who ever held the invite holds the room secret,
// so the room key cannot keep a removed member out. Instead, a kick, a ban or a lock by an
// authorised member starts an epoch: a fresh random content key, sealed to each remaining
// member device (crypto_box_seal to the X25519 form of its certified device key) in an EPOCH
// record written in the same block as the operation. From then on members seal what they
// write (messages, edits, reactions) under the current epoch's key, in SEALED records that
// name their epoch; a removed member replicates them and cannot open them. Devices that join
// later receive the current key from any member who holds it (a grant). Keys of epochs whose
// messages have all expired are deleted; they live only in memory and in the sealed local
// state (RoomState.epochs).
import b4a from 'b4a'
import { BackspaceError } from '../errors.js'
import { MAX_EPOCH_KEYS, MessageType, type BlockBody, type EpochKeyState, type MessageRecord, type Target } from '../messages.js'
import { openSealed, sealTo } from '../social/keys.js'
import type { EpochCause } from '../governance/governance.js'
import type { KeyEpochStats } from '../governance/types.js'
import type { KeyPair } from '../crypto.js'
import { messageId16, type Feed } from './feed.js'
import {
  decodeEpochRecord,
  decodeSealedRecord,
  encodeEpochRecord,
  isSealable,
  keyCheck,
  MAX_EPOCH_RECIPIENTS,
  newEpochKey,
  openRecord,
  sealRecord,
  type EpochRecord,
  type EpochRecipient
} from './epoch-codec.js'

/** Epochs a room tracks; past it, new start records are refused and counted. */
export const MAX_EPOCHS = 256
/** Blocks held back because they name an epoch whose key has not arrived yet. */
export const MAX_PARKED_BLOCKS = 256
/** Devices counted as holding one epoch's key (recipients and grants seen). */
const MAX_HOLDERS = 4096

/** What epochs need from their room. */
export interface EpochsHost {
  /** This node's identity, hex. */
  readonly identity: string
  /** This node's device: epoch keys are sealed to its key pair. */
  readonly device: { readonly keyPair: KeyPair }
  now(): number
  readonly ttl: number
  readonly governance: {
    removed(hex: string): boolean
    epochCause(id: string): EpochCause | null
    /** Not locked out: the room is unlocked, or its lock lets this identity in. */
    mayJoin(hex: string): boolean
  }
  /** The member devices admitted to the room (this node's own included): identity hex, device key. */
  devices(): Array<{ identity: string; device: Buffer }>
  /** Appends a record to this node's core. */
  append(record: Omit<MessageRecord, 'timestamp'>): Promise<void>
  /** Loads again the records at `positions` of a verified block: their epoch key arrived. */
  retry(feed: Feed, index: number, body: BlockBody, positions: Set<number>): void
  /** Counts a refused record against its block. */
  reject(feed: Feed, index: number, error: BackspaceError): void
  /** Something to persist changed (keys learned or deleted). */
  changed(): void
  error(err: unknown): void
}

/** Counters the room shows in `room.keyEpochs`. */
export type EpochStats = Omit<KeyEpochStats, 'current'>

interface Epoch {
  id: string
  target: Target
  /** The GOVERN operation that caused it. */
  cause: string
  /** The start record's author, hex; null for an epoch restored from local state. */
  author: string | null
  check: Buffer | null
  key: Buffer | null
  /** Devices (hex) known to hold the key. */
  holders: Set<string>
  /**
   * When the last record sealed under it that this node knows of expires (at least `ttl` after
   * the key was learned, or stopped being current): once past, and not current, the key goes.
   */
  lastUse: number
  /** Where its start record came from, to count a refusal; null when restored. */
  source: { feed: Feed; index: number } | null
  counted: boolean
}

interface Parked {
  feed: Feed
  index: number
  body: BlockBody
  positions: Set<number>
}

export class Epochs {
  private readonly host: EpochsHost
  private readonly epochs: Map<string, Epoch>
  // Keys from grants that name an epoch whose start record is not known yet: checked when it is.
  private readonly early: Map<string, Buffer>
  // Blocks with sealed records waiting for their epoch's key, by epoch id.
  private readonly parked: Map<string, Parked[]>
  private parkedCount: number
  // Grants this node wrote, `epoch:device`: each device gets the key once from this node.
  private readonly granted: Set<string>
  private current_: Epoch | null
  private reviewing: boolean
  readonly stats: EpochStats

  constructor(host: EpochsHost, saved: EpochKeyState[] = []) {
    this.host = host
    this.epochs = new Map()
    this.early = new Map()
    this.parked = new Map()
    this.parkedCount = 0
    this.granted = new Set()
    this.current_ = null
    this.reviewing = false
    this.stats = { keys: 0, unreadable: 0, deleted: 0 }
    for (const s of saved.slice(0, MAX_EPOCH_KEYS)) {
      const id = messageId16(s.id.core, s.id.seq)
      this.epochs.set(id, {
        id,
        target: s.id,
        cause: messageId16(s.cause.core, s.cause.seq),
        author: null,
        check: null,
        key: s.key,
        holders: new Set(),
        lastUse: s.lastUse,
        source: null,
        counted: false
      })
    }
    this.stats.keys = this.keyCount()
  }

  /** The keys to keep in the sealed local state. */
  saved(): EpochKeyState[] {
    const out: EpochKeyState[] = []
    for (const e of this.epochs.values()) {
      if (e.key === null || !this.valid(e)) continue
      const [core, seq] = e.cause.split('-') as [string, string]
      out.push({ id: e.target, cause: { core: b4a.from(core, 'hex'), seq: Number(seq) }, key: e.key, lastUse: e.lastUse })
    }
    // The newest last: when there are too many, the oldest go first.
    return out.sort((a, b) => a.lastUse - b.lastUse).slice(-MAX_EPOCH_KEYS)
  }

  /** @internal The keys held now, by epoch id (tests check what a node holds). */
  heldKeys(): Map<string, Buffer> {
    const out = new Map<string, Buffer>()
    for (const e of this.epochs.values()) if (e.key !== null && this.valid(e)) out.set(e.id, e.key)
    return out
  }

  /** The current epoch's id, or null while the room has none (its key is the room key). */
  get current(): string | null {
    return this.current_?.id ?? null
  }

  // A start record holds when its cause is an applied kick, ban or lock by the same author.
  // Restored epochs were checked before they were saved, and their cause must still hold.
  private valid(e: Epoch): boolean {
    const cause = this.host.governance.epochCause(e.cause)
    if (cause === null) return false
    return e.author === null || cause.actor === e.author
  }

  private keyCount(): number {
    let n = 0
    for (const e of this.epochs.values()) if (e.key !== null) n++
    return n
  }

  /**
   * Seals a record this node writes under the current epoch, if the room has one. Throws
   * NOT_ALLOWED when it has one and this device has not been given its key: nothing is sent
   * under an older key that a removed member may hold.
   */
  seal(record: MessageRecord): MessageRecord {
    if (!isSealable(record.type)) return record
    const e = this.current_
    if (e === null) return record
    if (e.key === null) throw BackspaceError.NOT_ALLOWED("the room's key changed and no member has given it to this device yet")
    e.lastUse = Math.max(e.lastUse, record.timestamp + this.host.ttl)
    return sealRecord(record, e.target, e.key)
  }

  /**
   * The record inside a SEALED record at `pos` of a verified block, or null: refused (counted),
   * or its key is not here (the block is held back until it comes, within bounds).
   */
  open(record: MessageRecord, feed: Feed, index: number, body: BlockBody, pos: number): MessageRecord | null {
    let sealed
    try {
      sealed = decodeSealedRecord(record.payload ?? b4a.alloc(0))
    } catch (err) {
      this.host.reject(feed, index, err instanceof BackspaceError ? err : BackspaceError.DECODE_FAILED('sealed record'))
      return null
    }
    const id = messageId16(sealed.epoch.core, sealed.epoch.seq)
    const e = this.epochs.get(id)
    if (!e || e.key === null || !this.valid(e)) {
      this.stats.unreadable++
      this.park(id, feed, index, body, pos)
      return null
    }
    try {
      const inner = openRecord(sealed, record.timestamp, e.key)
      e.lastUse = Math.max(e.lastUse, record.timestamp + this.host.ttl)
      return inner
    } catch (err) {
      this.host.reject(feed, index, err instanceof BackspaceError ? err : BackspaceError.DECODE_FAILED('sealed record'))
      return null
    }
  }

  private park(id: string, feed: Feed, index: number, body: BlockBody, pos: number): void {
    let list = this.parked.get(id)
    const held = list?.find((p) => p.feed === feed && p.index === index)
    if (held) {
      held.positions.add(pos)
      return
    }
    if (this.parkedCount >= MAX_PARKED_BLOCKS) return
    if (!list) this.parked.set(id, (list = []))
    list.push({ feed, index, body, positions: new Set([pos]) })
    this.parkedCount++
  }

  /** An EPOCH record of a verified block by `author` (hex). Refusals are counted. */
  onRecord(record: MessageRecord, id: string, feed: Feed, index: number, author: string): void {
    let rec: EpochRecord
    try {
      rec = decodeEpochRecord(record.payload ?? b4a.alloc(0))
    } catch (err) {
      this.host.reject(feed, index, err instanceof BackspaceError ? err : BackspaceError.DECODE_FAILED('epoch record'))
      return
    }
    if (rec.cause !== null) this.onStart(rec, id, feed, index, author)
    else this.onGrant(rec, feed, index)
  }

  private onStart(rec: EpochRecord, id: string, feed: Feed, index: number, author: string): void {
    const known = this.epochs.get(id)
    if (known && known.source !== null) return
    const cause = messageId16(rec.cause!.core, rec.cause!.seq)
    const [core, seqText] = id.split('-') as [string, string]
    // The operation and its epoch come from one writer, the operation first.
    if (rec.cause!.core.toString('hex') !== core || rec.cause!.seq >= Number(seqText)) {
      this.host.reject(feed, index, BackspaceError.NOT_ALLOWED(`epoch ${id}: its cause is not its author's earlier operation`))
      return
    }
    if (!known && this.epochs.size >= MAX_EPOCHS) {
      this.host.reject(feed, index, BackspaceError.NOT_ALLOWED(`more than ${MAX_EPOCHS} key epochs`))
      return
    }
    const e: Epoch = known ?? {
      id,
      target: { core: b4a.from(core, 'hex'), seq: Number(seqText) },
      cause,
      author,
      check: rec.check,
      key: null,
      holders: new Set(),
      lastUse: 0,
      source: { feed, index },
      counted: false
    }
    if (known) {
      // Restored from local state: now its record is known too.
      if (known.cause !== cause) return
      known.author = author
      known.check = rec.check
      known.source = { feed, index }
    }
    this.epochs.set(id, e)
    for (const r of rec.recipients) if (e.holders.size < MAX_HOLDERS) e.holders.add(r.device.toString('hex'))
    if (e.key === null) {
      const key = this.openMine(rec.recipients, e, feed, index)
      const early = this.early.get(id)
      this.early.delete(id)
      if (key) e.key = key
      else if (early && e.check && b4a.equals(keyCheck(early), e.check)) e.key = early
      if (e.key !== null) e.lastUse = Math.max(e.lastUse, this.host.now() + this.host.ttl)
    }
    if (!this.valid(e)) this.countOnce(e, 'its cause is not an applied kick, ban or lock by its author')
    this.settle()
  }

  private onGrant(rec: EpochRecord, feed: Feed, index: number): void {
    const id = messageId16(rec.epoch!.core, rec.epoch!.seq)
    const e = this.epochs.get(id)
    if (e) {
      for (const r of rec.recipients) if (e.holders.size < MAX_HOLDERS) e.holders.add(r.device.toString('hex'))
      if (e.key !== null) return
      const key = this.openMine(rec.recipients, e, feed, index)
      if (key) {
        e.key = key
        e.lastUse = Math.max(e.lastUse, this.host.now() + this.host.ttl)
        this.settle()
      }
      return
    }
    // A grant ahead of the epoch's start record: its key waits, checked when the start comes.
    const mine = this.myBox(rec.recipients)
    if (!mine || this.early.size >= MAX_EPOCHS) return
    const key = openSealed(mine.box, this.host.device.keyPair)
    if (key === null || key.byteLength !== 32) {
      this.host.reject(feed, index, BackspaceError.DECODE_FAILED('an epoch key sealed to this device does not open'))
      return
    }
    this.early.set(id, key)
  }

  private myBox(recipients: EpochRecipient[]): EpochRecipient | undefined {
    const me = this.host.device.keyPair.publicKey
    return recipients.find((r) => b4a.equals(r.device, me))
  }

  // The key in this device's box, checked against the epoch's commitment; a junk box is counted.
  private openMine(recipients: EpochRecipient[], e: Epoch, feed: Feed, index: number): Buffer | null {
    const mine = this.myBox(recipients)
    if (!mine) return null
    const key = openSealed(mine.box, this.host.device.keyPair)
    if (key === null || key.byteLength !== 32 || (e.check !== null && !b4a.equals(keyCheck(key), e.check))) {
      this.host.reject(feed, index, BackspaceError.DECODE_FAILED(`epoch ${e.id}: the key sealed to this device is not the epoch's`))
      return null
    }
    return key
  }

  private countOnce(e: Epoch, why: string): void {
    if (e.counted || e.source === null) return
    e.counted = true
    this.host.reject(e.source.feed, e.source.index, BackspaceError.NOT_ALLOWED(`epoch ${e.id}: ${why}`))
  }

  /** The room's governance changed: the current epoch may too, and who should hold its key. */
  onGovernance(): void {
    this.settle()
  }

  /** A member device was admitted: it may need the current key. */
  onDevice(): void {
    this.scheduleReview()
  }

  // Picks the current epoch, loads what waited for a key, and persists what changed.
  private settle(): void {
    let best: Epoch | null = null
    let bestOrder = -1
    for (const e of this.epochs.values()) {
      const cause = this.host.governance.epochCause(e.cause)
      if (cause === null || (e.author !== null && cause.actor !== e.author)) continue
      if (cause.order > bestOrder || (cause.order === bestOrder && best !== null && e.id < best.id)) {
        best = e
        bestOrder = cause.order
      }
    }
    const was = this.current_
    if (was !== best && was !== null) was.lastUse = Math.max(was.lastUse, this.host.now() + this.host.ttl)
    this.current_ = best
    for (const [id, list] of this.parked) {
      const e = this.epochs.get(id)
      if (!e || e.key === null || !this.valid(e)) continue
      this.parked.delete(id)
      this.parkedCount -= list.length
      for (const p of list) this.host.retry(p.feed, p.index, p.body, p.positions)
    }
    const keys = this.keyCount()
    if (keys !== this.stats.keys || was !== best) {
      this.stats.keys = keys
      this.host.changed()
    }
    this.scheduleReview()
  }

  /**
   * The start record of a new epoch, after this node's own kick, ban or lock whose GOVERN
   * record gets `causeSeq` in `core` (this node's core): a fresh key sealed to every member
   * device that stays, this one included. Null when no device can be sealed to.
   */
  start(core: Buffer, causeSeq: number, removed: Buffer | null): Omit<MessageRecord, 'timestamp'> | null {
    const key = newEpochKey()
    const gone = removed ? removed.toString('hex') : null
    const recipients = this.sealTo(key, (identity) => identity !== gone && !this.host.governance.removed(identity))
    const selfHex = this.host.device.keyPair.publicKey.toString('hex')
    if (!recipients.some((r) => r.device.toString('hex') === selfHex)) return null
    const target = { core: core.subarray(0, 16), seq: causeSeq + 1 }
    const id = messageId16(target.core, target.seq)
    const e: Epoch = {
      id,
      target,
      cause: messageId16(target.core, causeSeq),
      author: this.host.identity,
      check: keyCheck(key),
      key,
      holders: new Set(recipients.map((r) => r.device.toString('hex'))),
      lastUse: this.host.now() + this.host.ttl,
      source: null,
      counted: false
    }
    this.epochs.set(id, e)
    return {
      type: MessageType.EPOCH,
      text: '',
      payload: encodeEpochRecord({ cause: { core: target.core, seq: causeSeq }, check: e.check, epoch: null, recipients: recipients.slice(0, MAX_EPOCH_RECIPIENTS) })
    }
  }

  // The key sealed to each admitted device whose identity `keep` selects, this device first.
  private sealTo(key: Buffer, keep: (identity: string) => boolean): EpochRecipient[] {
    const out: EpochRecipient[] = []
    const seen = new Set<string>()
    const self = this.host.device.keyPair.publicKey
    const devices = [{ identity: this.host.identity, device: self }, ...this.host.devices()]
    for (const d of devices) {
      const hex = d.device.toString('hex')
      if (seen.has(hex) || !keep(d.identity)) continue
      seen.add(hex)
      const box = sealTo(key, d.device)
      if (box) out.push({ device: d.device, box })
      if (out.length >= MAX_EPOCH_RECIPIENTS) break
    }
    return out
  }

  private scheduleReview(): void {
    if (this.reviewing) return
    this.reviewing = true
    queueMicrotask(() => {
      this.reviewing = false
      this.review().catch((err) => this.host.error(err))
    })
  }

  // Grants the current key to admitted devices that lack it: not to removed identities, nor,
  // while the room is locked, to those its lock keeps out.
  private async review(): Promise<void> {
    const e = this.current_
    if (e === null || e.key === null) return
    const wanted: Array<{ identity: string; device: Buffer }> = []
    for (const d of this.host.devices()) {
      const hex = d.device.toString('hex')
      if (e.holders.has(hex) || this.granted.has(`${e.id}:${hex}`)) continue
      if (this.host.governance.removed(d.identity)) continue
      if (!this.host.governance.mayJoin(d.identity)) continue
      wanted.push(d)
    }
    if (wanted.length === 0) return
    const key = e.key
    const recipients: EpochRecipient[] = []
    for (const d of wanted) {
      const box = sealTo(key, d.device)
      if (!box) continue
      recipients.push({ device: d.device, box })
      this.granted.add(`${e.id}:${d.device.toString('hex')}`)
    }
    for (let i = 0; i < recipients.length; i += MAX_EPOCH_RECIPIENTS) {
      const chunk = recipients.slice(i, i + MAX_EPOCH_RECIPIENTS)
      await this.host.append({ type: MessageType.EPOCH, text: '', payload: encodeEpochRecord({ cause: null, check: null, epoch: e.target, recipients: chunk }) })
    }
  }

  /**
   * Deletes the keys of epochs that are not current and whose messages have all expired: after
   * that no copy of them, here or on any relay, can be read with what this node holds.
   */
  prune(now: number): void {
    let deleted = false
    for (const e of this.epochs.values()) {
      if (e.key === null || e === this.current_) continue
      if (e.lastUse > now) continue
      e.key.fill(0)
      e.key = null
      this.stats.deleted++
      deleted = true
      // Nothing sealed under it will open again here: what waits for it goes.
      const list = this.parked.get(e.id)
      if (list) {
        this.parked.delete(e.id)
        this.parkedCount -= list.length
      }
    }
    if (!deleted) return
    this.stats.keys = this.keyCount()
    this.host.changed()
  }
}
