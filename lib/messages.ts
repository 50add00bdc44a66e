import c from 'compact-encoding'
import b4a from 'b4a'
import { equalBytesAt } from './bytes.js'
import sodium from 'sodium-universal'
import { BackspaceError } from './errors.js'
import { MAX_ROOM_NAME_LENGTH, ownedRoomSecret, PWHASH_SALTBYTES } from './crypto.js'
import { deviceCertificate, type DeviceCertificate } from './identity/device.js'

/** The compact-encoding state a codec reads and writes. */
export interface State {
  start: number
  end: number
  buffer: Buffer
}

/** A compact-encoding codec. */
export interface Encoding<T> {
  preencode(state: State, value: T): void
  encode(state: State, value: T): void
  decode(state: State): T
}

// Every wire and storage format of Backspace. Each starts with a version number. Optional
// fields sit behind named bit flags, and fields a newer build appends are skipped by older
// ones, so old peers keep reading new records.

export const MAX_TEXT_BYTES = 16 * 1024
/** The largest block a reader accepts; anything larger is dropped unread. */
export const MAX_RECORD_BYTES = 64 * 1024
/**
 * Writers start a new block before its records grow past this: 1 KiB under 32 KiB, so that a
 * full block, with its certificate, profile and signature, stays in the 32 KiB size bucket
 * instead of being padded to the 48 KiB one (see `paddedBlockSize`).
 */
export const TARGET_BLOCK_BYTES = 31 * 1024
export const MAX_ANNOUNCED_WRITERS = 256

const SIGNATURE_BYTES = 64

/** Record kinds. Readers skip, and count, kinds they do not know. */
export const MessageType = {
  TEXT: 0,
  /** A `/me` action: the text describes what the author does. */
  ACTION: 1,
  /** No text: the block is written only to publish the author's new profile. */
  PROFILE: 2,
  /** New text for one of the author's own messages (`target`). */
  EDIT: 3,
  /** The author's own message `target` becomes a tombstone. */
  DELETE: 4,
  /** Adds the author's reaction `text` (one emoji) to `target`. */
  REACT: 5,
  /** Removes the author's reaction `text` from `target`. */
  UNREACT: 6,
  /** A text message that answers `target`. */
  REPLY: 7,
  /** Carries a signed device revocation, and where the revoked device's cores end. */
  REVOKE: 8,
  /** Account log only: a device's view of the account (rooms, profile), sealed in `payload`. */
  ACCOUNT: 9,
  /** A room governance operation (lib/governance/codec.ts), encoded in `payload`. */
  GOVERN: 10,
  /**
   * A room key epoch (lib/room/epoch-codec.ts): a new content key sealed to member devices
   * after a kick, a ban or a lock, or the current key granted to devices that joined since.
   */
  EPOCH: 11,
  /** A record sealed under an epoch's key (lib/room/epoch-codec.ts), in `payload`. */
  SEALED: 12,
  /** Inbox only: a friend request sealed to the inbox's owner, in `payload` (lib/social). */
  FRIEND_REQUEST: 16,
  /** DM only: the recipient accepted the request; the DM is open on both sides. */
  DM_ACCEPT: 17
} as const

/** The largest reaction: one emoji, however many code points it is built from. */
export const MAX_EMOJI_BYTES = 32
/** Revoked-device cores one revocation record may cut. */
export const MAX_REVOKE_CUTS = 64

/** What an author says about themselves. Every block carries the author's current one. */
export interface ProfileFields {
  /** A display name; not unique, so UIs show it next to a key fingerprint. */
  name: string
  status: string
  /** An away message, '' for plain away, or null when not away. */
  away: string | null
}

export const MAX_NAME_BYTES = 64
export const MAX_STATUS_BYTES = 256

// C0 and C1 controls (ESC starts terminal escapes, OSC 52 writes clipboards) and DEL.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/
// Invisible and direction-changing characters: a name with U+202E shows reversed text after it.
const INVISIBLE = /[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/
// Sixteen hex digits in fours, the shape of a key fingerprint, with any dash or space between.
const FINGERPRINT_SHAPE = /[0-9a-f]{4}[\s\p{Pd}]*[0-9a-f]{4}[\s\p{Pd}]*[0-9a-f]{4}/iu

/**
 * Why a profile field is refused, or null. Senders are held to it, and decoders hold every
 * profile from the network to exactly the same rule.
 */
export function profileTextProblem(field: 'name' | 'status' | 'away message', text: string): string | null {
  // Every block carries its author's profile, most often with an empty status: nothing to check.
  if (text.length === 0) return null
  const max = field === 'name' ? MAX_NAME_BYTES : MAX_STATUS_BYTES
  if (b4a.byteLength(text) > max) return `${field} is longer than ${max} bytes`
  if (text !== text.trim()) return `${field} cannot start or end with spaces`
  if (CONTROLS.test(text)) return `${field} cannot hold control characters`
  if (INVISIBLE.test(text)) return `${field} cannot hold invisible or direction-changing characters`
  if (field === 'name') {
    if (text.startsWith('@')) return 'a name cannot start with @'
    if (FINGERPRINT_SHAPE.test(text)) return 'a name cannot look like a key fingerprint'
  }
  return null
}

/** Why a message text is refused, or null: control characters other than tab and line breaks. */
export function messageTextProblem(text: string): string | null {
  // C0 and C1 controls and DEL, as CONTROLS, but tab and line feed are allowed, one UTF-16 unit
  // at a time (/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/): every block shown live passes here.
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i)
    if (u >= 0x20 ? u >= 0x7f && u <= 0x9f : u !== 0x09 && u !== 0x0a) {
      return 'a message cannot hold control characters other than tabs and line breaks'
    }
  }
  return null
}

const PROFILE_FLAG_AWAY = 1

/** A profile: flags (bit 0: away), name, status, then the away message when away. */
export const profileFields: Encoding<ProfileFields> = {
  preencode(state, p) {
    c.uint.preencode(state, p.away === null ? 0 : PROFILE_FLAG_AWAY)
    c.string.preencode(state, p.name)
    c.string.preencode(state, p.status)
    if (p.away !== null) c.string.preencode(state, p.away)
  },
  encode(state, p) {
    c.uint.encode(state, p.away === null ? 0 : PROFILE_FLAG_AWAY)
    c.string.encode(state, p.name)
    c.string.encode(state, p.status)
    if (p.away !== null) c.string.encode(state, p.away)
  },
  decode(state) {
    const flags = c.uint.decode(state)
    const name = c.string.decode(state)
    const status = c.string.decode(state)
    const away = flags & PROFILE_FLAG_AWAY ? c.string.decode(state) : null
    const problem =
      profileTextProblem('name', name) ??
      profileTextProblem('status', status) ??
      (away === null ? null : profileTextProblem('away message', away))
    if (problem) throw BackspaceError.DECODE_FAILED(`profile: ${problem}`)
    return { name, status, away }
  }
}

// ---------------------------------------------------------------------------
// Message block: one block of a writer core holds one or more messages
// ---------------------------------------------------------------------------

/** Another message of the room: the first 16 bytes of its writer core, and its seq there. */
export interface Target {
  core: Buffer
  seq: number
}

/** Where a revoked device's writer core in this room ends: blocks from `length` on are void. */
export interface RevokeCut {
  core: Buffer
  length: number
}

