// The room's governance state as a pure function of the set of verified operations: every peer
// that holds the same operations computes the same owner, roles, bans and settings, whatever
// order they arrived in. No wall-clock time is read here: operations are ordered by the causal
// state each names (the writer cores' lengths its author had seen), then by a hash.
import { accessSignable, verify } from '../crypto.js'
import { GovAction, GovSetting, type GovOperation } from './codec.js'
import type { Role, RoomSettings } from './types.js'

/** A verified operation: the block it came in says who wrote it and where. */
export interface GovRecord {
  /** The record's message id (core prefix and seq): unique in the room. */
  id: string
  /** The writer core's first 16 bytes, hex: the key clocks name. */
  core: string
  /** The block's index in its core, which the block signature covers. */
  index: number
  /** The record's place in its block. */
  pos: number
  /** The block's certified author: the identity that acts. */
  author: string
  op: GovOperation
  /** The op's clock, by core hex. */
  clock: Map<string, number>
  /** The deterministic tie-break between concurrent operations. */
  hash: string
}

/**
 * The identity whose admitted writer core starts with `core` (16 bytes, hex), or undefined.
 * A lock's or a member limit's clock names the cores its author knew of, those with no block
 * yet too: their identities were in the room before it (see `lockedInUnder`).
 */
export type CoreOwners = (core: string) => string | undefined

const NO_OWNERS: CoreOwners = () => undefined

export const RANK: Readonly<Record<Role, number>> = { banned: -1, member: 0, op: 1, admin: 2, owner: 3 }

/** The least role for each action (claims and acks have rules of their own). */
export function minRole(action: number): Role {
  switch (action) {
    case GovAction.OP:
    case GovAction.DEOP:
    case GovAction.SET:
    case GovAction.WIPE:
      return 'admin'
    case GovAction.ADMIN:
    case GovAction.UNADMIN:
      return 'owner'
    case GovAction.ACCESS:
      return 'member'
    default:
      return 'op'
  }
}

export const MAX_SLOW_MODE = 24 * 60 * 60
export const MAX_USERS = 100_000
export const MAX_ROOM_TTL = 7 * 24 * 60 * 60 * 1000

export function defaultSettings(): RoomSettings {
  return {
    topic: '',
    announcement: '',
    welcome: '',
    locked: false,
    private: false,
    slowMode: 0,
    maxUsers: 0,
    ttl: 0,
    allowAnonymous: true,
    allowFiles: true
  }
}

/** Why a SET is out of range, or null. */
export function settingProblem(setting: number, value: number): string | null {
  switch (setting) {
    case GovSetting.SLOW_MODE:
      return value <= MAX_SLOW_MODE ? null : `slow mode is at most ${MAX_SLOW_MODE} s`
    case GovSetting.MAX_USERS:
      return value <= MAX_USERS ? null : `max users is at most ${MAX_USERS}`
    case GovSetting.TTL:
      return value <= MAX_ROOM_TTL ? null : 'a room ttl is at most 7 days'
    default:
      return value <= 1 ? null : 'a switch is 0 or 1'
  }
}

export interface Resolved {
  owner: string | null
  /** Roles other than member, by identity hex. */
  roles: Map<string, Role>
  settings: RoomSettings
  /** Valid operations, in the room's order. */
  applied: GovRecord[]
  /** Operations refused: without authority, or void by a concurrent removal. */
  refused: Set<string>
  /** Per identity, its valid bans and unbans in the room's order: which of its blocks count. */
  banHistory: Map<string, GovRecord[]>
  /** Message ids deleted by moderators, with the actor's rank at the time. */
  deletions: Map<string, { actor: string; rank: number }>
  /** With a member limit: the identities admitted to write (see `admittedUnder`). */
  admitted: Set<string> | null
  /** Valid wipes, in the room's order. */
  wipes: GovRecord[]
  /** While the room is locked: the lock in force. */
  lock: GovRecord | null
  /**
   * While the room is locked, the identities let in (see `lockedIn`); null when it is not.
   * Readers drop the messages of everyone else, and created rooms give them no epoch key.
   */
  lockedIn: Set<string> | null
}

/**
 * Whether block `index` of writer core `core` was written before a valid wipe: below the
 * length of that core the wipe's author had seen (or, for the wiper's own core, below the
 * wipe's own block).
 */
export function wipedAt(resolved: Pick<Resolved, 'wipes'>, core: string, index: number): boolean {
  for (const w of resolved.wipes) {
    const boundary = w.core === core ? w.index : (w.clock.get(core) ?? 0)
    if (index < boundary) return true
  }
  return false
}

