// A room's governance: the operations read from members' signed writer blocks, resolved into
// an owner, roles, bans and settings (resolve.ts), the moderation API that writes new ones,
// and what readers enforce from the result. An operation's authority comes from the block's
// certified author and the state before it in the room's order, never from a payload field or
// a timestamp.
import b4a from 'b4a'
import { accessSignable, hash, lockKeyPair, sign } from '../crypto.js'
import { BackspaceError } from '../errors.js'
import { messageTextProblem, MessageType, type MessageRecord } from '../messages.js'
import type { Message } from '../types.js'
import type { Feed } from '../room/feed.js'
import { parseMessageId } from '../room/feed.js'
import {
  decodeGovOperation,
  encodeGovOperation,
  GovAction,
  GovSetting,
  MAX_CLOCK_ENTRIES,
  MAX_GOV_TEXT_BYTES,
  type GovActionValue,
  type GovOperation,
  type GovSettingValue
} from './codec.js'
import { bannedAt, wipedAt, defaultSettings, minRole, RANK, resolve, settingProblem, type CoreOwners, type GovRecord, type Resolved } from './resolve.js'
import type { AccessEvent, GovernanceActionName, GovernanceEvent, Moderation, Role, RoomSettings } from './types.js'

/** Operations a room holds; beyond it, new ones are refused and counted (see SECURITY.md). */
export const MAX_GOV_OPS = 1024

/** What governance needs from its room. */
export interface GovernanceHost {
  /** This node's identity key. */
  readonly identity: Buffer
  /**
   * The owner the room's secret commits to (a room made by createRoom, joined by a v2 invite),
   * or null: then the room is claimed like a named room.
   */
  readonly fixedOwner: Buffer | null
  /** The room id: it salts a lock's password. */
  readonly roomId: Buffer
  /** The room's writer cores, for the clock of a new operation. */
  feeds(): Iterable<Feed>
  /**
   * Admitted writer cores with no block yet (members who never wrote): a new operation's
   * clock names them too, so that a lock or a member limit counts them as in the room.
   */
  quiet?(): Iterable<Buffer>
  /** The identity (hex) whose admitted writer core starts with `core` (16 bytes, hex). */
  coreOwner?(core: string): string | undefined
  /**
   * Appends a record to this node's core; resolves once it is stored and loaded. `follow` is
   * given the record's seq and may return a record to append right after it, in the same block.
   */
  append(record: Omit<MessageRecord, 'timestamp'>, follow?: (seq: number) => Omit<MessageRecord, 'timestamp'> | null): Promise<void>
  /** Takes back shown messages. */
  withdraw(drop: (m: Message) => boolean): void
  /** Counts a refused operation or message against its block. */
  reject(feed: Feed, index: number, error: BackspaceError): void
  /**
   * A wipe took effect: deletes, from memory and disk, every message block of each writer
   * that `wiped` selects (blocks that hold governance operations stay: they are the room's
   * authority, and their messages are refused on every load).
   */
  wipe(wiped: (feed: Feed, index: number) => boolean): void
  emit(event: GovernanceEvent): void
  /** A newcomer's proof of the lock's password took effect. */
  access?(event: AccessEvent): void
  /** A background task failed. */
  error(err: unknown): void
  /**
   * The record that starts a key epoch after this node's own kick, ban or lock, whose GOVERN
   * record gets `seq`: appended in the same block, so nothing is sent between the two. Null
   * where the room has no epochs (named rooms).
   */
  rotation?(seq: number, removed: Buffer | null): Omit<MessageRecord, 'timestamp'> | null
  /** The resolved state changed (roles, removals, settings). */
  settled?(): void
}

/** What a key epoch needs to know of the operation that caused it. */
export interface EpochCause {
  /** Its place in the room's order of applied operations: later causes make later epochs. */
  order: number
  /** Its author, hex. */
  actor: string
}

