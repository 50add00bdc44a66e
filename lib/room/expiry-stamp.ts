// Expiry a relay can verify (issue 10, finding 10). A relay cannot read a block, so it used to
// go only by when it first saw a block: one first seen a day late was kept a day too long.
//
// Hypercore's block encryption keeps 8 bytes of each block in the clear, before the
// ciphertext, as part of the nonce. Its default fills them with the blinded fork id; a room's
// own core fills them instead with the block's expiry, in whole minutes, and a 4-byte tag that
// tells a stamp from the random bytes of a block written before stamps. The 8 bytes are part
// of the block that Hypercore hashes into the tree the core's key signs, so a relay that
// verified the block holds its writer's word on when it expires, without the key that reads
// it. Readers decrypt every block the same way (nonce = index, then these 8 bytes), so old
// and new blocks, and old and new builds, read each other.
import b4a from 'b4a'
import c from 'compact-encoding'
import sodium from 'sodium-universal'
import Hypercore from 'hypercore'

/** The clear bytes Hypercore's block encryption keeps before each block's ciphertext. */
const PADDING = 8
const MINUTE = 60_000
const NONCE_BYTES = 24
const TAG_BYTES = 4
const NS_STAMP = b4a.from('backspace/expiry-stamp/v1')

// The tag commits to where the block sits and to the stamp: the random bytes of an unstamped
// block pass for a stamp once in 2^32, and a reorg (a new fork) never reuses a nonce.
// Scratch space, reused: the tag is computed and copied out synchronously.
const tagFields = b4a.alloc(20)
const tagHash = b4a.alloc(16)

function tagOf(index: number, fork: number, minutes: number): Buffer {
  const state = { start: 0, end: 20, buffer: tagFields }
  c.uint64.encode(state, index)
  c.uint64.encode(state, fork)
  c.uint32.encode(state, minutes)
  sodium.crypto_generichash_batch(tagHash, [NS_STAMP, tagFields])
  return tagHash.subarray(0, TAG_BYTES)
}

/** A Hypercore encryption provider: the default block encryption, with expiry stamps. */
export class StampedEncryption {
  private readonly blockKey: Buffer
  // When a block appended now expires: this node's time plus the room's TTL.
  private readonly expiresAt: () => number
  private readonly nonce: Buffer
  // Stamps fixed ahead of an append (see `stamp`), by index: used once, by that append.
  private readonly fixed: Map<number, number>
  // The clear bytes computed last, for `index` under `fork` in minute `minutes`.
  private ready: { index: number; fork: number; minutes: number; padding: Buffer } | null = null

  /** `blockKey`: `Hypercore.blockEncryptionKey(coreKey, encryptionKey)`, as the default derives it. */
  constructor(blockKey: Buffer, expiresAt: () => number) {
    this.blockKey = blockKey
    this.expiresAt = expiresAt
    this.nonce = b4a.alloc(NONCE_BYTES)
    this.fixed = new Map()
  }

  /**
   * Fixes the clear bytes of the block that will be appended at `index`, before it is: the
   * live path sends them along, so members can rebuild the stored ciphertext. Bounded: an
   * append that never comes leaves at most a few stale entries, dropped by `unfix`.
   */
  stamp(index: number, fork: number): Buffer {
    const minutes = this.minutesNow()
    this.fixed.set(index, minutes)
    return this.paddingOf(index, fork, minutes)
  }

  /**
   * Computes, off the send path, the clear bytes the block at `index` would get if it were
   * appended within the current minute: `stamp` and `encrypt` then find them ready instead of
   * hashing while a live frame waits to leave (docs/PERFORMANCE.md). Only a cache: a stamp of
   * another index, fork or minute is computed as before.
   */
  prepare(index: number, fork: number): void {
    this.paddingOf(index, fork, this.minutesNow())
  }

  // Rounded up: a relay never deletes a block before it expires.
  private minutesNow(): number {
    return Math.min(Math.ceil(this.expiresAt() / MINUTE), 0xffffffff)
  }