/** Whether `a` happened before `b`: `b`'s author had seen `a`'s block. */
export function before(a: GovRecord, b: GovRecord): boolean {
  if (a.core === b.core) return a.index < b.index || (a.index === b.index && a.pos < b.pos)
  return (b.clock.get(a.core) ?? 0) > a.index
}

function concurrent(a: GovRecord, b: GovRecord): boolean {
  return !before(a, b) && !before(b, a)
}

/**
 * One order for all operations, consistent with `before`: each step takes, of the operations
 * whose predecessors are all placed, the one with the lowest hash. A cycle (only a forged clock
 * makes one) is broken the same way, by the lowest hash left.
 */
export function linearise(records: GovRecord[]): GovRecord[] {
  const n = records.length
  const preds = new Array<number>(n).fill(0)
  const succ: number[][] = records.map(() => [])
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i !== j && before(records[i]!, records[j]!)) {
        succ[i]!.push(j)
        preds[j]!++
      }
    }
  }
  const placed = new Array<boolean>(n).fill(false)
  const out: GovRecord[] = []
  const byHash = (i: number, j: number) => (records[i]!.hash < records[j]!.hash ? -1 : records[i]!.hash > records[j]!.hash ? 1 : 0)
  let ready = records.map((_, i) => i).filter((i) => preds[i] === 0)
  while (out.length < n) {
    if (ready.length === 0) {
      // A cycle: the lowest hash among what is left goes first.
      const left = records.map((_, i) => i).filter((i) => !placed[i])
      ready = [left.sort(byHash)[0]!]
    }
    ready.sort(byHash)
    const i = ready.shift()!
    if (placed[i]) continue
    placed[i] = true
    out.push(records[i]!)
    for (const j of succ[i]!) {
      if (--preds[j]! === 0 && !placed[j]) ready.push(j)
    }
  }
  return out
}

/**
 * The owner: fixed by the room (a creator's verified claim), else among claims, the claimant
 * acknowledged by the most other identities, then the lowest hash. A claim made by someone who
 * had already seen another claim is void.
 */
function ownerOf(order: GovRecord[], fixedOwner: string | null): { owner: string | null; refused: string[] } {
  const claims = order.filter((r) => r.op.action === GovAction.CLAIM)
  if (fixedOwner !== null) return { owner: fixedOwner, refused: claims.filter((r) => r.author !== fixedOwner).map((r) => r.id) }
  const live = claims.filter((r) => !claims.some((o) => o.author !== r.author && before(o, r)))
  const first = new Map<string, GovRecord>()
  for (const r of live) if (!first.has(r.author)) first.set(r.author, r)
  const acks = new Map<string, Set<string>>()
  const acked = new Set<string>()
  for (const r of order) {
    if (r.op.action !== GovAction.ACK || acked.has(r.author)) continue
    const target = r.op.target!.toString('hex')
    if (target === r.author || !first.has(target)) continue
    acked.add(r.author)
    let set = acks.get(target)
    if (!set) acks.set(target, (set = new Set()))
    set.add(r.author)
  }
  let best: GovRecord | null = null
  for (const r of first.values()) {
    if (best === null) {
      best = r
      continue
    }
    const a = acks.get(r.author)?.size ?? 0
    const b = acks.get(best.author)?.size ?? 0
    if (a > b || (a === b && r.hash < best.hash)) best = r
  }
  const owner = best?.author ?? null
  return { owner, refused: claims.filter((r) => r.author !== owner).map((r) => r.id) }
}

function roleOf(owner: string | null, roles: Map<string, Role>, who: string): Role {
  if (who === owner) return 'owner'
  return roles.get(who) ?? 'member'
}

const DOWN = new Set<number>([GovAction.KICK, GovAction.BAN, GovAction.DEOP, GovAction.UNADMIN])
const UP = new Set<number>([GovAction.UNBAN, GovAction.OP, GovAction.ADMIN])