// ACCESS is told apart (AccessEvent): it changes no role or setting. Its name here is for errors.
const ACTION_NAMES: Record<GovActionValue, GovernanceActionName | 'access'> = {
  [GovAction.CLAIM]: 'claim',
  [GovAction.ACK]: 'claim',
  [GovAction.TOPIC]: 'topic',
  [GovAction.ANNOUNCE]: 'announce',
  [GovAction.WELCOME]: 'welcome',
  [GovAction.OP]: 'op',
  [GovAction.DEOP]: 'deop',
  [GovAction.ADMIN]: 'admin',
  [GovAction.UNADMIN]: 'unadmin',
  [GovAction.KICK]: 'kick',
  [GovAction.BAN]: 'ban',
  [GovAction.UNBAN]: 'unban',
  [GovAction.DELETE]: 'delete',
  [GovAction.SET]: 'set',
  [GovAction.WIPE]: 'wipe',
  [GovAction.ACCESS]: 'access'
}

const SETTING_NAMES: Record<GovSettingValue, keyof RoomSettings> = {
  [GovSetting.SLOW_MODE]: 'slowMode',
  [GovSetting.MAX_USERS]: 'maxUsers',
  [GovSetting.TTL]: 'ttl',
  [GovSetting.ALLOW_ANONYMOUS]: 'allowAnonymous',
  [GovSetting.ALLOW_FILES]: 'allowFiles',
  [GovSetting.LOCKED]: 'locked',
  [GovSetting.PRIVATE]: 'private'
}

interface Source {
  feed: Feed
  index: number
}

/** When an operation says it happened, and how it reached this node (GovernanceEvent's fields). */
export interface OperationTime {
  /** Its record's effective time (ms): display only. */
  timestamp: number
  /** Read from history (storage, a catch-up, a governance chain), not live. */
  replayed: boolean
}

export class Governance {
  private readonly host: GovernanceHost
  private readonly me: string
  // Every verified operation, by record id, and where it came from (to count a refusal).
  private readonly records: Map<string, GovRecord>
  private readonly sources: Map<string, Source>
  // When each operation says it happened and whether it was replayed: for listeners only.
  private readonly times: Map<string, OperationTime>
  private state: Resolved
  // The owner the room's secret commits to, hex, or null.
  private readonly fixedOwner: string | null
  // Operations already told to listeners as applied, and refusals already counted.
  private readonly told: Set<string>
  private readonly counted: Set<string>
  // An ack of the current owner is being written.
  private acking: string | null
  // Who owns the cores a lock's or a limit's clock names (see resolve.ts, `knownTo`).
  private readonly owners: CoreOwners
  // Per writer core, the latest message (in log order) that slow mode let through.
  private readonly lastStamp: Map<string, { seq: number; stamp: number }>
  readonly moderate: Moderation

  constructor(host: GovernanceHost) {
    this.host = host
    this.me = host.identity.toString('hex')
    this.records = new Map()
    this.sources = new Map()
    this.times = new Map()
    this.fixedOwner = host.fixedOwner ? host.fixedOwner.toString('hex') : null
    this.state = resolve([], this.fixedOwner)
    this.told = new Set()
    this.counted = new Set()
    this.acking = null
    this.owners = (core) => this.host.coreOwner?.(core)
    this.lastStamp = new Map()
    this.moderate = this.makeModeration()
  }

  /** The owner's identity key, or null while no claim is known. */
  get owner(): Buffer | null {
    return this.state.owner === null ? null : b4a.from(this.state.owner, 'hex')
  }

  get settings(): RoomSettings {
    return { ...this.state.settings }
  }

  role(key: Buffer): Role {
    if (!b4a.isBuffer(key) || key.byteLength !== 32) throw BackspaceError.INVALID_ARGUMENT('key must be a 32-byte identity key')
    return this.roleOf(key.toString('hex'))
  }

  private roleOf(hex: string): Role {
    if (hex === this.state.owner) return 'owner'
    return this.state.roles.get(hex) ?? 'member'
  }

  /** Whether block `index` of `feed` carried an operation this node read. */
  holdsOperation(feed: Feed, index: number): boolean {
    for (const src of this.sources.values()) if (src.feed === feed && src.index === index) return true
    return false
  }

  /**
   * Whether `hex` is out of the room's key epochs: its last kick or ban in the room's order is
   * not followed by an unban.
   */
  removed(hex: string): boolean {
    let out = false
    for (const r of this.state.applied) {
      const a = r.op.action
      if (a !== GovAction.KICK && a !== GovAction.BAN && a !== GovAction.UNBAN) continue
      if (r.op.target!.toString('hex') !== hex) continue
      out = a !== GovAction.UNBAN
    }
    return out
  }

