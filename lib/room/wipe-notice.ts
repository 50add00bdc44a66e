// The wipe notice: how a blind relay learns of a Backspace wipe (issue 12) without reading.
//
// A wipe is a GOVERN record inside an encrypted block, which a relay cannot read. So every
// member that applied a wipe tells the relays it meets, in the clear (sealed only with the
// channel key, which relays hold), which blocks of each writer core it wiped: every block
// below `length`, except `keep`, the blocks that hold governance operations (they stay, as on
// members: they are the room's authority, and a joiner who reaches only the relay needs them).
// The notice is signed with the room's admission key pair, which every member derives from the
// room secret and a relay only verifies (its link carries the public key), and bound to the
// room's topic and to the core. A relay thus knows the notice comes from someone holding the
// room secret, but not that the wipe was authorised: roles live in encrypted records. What a
// member without the role can do with it is written in docs/SECURITY.md (Residual risk): make
// relays drop their copies, never make a member lose anything, since members act only on the
// governance records themselves.
import b4a from 'b4a'
import c from 'compact-encoding'
import { hash, sign, verify, type KeyPair } from '../crypto.js'
import { BackspaceError } from '../errors.js'
import { boundedArray, decodeStrict, type Encoding } from '../messages.js'

const VERSION = 1
const NS_WIPE = b4a.from('backspace/wipe-notice/v1')

/** Kept blocks one notice may name: a writer holds at most this many governance operations. */
export const MAX_WIPE_KEEP = 1024 // MAX_GOV_OPS, without importing the governance here
/** Cores whose wipe a relay remembers before it has them; older entries are forgotten. */
export const MAX_PENDING_WIPES = 256

export interface WipeCut {
  /** Every block below this index was wiped, but those in `keep`. */
  length: number
  /** Blocks below `length` that stay (they hold governance operations), ascending. */
  keep: number[]
}

export interface WipeNotice extends WipeCut {
  /** The writer core's key. */
  core: Buffer
  /** By the room's admission key pair, over `wipeSignable`. */
  signature: Buffer
}

const keepList = boundedArray<number>(c.uint, MAX_WIPE_KEEP)

/** v1: version, core, length, keep, signature. */
export const wipeNotice: Encoding<WipeNotice> = {
  preencode(state, n) {
    c.uint.preencode(state, VERSION)
    c.fixed32.preencode(state, n.core)
    c.uint.preencode(state, n.length)
    keepList.preencode(state, n.keep)
    c.fixed64.preencode(state, n.signature)
  },
  encode(state, n) {
    c.uint.encode(state, VERSION)
    c.fixed32.encode(state, n.core)
    c.uint.encode(state, n.length)
    keepList.encode(state, n.keep)
    c.fixed64.encode(state, n.signature)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`wipe notice v${version}`)
    const core = c.fixed32.decode(state)
    const length = c.uint.decode(state)
    const keep = keepList.decode(state)
    for (let i = 0; i < keep.length; i++) {
      if (keep[i]! >= length || (i > 0 && keep[i]! <= keep[i - 1]!)) throw BackspaceError.DECODE_FAILED('wipe notice: keep list')
    }
    return { core, length, keep, signature: c.fixed64.decode(state) }
  }
}

/** What the admission key signs: the room's topic, the core, and the cut. */
export function wipeSignable(topic: Buffer, core: Buffer, cut: WipeCut): Buffer {
  const body = c.encode(c.array(c.uint), cut.keep)
  const length = c.encode(c.uint, cut.length)
  return hash([NS_WIPE, topic, core, length, body])
}

/** A member's notice for one core of the room of `topic`. */
export function makeWipeNotice(topic: Buffer, core: Buffer, cut: WipeCut, admission: KeyPair): WipeNotice {
  const keep = [...new Set(cut.keep.filter((i) => i < cut.length))].sort((a, b) => a - b).slice(0, MAX_WIPE_KEEP)
  const signed = { length: cut.length, keep }
  return { core, ...signed, signature: sign(wipeSignable(topic, core, signed), admission.secretKey) }
}

/** Decodes and checks a notice for the room of `topic`: null if it is not one of its members'. */
export function openWipeNotice(bytes: Buffer, topic: Buffer, admissionKey: Buffer): WipeNotice | null {
  let notice: WipeNotice
  try {
    notice = decodeStrict(wipeNotice, bytes, 'wipe notice')
  } catch {
    return null
  }
  return verify(notice.signature, wipeSignable(topic, notice.core, notice), admissionKey) ? notice : null
}

/** Whether block `index` is wiped by `cut`. */
export function isWiped(cut: WipeCut | null, index: number): boolean {
  return cut !== null && index < cut.length && !cut.keep.includes(index)
}

/**
 * Two cuts as one: a block is wiped if either wipes it. Returns null if `next` wipes nothing
 * that `prev` did not already.
 */
export function mergeCuts(prev: WipeCut | null, next: WipeCut): WipeCut | null {
  if (prev === null) return next.length > 0 ? { length: next.length, keep: next.keep.slice() } : null
  const length = Math.max(prev.length, next.length)
  // What stays is in a keep list, and wiped by neither.
  const candidates = new Set([...prev.keep, ...next.keep])
  const keep = [...candidates].filter((i) => i < length && !isWiped(prev, i) && !isWiped(next, i)).sort((a, b) => a - b)
  const same = length === prev.length && keep.length === prev.keep.length
  return same ? null : { length, keep }
}