/** One record as stored: what the author wrote and when. Which fields are set depends on `type`. */
export interface MessageRecord {
  type: number
  timestamp: number
  /** The text, the new text of an edit, or the emoji of a reaction; '' where the kind has none. */
  text: string
  /** The message an edit, delete, reaction or reply refers to. */
  target?: Target | null
  /** REVOKE only: the encoded, signed revocation. */
  revocation?: Buffer | null
  /** REVOKE only. */
  cuts?: RevokeCut[]
  /** ACCOUNT only: a versioned codec of its own. */
  payload?: Buffer | null
}

/**
 * A block: the author, the sequence number of its first message, and the messages, all
 * covered by one signature. Messages sent in the same tick share a block, so a burst costs
 * one signature, one verification and one Hypercore round trip instead of one per message.
 *
 * v1 blocks are signed by the identity itself. v2 blocks carry the writing device's
 * certificate and are signed by the device key; `author` is then the certificate's identity.
 */
export interface BlockBody {
  author: Buffer
  /** The per-writer sequence number of the first record; record i has seq + i. */
  seq: number
  records: MessageRecord[]
  /** The author's profile when the block was written (flag bit 0); absent in older blocks. */
  profile?: ProfileFields | null
  /** v2: the certificate of the device that signed the block. */
  certificate?: DeviceCertificate | null
  /**
   * The index of this writer's latest block before this one that holds a GOVERN record (flag
   * bit 2); absent when there is none, and in older blocks. Readers follow these pointers
   * back from a writer's newest block to learn its governance operations without loading its
   * history (lib/governance/chain.ts); one that does not point lower is refused there.
   */
  govPrev?: number | null
}

/**
 * Whether a block holds a governance operation or a key epoch record: what a `govPrev` pointer
 * must land on, so that a node that loaded only a window of history still learns both.
 */
export function holdsGovernance(body: Pick<BlockBody, 'records'>): boolean {
  return body.records.some((r) => r.type === MessageType.GOVERN || r.type === MessageType.EPOCH)
}

/** Encodes one record alone (type, timestamp and its fields), as it sits inside a block. */
export function encodeRecord(record: MessageRecord): Buffer {
  return c.encode(messageRecord, record)
}

/** Decodes one record encoded by `encodeRecord`, held to the limits of records in blocks. */
export function decodeRecord(buf: Buffer): MessageRecord {
  return decodeStrict(messageRecord, buf, 'record')
}

const BLOCK_VERSION_IDENTITY = 1
const BLOCK_VERSION_DEVICE = 2
const BLOCK_FLAG_PROFILE = 1
/**
 * The body ends in zeros and their count (uint16), so that the signed block fills a size
 * bucket (`paddedBlockSize`). Older readers skip the padding as unknown trailing fields.
 */
const BLOCK_FLAG_PADDED = 2
const PAD_TAIL_BYTES = 2
/** The block names the writer's previous block holding a governance operation (`govPrev`). */
const BLOCK_FLAG_GOV_PREV = 4
/** The most messages one block may carry. */
export const MAX_BLOCK_RECORDS = 1024

const EMPTY = b4a.alloc(0)

/**
 * A value inside another, length-prefixed, so that fields a later revision appends to it can
 * be skipped by older readers without losing their place.
 */
export function framed<T>(enc: Encoding<T>): Encoding<T> {
  return {
    preencode(state, value) {
      const inner: State = { start: 0, end: 0, buffer: EMPTY }
      enc.preencode(inner, value)
      c.uint.preencode(state, inner.end)
      state.end += inner.end
    },
    encode(state, value) {
      const inner: State = { start: 0, end: 0, buffer: EMPTY }
      enc.preencode(inner, value)
      c.uint.encode(state, inner.end)
      const end = state.start + inner.end
      enc.encode({ start: state.start, end, buffer: state.buffer }, value)
      state.start = end
    },
    decode(state) {
      const size = c.uint.decode(state)
      const end = state.start + size
      if (end > state.end) throw BackspaceError.DECODE_FAILED('framed record out of bounds')
      const value = enc.decode({ start: state.start, end, buffer: state.buffer })
      state.start = end
      return value
    }
  }
}

const target: Encoding<Target> = {
  preencode(state, t) {
    c.fixed(16).preencode(state, t.core)
    c.uint.preencode(state, t.seq)
  },
  encode(state, t) {
    c.fixed(16).encode(state, t.core)
    c.uint.encode(state, t.seq)
  },
  decode(state) {
    return { core: c.fixed(16).decode(state), seq: c.uint.decode(state) }
  }
}

const revokeCut: Encoding<RevokeCut> = {
  preencode(state, r) {
    c.fixed32.preencode(state, r.core)
    c.uint.preencode(state, r.length)
  },
  encode(state, r) {
    c.fixed32.encode(state, r.core)
    c.uint.encode(state, r.length)
  },
  decode(state) {
    return { core: c.fixed32.decode(state), length: c.uint.decode(state) }
  }
}
const revokeCuts = c.array(revokeCut)

// What each kind holds after its type and timestamp. A kind this build does not know keeps
// its bytes to itself: the record is length-prefixed, so readers skip it whole.
type Layout = 'text' | 'target-text' | 'target' | 'revoke' | 'payload' | 'unknown'

function layoutOf(type: number): Layout {
  switch (type) {
    case MessageType.TEXT:
    case MessageType.ACTION:
    case MessageType.PROFILE:
    case MessageType.DM_ACCEPT:
      return 'text'
    case MessageType.EDIT:
    case MessageType.REACT:
    case MessageType.UNREACT:
    case MessageType.REPLY:
      return 'target-text'
    case MessageType.DELETE:
      return 'target'
    case MessageType.REVOKE:
      return 'revoke'
    case MessageType.ACCOUNT:
    case MessageType.GOVERN:
    case MessageType.EPOCH:
    case MessageType.SEALED:
    case MessageType.FRIEND_REQUEST:
      return 'payload'
    default:
      return 'unknown'
  }
}

function requireTarget(r: MessageRecord): Target {
  if (!r.target) throw BackspaceError.INVALID_ARGUMENT(`a record of kind ${r.type} needs a target`)
  return r.target
}

function maxTextBytes(type: number): number {
  return type === MessageType.REACT || type === MessageType.UNREACT ? MAX_EMOJI_BYTES : MAX_TEXT_BYTES
}

const recordFields: Encoding<MessageRecord> = {
  preencode(state, r) {
    c.uint.preencode(state, r.type)
    c.uint.preencode(state, r.timestamp)
    const layout = layoutOf(r.type)
    if (layout === 'target-text' || layout === 'target') target.preencode(state, requireTarget(r))
    if (layout === 'text' || layout === 'target-text') c.string.preencode(state, r.text)
    if (layout === 'revoke') {
      c.buffer.preencode(state, r.revocation ?? EMPTY)
      revokeCuts.preencode(state, r.cuts ?? [])
    }
    if (layout === 'payload') c.buffer.preencode(state, r.payload ?? EMPTY)
  },
  encode(state, r) {
    c.uint.encode(state, r.type)
    c.uint.encode(state, r.timestamp)
    const layout = layoutOf(r.type)
    if (layout === 'target-text' || layout === 'target') target.encode(state, requireTarget(r))
    if (layout === 'text' || layout === 'target-text') c.string.encode(state, r.text)
    if (layout === 'revoke') {
      c.buffer.encode(state, r.revocation ?? EMPTY)
      revokeCuts.encode(state, r.cuts ?? [])
    }
    if (layout === 'payload') c.buffer.encode(state, r.payload ?? EMPTY)
  },
  decode(state) {
    const type = c.uint.decode(state)
    const timestamp = c.uint.decode(state)
    const layout = layoutOf(type)
    const record: MessageRecord = { type, timestamp, text: '' }
    if (layout === 'unknown') {
      state.start = state.end
      return record
    }
    if (layout === 'target-text' || layout === 'target') record.target = target.decode(state)
    if (layout === 'text' || layout === 'target-text') {
      const start = state.start
      record.text = c.string.decode(state)
      // Readers hold records to the limits writers are held to. Decoding turns each byte into
      // at most three (an invalid byte into U+FFFD): a text of few bytes needs no count.
      const max = maxTextBytes(type)
      if (3 * (state.start - start) > max && b4a.byteLength(record.text) > max) throw BackspaceError.DECODE_FAILED('text too long')
      const problem = messageTextProblem(record.text)
      if (problem) throw BackspaceError.DECODE_FAILED(problem)
    }
    if (layout === 'revoke') {
      record.revocation = requireBuffer(c.buffer.decode(state))
      const count = c.uint.decode(state)
      if (count > MAX_REVOKE_CUTS) throw BackspaceError.DECODE_FAILED('too many revoke cuts')
      const cuts: RevokeCut[] = []
      for (let i = 0; i < count; i++) cuts.push(revokeCut.decode(state))
      record.cuts = cuts
    }
    if (layout === 'payload') record.payload = requireBuffer(c.buffer.decode(state))
    // Fields a later revision appends to a known kind are skipped.
    state.start = state.end
    return record
  }
}