  /**
   * The applied operation with record id `id` if it may cause a key epoch: a kick, a ban, or a
   * lock. Null while it is unknown, refused or void.
   */
  epochCause(id: string): EpochCause | null {
    const order = this.state.applied.findIndex((r) => r.id === id)
    if (order === -1) return null
    const r = this.state.applied[order]!
    const a = r.op.action
    const locks = a === GovAction.SET && r.op.setting === GovSetting.LOCKED && r.op.value === 1
    if (a !== GovAction.KICK && a !== GovAction.BAN && !locks) return null
    return { order, actor: r.author }
  }

  /** Whether `hex` may join now: the room is not locked, or the lock lets it in. */
  mayJoin(hex: string): boolean {
    return this.state.lockedIn === null || this.state.lockedIn.has(hex)
  }

  /** The room's TTL setting in ms (0: the node's), without copying the settings. */
  get ttl(): number {
    return this.state.settings.ttl
  }

  /** The blocks of `feed` below `end` that carried an operation this node read, ascending. */
  operationBlocks(feed: Feed, end: number): number[] {
    const out = new Set<number>()
    for (const src of this.sources.values()) if (src.feed === feed && src.index < end) out.add(src.index)
    return [...out].sort((a, b) => a - b)
  }

  /** Operations held: at most MAX_GOV_OPS. */
  get size(): number {
    return this.records.size
  }

  /**
   * A GOVERN record of a verified block: `pos` is its place in the block, `time` when it says
   * it happened and whether it was replayed (told to listeners, never used to decide).
   * Malformed payloads and operations past the bound are refused and counted.
   */
  onRecord(record: MessageRecord, id: string, feed: Feed, index: number, pos: number, author: Buffer, time: OperationTime): void {
    let op: GovOperation
    try {
      op = decodeGovOperation(record.payload ?? b4a.alloc(0))
    } catch (err) {
      this.host.reject(feed, index, err instanceof BackspaceError ? err : BackspaceError.DECODE_FAILED('governance operation'))
      return
    }
    this.add(op, id, feed, index, pos, author, time)
  }

  private add(op: GovOperation, id: string, feed: Feed, index: number, pos: number, author: Buffer, time: OperationTime): void {
    if (this.records.has(id)) return
    if (this.records.size >= MAX_GOV_OPS) {
      this.host.reject(feed, index, BackspaceError.NOT_ALLOWED(`more than ${MAX_GOV_OPS} governance operations`))
      return
    }
    const clock = new Map<string, number>()
    for (const e of op.clock) {
      const core = e.core.toString('hex')
      clock.set(core, Math.max(clock.get(core) ?? 0, e.length))
    }
    const core = feed.idPrefix.slice(0, 32)
    const r: GovRecord = {
      id,
      core,
      index,
      pos,
      author: author.toString('hex'),
      op,
      clock,
      hash: hash([b4a.from(`${core}:${index}:${pos}`)], undefined, 16).toString('hex')
    }
    this.records.set(id, r)
    this.sources.set(id, { feed, index })
    this.times.set(id, { timestamp: time.timestamp, replayed: time.replayed })
    this.recompute()
  }

  /**
   * Why a message in block `index` of `feed` by the author whose key in hex is `hex` is refused
   * by the room's governance, or null: its author was banned before it (by the ban's causal
   * state), a moderator deleted it, or it breaks a setting (anonymous authors, the member
   * limit, slow mode). Owners, admins and ops are exempt from the settings. Slow mode counts
   * in the writer's log order:
   * each message's stamp must be at least `slowMode` seconds after the one before it in the
   * same log, so a flood in one burst is refused whatever the sender's clock says.
   */
  refuses(hex: string, feed: Feed, index: number, id: string, seq: number, timestamp: number, name: string): string | null {
    if (this.state.wipes.length > 0 && wipedAt(this.state, feed.idPrefix.slice(0, 32), index)) return 'wiped'
    if (this.state.banHistory.size > 0 && bannedAt(this.state, hex, feed.idPrefix.slice(0, 32), index)) return 'banned'
    if (this.deletedBy(id, hex)) return 'deleted by a moderator'
    const settings = this.state.settings
    if (RANK[this.roleOf(hex)] >= RANK.op) return null
    if (!settings.allowAnonymous && isAnonymous(name)) return 'anonymous members may not write here'
    if (this.state.admitted !== null && !this.state.admitted.has(hex)) return 'the room is full'
    if (this.state.lockedIn !== null && !this.state.lockedIn.has(hex)) return 'the room is locked'
    if (settings.slowMode > 0) {
      const last = this.lastStamp.get(feed.hex)
      if (last !== undefined && seq > last.seq && timestamp - last.stamp < settings.slowMode * 1000) return 'slow mode'
      if (last === undefined || seq > last.seq) this.lastStamp.set(feed.hex, { seq, stamp: timestamp })
    }
    return null
  }