  // The clear bytes of a block: its expiry in minutes, then the tag. The last ones computed are
  // kept (one entry): the next append's, prepared while nothing waits.
  private paddingOf(index: number, fork: number, minutes: number): Buffer {
    const ready = this.ready
    if (ready !== null && ready.index === index && ready.fork === fork && ready.minutes === minutes) return ready.padding
    const padding = b4a.alloc(PADDING)
    c.uint32.encode({ start: 0, end: 4, buffer: padding }, minutes)
    padding.set(tagOf(index, fork, minutes), 4)
    this.ready = { index, fork, minutes, padding }
    return padding
  }

  /** Forgets the stamps fixed from `index` on (their append failed). */
  unfix(from: number): void {
    for (const index of this.fixed.keys()) if (index >= from) this.fixed.delete(index)
  }

  padding(): number {
    return PADDING
  }

  encrypt(index: number, block: Buffer, fork: number): void {
    const fixed = this.fixed.get(index)
    if (fixed !== undefined) this.fixed.delete(index)
    block.set(this.paddingOf(index, fork, fixed ?? this.minutesNow()), 0)
    this.xor(index, block)
  }

  decrypt(index: number, block: Buffer): void {
    this.xor(index, block)
  }

  /** The ciphertext of `plain` at `index` with these clear bytes, as Hypercore stores it. */
  static seal(blockKey: Buffer, index: number, padding: Buffer, plain: Buffer): Buffer {
    const out = b4a.allocUnsafe(PADDING + plain.byteLength)
    out.set(padding, 0)
    out.set(plain, PADDING)
    const nonce = b4a.alloc(NONCE_BYTES)
    c.uint64.encode({ start: 0, end: 8, buffer: nonce }, index)
    nonce.set(padding, 8)
    const body = out.subarray(PADDING)
    sodium.crypto_stream_xor(body, body, nonce, blockKey)
    return out
  }

  // As Hypercore's default: the nonce is the index, then the block's clear bytes.
  private xor(index: number, block: Buffer): void {
    c.uint64.encode({ start: 0, end: 8, buffer: this.nonce }, index)
    this.nonce.set(block.subarray(0, PADDING), 8)
    const body = block.subarray(PADDING)
    sodium.crypto_stream_xor(body, body, this.nonce, this.blockKey)
  }
}

/** The stamped encryption of a core, with the block key the default would derive for it. */
export function stampedEncryption(coreKey: Buffer, encryptionKey: Buffer, expiresAt: () => number): StampedEncryption {
  return new StampedEncryption(Hypercore.blockEncryptionKey(coreKey, encryptionKey), expiresAt)
}

/**
 * When a block expires, in ms, by the stamp in its clear bytes: `raw` is the block as stored
 * (a relay holds nothing else), which Hypercore verified against the core's signed tree. Null
 * for a block without a stamp (written before stamps, or by another build).
 */
export function stampedExpiry(raw: Buffer, index: number, fork: number): number | null {
  if (raw.byteLength < PADDING) return null
  const minutes = c.uint32.decode({ start: 0, end: 4, buffer: raw })
  if (!b4a.equals(raw.subarray(4, PADDING), tagOf(index, fork, minutes))) return null
  return minutes * MINUTE
}

/**
 * The first block from `from` on whose stamp has not passed at `now`: a relay deletes below it.
 * Goes block by block, and stops at the first block that is not stored or has no stamp, so
 * a writer's stamps need not be in order; `gone` blocks are passed over. Each prune reads the blocks it deletes, and one more.
 */
export async function stampedBoundary(core: Hypercore, from: number, now: number, gone?: (index: number) => boolean): Promise<number> {
  let i = from
  while (i < core.length) {
    // A block deleted for another reason (a relay's wiped blocks) is no reason to stop.
    if (gone?.(i)) {
      i++
      continue
    }
    const raw = await core.get(i, { wait: false, raw: true }).catch(() => null)
    const expiry = raw === null ? null : stampedExpiry(raw, i, core.fork)
    if (expiry === null || expiry > now) break
    i++
  }
  return i
}