// Each record is framed, so fields a later revision appends to a record are skipped.
const messageRecord: Encoding<MessageRecord> = framed(recordFields)

function blockBodyCodec(padded: boolean): Encoding<BlockBody> {
  const hasGovPrev = (b: BlockBody) => typeof b.govPrev === 'number'
  const flagsOf = (b: BlockBody) =>
    (b.profile ? BLOCK_FLAG_PROFILE : 0) | (padded ? BLOCK_FLAG_PADDED : 0) | (hasGovPrev(b) ? BLOCK_FLAG_GOV_PREV : 0)
  return {
    preencode(state, b) {
      c.uint.preencode(state, b.certificate ? BLOCK_VERSION_DEVICE : BLOCK_VERSION_IDENTITY)
      c.uint.preencode(state, flagsOf(b))
      if (b.certificate) deviceCertificate.preencode(state, b.certificate)
      else c.fixed32.preencode(state, b.author)
      c.uint.preencode(state, b.seq)
      c.uint.preencode(state, b.records.length)
      for (const r of b.records) messageRecord.preencode(state, r)
      if (b.profile) profileFields.preencode(state, b.profile)
      if (hasGovPrev(b)) c.uint.preencode(state, b.govPrev!)
      // The zeros are left to encodeBlockBody, which alone knows the bucket; this is the tail.
      if (padded) state.end += PAD_TAIL_BYTES
    },
    encode(state, b) {
      c.uint.encode(state, b.certificate ? BLOCK_VERSION_DEVICE : BLOCK_VERSION_IDENTITY)
      c.uint.encode(state, flagsOf(b))
      if (b.certificate) deviceCertificate.encode(state, b.certificate)
      else c.fixed32.encode(state, b.author)
      c.uint.encode(state, b.seq)
      c.uint.encode(state, b.records.length)
      for (const r of b.records) messageRecord.encode(state, r)
      if (b.profile) profileFields.encode(state, b.profile)
      if (hasGovPrev(b)) c.uint.encode(state, b.govPrev!)
      if (padded) {
        // Zeros up to the tail, then their count: the body ends exactly at state.end.
        const zeros = state.end - PAD_TAIL_BYTES - state.start
        state.buffer.fill(0, state.start, state.end - PAD_TAIL_BYTES)
        state.start = state.end - PAD_TAIL_BYTES
        c.uint16.encode(state, zeros)
      }
    },
    decode(state) {
      const begin = state.start
      const end = state.end
      const version = c.uint.decode(state)
      if (version !== BLOCK_VERSION_IDENTITY && version !== BLOCK_VERSION_DEVICE) {
        throw BackspaceError.UNSUPPORTED_VERSION(`block v${version}`)
      }
      const flags = c.uint.decode(state)
      // The fields end where the padding starts; what a later revision appends sits before it.
      if (flags & BLOCK_FLAG_PADDED) state.end = paddingStart(state, begin)
      const certificate = version === BLOCK_VERSION_DEVICE ? decodeCertificate(state) : null
      const author = certificate ? certificate.identity : c.fixed32.decode(state)
      const seq = c.uint.decode(state)
      const count = c.uint.decode(state)
      if (count === 0 || count > MAX_BLOCK_RECORDS) throw BackspaceError.DECODE_FAILED(`${count} records`)
      // Fuzzing found: record i has seq + i, and each is a message id, so the last one must be a
      // safe integer too; past 2^53 two records would share an id that parseMessageId refuses.
      if (count - 1 > Number.MAX_SAFE_INTEGER - seq) throw BackspaceError.DECODE_FAILED('seq out of range')
      const records: MessageRecord[] = []
      for (let i = 0; i < count; i++) records.push(messageRecord.decode(state))
      const profile = flags & BLOCK_FLAG_PROFILE ? profileFields.decode(state) : null
      const govPrev = flags & BLOCK_FLAG_GOV_PREV ? c.uint.decode(state) : null
      if (govPrev !== null && !Number.isSafeInteger(govPrev)) throw BackspaceError.DECODE_FAILED('govPrev out of range')
      // Anything left belongs to fields added by a later minor revision; ignore it.
      state.start = state.end = end
      const body: BlockBody = { author, seq, records }
      if (profile) body.profile = profile
      if (certificate) body.certificate = certificate
      if (govPrev !== null) body.govPrev = govPrev
      return body
    }
  }
}

// Every block carries its device's certificate, and a room has few devices: the bytes and
// values of the certificates decoded last, so that a block with one of them is not decoded
// again. Bounded; a miss (any other certificate) is decoded as usual.
const CERTIFICATE_CACHE = 8
const certificates: Array<{ bytes: Buffer; value: DeviceCertificate }> = []

function decodeCertificate(state: { buffer: Buffer; start: number; end: number }): DeviceCertificate {
  const { buffer, start } = state
  for (const cached of certificates) {
    if (equalBytesAt(cached.bytes, buffer, start, state.end)) {
      state.start = start + cached.bytes.byteLength
      return cached.value
    }
  }
  deviceCertificate.decode(state)
  // Decoded again from a copy of its own bytes, so the cached value holds no block alive.
  const bytes = b4a.from(buffer.subarray(start, state.start))
  const value = Object.freeze(c.decode(deviceCertificate, bytes))
  certificates.unshift({ bytes, value })
  if (certificates.length > CERTIFICATE_CACHE) certificates.pop()
  return value
}

const blockBody = blockBodyCodec(true)
// What builds before padding wrote; still read, and written only by tests of old blocks.
const unpaddedBlockBody = blockBodyCodec(false)

/**
 * The size a signed block of `size` bytes is padded to: the next of 64, 96, 128, 192, 256,
 * 384, 512, ... (2^k and 3 * 2^(k-1)), so that a block's size gives its length only to within
 * a third, for at most half again the bytes. Past MAX_RECORD_BYTES no block is valid anyway.
 */
export function paddedBlockSize(size: number): number {
  let bucket = 64
  while (bucket < size) bucket *= 2
  if (bucket > 64 && size <= (bucket * 3) / 4) bucket = (bucket * 3) / 4
  return bucket > MAX_RECORD_BYTES ? size : bucket
}

// The most zeros a padded body can hold: a bucket is at most a third larger than what it holds.
const MAX_PAD_BYTES = MAX_RECORD_BYTES / 2