/** Evaluates every operation against the state before it, in the room's order. */
function evaluate(order: GovRecord[], owner: string | null, voided: Set<string>, owners: CoreOwners): Resolved {
  const roles = new Map<string, Role>()
  const settings = defaultSettings()
  const applied: GovRecord[] = []
  const refused = new Set<string>()
  const banHistory = new Map<string, GovRecord[]>()
  const deletions = new Map<string, { actor: string; rank: number }>()
  let lock: GovRecord | null = null
  const access = new Set<string>()
  for (const r of order) {
    const { op } = r
    if (op.action === GovAction.CLAIM || op.action === GovAction.ACK) continue
    if (voided.has(r.id)) {
      refused.add(r.id)
      continue
    }
    const actorRole = roleOf(owner, roles, r.author)
    const rank = RANK[actorRole]
    if (rank < RANK[minRole(op.action)]) {
      refused.add(r.id)
      continue
    }
    const target = op.target ? op.target.toString('hex') : null
    if (target !== null) {
      // An actor acts on, and grants, only roles strictly below its own.
      const targetRole = roleOf(owner, roles, target)
      if (RANK[targetRole] >= rank) {
        refused.add(r.id)
        continue
      }
      if (op.action === GovAction.ADMIN && RANK.admin >= rank) {
        refused.add(r.id)
        continue
      }
      if (op.action === GovAction.OP && RANK.op >= rank) {
        refused.add(r.id)
        continue
      }
    }
    if (op.action === GovAction.SET && settingProblem(op.setting!, op.value) !== null) {
      refused.add(r.id)
      continue
    }
    // Access answers the lock in force, with a signature by its password's key.
    if (op.action === GovAction.ACCESS && (lock === null || !lock.op.key || !verify(op.proof!, accessSignable(lock.id, Buffer.from(r.author, 'hex')), lock.op.key))) {
      refused.add(r.id)
      continue
    }
    applied.push(r)
    switch (op.action) {
      case GovAction.TOPIC:
        settings.topic = op.text
        break
      case GovAction.ANNOUNCE:
        settings.announcement = op.text
        break
      case GovAction.WELCOME:
        settings.welcome = op.text
        break
      case GovAction.OP:
        if (roles.get(target!) !== 'banned') roles.set(target!, 'op')
        break
      case GovAction.ADMIN:
        if (roles.get(target!) !== 'banned') roles.set(target!, 'admin')
        break
      case GovAction.DEOP:
        if (roles.get(target!) === 'op') roles.delete(target!)
        break
      case GovAction.UNADMIN:
        if (roles.get(target!) === 'admin') roles.delete(target!)
        break
      case GovAction.KICK:
        if (roles.get(target!) !== 'banned') roles.delete(target!)
        break
      case GovAction.BAN:
      case GovAction.UNBAN: {
        if (op.action === GovAction.BAN) roles.set(target!, 'banned')
        else if (roles.get(target!) === 'banned') roles.delete(target!)
        let list = banHistory.get(target!)
        if (!list) banHistory.set(target!, (list = []))
        list.push(r)
        break
      }
      case GovAction.DELETE: {
        const id = op.message!.core.toString('hex') + '-' + op.message!.seq
        if (!deletions.has(id)) deletions.set(id, { actor: r.author, rank })
        break
      }
      case GovAction.SET:
        applySetting(settings, op.setting!, op.value)
        if (op.setting === GovSetting.LOCKED) {
          lock = op.value === 1 ? r : null
          access.clear()
        }
        break
      case GovAction.ACCESS:
        access.add(r.author)
        break
    }
  }
  const wipes = applied.filter((r) => r.op.action === GovAction.WIPE)
  const lockedIn = lock === null ? null : lockedInUnder(order, lock, owner, roles, access, owners)
  return { owner, roles, settings, applied, refused, banHistory, deletions, admitted: null, wipes, lock, lockedIn }
}

/**
 * Who may write under a member limit, by the room's order and never by the clock: every
 * member who had acknowledged the owner before the limit was set (its setter had seen the
 * ack) or whose core the limit's clock names (its setter knew the member was in), then the
 * next ones in the room's order of their first acknowledgement while places are left. A
 * member's first ack is written with its first record; one that names no state sorts among
 * the newcomers, so back-dating it cannot win a place held by an earlier member.
 */
function admittedUnder(order: GovRecord[], applied: GovRecord[], max: number, owners: CoreOwners): Set<string> {
  let limit: GovRecord | null = null
  for (const r of applied) if (r.op.action === GovAction.SET && r.op.setting === GovSetting.MAX_USERS) limit = r
  const admitted = new Set<string>()
  if (limit !== null) knownTo(limit, owners, admitted)
  const first = new Map<string, GovRecord>()
  for (const r of order) if (r.op.action === GovAction.ACK && !first.has(r.author)) first.set(r.author, r)
  const newcomers: GovRecord[] = []
  for (const r of first.values()) {
    if (limit !== null && before(r, limit)) admitted.add(r.author)
    else newcomers.push(r)
  }
  for (const r of newcomers) {
    if (admitted.size >= max) break
    admitted.add(r.author)
  }
  return admitted
}