  // A moderator's delete holds for a message whose author ranks below the moderator.
  private deletedBy(id: string, author: string): boolean {
    const d = this.state.deletions.get(id)
    if (!d) return false
    return d.actor === author || RANK[this.roleOf(author)] < d.rank
  }

  /** Why this node may not send a message now, or null: refused here before any peer refuses it. */
  sendProblem(name: string, ownCore: string, now: number): string | null {
    const role = this.roleOf(this.me)
    if (role === 'banned') return 'you are banned from this room'
    if (RANK[role] >= RANK.op) return null
    const settings = this.state.settings
    if (!settings.allowAnonymous && isAnonymous(name)) return 'anonymous members may not write here: set a name first'
    if (this.state.admitted !== null && !this.state.admitted.has(this.me)) return 'the room is full'
    if (this.state.lockedIn !== null && !this.state.lockedIn.has(this.me)) {
      return this.state.lock?.op.key ? 'the room is locked: enter its password first' : 'the room is locked'
    }
    const last = this.lastStamp.get(ownCore)
    if (settings.slowMode > 0 && last !== undefined && now - last.stamp < settings.slowMode * 1000) {
      return `slow mode: wait ${Math.ceil((settings.slowMode * 1000 - (now - last.stamp)) / 1000)} s`
    }
    return null
  }

  private recompute(): void {
    const was = this.state
    this.state = resolve([...this.records.values()], this.fixedOwner, this.owners)
    for (const id of this.state.refused) {
      if (this.counted.has(id)) continue
      this.counted.add(id)
      const src = this.sources.get(id)
      const r = this.records.get(id)
      if (src && r) this.host.reject(src.feed, src.index, BackspaceError.NOT_ALLOWED(`governance ${ACTION_NAMES[r.op.action]} by ${r.author.slice(0, 16)}`))
    }
    if (this.state.owner !== was.owner && this.state.owner !== null) {
      const owner = this.state.owner
      // The claim that won, if one did (an owner the room's secret fixes needs none).
      let claim: OperationTime | undefined
      for (const r of this.records.values()) if (r.author === owner && r.op.action === GovAction.CLAIM) claim ??= this.times.get(r.id)
      this.tell(
        { id: '', action: 'claim', actor: b4a.from(owner, 'hex'), target: null, text: '', setting: null, message: null },
        claim ?? { timestamp: 0, replayed: true }
      )
    }
    for (const r of this.state.applied) {
      if (this.told.has(r.id)) continue
      this.told.add(r.id)
      const op = r.op
      const action = ACTION_NAMES[op.action]
      const time = this.times.get(r.id) ?? { timestamp: 0, replayed: true }
      if (action === 'access') {
        this.host.access?.({ id: r.id, actor: b4a.from(r.author, 'hex'), lock: this.lockBefore(r), self: r.author === this.me, ...time })
        continue
      }
      const target = op.target
      this.tell(
        {
          id: r.id,
          action,
          actor: b4a.from(r.author, 'hex'),
          target,
          text: op.text,
          setting: op.setting === null ? null : SETTING_NAMES[op.setting],
          message: op.message ? `${op.message.core.toString('hex')}-${op.message.seq}` : null
        },
        time
      )
    }
    if (this.state.wipes.length > was.wipes.length || this.state.wipes.some((w) => !was.wipes.includes(w))) {
      this.host.wipe((feed, index) => wipedAt(this.state, feed.idPrefix.slice(0, 32), index))
    }
    // Messages shown before a ban or a delete was known are taken back.
    if (this.state.banHistory.size > 0 || this.state.deletions.size > 0) {
      this.host.withdraw((m) => this.refusesShown(m))
    }
    // Where claims settle the owner, every member's ack is a vote: written as soon as it knows
    // one. Where the room fixes its owner, an ack only places its writer among the members,
    // and goes with the member's first record (see `firstRecord`).
    if (this.fixedOwner === null) this.ackOwner()
    this.host.settled?.()
  }