// Where the padding of a padded body starts. Senders pad with zeros to exactly the smallest
// bucket that holds the block; anything else is refused, so the padding carries nothing.
function paddingStart(state: State, begin: number): number {
  if (state.end - state.start < PAD_TAIL_BYTES) throw BackspaceError.DECODE_FAILED('block padding out of bounds')
  const zeros = c.uint16.decode({ start: state.end - PAD_TAIL_BYTES, end: state.end, buffer: state.buffer })
  const start = state.end - PAD_TAIL_BYTES - zeros
  if (start < state.start || zeros > MAX_PAD_BYTES) throw BackspaceError.DECODE_FAILED('block padding out of bounds')
  const buffer = state.buffer
  for (let i = start, end = start + zeros; i < end; i++) {
    if (buffer[i] !== 0) throw BackspaceError.DECODE_FAILED('block padding is not zeros')
  }
  const signed = state.end - begin + SIGNATURE_BYTES
  if (paddedBlockSize(signed - zeros) !== signed) throw BackspaceError.DECODE_FAILED('block padded to the wrong size')
  return start
}

/**
 * The signed bytes of a block, padded so that with its signature it fills a size bucket.
 * One allocation: the zeros are written in place. `padded: false` writes what older builds
 * wrote, for tests of old blocks.
 */
export function encodeBlockBody(body: BlockBody, padded = true): Buffer {
  const state: State = { start: 0, end: 0, buffer: EMPTY }
  const enc = padded ? blockBody : unpaddedBlockBody
  enc.preencode(state, body)
  const size = padded ? paddedBlockSize(state.end + SIGNATURE_BYTES) - SIGNATURE_BYTES : state.end
  state.buffer = b4a.allocUnsafe(size)
  state.end = size
  enc.encode(state, body)
  return state.buffer
}

/** The encoded size of one record inside a block, to know when a block is full. */
export function recordSize(record: MessageRecord): number {
  const state = { start: 0, end: 0, buffer: EMPTY }
  messageRecord.preencode(state, record)
  return state.end
}

/** Decodes a block's signed bytes (its body, without the signature), held to the same rules. */
export function decodeBlockBody(bytes: Buffer): BlockBody {
  if (bytes.byteLength > MAX_RECORD_BYTES - SIGNATURE_BYTES) throw BackspaceError.MESSAGE_TOO_LARGE('block too large')
  return decodeStrict(blockBody, bytes, 'block')
}

/** A block is the encoded body followed by the author's 64-byte signature. */
export function encodeMessageBlock(body: Buffer, signature: Buffer): Buffer {
  return b4a.concat([body, signature])
}

export interface DecodedBlock {
  body: BlockBody
  /** The exact signed bytes. */
  bodyBytes: Buffer
  signature: Buffer
}

export function decodeMessageBlock(block: Buffer): DecodedBlock {
  if (block.byteLength > MAX_RECORD_BYTES) throw BackspaceError.MESSAGE_TOO_LARGE('block too large')
  if (block.byteLength <= SIGNATURE_BYTES) throw BackspaceError.DECODE_FAILED('block too short')
  const bodyBytes = block.subarray(0, block.byteLength - SIGNATURE_BYTES)
  const signature = block.subarray(block.byteLength - SIGNATURE_BYTES)
  return { body: decodeStrict(blockBody, bodyBytes, 'block'), bodyBytes, signature }
}

// ---------------------------------------------------------------------------
// Key file: one account's identity and device on disk
// ---------------------------------------------------------------------------

/**
 * The key file. Its public part (identity key, creation time, whether the device is linked)
 * is readable without the password; the secret part is sealed with a password-derived key,
 * or kept in a 0600 file without one.
 */
export interface KeyFile {
  /**
   * 1: the secret is the 32-byte identity seed alone, as written before devices existed.
   * 2: the secret is an encoded `AccountSecrets`. Only version 2 is written.
   */
  version: 1 | 2
  publicKey: Buffer
  createdAt: number
  /** This storage holds a linked device: its secret has no identity seed. Always false in v1. */
  linked: boolean
  /** Set when the secret is encrypted with a password. */
  encrypted: {
    salt: Buffer
    opslimit: number
    memlimit: number
    box: Buffer
  } | null
  /** The secret in the clear, present only when `encrypted` is null. */
  secret: Buffer | null
}

/** What a v2 key file keeps secret. */
export interface AccountSecrets {
  /** The identity seed (the phrase's entropy) on a primary device; null on a linked one. */
  identitySeed: Buffer | null
  /** This device's own key pair seed: random, made once per storage. */
  deviceSeed: Buffer
  /** Shared by every device of the account; never leaves the account's devices. */
  accountKey: Buffer
  /** This device's certificate, as encoded by `deviceCertificate`. */
  certificate: Buffer
}

const KEY_FILE_VERSION = 2
const KEY_FLAG_ENCRYPTED = 1
const KEY_FLAG_LINKED = 2
// The sealed secrets: a v1 box holds the 32-byte seed; a v2 box the encoded secrets (seeds,
// account key, certificate), which stay well under this.
const KEY_BOX_MIN = sodium.crypto_secretbox_NONCEBYTES + 32 + sodium.crypto_secretbox_MACBYTES
const KEY_BOX_MAX = 4096

export const keyFile: Encoding<KeyFile> = {
  preencode(state, k) {
    c.uint.preencode(state, KEY_FILE_VERSION)
    c.uint.preencode(state, keyFlags(k))
    c.fixed32.preencode(state, k.publicKey)
    c.uint.preencode(state, k.createdAt)
    if (k.encrypted) {
      c.buffer.preencode(state, k.encrypted.salt)
      c.uint.preencode(state, k.encrypted.opslimit)
      c.uint.preencode(state, k.encrypted.memlimit)
      c.buffer.preencode(state, k.encrypted.box)
    } else {
      c.buffer.preencode(state, requireSecret(k))
    }
  },
  encode(state, k) {
    c.uint.encode(state, KEY_FILE_VERSION)
    c.uint.encode(state, keyFlags(k))
    c.fixed32.encode(state, k.publicKey)
    c.uint.encode(state, k.createdAt)
    if (k.encrypted) {
      c.buffer.encode(state, k.encrypted.salt)
      c.uint.encode(state, k.encrypted.opslimit)
      c.uint.encode(state, k.encrypted.memlimit)
      c.buffer.encode(state, k.encrypted.box)
    } else {
      c.buffer.encode(state, requireSecret(k))
    }
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== 1 && version !== KEY_FILE_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`key file v${version}`)
    const flags = c.uint.decode(state)
    const publicKey = c.fixed32.decode(state)
    const createdAt = c.uint.decode(state)
    const linked = version === 2 && (flags & KEY_FLAG_LINKED) !== 0
    const head = { version, publicKey, createdAt, linked } as const
    if (flags & KEY_FLAG_ENCRYPTED) {
      const salt = requireBuffer(c.buffer.decode(state))
      const opslimit = c.uint.decode(state)
      const memlimit = c.uint.decode(state)
      const box = requireBuffer(c.buffer.decode(state))
      // Fuzzing found: loadAccount hands these to Argon2id, where a salt of another size or
      // limits outside sodium's range throw a plain AssertionError, and huge limits would run
      // for hours or ask for terabytes. This build writes the interactive limits; a file may
      // hold up to the moderate ones, and nothing else.
      if (
        salt.byteLength !== PWHASH_SALTBYTES ||
        box.byteLength < KEY_BOX_MIN ||
        box.byteLength > KEY_BOX_MAX ||
        (version === 1 && box.byteLength !== KEY_BOX_MIN) ||
        opslimit < sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE ||
        opslimit > sodium.crypto_pwhash_OPSLIMIT_MODERATE ||
        memlimit < sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE ||
        memlimit > sodium.crypto_pwhash_MEMLIMIT_MODERATE
      ) {
        throw BackspaceError.DECODE_FAILED('key file: password hash parameters out of range')
      }
      return { ...head, encrypted: { salt, opslimit, memlimit, box }, secret: null }
    }
    // v1 kept the bare seed; v2 keeps the encoded secrets, whatever their length.
    const secret = version === 1 ? c.fixed32.decode(state) : requireBuffer(c.buffer.decode(state))
    return { ...head, encrypted: null, secret }
  }
}