/**
 * Who is in while `lock` holds, by the room's order and never by the clock: the owner, admins
 * and ops, the lock's author, every member who had acknowledged the owner before the lock
 * (its author had seen the ack), every member whose core the lock's clock names (its author
 * knew of it, written to or not), and every newcomer who proved the lock's password since.
 */
function lockedInUnder(
  order: GovRecord[],
  lock: GovRecord,
  owner: string | null,
  roles: Map<string, Role>,
  access: Set<string>,
  owners: CoreOwners
): Set<string> {
  const inside = new Set<string>(access)
  knownTo(lock, owners, inside)
  inside.add(lock.author)
  if (owner !== null) inside.add(owner)
  for (const [who, role] of roles) if (RANK[role] >= RANK.op) inside.add(who)
  for (const r of order) if (r.op.action === GovAction.ACK && before(r, lock)) inside.add(r.author)
  return inside
}

// The identities of the cores `r`'s clock names, added to `out`: members its author knew of.
function knownTo(r: GovRecord, owners: CoreOwners, out: Set<string>): void {
  for (const core of r.clock.keys()) {
    const who = owners(core)
    if (who !== undefined) out.add(who)
  }
}

function applySetting(settings: RoomSettings, setting: number, value: number): void {
  switch (setting) {
    case GovSetting.SLOW_MODE:
      settings.slowMode = value
      break
    case GovSetting.MAX_USERS:
      settings.maxUsers = value
      break
    case GovSetting.TTL:
      settings.ttl = value
      break
    case GovSetting.ALLOW_ANONYMOUS:
      settings.allowAnonymous = value === 1
      break
    case GovSetting.ALLOW_FILES:
      settings.allowFiles = value === 1
      break
    case GovSetting.LOCKED:
      settings.locked = value === 1
      break
    case GovSetting.PRIVATE:
      settings.private = value === 1
      break
  }
}

/**
 * The governance state of a set of operations. Conflicts resolve by fixed rules:
 * - strong removal: a removal or demotion voids the removed actor's concurrent operations;
 * - a re-add (unban, op, admin) by someone else cannot undo a concurrent removal;
 * - otherwise each operation is judged against the state before it in the room's order, so
 *   two actors removing each other resolve by rank, then by the order's hash tie-break.
 * The void set is recomputed from each round's valid removals until it is stable: a removal
 * that is itself void voids nothing. A cycle (only concurrent removals of removers make one)
 * ends after a bounded number of rounds, with the same result on every peer.
 */
export function resolve(records: GovRecord[], fixedOwner: string | null, owners: CoreOwners = NO_OWNERS): Resolved {
  const order = linearise(records)
  const { owner, refused: claims } = ownerOf(order, fixedOwner)
  let voided = new Set<string>()
  const seen = new Set<string>()
  for (let round = 0; ; round++) {
    const result = evaluate(order, owner, voided, owners)
    const next = voidsOf(order, result.applied)
    const key = [...next].sort().join(',')
    if (sameSet(next, voided) || seen.has(key) || round > order.length + 1) {
      for (const id of claims) result.refused.add(id)
      if (result.settings.maxUsers > 0) result.admitted = admittedUnder(order, result.applied, result.settings.maxUsers, owners)
      return result
    }
    seen.add(key)
    voided = next
  }
}

// The operations the valid removals of a round void.
function voidsOf(order: GovRecord[], applied: GovRecord[]): Set<string> {
  const voided = new Set<string>()
  for (const r of applied) {
    if (!DOWN.has(r.op.action)) continue
    const target = r.op.target!.toString('hex')
    for (const o of order) {
      if (o.op.action === GovAction.CLAIM || o.op.action === GovAction.ACK) continue
      const voids =
        (o.author === target && concurrent(o, r)) ||
        (UP.has(o.op.action) && o.op.target!.toString('hex') === target && o.author !== r.author && concurrent(o, r))
      if (voids) voided.add(o.id)
    }
  }
  return voided
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false
  for (const x of a) if (!b.has(x)) return false
  return true
}

/**
 * Whether block `index` of writer core `core` by `author` is refused: the last of the author's
 * bans and unbans that had not seen the block is a ban. A block a ban's author had seen was
 * written before the ban and stays; one it had not seen is after or concurrent, and goes.
 */
export function bannedAt(resolved: Resolved, author: string, core: string, index: number): boolean {
  const list = resolved.banHistory.get(author)
  if (!list) return false
  let banned = false
  for (const r of list) {
    if ((r.clock.get(core) ?? 0) > index) continue
    banned = r.op.action === GovAction.BAN
  }
  return banned
}