  // The record id of the lock in force at an applied ACCESS: the last lock before it in the
  // room's order (resolve.ts let it in only if it answered that lock).
  private lockBefore(access: GovRecord): string {
    const applied = this.state.applied
    for (let i = applied.indexOf(access) - 1; i >= 0; i--) {
      const r = applied[i]!
      if (r.op.action === GovAction.SET && r.op.setting === GovSetting.LOCKED) return r.id
    }
    return ''
  }

  private refusesShown(m: Message): boolean {
    const author = m.author.toString('hex')
    if (this.deletedBy(m.id, author)) return true
    if (!this.state.banHistory.has(author)) return false
    const dash = m.id.indexOf('-')
    const feed = this.feedOf(m.id.slice(0, dash + 1))
    if (!feed) return false
    const index = feed.blockOf(m.seq)
    return index !== undefined && bannedAt(this.state, author, m.id.slice(0, dash), index)
  }

  private feedOf(prefix: string): Feed | undefined {
    for (const feed of this.host.feeds()) if (feed.idPrefix === prefix) return feed
    return undefined
  }

  private tell(e: Omit<GovernanceEvent, 'self' | 'owner' | 'settings' | 'timestamp' | 'replayed'>, time: OperationTime): void {
    this.host.emit({
      ...e,
      self: e.target !== null && e.target.toString('hex') === this.me,
      owner: this.owner,
      settings: this.settings,
      timestamp: time.timestamp,
      replayed: time.replayed
    })
  }

  /**
   * The record to write ahead of this member's first one in a room whose owner is fixed: its
   * ack of the owner, which places it among the members for a later member limit. Null when
   * there is none to write. A member who only reads writes nothing: its core stays empty and
   * nobody opens it (issue 11); a lock or a limit still counts it, by the clock.
   */
  firstRecord(): Omit<MessageRecord, 'timestamp'> | null {
    const owner = this.state.owner
    if (this.fixedOwner === null || owner === null || owner === this.me || this.acking === owner || this.acked()) return null
    this.acking = owner
    return this.record({ ...blank(GovAction.ACK), target: b4a.from(owner, 'hex') })
  }

  /**
   * The room admitted a member's core, or learnt whose one is: a lock's or a limit's clock may
   * name it, which lets its identity in.
   */
  membersChanged(): void {
    if (this.state.lock !== null || this.state.settings.maxUsers > 0) this.recompute()
  }

  // Each member acknowledges the owner it sees: what settles concurrent claims of a named room
  // for members who join later (see resolve.ts).
  private ackOwner(): void {
    const owner = this.state.owner
    if (owner === null || owner === this.me || this.acking === owner || this.acked()) return
    this.acking = owner
    this.write({ ...blank(GovAction.ACK), target: b4a.from(owner, 'hex') }).catch((err) => this.host.error(err))
  }

  // Whether this identity has an ack among the operations.
  private acked(): boolean {
    for (const r of this.records.values()) if (r.author === this.me && r.op.action === GovAction.ACK) return true
    return false
  }

  // The clock of a new operation: every writer core's length as this node sees it. A lock's or
  // a member limit's also names the admitted cores with no block yet, at length 0 (members who
  // never wrote), while entries are left: the cores with blocks first, since they order the
  // room's operations.
  private clock(members: boolean): GovOperation['clock'] {
    const clock: GovOperation['clock'] = []
    const empty: Buffer[] = []
    for (const feed of this.host.feeds()) {
      if (feed.local) continue
      const length = seenLength(feed)
      if (length > 0) clock.push({ core: feed.key.subarray(0, 16), length })
      else if (members) empty.push(feed.key)
    }
    if (members) for (const key of this.host.quiet?.() ?? []) empty.push(key)
    for (const key of empty) clock.push({ core: key.subarray(0, 16), length: 0 })
    return clock.slice(0, MAX_CLOCK_ENTRIES)
  }