function keyFlags(k: KeyFile): number {
  return (k.encrypted ? KEY_FLAG_ENCRYPTED : 0) | (k.linked ? KEY_FLAG_LINKED : 0)
}

function requireSecret(k: KeyFile): Buffer {
  if (!k.secret) throw BackspaceError.INVALID_ARGUMENT('An unencrypted key file needs its secret')
  return k.secret
}

const SECRETS_VERSION = 1
const SECRETS_FLAG_IDENTITY = 1

export const accountSecrets: Encoding<AccountSecrets> = {
  preencode(state, s) {
    c.uint.preencode(state, SECRETS_VERSION)
    c.uint.preencode(state, s.identitySeed ? SECRETS_FLAG_IDENTITY : 0)
    if (s.identitySeed) c.fixed32.preencode(state, s.identitySeed)
    c.fixed32.preencode(state, s.deviceSeed)
    c.fixed32.preencode(state, s.accountKey)
    c.buffer.preencode(state, s.certificate)
  },
  encode(state, s) {
    c.uint.encode(state, SECRETS_VERSION)
    c.uint.encode(state, s.identitySeed ? SECRETS_FLAG_IDENTITY : 0)
    if (s.identitySeed) c.fixed32.encode(state, s.identitySeed)
    c.fixed32.encode(state, s.deviceSeed)
    c.fixed32.encode(state, s.accountKey)
    c.buffer.encode(state, s.certificate)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== SECRETS_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`account secrets v${version}`)
    const flags = c.uint.decode(state)
    const identitySeed = flags & SECRETS_FLAG_IDENTITY ? c.fixed32.decode(state) : null
    const deviceSeed = c.fixed32.decode(state)
    const accountKey = c.fixed32.decode(state)
    const certificate = requireBuffer(c.buffer.decode(state))
    // Fields a newer build appends are skipped.
    state.start = state.end
    return { identitySeed, deviceSeed, accountKey, certificate }
  }
}

function requireBuffer(b: Buffer | null): Buffer {
  if (!b) throw BackspaceError.DECODE_FAILED('missing buffer')
  return b
}

// ---------------------------------------------------------------------------
// Local state: the rooms an account has joined, sealed with its local key
// ---------------------------------------------------------------------------

export const RoomKind = {
  NAMED: 0,
  PRIVATE: 1,
  /** Kept by a relay: the state holds the relay secret, never the room secret. */
  RELAYED: 2,
  /** The identity's account log, which only its devices read. */
  ACCOUNT: 3,
  /** A DM or an inbox (lib/social): opened from the account's contacts, never saved as a room. */
  DM: 4
} as const
export type RoomKindValue = (typeof RoomKind)[keyof typeof RoomKind]

export interface FeedState {
  key: Buffer
  /** Every block below this index has expired and been cleared. */
  start: number
  /** The lowest index stored locally; [storedFrom, seen) is stored contiguously. */
  storedFrom: number
  /** Every block below this index has been delivered to the application once. */
  seen: number
  /**
   * When this node saw the core reach a length (a relay) or first verified its blocks (a
   * member). Every block below `length` existed at `time`, so it has expired by
   * `time + ttl` whatever it says inside; a member also bounds each record's time by it.
   */
  marks?: LengthMark[]
  /** Blocks cleared because every message in them was deleted (v3). */
  holes?: number[]
  /**
   * The proof that a member made this core (see `WriterProof`), as admitted; absent for this
   * node's own core and for cores admitted because this node verified one of their blocks.
   */
  proof?: WriterProof | null
  /** Admitted: by a proof, or (members) by a block this node verified. Older files: absent. */
  admitted?: boolean
  /** A relay: the blocks a member's wipe notice named (lib/room/wipe-notice.ts). */
  wipe?: { length: number; keep: number[] }
  /**
   * Admitted with no block, and held unopened (a member who has written nothing): restored
   * so, without opening the core. Older files: absent.
   */
  dormant?: boolean
}

/** Cleared blocks remembered per writer; older ones are simply fetched and dropped again. */
export const MAX_HOLES = 1024

export interface LengthMark {
  time: number
  length: number
}

export const MAX_LENGTH_MARKS = 256

export interface RoomState {
  kind: RoomKindValue
  secret: Buffer
  /** The normalised name of a named room, or the label of a private room. */
  name: string
  joinedAt: number
  ttl: number
  feeds: FeedState[]
  /** A named room joined with a password (stored since the password marker; else absent). */
  password?: boolean
  /** A relayed room: the room's admission public key, from a relay link that carries it. */
  admissionKey?: Buffer | null
  /** A room made by `createRoom()`: its owner and the nonce of its secret (from a v2 invite). */
  owner?: RoomOwner | null
  /** The room's key epochs this node holds (lib/room/epochs.ts): kept only in the sealed local state. */
  epochs?: EpochKeyState[]
}

/** One key epoch as this node keeps it. */
export interface EpochKeyState {
  /** The id of the record that started the epoch: its writer core's first 16 bytes, and seq. */
  id: Target
  /** The GOVERN operation (kick, ban or lock) that caused it. */
  cause: Target
  key: Buffer
  /** The latest time a record sealed under it is due to expire, or when it stopped being current. */
  lastUse: number
}

/** Epoch keys kept per room: older ones are dropped (their messages expire first). */
export const MAX_EPOCH_KEYS = 64

export interface LocalState {
  rooms: RoomState[]
  /** This identity's profile (a later field: absent in older files). */
  profile: ProfileFields
}

export const EMPTY_PROFILE: ProfileFields = Object.freeze({ name: '', status: '', away: null })

// v2 added length marks to feed records and the profile; v3 the holes of deleted blocks.
// v1 and v2 files still load.
const STATE_VERSION = 3

const lengthMark: Encoding<LengthMark> = {
  preencode(state, m) {
    c.uint.preencode(state, m.time)
    c.uint.preencode(state, m.length)
  },
  encode(state, m) {
    c.uint.encode(state, m.time)
    c.uint.encode(state, m.length)
  },
  decode(state) {
    return { time: c.uint.decode(state), length: c.uint.decode(state) }
  }
}
/**
 * c.array, but the count is checked before anything is allocated: against `max`, and against
 * the bytes left, as every element takes at least one. Fuzzing found that c.array allocates
 * the count it reads first: 2^20 slots (8 MB, about 0.1 s) for a six-byte input.
 */
export function boundedArray<T>(enc: Encoding<T>, max = Number.MAX_SAFE_INTEGER): Encoding<T[]> {
  const array = c.array(enc)
  return {
    preencode: (state, list) => array.preencode(state, list),
    encode: (state, list) => array.encode(state, list),
    decode(state) {
      const count = c.uint.decode(state)
      if (count > max || count > state.end - state.start) throw BackspaceError.DECODE_FAILED(`${count} elements`)
      const list: T[] = []
      for (let i = 0; i < count; i++) list.push(enc.decode(state))
      return list
    }
  }
}

