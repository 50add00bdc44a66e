// How many bytes of other peers' cores a node holds: per writer, per room and in all. Sizes
// come from each core's Merkle tree, which Hypercore verified against the writer's signature,
// so they are known before the blocks are fetched.
import type Hypercore from 'hypercore'
import { MerkleTree } from 'hypercore/lib/merkle-tree.js'
import { BackspaceError } from '../errors.js'
import { MAX_RECORD_BYTES } from '../messages.js'
import type { QuotaLimits, QuotaOptions, QuotaScope } from '../types.js'

const MiB = 1024 * 1024

// A very busy member writes a few MB of chat a day: 64 MiB holds a week of it many times over.
/** A member's defaults. */
export const MEMBER_QUOTA: QuotaLimits = Object.freeze({ writer: 64 * MiB, room: 512 * MiB, total: 2048 * MiB })
/** A relay's defaults: it keeps every member's whole week. */
export const RELAY_QUOTA: QuotaLimits = Object.freeze({ writer: 64 * MiB, room: 1024 * MiB, total: 8192 * MiB })

/** Checks and completes quota options. Throws INVALID_ARGUMENT. */
export function quotaLimits(opts: QuotaOptions | undefined, defaults: QuotaLimits): QuotaLimits {
  if (opts === undefined) return defaults
  if (opts === null || typeof opts !== 'object') throw BackspaceError.INVALID_ARGUMENT('quota must be an object')
  const limits = { ...defaults }
  for (const scope of ['writer', 'room', 'total'] as const) {
    const v = opts[scope]
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < MAX_RECORD_BYTES) {
      throw BackspaceError.INVALID_ARGUMENT(`quota.${scope} is a whole number of bytes, at least ${MAX_RECORD_BYTES}`)
    }
    limits[scope] = v
  }
  return limits
}

/** The node's ledger: bytes held per room and writer, against the limits. */
export class QuotaLedger {
  readonly limits: QuotaLimits
  private readonly rooms: Map<object, { used: number; writers: Map<string, number> }>
  private total: number

  constructor(limits: QuotaLimits) {
    this.limits = limits
    this.rooms = new Map()
    this.total = 0
  }

  get used(): number {
    return this.total
  }

  writerUsed(room: object, writer: string): number {
    return this.rooms.get(room)?.writers.get(writer) ?? 0
  }

  roomUsed(room: object): number {
    return this.rooms.get(room)?.used ?? 0
  }

  /** Records that `writer` of `room` holds `bytes`. */
  set(room: object, writer: string, bytes: number): void {
    let r = this.rooms.get(room)
    if (!r) this.rooms.set(room, (r = { used: 0, writers: new Map() }))
    const was = r.writers.get(writer) ?? 0
    r.writers.set(writer, bytes)
    r.used += bytes - was
    this.total += bytes - was
  }

  remove(room: object, writer: string): void {
    this.set(room, writer, 0)
    this.rooms.get(room)?.writers.delete(writer)
  }

  removeRoom(room: object): void {
    const r = this.rooms.get(room)
    if (!r) return
    this.total -= r.used
    this.rooms.delete(room)
  }

  /**
   * How many bytes `writer` of `room` may hold in all, and which limit sets that: the least
   * of its own limit and what the room's and the node's limits leave after everyone else.
   */
  allowance(room: object, writer: string): { bytes: number; scope: QuotaScope; used: number; limit: number } {
    const r = this.rooms.get(room)
    const own = r?.writers.get(writer) ?? 0
    const roomLeft = this.limits.room - ((r?.used ?? 0) - own)
    const totalLeft = this.limits.total - (this.total - own)
    let best = { bytes: this.limits.writer, scope: 'writer' as QuotaScope, used: own, limit: this.limits.writer }
    if (roomLeft < best.bytes) best = { bytes: roomLeft, scope: 'room', used: r?.used ?? 0, limit: this.limits.room }
    if (totalLeft < best.bytes) best = { bytes: totalLeft, scope: 'total', used: this.total, limit: this.limits.total }
    best.bytes = Math.max(0, best.bytes)
    return best
  }
}

type TreeCore = Hypercore & { state: { length: number; byteLength: number }; padding: number }

/**
 * Bytes of blocks [from, to) of `core`, from its verified Merkle tree (without the blocks),
 * or null when the tree nodes needed are not stored here. Never NaN: rooms and relays put it
 * in the quota ledger, where one NaN makes every later budget NaN.
 */
export async function byteSpan(core: Hypercore, from: number, to: number): Promise<number | null> {
  const { state, padding } = core as TreeCore
  // A session closed meanwhile (its node is closing while the room opens) has no state.
  if (!state) return null
  // Offsets past the tree's roots throw before Hypercore flushes its read batch, and an
  // unflushed batch keeps the storage from closing: stay within the verified length.
  const length = state.length
  to = Math.min(to, length)
  if (to <= from) return 0
  try {
    // Tree sizes count each block's encryption padding; Hypercore's byteLength does not.
    const end = to === length ? state.byteLength : await MerkleTree.byteOffset(state, 2 * to)
    const start = from === 0 ? 0 : await MerkleTree.byteOffset(state, 2 * from)
    const bytes = end - start - (padding ?? 0) * (to - from)
    return Number.isFinite(bytes) ? Math.max(0, bytes) : null
  } catch {
    return null
  }
}

/**
 * Whether the core's verified size already proves a block larger than any a writer may write:
 * more bytes than its length of blocks at the largest size.
 */
export function provesOversized(core: Hypercore): boolean {
  return core.byteLength > core.length * MAX_RECORD_BYTES
}

/** Hypercore's 'download' reports each block's size (less padding) once it was verified. */
export function isOversizedBlock(byteLength: number): boolean {
  return byteLength > MAX_RECORD_BYTES
}