  private record(op: GovOperation): Omit<MessageRecord, 'timestamp'> {
    const members = op.action === GovAction.SET && (op.setting === GovSetting.MAX_USERS || (op.setting === GovSetting.LOCKED && op.value === 1))
    op.clock = this.clock(members)
    return { type: MessageType.GOVERN, text: '', payload: encodeGovOperation(op) }
  }

  private async write(op: GovOperation): Promise<void> {
    const record = this.record(op)
    const locks = op.action === GovAction.SET && op.setting === GovSetting.LOCKED && op.value === 1
    const removes = op.action === GovAction.KICK || op.action === GovAction.BAN
    const follow = (removes || locks) && this.host.rotation ? (seq: number) => this.host.rotation!(seq, removes ? op.target : null) : undefined
    await this.host.append(record, follow)
  }

  // Throws NOT_ALLOWED unless this identity may do `op` now.
  private check(op: GovOperation): void {
    const actor = this.roleOf(this.me)
    const rank = RANK[actor]
    const need = minRole(op.action)
    if (rank < RANK[need]) throw BackspaceError.NOT_ALLOWED(`${ACTION_NAMES[op.action]} needs the role ${need}; you are ${actor}`)
    if (op.target) {
      const target = this.roleOf(op.target.toString('hex'))
      if (RANK[target] >= rank) throw BackspaceError.NOT_ALLOWED(`you cannot act on a member whose role is ${target}`)
    }
    if (op.setting !== null) {
      const problem = settingProblem(op.setting, op.value)
      if (problem) throw BackspaceError.INVALID_ARGUMENT(problem)
    }
  }

  private async act(op: GovOperation): Promise<void> {
    // A room nobody has claimed is claimed by its first moderator.
    if (this.state.owner === null) await this.claim()
    this.check(op)
    await this.write(op)
  }

  /** Claims the room if nobody has; NOT_ALLOWED once it has an owner. */
  async claim(): Promise<void> {
    if (this.state.owner === this.me) return
    if (this.state.owner !== null) throw BackspaceError.NOT_ALLOWED('this room already has an owner')
    await this.write(blank(GovAction.CLAIM))
  }