const lengthMarks = boundedArray(lengthMark, MAX_LENGTH_MARKS)
const holeList = boundedArray<number>(c.uint, MAX_HOLES)

function feedStateCodec(version: number): Encoding<FeedState> {
  return {
    preencode(state, f) {
      c.fixed32.preencode(state, f.key)
      c.uint.preencode(state, f.start)
      c.uint.preencode(state, f.storedFrom)
      c.uint.preencode(state, f.seen)
      lengthMarks.preencode(state, f.marks ?? [])
      holeList.preencode(state, f.holes ?? [])
    },
    encode(state, f) {
      c.fixed32.encode(state, f.key)
      c.uint.encode(state, f.start)
      c.uint.encode(state, f.storedFrom)
      c.uint.encode(state, f.seen)
      lengthMarks.encode(state, f.marks ?? [])
      holeList.encode(state, f.holes ?? [])
    },
    decode(state) {
      const f: FeedState = {
        key: c.fixed32.decode(state),
        start: c.uint.decode(state),
        storedFrom: c.uint.decode(state),
        seen: c.uint.decode(state)
      }
      if (version >= 2) {
        const marks = lengthMarks.decode(state)
        if (marks.length > MAX_LENGTH_MARKS) throw BackspaceError.DECODE_FAILED('too many length marks')
        if (marks.length > 0) f.marks = marks
      }
      if (version >= 3) {
        const holes = holeList.decode(state)
        if (holes.length > MAX_HOLES) throw BackspaceError.DECODE_FAILED('too many holes')
        if (holes.length > 0) f.holes = holes
      }
      return f
    }
  }
}

function roomStateCodec(version: number): Encoding<RoomState> {
  const feedStates = boundedArray(feedStateCodec(version))
  return {
    preencode(state, r) {
      c.uint.preencode(state, r.kind)
      c.fixed32.preencode(state, r.secret)
      c.string.preencode(state, r.name)
      c.uint.preencode(state, r.joinedAt)
      c.uint.preencode(state, r.ttl)
      feedStates.preencode(state, r.feeds)
    },
    encode(state, r) {
      c.uint.encode(state, r.kind)
      c.fixed32.encode(state, r.secret)
      c.string.encode(state, r.name)
      c.uint.encode(state, r.joinedAt)
      c.uint.encode(state, r.ttl)
      feedStates.encode(state, r.feeds)
    },
    decode(state) {
      const kind = c.uint.decode(state)
      if (kind !== RoomKind.NAMED && kind !== RoomKind.PRIVATE && kind !== RoomKind.RELAYED && kind !== RoomKind.ACCOUNT) {
        throw BackspaceError.DECODE_FAILED(`unknown room kind ${kind}`)
      }
      return {
        kind,
        secret: c.fixed32.decode(state),
        name: c.string.decode(state),
        joinedAt: c.uint.decode(state),
        ttl: c.uint.decode(state),
        feeds: feedStates.decode(state)
      }
    }
  }
}

const roomStatesV1 = boundedArray(roomStateCodec(1))
const roomStatesV2 = boundedArray(roomStateCodec(2))
const roomStates = boundedArray(roomStateCodec(STATE_VERSION))

export const localState: Encoding<LocalState> = {
  preencode(state, s) {
    c.uint.preencode(state, STATE_VERSION)
    roomStates.preencode(state, s.rooms)
    profileFields.preencode(state, s.profile)
  },
  encode(state, s) {
    c.uint.encode(state, STATE_VERSION)
    roomStates.encode(state, s.rooms)
    profileFields.encode(state, s.profile)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version < 1 || version > STATE_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`state v${version}`)
    const rooms = (version === 1 ? roomStatesV1 : version === 2 ? roomStatesV2 : roomStates).decode(state)
    const profile = state.start < state.end ? profileFields.decode(state) : { ...EMPTY_PROFILE }
    return { rooms, profile }
  }
}

const SEALED_VERSION = 1

/** The state file on disk: a version, then the sealed `localState`. */
export const sealedFile: Encoding<Buffer> = {
  preencode(state, box) {
    c.uint.preencode(state, SEALED_VERSION)
    c.buffer.preencode(state, box)
  },
  encode(state, box) {
    c.uint.encode(state, SEALED_VERSION)
    c.buffer.encode(state, box)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== SEALED_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`state file v${version}`)
    return requireBuffer(c.buffer.decode(state))
  }
}

// ---------------------------------------------------------------------------
// Wire: writer announcements on a room's protomux channel
// ---------------------------------------------------------------------------

export interface WriterAnnouncement {
  key: Buffer
  /** The announcer's view of the core's length. */
  length: number
  /** Blocks below this index are expired; joiners never fetch them. */
  start: number
  /**
   * That a member made this core (trailing, so builds before it read the rest). Passed on
   * verbatim, as the core's owner made it; null from builds before admission proofs.
   */
  proof?: WriterProof | null
}

/**
 * A member's proof that it made a writer core. Relays check `signature` with the room's
 * admission public key; members also open `sealed` and check the device's claim in it.
 */
export interface WriterProof {
  /** The owner's identity, tagged for this room (`memberTag`): what per-identity limits count. */
  tag: Buffer
  /** A `writerClaim` sealed with the room's member key: relays cannot open it. */
  sealed: Buffer
  /** The room admission key's signature over the topic, the core, `tag` and `sealed`. */
  signature: Buffer
}

/** Inside a proof, for members only: the device that claims the core, and its signature. */
export interface WriterClaim {
  certificate: DeviceCertificate
  /** The device's signature over the room id and the core key. */
  signature: Buffer
  /**
   * The core's side (version 2): the key pair that signs the core names the device. Without
   * it (version 1, builds before it) any member device could claim any core.
   */
  core: CoreClaim | null
}

/** A writer core's key pair vouching for the device that claims it (see `WriterClaim`). */
export interface CoreClaim {
  /** The public key the core's blocks are signed with; the core key is its manifest's hash. */
  signer: Buffer
  /** `signer`'s signature over the room id, the core key and the device key. */
  signature: Buffer
}

export interface Announcement {
  writers: WriterAnnouncement[]
}

const ANNOUNCE_VERSION = 1
/** Trailing section flag: one optional proof per writer follows, in order. */
const ANNOUNCE_FLAG_PROOFS = 1
/**
 * A sealed claim: nonce, MAC, a certificate (with a name of at most 64 bytes), a signature,
 * and the core's signer and signature: about 410 bytes at most.
 */
export const MAX_SEALED_CLAIM_BYTES = 512

const writerAnnouncement: Encoding<WriterAnnouncement> = {
  preencode(state, w) {
    c.fixed32.preencode(state, w.key)
    c.uint.preencode(state, w.length)
    c.uint.preencode(state, w.start)
  },
  encode(state, w) {
    c.fixed32.encode(state, w.key)
    c.uint.encode(state, w.length)
    c.uint.encode(state, w.start)
  },
  decode(state) {
    return {
      key: c.fixed32.decode(state),
      length: c.uint.decode(state),
      start: c.uint.decode(state)
    }
  }
}

export const writerProof: Encoding<WriterProof> = {
  preencode(state, p) {
    c.fixed32.preencode(state, p.tag)
    c.buffer.preencode(state, p.sealed)
    c.fixed64.preencode(state, p.signature)
  },
  encode(state, p) {
    c.fixed32.encode(state, p.tag)
    c.buffer.encode(state, p.sealed)
    c.fixed64.encode(state, p.signature)
  },
  decode(state) {
    const tag = c.fixed32.decode(state)
    const sealed = requireBuffer(c.buffer.decode(state))
    if (sealed.byteLength > MAX_SEALED_CLAIM_BYTES) throw BackspaceError.DECODE_FAILED('sealed claim too large')
    return { tag, sealed, signature: c.fixed64.decode(state) }
  }
}