  private makeModeration(): Moderation {
    const targeted = (action: GovActionValue) => (key: Buffer, reason?: string) =>
      this.act({ ...blank(action), target: identityKey(key), text: reasonText(reason) })
    const text = (action: GovActionValue) => (value: string) => this.act({ ...blank(action), text: govText(value) })
    const set = (setting: GovSettingValue, value: number) => this.act({ ...blank(GovAction.SET), setting, value })
    return {
      claim: () => this.claim(),
      topic: text(GovAction.TOPIC),
      announce: text(GovAction.ANNOUNCE),
      welcome: text(GovAction.WELCOME),
      op: (key) => targeted(GovAction.OP)(key),
      deop: (key) => targeted(GovAction.DEOP)(key),
      admin: (key) => targeted(GovAction.ADMIN)(key),
      unadmin: (key) => targeted(GovAction.UNADMIN)(key),
      kick: targeted(GovAction.KICK),
      ban: targeted(GovAction.BAN),
      unban: (key) => targeted(GovAction.UNBAN)(key),
      deleteMessage: async (target) => {
        const id = typeof target === 'string' ? target : target?.id
        if (typeof id !== 'string') throw BackspaceError.INVALID_ARGUMENT('target must be a message or its id')
        await this.act({ ...blank(GovAction.DELETE), message: parseMessageId(id) })
      },
      lock: async (password) => {
        if (password === undefined || password === '') return set(GovSetting.LOCKED, 1)
        if (typeof password !== 'string') throw BackspaceError.INVALID_ARGUMENT('password must be a string')
        const { publicKey } = await lockKeyPair(password, this.host.roomId)
        await this.act({ ...blank(GovAction.SET), setting: GovSetting.LOCKED, value: 1, key: publicKey })
      },
      enter: async (password) => {
        if (typeof password !== 'string' || password === '') throw BackspaceError.INVALID_ARGUMENT('password must be a string')
        const lock = this.state.lock
        if (lock === null) throw BackspaceError.INVALID_ARGUMENT('the room is not locked')
        if (this.mayJoin(this.me)) return
        if (!lock.op.key) throw BackspaceError.NOT_ALLOWED('the room is locked without a password')
        const pair = await lockKeyPair(password, this.host.roomId)
        if (!b4a.equals(pair.publicKey, lock.op.key)) throw BackspaceError.NOT_ALLOWED('wrong password')
        const proof = sign(accessSignable(lock.id, this.host.identity), pair.secretKey)
        await this.write({ ...blank(GovAction.ACCESS), proof })
      },
      unlock: () => set(GovSetting.LOCKED, 0),
      setPrivate: (on = true) => set(GovSetting.PRIVATE, on ? 1 : 0),
      wipe: () => this.act(blank(GovAction.WIPE)),
      set: async (patch) => {
        if (patch === null || typeof patch !== 'object') throw BackspaceError.INVALID_ARGUMENT('settings must be an object')
        const ops: Array<[GovSettingValue, number]> = []
        if (patch.slowMode !== undefined) ops.push([GovSetting.SLOW_MODE, count(patch.slowMode, 'slowMode')])
        if (patch.maxUsers !== undefined) ops.push([GovSetting.MAX_USERS, count(patch.maxUsers, 'maxUsers')])
        if (patch.ttl !== undefined) ops.push([GovSetting.TTL, count(patch.ttl, 'ttl')])
        if (patch.allowAnonymous !== undefined) ops.push([GovSetting.ALLOW_ANONYMOUS, flag(patch.allowAnonymous, 'allowAnonymous')])
        if (patch.allowFiles !== undefined) ops.push([GovSetting.ALLOW_FILES, flag(patch.allowFiles, 'allowFiles')])
        for (const [s, v] of ops) {
          const problem = settingProblem(s, v)
          if (problem) throw BackspaceError.INVALID_ARGUMENT(problem)
        }
        for (const [s, v] of ops) await set(s, v)
      }
    }
  }
}

/**
 * How many blocks of a writer core this node has seen: its length, or past it the blocks that
 * came live on the channel before Hypercore stored them.
 */
export function seenLength(feed: Pick<Feed, 'core' | 'seen' | 'loaded' | 'unconfirmed'>): number {
  let length = Math.max(feed.core.length, feed.seen)
  for (const index of feed.loaded.keys()) if (index >= length) length = index + 1
  for (const index of feed.unconfirmed.keys()) if (index >= length) length = index + 1
  return length
}

/** What an incognito identity shows: no name, or its `Anon-#####` name. */
export function isAnonymous(name: string): boolean {
  return name === '' || /^Anon-\d{5}$/.test(name)
}

/** An operation with no fields set. */
export function blank(action: GovActionValue): GovOperation {
  return { action, target: null, text: '', message: null, setting: null, value: 0, nonce: null, clock: [] }
}

function identityKey(key: unknown): Buffer {
  if (!b4a.isBuffer(key) || key.byteLength !== 32) throw BackspaceError.INVALID_ARGUMENT('key must be a 32-byte identity key')
  return key
}

function govText(text: unknown): string {
  if (typeof text !== 'string') throw BackspaceError.INVALID_ARGUMENT('text must be a string')
  const problem = messageTextProblem(text)
  if (problem) throw BackspaceError.INVALID_ARGUMENT(problem)
  if (b4a.byteLength(text) > MAX_GOV_TEXT_BYTES) throw BackspaceError.MESSAGE_TOO_LARGE(`the limit is ${MAX_GOV_TEXT_BYTES} bytes`)
  return text
}

function reasonText(reason: unknown): string {
  return reason === undefined ? '' : govText(reason)
}

function count(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw BackspaceError.INVALID_ARGUMENT(`${name} must be a whole number`)
  return value
}

function flag(value: unknown, name: string): number {
  if (typeof value !== 'boolean') throw BackspaceError.INVALID_ARGUMENT(`${name} must be true or false`)
  return value ? 1 : 0
}

export { defaultSettings }