// Version 2 adds the core's side of the claim; version 1 (builds before it, and proofs they
// saved) still decodes, with none.
const WRITER_CLAIM_VERSION = 2
const WRITER_CLAIM_V1 = 1

export const writerClaim: Encoding<WriterClaim> = {
  preencode(state, w) {
    c.uint.preencode(state, w.core ? WRITER_CLAIM_VERSION : WRITER_CLAIM_V1)
    deviceCertificate.preencode(state, w.certificate)
    c.fixed64.preencode(state, w.signature)
    if (w.core) {
      c.fixed32.preencode(state, w.core.signer)
      c.fixed64.preencode(state, w.core.signature)
    }
  },
  encode(state, w) {
    c.uint.encode(state, w.core ? WRITER_CLAIM_VERSION : WRITER_CLAIM_V1)
    deviceCertificate.encode(state, w.certificate)
    c.fixed64.encode(state, w.signature)
    if (w.core) {
      c.fixed32.encode(state, w.core.signer)
      c.fixed64.encode(state, w.core.signature)
    }
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== WRITER_CLAIM_VERSION && version !== WRITER_CLAIM_V1) throw BackspaceError.UNSUPPORTED_VERSION(`writer claim v${version}`)
    const certificate = deviceCertificate.decode(state)
    const signature = c.fixed64.decode(state)
    const core = version === WRITER_CLAIM_V1 ? null : { signer: c.fixed32.decode(state), signature: c.fixed64.decode(state) }
    return { certificate, signature, core }
  }
}

const writerAnnouncements = c.array(writerAnnouncement)

function hasProofs(writers: WriterAnnouncement[]): boolean {
  return writers.some((w) => w.proof)
}

/**
 * version 1, the writers, then (trailing: builds before proofs stop reading there) a flags
 * uint and, with ANNOUNCE_FLAG_PROOFS, per writer in order a 0/1 marker and its proof.
 */
export const announcement: Encoding<Announcement> = {
  preencode(state, a) {
    c.uint.preencode(state, ANNOUNCE_VERSION)
    writerAnnouncements.preencode(state, a.writers)
    if (!hasProofs(a.writers)) return
    c.uint.preencode(state, ANNOUNCE_FLAG_PROOFS)
    for (const w of a.writers) {
      c.uint.preencode(state, w.proof ? 1 : 0)
      if (w.proof) writerProof.preencode(state, w.proof)
    }
  },
  encode(state, a) {
    c.uint.encode(state, ANNOUNCE_VERSION)
    writerAnnouncements.encode(state, a.writers)
    if (!hasProofs(a.writers)) return
    c.uint.encode(state, ANNOUNCE_FLAG_PROOFS)
    for (const w of a.writers) {
      c.uint.encode(state, w.proof ? 1 : 0)
      if (w.proof) writerProof.encode(state, w.proof)
    }
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== ANNOUNCE_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`announce v${version}`)
    // Bound the count before decoding so a hostile peer cannot make us allocate a huge array.
    const count = c.uint.decode(state)
    if (count > MAX_ANNOUNCED_WRITERS) throw BackspaceError.DECODE_FAILED('too many writers')
    const writers: WriterAnnouncement[] = []
    for (let i = 0; i < count; i++) writers.push(writerAnnouncement.decode(state))
    if (state.start < state.end) {
      const flags = c.uint.decode(state)
      if (flags & ANNOUNCE_FLAG_PROOFS) {
        for (const w of writers) {
          const marker = c.uint.decode(state)
          if (marker > 1) throw BackspaceError.DECODE_FAILED('bad proof marker')
          if (marker === 1) w.proof = writerProof.decode(state)
        }
      }
    }
    // Fields a newer build appends are skipped.
    state.start = state.end
    return { writers }
  }
}

/** The channel message: a version, then `announcement` sealed with the room's channel key. */
export const channelEnvelope: Encoding<Buffer> = sealedFile

/**
 * What each end of a connection sends when it opens a room's channel (v1): proof that it
 * holds the relay secret, and for a member, proof that it holds the room secret too
 * (`channelProof`). Nothing of the room is sent or accepted before the peer's proof verified.
 */
export interface ChannelHandshake {
  relayProof: Buffer
  /** Only members send it: a relay has no room secret. */
  memberProof: Buffer | null
}

const CHANNEL_HANDSHAKE_VERSION = 1
const CHANNEL_HANDSHAKE_FLAG_MEMBER = 1

export const channelHandshake: Encoding<ChannelHandshake> = {
  preencode(state, h) {
    c.uint.preencode(state, CHANNEL_HANDSHAKE_VERSION)
    c.uint.preencode(state, h.memberProof ? CHANNEL_HANDSHAKE_FLAG_MEMBER : 0)
    c.fixed32.preencode(state, h.relayProof)
    if (h.memberProof) c.fixed32.preencode(state, h.memberProof)
  },
  encode(state, h) {
    c.uint.encode(state, CHANNEL_HANDSHAKE_VERSION)
    c.uint.encode(state, h.memberProof ? CHANNEL_HANDSHAKE_FLAG_MEMBER : 0)
    c.fixed32.encode(state, h.relayProof)
    if (h.memberProof) c.fixed32.encode(state, h.memberProof)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== CHANNEL_HANDSHAKE_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`channel handshake v${version}`)
    const flags = c.uint.decode(state)
    const relayProof = c.fixed32.decode(state)
    const memberProof = flags & CHANNEL_HANDSHAKE_FLAG_MEMBER ? c.fixed32.decode(state) : null
    // Later versions may append fields: what follows is skipped, as everywhere on the wire.
    state.start = state.end
    return { relayProof, memberProof }
  }
}

/**
 * A block sent straight to members on the room channel right after its author stored it,
 * so they need not wait for Hypercore to replicate it. Hypercore still delivers it too.
 */
export interface LiveBlock {
  key: Buffer
  index: number
  block: Buffer
  /**
   * The 8 clear bytes Hypercore's block encryption will put before the block (its expiry
   * stamp): with them a member rebuilds the stored ciphertext, and Hypercore verifies it
   * against the core's signed tree without downloading it. Absent from older builds.
   */
  padding?: Buffer
  /**
   * How many members passed the frame on since its writer sent it (0 or absent: from the
   * writer). Sent only with `padding`, after it.
   */
  hops?: number
}

const LIVE_VERSION = 1
/** The clear bytes before every encrypted block (Hypercore's default encryption padding). */
export const LIVE_PADDING_BYTES = 8

export const liveBlock: Encoding<LiveBlock> = {
  preencode(state, l) {
    c.uint.preencode(state, LIVE_VERSION)
    c.fixed32.preencode(state, l.key)
    c.uint.preencode(state, l.index)
    c.buffer.preencode(state, l.block)
    if (l.padding) c.fixed(LIVE_PADDING_BYTES).preencode(state, l.padding)
    if (l.padding && l.hops) c.uint.preencode(state, l.hops)
  },
  encode(state, l) {
    c.uint.encode(state, LIVE_VERSION)
    c.fixed32.encode(state, l.key)
    c.uint.encode(state, l.index)
    c.buffer.encode(state, l.block)
    if (l.padding) c.fixed(LIVE_PADDING_BYTES).encode(state, l.padding)
    if (l.padding && l.hops) c.uint.encode(state, l.hops)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== LIVE_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`live block v${version}`)
    const key = c.fixed32.decode(state)
    const index = c.uint.decode(state)
    const block = requireBuffer(c.buffer.decode(state))
    const out: LiveBlock = { key, index, block }
    // Trailing field (added after v1 shipped): decoded only if bytes remain; more is ignored.
    if (state.end - state.start >= LIVE_PADDING_BYTES) out.padding = c.fixed(LIVE_PADDING_BYTES).decode(state)
    if (out.padding && state.end > state.start) {
      // 0 is what an absent count means: not set, so the value encodes back as it came.
      const hops = c.uint.decode(state)
      if (hops > 0) out.hops = hops
    }
    state.start = state.end
    return out
  }
}

/**
 * A member tells the members it is connected to who it is and what its profile says. The
 * signature covers the room, the sender's Noise key on this connection and the profile, so
 * it cannot be replayed on another connection or in another room.
 */
export interface Presence {
  author: Buffer
  profile: ProfileFields
  signature: Buffer
  /** v2: the certificate of the device that signed; v1 presences are signed by `author`. */
  certificate?: DeviceCertificate | null
}

const PRESENCE_VERSION_IDENTITY = 1
const PRESENCE_VERSION_DEVICE = 2

export const presence: Encoding<Presence> = {
  preencode(state, p) {
    c.uint.preencode(state, p.certificate ? PRESENCE_VERSION_DEVICE : PRESENCE_VERSION_IDENTITY)
    if (p.certificate) deviceCertificate.preencode(state, p.certificate)
    else c.fixed32.preencode(state, p.author)
    profileFields.preencode(state, p.profile)
    c.fixed64.preencode(state, p.signature)
  },
  encode(state, p) {
    c.uint.encode(state, p.certificate ? PRESENCE_VERSION_DEVICE : PRESENCE_VERSION_IDENTITY)
    if (p.certificate) deviceCertificate.encode(state, p.certificate)
    else c.fixed32.encode(state, p.author)
    profileFields.encode(state, p.profile)
    c.fixed64.encode(state, p.signature)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== PRESENCE_VERSION_IDENTITY && version !== PRESENCE_VERSION_DEVICE) {
      throw BackspaceError.UNSUPPORTED_VERSION(`presence v${version}`)
    }
    const certificate = version === PRESENCE_VERSION_DEVICE ? deviceCertificate.decode(state) : null
    const author = certificate ? certificate.identity : c.fixed32.decode(state)
    const profile = profileFields.decode(state)
    const signature = c.fixed64.decode(state)
    state.start = state.end
    return certificate ? { author, profile, signature, certificate } : { author, profile, signature }
  }
}

/** The exact bytes of a profile, as signed in a presence message. */
export function encodeProfile(profile: ProfileFields): Buffer {
  return c.encode(profileFields, profile)
}

// ---------------------------------------------------------------------------
// Invites to private rooms
// ---------------------------------------------------------------------------

export interface Invite {
  secret: Buffer
  /** A label the inviter gave the room; shown to the invitee, never sent to the DHT. */
  name: string
  /**
   * v2, a room made by `createRoom()`: its owner's identity and the nonce that, with it, makes
   * the secret (`ownedRoomSecret`). Null in v1 invites, whose rooms are claimed like named ones.
   */
  owner?: RoomOwner | null
}

/** Who made a room, and the nonce its secret was derived with. */
export interface RoomOwner {
  identity: Buffer
  nonce: Buffer
}

const INVITE_VERSION = 1
/** v2: the owner and the nonce instead of the secret, which the reader derives from them. */
const INVITE_VERSION_OWNED = 2
const INVITE_FLAG_NAME = 1

export const invite: Encoding<Invite> = {
  preencode(state, i) {
    c.uint.preencode(state, i.owner ? INVITE_VERSION_OWNED : INVITE_VERSION)
    c.uint.preencode(state, i.name ? INVITE_FLAG_NAME : 0)
    if (i.owner) {
      c.fixed32.preencode(state, i.owner.identity)
      c.fixed32.preencode(state, i.owner.nonce)
    } else c.fixed32.preencode(state, i.secret)
    if (i.name) c.string.preencode(state, i.name)
  },
  encode(state, i) {
    c.uint.encode(state, i.owner ? INVITE_VERSION_OWNED : INVITE_VERSION)
    c.uint.encode(state, i.name ? INVITE_FLAG_NAME : 0)
    if (i.owner) {
      c.fixed32.encode(state, i.owner.identity)
      c.fixed32.encode(state, i.owner.nonce)
    } else c.fixed32.encode(state, i.secret)
    if (i.name) c.string.encode(state, i.name)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== INVITE_VERSION && version !== INVITE_VERSION_OWNED) throw BackspaceError.UNSUPPORTED_VERSION(`invite v${version}`)
    const flags = c.uint.decode(state)
    let owner: RoomOwner | null = null
    let secret: Buffer
    if (version === INVITE_VERSION_OWNED) {
      owner = { identity: c.fixed32.decode(state), nonce: c.fixed32.decode(state) }
      secret = ownedRoomSecret(owner.identity, owner.nonce)
    } else secret = c.fixed32.decode(state)
    const name = flags & INVITE_FLAG_NAME ? c.string.decode(state) : ''
    // Fuzzing found: the name was unbounded. Inviters send a room name (normalizeRoomName);
    // the invitee keeps it, and a longer one made its account log unreadable to its devices.
    if ([...name].length > MAX_ROOM_NAME_LENGTH) throw BackspaceError.DECODE_FAILED('invite name too long')
    state.start = state.end
    return owner ? { secret, name, owner } : { secret, name }
  }
}

/**
 * A relay link: what `backspace relay` needs to keep a room without reading it. It holds
 * the relay secret (topic and channel keys), never the room secret.
 */
export interface RelayLink {
  relaySecret: Buffer
  /**
   * The room's admission public key (trailing, absent from older links): with it a relay
   * checks that a member made each writer core it keeps.
   */
  admissionKey?: Buffer | null
}

const RELAY_LINK_VERSION = 1

export const relayLink: Encoding<RelayLink> = {
  preencode(state, l) {
    c.uint.preencode(state, RELAY_LINK_VERSION)
    c.fixed32.preencode(state, l.relaySecret)
    if (l.admissionKey) c.fixed32.preencode(state, l.admissionKey)
  },
  encode(state, l) {
    c.uint.encode(state, RELAY_LINK_VERSION)
    c.fixed32.encode(state, l.relaySecret)
    if (l.admissionKey) c.fixed32.encode(state, l.admissionKey)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== RELAY_LINK_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`relay link v${version}`)
    const relaySecret = c.fixed32.decode(state)
    const admissionKey = state.start < state.end ? c.fixed32.decode(state) : null
    state.start = state.end
    return { relaySecret, admissionKey }
  }
}

/**
 * Decodes `buf` completely with `enc`, turning every failure into a coded BackspaceError.
 * Never returns a partial object.
 */
export function decodeStrict<T>(enc: Encoding<T>, buf: Buffer, what: string): T {
  const state: State = { start: 0, end: buf.byteLength, buffer: buf }
  let value: T
  try {
    value = enc.decode(state)
  } catch (err) {
    if (err instanceof BackspaceError) throw err
    throw BackspaceError.DECODE_FAILED(`${what}: ${(err as Error).message}`, err)
  }
  if (state.start !== state.end) throw BackspaceError.DECODE_FAILED(`${what}: trailing bytes`)
  return value
}
