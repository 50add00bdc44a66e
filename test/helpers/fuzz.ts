// The fuzzing engine: a seeded generator of hostile inputs, and the list of every decoder and
// link parser it runs them through. `test/fuzz.test.ts` runs 100,000 inputs on every
// `npm test`; `npm run fuzz -- --count 1000000` (bench/fuzz.ts) runs the long version.
//
// What is checked, for every input and every target:
//   - the call returns, or throws a coded BackspaceError; any other exception is a failure;
//   - a value it returns satisfies what senders are held to (caps on lengths and counts, key
//     sizes, safe integers), so nothing downstream allocates or trusts more than that;
//   - where the format has an encoder, the value re-encodes and decodes to an equal value.
//
// Inputs are mostly structure-aware mutations of valid encodings. Each valid sample is decoded
// once with compact-encoding's primitives wrapped (see `traceFields`), which yields a map of
// its fields: varints, length prefixes, strings, fixed-size keys. Mutations then rewrite a
// varint to 2^32-1 or 2^64-1, resize a string to its cap + 1 with a consistent length prefix,
// drop, duplicate or splice whole fields, as well as flipping bits, inserting, deleting and
// truncating bytes. New codecs get all of this for free.
//
// Adding a codec is one line in TARGETS below: `codec(name, encoding, samples, check)`; the
// coverage test in test/fuzz.test.ts fails while an exported codec or decoder has no target.

import c from 'compact-encoding'
import b4a from 'b4a'
import z32 from 'z32'
import bip39 from 'bip39'
import sodium from 'sodium-universal'
import { BackspaceError, isBackspaceError } from '../../lib/errors.js'
import {
  announcement,
  channelEnvelope,
  channelHandshake,
  decodeBlockBody,
  decodeMessageBlock,
  decodeStrict,
  encodeBlockBody,
  encodeMessageBlock,
  invite,
  keyFile,
  accountSecrets,
  type AccountSecrets,
  liveBlock,
  localState,
  MAX_ANNOUNCED_WRITERS,
  MAX_SEALED_CLAIM_BYTES,
  writerClaim,
  writerProof,
  type WriterProof,
  type WriterAnnouncement,
  type WriterClaim,
  MAX_BLOCK_RECORDS,
  MAX_EMOJI_BYTES,
  MAX_HOLES,
  MAX_LENGTH_MARKS,
  MAX_NAME_BYTES,
  MAX_RECORD_BYTES,
  MAX_REVOKE_CUTS,
  MAX_STATUS_BYTES,
  MAX_TEXT_BYTES,
  MessageType,
  presence,
  profileFields,
  relayLink,
  RoomKind,
  sealedFile,
  type Announcement,
  type BlockBody,
  type DecodedBlock,
  type Encoding,
  type Invite,
  type KeyFile,
  type LiveBlock,
  type LocalState,
  type MessageRecord,
  type Presence,
  type ProfileFields,
  type RelayLink,
  type RoomKindValue
} from '../../lib/messages.js'
import {
  decodeCertificate,
  decodeRevocation,
  deviceCertificate,
  deviceRevocation,
  encodeCertificate,
  encodeRevocation,
  MAX_DEVICE_NAME_BYTES,
  type DeviceCertificate,
  type DeviceRevocation
} from '../../lib/identity/device.js'
import { accountView, MAX_ACCOUNT_ROOMS, type AccountRoom, type AccountView } from '../../lib/account/account-log.js'
import {
  DEVICE_LINK_PREFIX,
  deviceLinkOf,
  INVITE_PREFIX,
  inviteLink,
  parseDeviceLink,
  parseInvite,
  parseRelayLink,
  RELAY_LINK_PREFIX,
  relayLinkOf,
  parseContactLink,
  contactLinkOf,
  CONTACT_LINK_PREFIX,
  parseRelayNodeLink,
  relayNodeLinkOf,
  RELAY_NODE_PREFIX
} from '../../lib/links.js'
import { decodeBodyOrNull, messageId16, parseMessageId } from '../../lib/room/feed.js'
import {
  deviceLink,
  MAX_GRANT_DEVICES,
  MAX_LINKED_ROOMS,
  pairingFrame,
  type DeviceLink,
  type LinkedRoom,
  type PairingFrame
} from '../../lib/identity/pairing-messages.js'
import {
  decodeEntry,
  MAX_RECENT,
  metaEntry,
  chatPrefsEntry,
  MAX_INPUT_HISTORY,
  MAX_INPUT_LINE_BYTES,
  type ChatPrefs,
  profileEntry,
  readEntry,
  roomEntry,
  type ReadState,
  type StateMeta
} from '../../lib/state/codecs.js'
import { MAX_WIPE_KEEP, wipeNotice, type WipeNotice } from '../../lib/room/wipe-notice.js'
import { COMMANDS, parseCommand, type Command } from '../../lib/commands.js'
import type { MessageRef } from '../../lib/message-refs.js'
import { MAX_ROOM_NAME_LENGTH, normalizeRoomName, PWHASH_INTERACTIVE, PWHASH_SALTBYTES } from '../../lib/crypto.js'
import { Identity } from '../../lib/identity.js'
import { decodeRecord, encodeRecord } from '../../lib/messages.js'
import { ownedRoomSecret } from '../../lib/crypto.js'
import {
  decodeEpochRecord,
  decodeSealedRecord,
  encodeEpochRecord,
  epochRecord,
  MAX_EPOCH_RECIPIENTS,
  MAX_SEALED_BYTES,
  SEALED_KEY_BYTES,
  sealedRecord,
  type EpochRecord,
  type SealedRecord
} from '../../lib/room/epoch-codec.js'

// ---------------------------------------------------------------------------
// A seeded generator (sfc32): the same seed gives the same inputs on every machine
// ---------------------------------------------------------------------------

export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  /** `salt` gives each target its own stream, so a target run alone sees the same inputs. */
  constructor(seed: number, salt = '') {
    let h = 0x811c9dc5 ^ (seed >>> 0)
    for (let i = 0; i < salt.length; i++) h = Math.imul(h ^ salt.charCodeAt(i), 0x01000193)
    this.a = seed >>> 0
    this.b = h >>> 0
    this.c = 0x9e3779b9
    this.d = 1
    for (let i = 0; i < 16; i++) this.u32()
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 0x100000000) * n)
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p
  }

  pick<T>(list: readonly T[]): T {
    if (list.length === 0) throw new Error('pick from an empty list')
    return list[this.int(list.length)]!
  }

  bytes(n: number): Buffer {
    const out = b4a.alloc(n)
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff
    return out
  }

  /** A length up to `max`, small far more often than large (uniform in its number of bits). */
  size(max: number): number {
    const bits = this.int(Math.ceil(Math.log2(max + 1)) + 1)
    return Math.min(max, this.int(2 ** bits))
  }
}

// ---------------------------------------------------------------------------
// Field maps: where the varints, length prefixes and fixed fields of a valid encoding are
// ---------------------------------------------------------------------------

export interface Field {
  kind: 'uint' | 'bytes' | 'fixed'
  start: number
  end: number
}

type Decoder = { decode(state: { start: number; end: number; buffer: Uint8Array | null }): unknown }

/**
 * Runs `decode` with compact-encoding's primitive decoders wrapped to record which bytes each
 * one read. Every Backspace codec is built from these primitives, so this maps any codec's
 * fields without knowing its layout. The wrappers are removed before it returns.
 */
export function traceFields(decode: () => void): Field[] {
  const fields: Field[] = []
  const lib = c as unknown as Record<string, unknown>
  let root: Uint8Array | null = null
  const restore: Array<() => void> = []
  const wrap = (codec: Decoder, kind: Field['kind'], undo: boolean) => {
    const original = codec.decode
    codec.decode = function (state) {
      const start = state.start
      const value = original.call(this, state)
      const buf = state.buffer
      if (root === null) root = buf
      // Nested codecs read subarrays of the same bytes at the same offsets; record those only.
      if (buf !== null && root !== null && buf.buffer === root.buffer && buf.byteOffset === root.byteOffset) {
        fields.push({ kind, start, end: state.start })
      }
      return value
    }
    if (undo) restore.push(() => (codec.decode = original))
  }
  wrap(c.uint, 'uint', true)
  wrap(c.buffer, 'bytes', true)
  wrap(c.string, 'bytes', true)
  wrap(c.fixed32, 'fixed', true)
  wrap(c.fixed64, 'fixed', true)
  const fixed = lib.fixed as (n: number) => Decoder
  lib.fixed = (n: number) => {
    const codec = fixed(n)
    wrap(codec, 'fixed', false)
    return codec
  }
  restore.push(() => (lib.fixed = fixed))
  try {
    decode()
  } catch {
    // A sample that does not decode still has the fields read before it failed.
  } finally {
    for (const undo of restore.reverse()) undo()
  }
  const seen = new Set<string>()
  return fields
    .filter((f) => f.end > f.start && !seen.has(`${f.kind}:${f.start}:${f.end}`) && seen.add(`${f.kind}:${f.start}:${f.end}`))
    .sort((a, b) => a.start - b.start || b.end - a.end)
}

// ---------------------------------------------------------------------------
// Byte mutations
// ---------------------------------------------------------------------------

/** Varint values worth trying: edges of each width, the caps of every codec, and beyond. */
const INTERESTING_UINTS: readonly bigint[] = [
  0n, 1n, 2n, 3n, 7n, 8n, 15n, 16n, 17n, 31n, 32n, 33n, 63n, 64n, 65n, 127n, 128n, 0xfcn, 0xfdn, 0xfen, 0xffn,
  255n, 256n, 257n, 511n, 512n, 513n, 1023n, 1024n, 1025n, 0xffffn, 0x10000n, 16384n, 16385n, 65536n, 65537n,
  0xfffffn, 0x100000n, 0x100001n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 2n ** 48n,
  2n ** 53n - 2n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n
]

const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xfc, 0xfd, 0xfe, 0xff, 0x20, 0x23, 0x2f]

/** Lengths worth giving a string or buffer: around every cap a codec documents. */
const INTERESTING_LENGTHS = [
  0, 1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65, 72, 127, 128, 255, 256, 257, 1024, 16383, 16384, 16385
]

/** Encodes `v` as a compact-encoding uint: canonically, or in a wider form than needed. */
function varint(v: bigint, width?: 1 | 3 | 5 | 9): Buffer {
  const w = width ?? (v <= 0xfcn ? 1 : v <= 0xffffn ? 3 : v <= 0xffffffffn ? 5 : 9)
  if (w === 1 && v <= 0xfcn) return b4a.from([Number(v)])
  const bytes = w === 3 || (w === 1 && v <= 0xffffn) ? 2 : w === 5 || (w === 1 && v <= 0xffffffffn) ? 4 : 8
  const out = b4a.alloc(1 + bytes)
  out[0] = bytes === 2 ? 0xfd : bytes === 4 ? 0xfe : 0xff
  let x = v & ((1n << BigInt(bytes * 8)) - 1n)
  for (let i = 1; i <= bytes; i++) {
    out[i] = Number(x & 0xffn)
    x >>= 8n
  }
  return out
}

function readVarint(buf: Buffer, f: Field): bigint {
  const head = buf[f.start] ?? 0
  if (head <= 0xfc) return BigInt(head)
  let v = 0n
  for (let i = f.end - 1; i > f.start; i--) v = (v << 8n) | BigInt(buf[i] ?? 0)
  return v
}

function replace(buf: Buffer, start: number, end: number, bytes: Uint8Array): Buffer {
  return b4a.concat([buf.subarray(0, start), bytes, buf.subarray(end)])
}

/** Filler for a string or buffer: ASCII, multi-byte UTF-8, invalid UTF-8, or noise. */
function filler(rng: Rng, n: number): Buffer {
  switch (rng.int(4)) {
    case 0:
      return b4a.alloc(n, 0x61 + rng.int(26))
    case 1: {
      const unit = b4a.from(rng.pick(['é', '€', '👋', 'ﷺ', '\u0301']))
      const out = b4a.alloc(n)
      for (let i = 0; i < n; i++) out[i] = unit[i % unit.byteLength]!
      return out
    }
    case 2:
      return b4a.alloc(n, rng.pick([0xff, 0xc0, 0x80, 0xed]))
    default:
      return rng.bytes(n)
  }
}

type ByteMutator = (rng: Rng, buf: Buffer, ctx: MutationContext) => Buffer

interface MutationContext {
  fields: Field[]
  others: readonly Buffer[]
  othersFields: readonly Field[][]
}

const GENERIC_MUTATORS: ReadonlyArray<[string, ByteMutator]> = [
  ['flip bits', (rng, buf) => {
    if (buf.byteLength === 0) return buf
    const out = b4a.from(buf)
    for (let n = rng.range(1, 4); n > 0; n--) {
      const i = rng.int(out.byteLength)
      out[i] = out[i]! ^ (1 << rng.int(8))
    }
    return out
  }],
  ['set byte', (rng, buf) => {
    if (buf.byteLength === 0) return buf
    const out = b4a.from(buf)
    out[rng.int(out.byteLength)] = rng.chance(0.7) ? rng.pick(INTERESTING_BYTES) : rng.int(256)
    return out
  }],
  ['insert bytes', (rng, buf) => {
    const at = rng.int(buf.byteLength + 1)
    const bytes = rng.chance(0.5) ? b4a.from([rng.pick(INTERESTING_BYTES)]) : rng.bytes(rng.range(1, 16))
    return replace(buf, at, at, bytes)
  }],
  ['delete bytes', (rng, buf) => {
    if (buf.byteLength === 0) return buf
    const at = rng.int(buf.byteLength)
    return replace(buf, at, Math.min(buf.byteLength, at + rng.range(1, 16)), b4a.alloc(0))
  }],
  ['truncate', (rng, buf) => buf.subarray(0, rng.int(buf.byteLength + 1))],
  ['append trailing bytes', (rng, buf) => b4a.concat([buf, rng.bytes(rng.range(1, 32))])],
  ['duplicate chunk', (rng, buf) => {
    if (buf.byteLength === 0) return buf
    const from = rng.int(buf.byteLength)
    const chunk = buf.subarray(from, from + rng.range(1, 64))
    const at = rng.int(buf.byteLength + 1)
    return replace(buf, at, at, chunk)
  }],
  ['splice', (rng, buf, ctx) => {
    const other = rng.pick(ctx.others)
    return b4a.concat([buf.subarray(0, rng.int(buf.byteLength + 1)), other.subarray(rng.int(other.byteLength + 1))])
  }]
]

// Mutations that use the field map of the sample they start from.
const FIELD_MUTATORS: ReadonlyArray<[string, ByteMutator]> = [
  ['rewrite varint', (rng, buf, ctx) => {
    const f = pickField(rng, ctx.fields, 'uint')
    if (!f) return buf
    const old = readVarint(buf, f)
    const v = rng.chance(0.7)
      ? rng.pick(INTERESTING_UINTS)
      : rng.pick([old + 1n, old > 0n ? old - 1n : 0n, old * 2n, old + 0x10000n, BigInt(buf.byteLength - f.end)])
    return replace(buf, f.start, f.end, varint(v, rng.chance(0.2) ? rng.pick([3, 5, 9] as const) : undefined))
  }],
  ['widen varint', (rng, buf, ctx) => {
    // Same value, non-canonical width: a reader must not care, and a re-encode shrinks it.
    const f = pickField(rng, ctx.fields, 'uint')
    return f ? replace(buf, f.start, f.end, varint(readVarint(buf, f), rng.pick([3, 5, 9] as const))) : buf
  }],
  ['huge length', (rng, buf, ctx) => {
    // A length prefix or count claiming far more than the bytes that follow.
    const f = pickField(rng, ctx.fields, 'uint')
    if (!f) return buf
    const rest = BigInt(buf.byteLength - f.end)
    const v = rng.pick([0xffffffffn, 2n ** 53n - 1n, 2n ** 64n - 1n, 0x100001n, rest + 1n, rest, rest > 0n ? rest - 1n : 0n])
    return replace(buf, f.start, f.end, varint(v))
  }],
  ['resize string', (rng, buf, ctx) => {
    // A string or buffer of another length, with a matching prefix: structurally valid, so
    // only the codec's own caps stand between it and the application.
    const f = pickField(rng, ctx.fields, 'bytes')
    if (!f) return buf
    const n = rng.chance(0.8) ? rng.pick(INTERESTING_LENGTHS) : rng.size(70000)
    return replace(buf, f.start, f.end, b4a.concat([varint(BigInt(n)), filler(rng, n)]))
  }],
  ['drop field', (rng, buf, ctx) => {
    const f = pickField(rng, ctx.fields)
    return f ? replace(buf, f.start, f.end, b4a.alloc(0)) : buf
  }],
  ['duplicate field', (rng, buf, ctx) => {
    const f = pickField(rng, ctx.fields)
    return f ? replace(buf, f.end, f.end, buf.subarray(f.start, f.end)) : buf
  }],
  ['swap fields', (rng, buf, ctx) => {
    const a = pickField(rng, ctx.fields)
    const b = pickField(rng, ctx.fields)
    if (!a || !b || a.end > b.start) return buf
    return b4a.concat([
      buf.subarray(0, a.start),
      buf.subarray(b.start, b.end),
      buf.subarray(a.end, b.start),
      buf.subarray(a.start, a.end),
      buf.subarray(b.end)
    ])
  }],
  ['cut at field', (rng, buf, ctx) => {
    const f = pickField(rng, ctx.fields)
    if (!f) return buf
    return buf.subarray(0, rng.pick([f.start, f.end, f.start + 1, Math.max(0, f.end - 1)]))
  }],
  ['splice at fields', (rng, buf, ctx) => {
    // The head of one valid encoding up to a field, then the tail of another from a field.
    const i = rng.int(ctx.others.length)
    const other = ctx.others[i]!
    const a = pickField(rng, ctx.fields)
    const b = pickField(rng, ctx.othersFields[i] ?? [])
    return b4a.concat([buf.subarray(0, a ? a.start : 0), other.subarray(b ? b.start : 0)])
  }],
  ['randomise fixed field', (rng, buf, ctx) => {
    const f = pickField(rng, ctx.fields, 'fixed')
    return f ? replace(buf, f.start, f.end, rng.bytes(f.end - f.start)) : buf
  }]
]

const byKind = new WeakMap<readonly Field[], Map<Field['kind'], Field[]>>()

function pickField(rng: Rng, fields: readonly Field[], kind?: Field['kind']): Field | null {
  let list = fields
  if (kind) {
    let kinds = byKind.get(fields)
    if (!kinds) byKind.set(fields, (kinds = new Map()))
    list = kinds.get(kind) ?? []
    if (!kinds.has(kind)) kinds.set(kind, (list = fields.filter((f) => f.kind === kind)))
  }
  return list.length === 0 ? null : rng.pick(list)
}

/** Random bytes of a random length, short far more often than long. */
export function randomBytes(rng: Rng, max = 4096): Buffer {
  return rng.bytes(rng.size(max))
}

/** One hostile input derived from the valid samples, or from nothing. Returns the mutations. */
export function mutateBytes(rng: Rng, samples: readonly Buffer[], fields: readonly Field[][]): { input: Buffer; how: string } {
  const roll = rng.int(100)
  if (roll < 8 || samples.length === 0) return { input: randomBytes(rng), how: 'random bytes' }
  // Mostly the smaller of two samples: an input made from a block at its caps costs as much
  // as a hundred small ones, and the caps need far fewer inputs to be checked.
  const a = rng.int(samples.length)
  const b = rng.int(samples.length)
  const i = rng.chance(0.75) && samples[b]!.byteLength < samples[a]!.byteLength ? b : a
  let buf = samples[i]!
  if (roll < 12) return { input: buf, how: 'valid sample' }
  const ctx: MutationContext = { fields: fields[i] ?? [], others: samples, othersFields: fields }
  const how: string[] = []
  // Field-aware first, while the map still matches the bytes; then a few blind ones.
  if (ctx.fields.length > 0 && rng.chance(0.75)) {
    const [name, fn] = rng.pick(FIELD_MUTATORS)
    buf = fn(rng, buf, ctx)
    how.push(name)
  }
  for (let n = how.length === 0 ? 1 : rng.int(3); n > 0; n--) {
    const [name, fn] = rng.pick(GENERIC_MUTATORS)
    buf = fn(rng, buf, ctx)
    how.push(name)
  }
  return { input: buf, how: how.join(', ') }
}

// ---------------------------------------------------------------------------
// String mutations, for link parsers and anything a user types
// ---------------------------------------------------------------------------

/**
 * Pieces of text that break things: every kind of whitespace, case-changing and
 * normalisation-changing code points (ligatures, fullwidth, İ, ß, final sigma, U+FDFA which
 * NFKC turns into 18 characters), lone surrogates, controls, bidi overrides, quotes, slashes.
 */
const STRING_PIECES: readonly string[] = [
  ' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u2003', '\u3000', '\u200b', '\ufeff', '\u2028', '\u0085',
  '#', '##', '/', '//', '"', '""', '@', '-', ':', '~', '\\', '\u0000', '\u001b[2J', '\u007f', '\u202e',
  'a', 'Z', '0', '9', 'f', 'F', 'g', 'é', 'e\u0301', 'İ', 'ı', 'ß', 'ẞ', 'Σ', 'ς', 'ﬁ', 'Ａ', '①', 'Ⅸ',
  '\u3371', '\ufdfa', '\u0345', '👋', '👩‍👩‍👧', '🇫🇷', '\ud800', '\udc00', '\uffff', 'y', 'b', 'n', '8', '1',
  'backspace:', 'backspace-relay:', 'abandon', 'zoo', 'art'
]

type StringMutator = (rng: Rng, s: string, others: readonly string[]) => string

function piece(rng: Rng): string {
  return rng.chance(0.8) ? rng.pick(STRING_PIECES) : String.fromCharCode(rng.int(0x10000))
}

const STRING_MUTATORS: ReadonlyArray<[string, StringMutator]> = [
  ['insert', (rng, s) => {
    const at = rng.int(s.length + 1)
    return s.slice(0, at) + piece(rng) + s.slice(at)
  }],
  ['replace char', (rng, s) => {
    const at = rng.int(s.length)
    return s.slice(0, at) + piece(rng) + s.slice(at + 1)
  }],
  ['delete', (rng, s) => {
    const at = rng.int(s.length)
    return s.slice(0, at) + s.slice(at + rng.range(1, 8))
  }],
  ['truncate', (rng, s) => s.slice(0, rng.int(s.length + 1))],
  ['wrap', (rng, s) => piece(rng) + s + piece(rng)],
  ['flip case', (rng, s) => (rng.chance(0.5) ? s.toUpperCase() : s.toLowerCase())],
  ['repeat', (rng, s) => {
    const at = rng.int(s.length)
    const chunk = s.slice(at, at + rng.range(1, 16)) || piece(rng)
    return s.slice(0, at) + chunk.repeat(rng.range(2, rng.chance(0.1) ? 500 : 20)) + s.slice(at)
  }],
  ['splice', (rng, s, others) => {
    const o = rng.pick(others)
    return s.slice(0, rng.int(s.length + 1)) + o.slice(rng.int(o.length + 1))
  }],
  ['words', (rng, s) => {
    // Word-level: drop, duplicate or swap a space-separated word, or change the separators.
    const words = s.split(' ')
    const i = rng.int(words.length)
    const j = rng.int(words.length)
    switch (rng.int(4)) {
      case 0:
        words.splice(i, 1)
        break
      case 1:
        words.splice(i, 0, words[j] ?? '')
        break
      case 2:
        ;[words[i], words[j]] = [words[j] ?? '', words[i] ?? '']
        break
      default:
        return words.join(rng.pick([' ', '  ', '\t', '\n', '\u3000', '']))
    }
    return words.join(' ')
  }]
]

/** A random string of pieces and random code units. */
export function randomString(rng: Rng): string {
  let s = ''
  for (let n = rng.size(64); n > 0; n--) s += piece(rng)
  return s
}

export function mutateString(rng: Rng, samples: readonly string[]): { input: string; how: string } {
  const roll = rng.int(100)
  if (roll < 8 || samples.length === 0) return { input: randomString(rng), how: 'random string' }
  let s = rng.pick(samples)
  if (roll < 12) return { input: s, how: 'valid sample' }
  const how: string[] = []
  for (let n = rng.range(1, 3); n > 0; n--) {
    const [name, fn] = rng.pick(STRING_MUTATORS)
    s = fn(rng, s, samples)
    how.push(name)
  }
  return { input: s, how: how.join(', ') }
}

// ---------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------

/** Thrown by a check: the decoder returned something a sender could never have sent. */
export class Violation extends Error {
  override name = 'Violation'
}

export function ensure(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Violation(what)
}

export interface Target {
  readonly name: string
  readonly kind: 'bytes' | 'string'
  /** How many inputs it gets relative to the others. */
  readonly weight: number
  /** The codec behind it, if any: the coverage test matches exported codecs against these. */
  readonly codecs: readonly unknown[]
  /** Valid inputs to mutate. */
  samples(rng: Rng): Array<Buffer | string>
  /** Builds the next input. */
  generate(rng: Rng, state: TargetState): { input: Buffer | string; how: string }
  /** Runs one input: decode, then the checks, then the round trip. Never throws. */
  run(input: Buffer | string): RunResult
  /** The call never throws at all, not even a BackspaceError. */
  readonly total?: boolean
  /** For a string target that carries bytes (a link): those bytes, to mutate structurally. */
  payloadOf?(input: string): Buffer | null
}

export interface TargetState {
  samples: Array<Buffer | string>
  fields: Field[][]
  /** For string targets with a byte payload (links): the payloads and their field maps. */
  payloads: Buffer[]
  payloadFields: Field[][]
}

export type RunResult = { ok: true } | { ok: false; error: unknown; stage: 'decode' | 'check' | 'round trip' }

export interface TargetSpec<I extends Buffer | string, T> {
  name: string
  kind: I extends string ? 'string' : 'bytes'
  weight?: number
  codecs?: readonly unknown[]
  samples: (rng: Rng) => I[]
  decode: (input: I) => T
  /** What senders are held to; throws (use `ensure`) when `value` breaks it. */
  check?: (value: T, input: I) => void
  /** Encodes a decoded value again; the round trip must decode to an equal value. */
  encode?: (value: T) => I
  /** What of the value the round trip compares (default: all of it). */
  project?: (value: T) => unknown
  /** The call never throws at all, not even a BackspaceError (parseCommand). */
  total?: boolean
  /** String targets carrying bytes (links): mutate those bytes structurally too. */
  payload?: { of(input: string): Buffer | null; wrap(bytes: Buffer): string }
}

export function target<I extends Buffer | string, T>(spec: TargetSpec<I, T>): Target {
  const project = spec.project ?? ((v: T) => v)
  return {
    name: spec.name,
    kind: spec.kind,
    weight: spec.weight ?? 1,
    codecs: spec.codecs ?? [],
    samples: spec.samples,
    generate(rng, state) {
      if (spec.kind === 'bytes') return mutateBytes(rng, state.samples as Buffer[], state.fields)
      if (spec.payload && state.payloads.length > 0 && rng.chance(0.5)) {
        const { input, how } = mutateBytes(rng, state.payloads, state.payloadFields)
        return { input: spec.payload.wrap(input), how: `payload: ${how}` }
      }
      return mutateString(rng, state.samples as string[])
    },
    run(raw) {
      const input = raw as I
      let value: T
      try {
        value = spec.decode(input)
      } catch (error) {
        return { ok: false, error, stage: 'decode' }
      }
      try {
        spec.check?.(value, input)
      } catch (error) {
        return { ok: false, error, stage: 'check' }
      }
      if (spec.encode) {
        try {
          const again = spec.decode(spec.encode(value))
          ensure(same(project(value), project(again)), 're-encoded value decodes to something else')
        } catch (error) {
          return { ok: false, error, stage: 'round trip' }
        }
      }
      return { ok: true }
    },
    ...(spec.total ? { total: true } : {}),
    ...(spec.payload ? { payloadOf: spec.payload.of } : {})
  }
}

/** A compact-encoding codec decoded with decodeStrict: one line per codec in TARGETS. */
export function codec<T>(
  name: string,
  enc: Encoding<T>,
  samples: (rng: Rng) => T[],
  check?: (value: T) => void,
  weight = 1
): Target {
  return target<Buffer, T>({
    name,
    kind: 'bytes',
    weight,
    codecs: [enc],
    samples: (rng) => samples(rng).map((v) => c.encode(enc, v)),
    decode: (buf) => decodeStrict(enc, buf, name),
    ...(check ? { check } : {}),
    encode: (v) => c.encode(enc, v)
  })
}

/** Builds the per-target state: samples and their field maps. */
export function prepare(t: Target, seed: number): TargetState {
  const rng = new Rng(seed, `samples:${t.name}`)
  const samples = t.samples(rng)
  const state: TargetState = { samples, fields: [], payloads: [], payloadFields: [] }
  for (const s of samples) {
    state.fields.push(typeof s === 'string' ? [] : traceFields(() => t.run(s)))
  }
  if (t.payloadOf) {
    for (const s of samples) {
      const bytes = typeof s === 'string' ? t.payloadOf(s) : null
      if (!bytes) continue
      state.payloads.push(bytes)
      // Offsets in the decoded payload are offsets in these bytes.
      state.payloadFields.push(traceFields(() => t.run(s)))
    }
  }
  return state
}

/** Structural equality for decoded values: Buffers by content, absent equals undefined. */
export function same(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && b4a.equals(a, b)
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]))
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ra = a as Record<string, unknown>
    const rb = b as Record<string, unknown>
    const keys = new Set([...Object.keys(ra), ...Object.keys(rb)])
    for (const k of keys) if (!same(ra[k], rb[k])) return false
    return true
  }
  return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b)
}

// ---------------------------------------------------------------------------
// What senders are held to
// ---------------------------------------------------------------------------

const utf8Bytes = (s: string) => b4a.byteLength(s)

function ensureBytes(b: unknown, n: number | null, what: string): void {
  ensure(b instanceof Uint8Array, `${what} is not bytes`)
  if (n !== null) ensure(b.byteLength === n, `${what} is ${b.byteLength} bytes, not ${n}`)
}

function ensureUint(n: unknown, what: string): void {
  ensure(typeof n === 'number' && Number.isSafeInteger(n) && n >= 0, `${what} ${String(n)} is not a safe unsigned integer`)
}

function ensureText(s: unknown, max: number, what: string): void {
  ensure(typeof s === 'string', `${what} is not a string`)
  ensure(utf8Bytes(s) <= max, `${what} is ${utf8Bytes(s)} bytes, over ${max}`)
}

export function checkProfile(p: ProfileFields): void {
  ensureText(p.name, MAX_NAME_BYTES, 'profile name')
  ensureText(p.status, MAX_STATUS_BYTES, 'profile status')
  if (p.away !== null) ensureText(p.away, MAX_STATUS_BYTES, 'away message')
}

export function checkCertificate(d: DeviceCertificate): void {
  ensureBytes(d.identity, 32, 'certificate identity')
  ensureBytes(d.device, 32, 'certificate device')
  ensureUint(d.createdAt, 'certificate createdAt')
  ensure(typeof d.primary === 'boolean', 'certificate primary is not a boolean')
  ensureText(d.name, MAX_DEVICE_NAME_BYTES, 'device name')
  ensureBytes(d.signature, 64, 'certificate signature')
}

export function checkRevocation(r: DeviceRevocation): void {
  ensureBytes(r.identity, 32, 'revocation identity')
  ensureBytes(r.device, 32, 'revoked device')
  ensureUint(r.revokedAt, 'revokedAt')
  if (r.by !== null) checkCertificate(r.by)
  ensureBytes(r.signature, 64, 'revocation signature')
}

function checkRecord(r: MessageRecord, seq: number): void {
  ensureUint(r.type, 'record type')
  ensureUint(r.timestamp, 'record timestamp')
  ensureUint(seq, 'record seq')
  const max = r.type === MessageType.REACT || r.type === MessageType.UNREACT ? MAX_EMOJI_BYTES : MAX_TEXT_BYTES
  ensureText(r.text, max, `text of a kind-${r.type} record`)
  if (r.target) {
    ensureBytes(r.target.core, 16, 'target core')
    ensureUint(r.target.seq, 'target seq')
  }
  if (r.type === MessageType.REVOKE) {
    ensureBytes(r.revocation, null, 'revocation')
    ensure(Array.isArray(r.cuts) && r.cuts.length <= MAX_REVOKE_CUTS, `${r.cuts?.length} revoke cuts`)
    for (const cut of r.cuts ?? []) {
      ensureBytes(cut.core, 32, 'cut core')
      ensureUint(cut.length, 'cut length')
    }
  }
  if (r.type === MessageType.ACCOUNT) ensureBytes(r.payload, null, 'account payload')
}

export function checkBlock(d: DecodedBlock, input: Buffer): void {
  ensure(input.byteLength <= MAX_RECORD_BYTES, 'an oversized block decoded')
  ensureBytes(d.signature, 64, 'block signature')
  ensure(d.bodyBytes.byteLength + 64 === input.byteLength, 'bodyBytes is not the block less its signature')
  ensure(b4a.equals(d.bodyBytes, input.subarray(0, input.byteLength - 64)), 'bodyBytes are not the signed bytes')
  checkBody(d.body)
}

function checkBody(b: BlockBody): void {
  ensureBytes(b.author, 32, 'block author')
  ensureUint(b.seq, 'block seq')
  ensure(b.records.length >= 1 && b.records.length <= MAX_BLOCK_RECORDS, `${b.records.length} records in a block`)
  // Every record's seq (seq + i) is a message id, so each must be a safe integer too.
  b.records.forEach((r, i) => checkRecord(r, b.seq + i))
  if (b.profile) checkProfile(b.profile)
  if (b.certificate) {
    checkCertificate(b.certificate)
    ensure(b4a.equals(b.author, b.certificate.identity), 'a v2 block whose author is not its certificate identity')
  }
}

export function checkKeyFile(k: KeyFile): void {
  ensureBytes(k.publicKey, 32, 'key file public key')
  ensureUint(k.createdAt, 'key file createdAt')
  if (k.encrypted) {
    ensure(k.secret === null, 'an encrypted key file with a plain secret')
    // What loadAccount hands to Argon2id: sodium asserts on a wrong salt size or limits out of
    // range, and huge limits would run for hours or allocate terabytes.
    ensureBytes(k.encrypted.salt, PWHASH_SALTBYTES, 'key file salt')
    // This build writes the interactive limits; a file may hold up to the moderate ones.
    const { opslimit, memlimit } = k.encrypted
    ensure(opslimit >= sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE && opslimit <= sodium.crypto_pwhash_OPSLIMIT_MODERATE, `opslimit ${opslimit}`)
    ensure(memlimit >= sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE && memlimit <= sodium.crypto_pwhash_MEMLIMIT_MODERATE, `memlimit ${memlimit}`)
    // secretbox of the secrets: the nonce, at least a 32-byte seed, the tag; at most 4 KiB.
    const min = sodium.crypto_secretbox_NONCEBYTES + 32 + sodium.crypto_secretbox_MACBYTES
    ensure(k.encrypted.box.byteLength >= min && k.encrypted.box.byteLength <= 4096, 'key file box size')
    if (k.version === 1) ensureBytes(k.encrypted.box, min, 'v1 key file box')
  } else if (k.version === 1) {
    ensureBytes(k.secret, 32, 'v1 key file seed')
  } else {
    ensure(b4a.isBuffer(k.secret), 'v2 key file secret')
  }
}

const ROOM_KINDS: readonly number[] = Object.values(RoomKind)

export function checkLocalState(s: LocalState): void {
  ensure(Array.isArray(s.rooms), 'rooms is not an array')
  for (const r of s.rooms) checkRoomState(r)
  checkProfile(s.profile)
}

export function checkRoomState(r: LocalState['rooms'][number]): void {
  ensure(ROOM_KINDS.includes(r.kind), `room kind ${r.kind}`)
  ensureBytes(r.secret, 32, 'room secret')
  ensure(typeof r.name === 'string', 'room name is not a string')
  ensureUint(r.joinedAt, 'joinedAt')
  ensureUint(r.ttl, 'ttl')
  for (const f of r.feeds) {
    ensureBytes(f.key, 32, 'feed key')
    ensureUint(f.start, 'feed start')
    ensureUint(f.storedFrom, 'feed storedFrom')
    ensureUint(f.seen, 'feed seen')
    ensure((f.marks?.length ?? 0) <= MAX_LENGTH_MARKS, `${f.marks?.length} length marks`)
    ensure((f.holes?.length ?? 0) <= MAX_HOLES, `${f.holes?.length} holes`)
    for (const h of f.holes ?? []) ensureUint(h, 'hole')
    for (const m of f.marks ?? []) {
      ensureUint(m.time, 'mark time')
      ensureUint(m.length, 'mark length')
    }
  }
}

/** A read entry: counts are safe integers, mentions among the unread, recent ids capped. */
export function checkReadState(r: ReadState): void {
  ensureUint(r.unread, 'unread')
  ensureUint(r.mentions, 'mentions')
  ensure(r.mentions <= r.unread, 'more mentions than unread messages')
  if (r.position) {
    ensureUint(r.position.timestamp, 'read position timestamp')
    ensure(utf8Bytes(r.position.id) <= 256, 'read position id too long')
  }
  ensure(r.recent.length <= MAX_RECENT, `${r.recent.length} recent ids`)
  for (const id of r.recent) ensure(utf8Bytes(id) <= 256, 'recent id too long')
}

/** What a device link's sender can put in it: a 32-byte secret, a whole-second expiry. */
export function checkDeviceLink(l: DeviceLink): void {
  ensureBytes(l.secret, 32, 'device link secret')
  ensureBytes(l.identityCheck, 16, 'device link identity check')
  ensureUint(l.expiresAt, 'device link expiry')
  ensure(l.expiresAt % 1000 === 0, 'a device link expiry that is not a whole second')
}

/** A pairing frame as the two devices may send it. */
export function checkPairingFrame(f: PairingFrame): void {
  ensure(['request', 'grant', 'deny', 'gone', 'done'].includes(f.type), `pairing frame ${f.type}`)
  if (f.type === 'request') {
    ensureBytes(f.device, 32, 'requesting device key')
    ensureText(f.name, MAX_DEVICE_NAME_BYTES, 'requesting device name')
    ensureBytes(f.signature, 64, 'request signature')
  }
  if (f.type === 'grant') {
    ensureBytes(f.certificate, null, 'granted certificate')
    ensureBytes(f.accountKey, 32, 'account key')
    checkProfile(f.profile)
    ensure(f.rooms.length <= MAX_LINKED_ROOMS, `${f.rooms.length} linked rooms`)
    for (const r of f.rooms) {
      ensure(r.kind === RoomKind.NAMED || r.kind === RoomKind.PRIVATE, `linked room kind ${r.kind}`)
      ensureBytes(r.secret, 32, 'linked room secret')
      ensureText(r.name, 256, 'linked room label')
    }
    ensure(f.devices.length <= MAX_GRANT_DEVICES && f.revocations.length <= MAX_GRANT_DEVICES, 'too many device records')
    for (const b of [...f.devices, ...f.revocations]) ensure(b4a.isBuffer(b) && b.byteLength <= 1024, 'a device record over 1024 bytes')
  }
}

export function checkAnnouncement(a: Announcement): void {
  ensure(a.writers.length <= MAX_ANNOUNCED_WRITERS, `${a.writers.length} announced writers`)
  for (const w of a.writers) {
    ensureBytes(w.key, 32, 'announced key')
    ensureUint(w.length, 'announced length')
    ensureUint(w.start, 'announced start')
    if (w.proof) {
      ensureBytes(w.proof.tag, 32, 'proof tag')
      ensureBytes(w.proof.signature, 64, 'proof signature')
      ensure(w.proof.sealed.byteLength <= MAX_SEALED_CLAIM_BYTES, 'sealed claim too large')
    }
  }
}

export function checkLiveBlock(l: LiveBlock): void {
  ensureBytes(l.key, 32, 'live block key')
  ensureUint(l.index, 'live block index')
  ensureBytes(l.block, null, 'live block')
  if (l.padding !== undefined) ensureBytes(l.padding, 8, 'live block padding')
  if (l.hops !== undefined) {
    ensureUint(l.hops, 'live block hops')
    if (l.padding === undefined || l.hops === 0) throw new Error('live block hops without padding, or zero')
  }
}

export function checkPresence(p: Presence): void {
  ensureBytes(p.author, 32, 'presence author')
  checkProfile(p.profile)
  ensureBytes(p.signature, 64, 'presence signature')
  if (p.certificate) {
    checkCertificate(p.certificate)
    ensure(b4a.equals(p.author, p.certificate.identity), 'a v2 presence whose author is not its certificate identity')
  }
}

export function checkInvite(i: Invite): void {
  ensureBytes(i.secret, 32, 'invite secret')
  if (i.owner) {
    ensureBytes(i.owner.identity, 32, 'invite owner')
    ensureBytes(i.owner.nonce, 32, 'invite nonce')
    ensure(b4a.equals(i.secret, ownedRoomSecret(i.owner.identity, i.owner.nonce)), 'a v2 invite whose secret is not its owner\'s')
  }
  // Invite names are room names (normalizeRoomName): the invitee stores and shows this, and
  // its account log carries it to the identity's other devices.
  ensure(typeof i.name === 'string' && [...i.name].length <= MAX_ROOM_NAME_LENGTH, `invite name of ${[...i.name].length} code points`)
}

export function checkAccountView(v: AccountView): void {
  checkProfile(v.profile)
  ensureUint(v.profileAt, 'profileAt')
  ensure(v.rooms.length <= MAX_ACCOUNT_ROOMS, `${v.rooms.length} rooms in an account view`)
  ensure(v.reads.length <= MAX_ACCOUNT_ROOMS, `${v.reads.length} read positions in an account view`)
  for (const r of v.reads) {
    ensureBytes(r.topic, 32, 'read position topic')
    ensureUint(r.timestamp, 'read position timestamp')
    ensure(r.id.length <= 64, 'read position id too long')
  }
  for (const r of v.rooms) {
    ensure(r.kind === RoomKind.NAMED || r.kind === RoomKind.PRIVATE, `account room kind ${r.kind}`)
    ensureBytes(r.secret, 32, 'account room secret')
    ensure(r.name.length <= 256, 'account room name too long')
    ensureUint(r.joinedAt, 'account room joinedAt')
    ensureUint(r.at, 'account room at')
  }
}

// The registry's commands, and the three a line is without one.
const COMMAND_TYPES = new Set<string>(['say', 'usage', 'none', ...COMMANDS.map((c) => c.name)])

export function checkCommand(cmd: Command): void {
  ensure(COMMAND_TYPES.has(cmd.type), `command type ${cmd.type}`)
  for (const [k, v] of Object.entries(cmd)) {
    // A message command's reference is structured (or null for its default); all else is text.
    if (k === 'ref') checkMessageRef(v)
    else ensure(typeof v === 'string', `command field ${k} is ${typeof v}`)
  }
  if (cmd.type === 'say' || cmd.type === 'me') ensure(cmd.text.trim().length > 0, 'an empty message to send')
  if (cmd.type === 'edit' || cmd.type === 'reply') {
    ensure(cmd.text.length > 0 && cmd.text === cmd.text.trim(), 'an empty or untrimmed text')
  }
  if (cmd.type === 'react' || cmd.type === 'unreact') {
    ensure(cmd.emoji.length > 0 && !/\s/.test(cmd.emoji), 'an empty reaction, or one with spaces')
  }
}

function checkMessageRef(ref: unknown): void {
  if (ref === null) return
  const r = ref as MessageRef
  ensure(typeof r === 'object', `a reference of type ${typeof ref}`)
  if (r.kind === 'latest') ensure(Number.isSafeInteger(r.back) && r.back >= 1, `^${r.back}`)
  else if (r.kind === 'handle') ensure(/^[a-km-np-z]{4,8}$/.test(r.handle), `handle ${r.handle}`)
  else if (r.kind === 'id') ensure(/^[0-9a-f]{32}-\d+$/.test(r.id), `message id ${r.id}`)
  else ensure(false, `a reference of kind ${(r as { kind: unknown }).kind}`)
}

export function checkRoomName(name: string): void {
  ensure(typeof name === 'string' && name.length > 0, 'empty room name')
  ensure([...name].length <= MAX_ROOM_NAME_LENGTH, `room name of ${[...name].length} code points`)
  ensure(name === name.trim(), 'room name with outer whitespace')
  ensure(!/\s\s/.test(name), 'room name with a run of whitespace')
}

// ---------------------------------------------------------------------------
// Valid samples: every kind, every optional field, values at their caps
// ---------------------------------------------------------------------------

const NAMES = ['', 'alice', 'Zoë 🌸', 'a'.repeat(MAX_NAME_BYTES), 'é'.repeat(MAX_NAME_BYTES / 2), '@not-a-mention']
const TEXTS = ['', 'hello', 'héllo 👋', 'x'.repeat(200), 'ü'.repeat(1000)]
const EMOJI = ['👍', '👩‍👩‍👧', '🇫🇷', '❤️']

function sampleProfile(rng: Rng): ProfileFields {
  const away = rng.pick([null, null, '', 'lunch', 's'.repeat(MAX_STATUS_BYTES)])
  return { name: rng.pick(NAMES), status: rng.pick(['', 'busy', 'ß'.repeat(MAX_STATUS_BYTES / 2)]), away }
}

function sampleCertificate(rng: Rng): DeviceCertificate {
  return {
    identity: rng.bytes(32),
    device: rng.bytes(32),
    createdAt: rng.pick([0, 1_700_000_000_000, Number.MAX_SAFE_INTEGER]),
    primary: rng.chance(0.5),
    name: rng.pick(['', 'laptop', 'd'.repeat(MAX_DEVICE_NAME_BYTES)]),
    signature: rng.bytes(64)
  }
}

function sampleRevocation(rng: Rng): DeviceRevocation {
  const identity = rng.bytes(32)
  const by = rng.chance(0.5) ? { ...sampleCertificate(rng), identity } : null
  return { identity, device: rng.bytes(32), revokedAt: rng.pick([0, 1_700_000_000_000]), by, signature: rng.bytes(64) }
}

function sampleTarget(rng: Rng): { core: Buffer; seq: number } {
  return { core: rng.bytes(16), seq: rng.pick([0, 1, 252, 253, 65536, 2 ** 32, Number.MAX_SAFE_INTEGER]) }
}

function sampleRecord(rng: Rng, type: number): MessageRecord {
  const timestamp = rng.pick([0, 1_700_000_000_000, Number.MAX_SAFE_INTEGER])
  switch (type) {
    case MessageType.EDIT:
    case MessageType.REPLY:
      return { type, timestamp, text: rng.pick(TEXTS), target: sampleTarget(rng) }
    case MessageType.REACT:
    case MessageType.UNREACT:
      return { type, timestamp, text: rng.pick(EMOJI), target: sampleTarget(rng) }
    case MessageType.DELETE:
      return { type, timestamp, text: '', target: sampleTarget(rng) }
    case MessageType.REVOKE: {
      const cuts = Array.from({ length: rng.pick([0, 1, 3, MAX_REVOKE_CUTS]) }, () => ({ core: rng.bytes(32), length: rng.int(1000) }))
      return { type, timestamp, text: '', revocation: encodeRevocation(sampleRevocation(rng)), cuts }
    }
    case MessageType.ACCOUNT:
      return { type, timestamp, text: '', payload: c.encode(accountView, sampleAccountView(rng, 3)) }
    case MessageType.PROFILE:
      return { type, timestamp, text: '' }
    default:
      // TEXT, ACTION, and a kind from a future build (its bytes are skipped whole).
      return { type, timestamp, text: rng.pick(TEXTS) }
  }
}

const RECORD_TYPES = [...Object.values(MessageType), 10, 200, 100000]

function sampleBlockBody(rng: Rng): BlockBody {
  const count = rng.range(1, 6)
  const records = Array.from({ length: count }, () => sampleRecord(rng, rng.pick(RECORD_TYPES)))
  const body: BlockBody = { author: rng.bytes(32), seq: rng.pick([0, 1, 1000, 2 ** 40]), records }
  if (rng.chance(0.6)) body.profile = sampleProfile(rng)
  if (rng.chance(0.5)) {
    body.certificate = sampleCertificate(rng)
    body.author = body.certificate.identity
  }
  return body
}

function sampleBlock(rng: Rng): Buffer {
  for (;;) {
    const block = encodeMessageBlock(encodeBlockBody(sampleBlockBody(rng)), rng.bytes(64))
    if (block.byteLength <= MAX_RECORD_BYTES) return block
  }
}

function sampleBlocks(rng: Rng): Buffer[] {
  const out = Array.from({ length: 40 }, () => sampleBlock(rng))
  // Blocks at the caps: the most records, a text at its cap, a reaction at its cap. Few, as
  // every input made from a big sample costs as much as a hundred small ones.
  const full: BlockBody = { author: rng.bytes(32), seq: 9, records: Array.from({ length: MAX_BLOCK_RECORDS }, () => sampleRecord(rng, MessageType.TEXT)).map((r) => ({ ...r, text: 'hi' })) }
  const big: BlockBody = { author: rng.bytes(32), seq: 7, records: [{ type: MessageType.TEXT, timestamp: 1, text: 'q'.repeat(MAX_TEXT_BYTES) }] }
  const emoji: BlockBody = { author: rng.bytes(32), seq: 0, records: [{ type: MessageType.REACT, timestamp: 1, text: '😀'.repeat(MAX_EMOJI_BYTES / 4), target: sampleTarget(rng) }] }
  for (const body of [full, big, emoji]) out.push(encodeMessageBlock(encodeBlockBody(body), rng.bytes(64)))
  return out
}

function sampleKeyFiles(rng: Rng): KeyFile[] {
  const out: KeyFile[] = []
  for (let i = 0; i < 6; i++) {
    out.push({ version: 1, linked: false, publicKey: rng.bytes(32), createdAt: 1_700_000_000_000 + i, encrypted: null, secret: rng.bytes(32) })
    out.push({ version: 2, linked: i % 2 === 0, publicKey: rng.bytes(32), createdAt: 1_700_000_000_000 + i, encrypted: null, secret: rng.bytes(200) })
    out.push({
      version: 2,
      linked: false,
      publicKey: rng.bytes(32),
      createdAt: rng.pick([0, 1_700_000_000_000]),
      encrypted: { salt: rng.bytes(PWHASH_SALTBYTES), ...PWHASH_INTERACTIVE, box: rng.bytes(300) },
      secret: null
    })
  }
  return out
}

const ROOM_NAMES = ['general', 'book club', 'private room', 'ﬁsh', 'n'.repeat(MAX_ROOM_NAME_LENGTH), '#relayed', '~label', 'account']

function sampleFeed(rng: Rng, version: number) {
  const f: LocalState['rooms'][number]['feeds'][number] = {
    key: rng.bytes(32),
    start: rng.int(100),
    storedFrom: 100 + rng.int(100),
    seen: 200 + rng.int(1000)
  }
  const atCap = rng.chance(0.03)
  if (version >= 2 && rng.chance(0.5)) {
    f.marks = Array.from({ length: atCap ? MAX_LENGTH_MARKS : rng.pick([1, 3]) }, (_, i) => ({ time: 1_700_000_000_000 + i, length: i }))
  }
  if (version >= 3 && rng.chance(0.5)) f.holes = Array.from({ length: atCap ? MAX_HOLES : rng.pick([1, 5]) }, (_, i) => i * 3)
  return f
}

function sampleLocalState(rng: Rng, version = 3): LocalState {
  const rooms = Array.from({ length: rng.pick([0, 1, 2, 5]) }, () => ({
    kind: rng.pick(ROOM_KINDS) as RoomKindValue,
    secret: rng.bytes(32),
    name: rng.pick(ROOM_NAMES),
    joinedAt: 1_700_000_000_000,
    ttl: 7 * 24 * 3600 * 1000,
    feeds: Array.from({ length: rng.pick([0, 1, 3]) }, () => sampleFeed(rng, version))
  }))
  return { rooms, profile: sampleProfile(rng) }
}

/** v1 and v2 state files, which this build still reads: written by hand, as older builds did. */
function olderLocalState(rng: Rng, version: 1 | 2): Buffer {
  const s = sampleLocalState(rng, version)
  const u = (n: number) => c.encode(c.uint, n)
  const parts: Buffer[] = [u(version), u(s.rooms.length)]
  for (const r of s.rooms) {
    parts.push(u(r.kind), r.secret, c.encode(c.string, r.name), u(r.joinedAt), u(r.ttl), u(r.feeds.length))
    for (const f of r.feeds) {
      parts.push(f.key, u(f.start), u(f.storedFrom), u(f.seen))
      if (version === 2) {
        parts.push(u(f.marks?.length ?? 0))
        for (const m of f.marks ?? []) parts.push(u(m.time), u(m.length))
      }
    }
  }
  // v1 files have no profile; v2 files do.
  if (version === 2) parts.push(c.encode(profileFields, s.profile))
  return b4a.concat(parts)
}

function sampleAccountView(rng: Rng, maxRooms = 8): AccountView {
  const count = rng.int(maxRooms + 1)
  const rooms: AccountRoom[] = Array.from({ length: count }, () => ({
    kind: rng.pick([RoomKind.NAMED, RoomKind.PRIVATE] as const),
    secret: rng.bytes(32),
    name: rng.pick(ROOM_NAMES),
    joinedAt: 1_700_000_000_000,
    left: rng.chance(0.3),
    at: 1_700_000_000_000 + rng.int(1000)
  }))
  const reads = Array.from({ length: rng.int(Math.min(maxRooms, 4) + 1) }, () => ({
    topic: rng.bytes(32),
    timestamp: 1_700_000_000_000 + rng.int(1000),
    id: messageId16(rng.bytes(16), rng.int(100000))
  }))
  return { profile: sampleProfile(rng), profileAt: rng.pick([0, 1_700_000_000_000]), rooms, reads }
}

function sampleInvite(rng: Rng): Invite {
  const name = rng.pick(['', ...ROOM_NAMES.slice(0, 5), 'ǆ'.repeat(MAX_ROOM_NAME_LENGTH), '👋'.repeat(MAX_ROOM_NAME_LENGTH)])
  if (rng.chance(0.5)) return { secret: rng.bytes(32), name }
  // v2: the owner and the nonce; the secret is derived from them.
  const owner = { identity: rng.bytes(32), nonce: rng.bytes(32) }
  return { secret: ownedRoomSecret(owner.identity, owner.nonce), name, owner }
}

function sampleEpochRecord(rng: Rng): EpochRecord {
  const count = rng.pick([0, 1, 3, MAX_EPOCH_RECIPIENTS])
  const recipients = Array.from({ length: count }, () => ({ device: rng.bytes(32), box: rng.bytes(SEALED_KEY_BYTES) }))
  const at = { core: rng.bytes(16), seq: rng.pick([0, 1, 2 ** 40]) }
  if (rng.chance(0.5)) return { cause: at, check: rng.bytes(16), epoch: null, recipients }
  return { cause: null, check: null, epoch: at, recipients: recipients.length === 0 ? [{ device: rng.bytes(32), box: rng.bytes(SEALED_KEY_BYTES) }] : recipients }
}

function checkEpochRecord(e: EpochRecord): void {
  ensure((e.cause === null) !== (e.epoch === null), 'an epoch record that starts and grants, or neither')
  ensure(e.recipients.length <= MAX_EPOCH_RECIPIENTS, `${e.recipients.length} recipients`)
  ensure(e.cause !== null || e.recipients.length > 0, 'a grant to nobody')
  if (e.check) ensureBytes(e.check, 16, 'key check')
  for (const r of e.recipients) {
    ensureBytes(r.device, 32, 'recipient device')
    ensureBytes(r.box, SEALED_KEY_BYTES, 'sealed key')
  }
}

function sampleSealedRecord(rng: Rng): SealedRecord {
  return { epoch: { core: rng.bytes(16), seq: rng.pick([0, 7, 2 ** 40]) }, box: rng.bytes(rng.pick([40, 200, MAX_SEALED_BYTES])) }
}

function checkSealedRecord(s: SealedRecord): void {
  ensureBytes(s.epoch.core, 16, 'epoch core')
  ensureUint(s.epoch.seq, 'epoch seq')
  ensure(s.box.byteLength >= 40 && s.box.byteLength <= MAX_SEALED_BYTES, `a sealed box of ${s.box.byteLength} bytes`)
}

function sampleDeviceLink(rng: Rng): DeviceLink {
  return { secret: rng.bytes(32), expiresAt: rng.pick([0, 1_700_000_000_000, 4_000_000_000_000]), identityCheck: rng.bytes(16) }
}

function samplePairingFrame(rng: Rng): PairingFrame {
  switch (rng.pick(['request', 'request', 'grant', 'grant', 'grant', 'deny', 'gone', 'done'] as const)) {
    case 'request':
      return { type: 'request', device: rng.bytes(32), name: rng.pick(['', 'laptop', 'Zoë’s phone 📱', 'd'.repeat(MAX_DEVICE_NAME_BYTES)]), signature: rng.bytes(64) }
    case 'grant': {
      const roomCount = rng.chance(0.05) ? MAX_LINKED_ROOMS : rng.pick([0, 1, 3])
      const rooms: LinkedRoom[] = Array.from({ length: roomCount }, () => ({
        kind: rng.pick([RoomKind.NAMED, RoomKind.PRIVATE]),
        secret: rng.bytes(32),
        name: rng.pick([...ROOM_NAMES, 'l'.repeat(256)])
      }))
      const deviceCount = rng.pick([0, 0, 1, 3])
      return {
        type: 'grant',
        certificate: encodeCertificate(sampleCertificate(rng)),
        accountKey: rng.bytes(32),
        profile: sampleProfile(rng),
        rooms,
        devices: Array.from({ length: deviceCount }, () => encodeCertificate(sampleCertificate(rng))),
        revocations: Array.from({ length: deviceCount === 0 ? 0 : rng.int(3) }, () => encodeRevocation(sampleRevocation(rng)))
      }
    }
    case 'deny':
      return { type: 'deny' }
    case 'gone':
      return { type: 'gone' }
    default:
      return { type: 'done' }
  }
}

function sampleReadState(rng: Rng): ReadState {
  const unread = rng.pick([0, 1, 7, 100_000])
  const id = () => messageId16(rng.bytes(16), rng.pick([0, 5, 2 ** 32]))
  return {
    unread,
    mentions: Math.min(unread, rng.pick([0, 1, 3])),
    position: rng.chance(0.7) ? { timestamp: 1_700_000_000_000 + rng.int(1000), id: id() } : null,
    recent: Array.from({ length: rng.chance(0.1) ? MAX_RECENT : rng.pick([0, 1, 4]) }, id)
  }
}

// A local-state entry: decoded as LocalState reads it, where bytes a newer build appended
// are skipped, so a round trip compares values, not bytes.
function entry<T>(name: string, enc: Encoding<T>, samples: (rng: Rng) => T[], check: (value: T) => void): Target {
  return target<Buffer, T>({
    name,
    kind: 'bytes',
    codecs: [enc],
    samples: (rng) => samples(rng).map((v) => c.encode(enc, v)),
    decode: (buf) => decodeEntry(enc, buf, name),
    check,
    encode: (v) => c.encode(enc, v)
  })
}

function many<T>(n: number, make: (rng: Rng) => T): (rng: Rng) => T[] {
  return (rng) => Array.from({ length: n }, () => make(rng))
}

// A fixed list of identities, made once: key derivation is the slow part of these samples.
function sampleIdentities(rng: Rng, n: number): Identity[] {
  return Array.from({ length: n }, () => Identity.fromSeed(rng.bytes(32)))
}

const bip39Words: readonly string[] = bip39.wordlists.english ?? []

// ---------------------------------------------------------------------------
// THE TARGETS. A new codec is one line: codec(name, encoding, samples, check).
// ---------------------------------------------------------------------------

export const TARGETS: readonly Target[] = [
  target<Buffer, DecodedBlock>({
    name: 'decodeMessageBlock',
    kind: 'bytes',
    weight: 4,
    samples: sampleBlocks,
    decode: decodeMessageBlock,
    check: checkBlock,
    encode: (d) => encodeMessageBlock(encodeBlockBody(d.body), d.signature),
    // The re-encoded body is canonical, so its bytes may differ; its meaning may not.
    project: (d) => ({ body: d.body, signature: d.signature })
  }),
  target<Buffer, BlockBody>({
    name: 'decodeBlockBody',
    kind: 'bytes',
    weight: 1,
    // What the outbox journal keeps (lib/room/journal.ts): a block less its signature.
    samples: (rng) => sampleBlocks(rng).map((b) => b.subarray(0, b.byteLength - 64)),
    decode: decodeBlockBody,
    check: (body, input) => {
      ensure(input.byteLength <= MAX_RECORD_BYTES - 64, 'an oversized body decoded')
      checkBody(body)
    },
    encode: (body) => encodeBlockBody(body),
    project: (body) => body
  }),
  codec('keyFile', keyFile, sampleKeyFiles, checkKeyFile),
  target<Buffer, LocalState>({
    name: 'localState',
    kind: 'bytes',
    weight: 2,
    codecs: [localState],
    samples: (rng) => [
      ...many(20, (r) => c.encode(localState, sampleLocalState(r)))(rng),
      ...many(6, (r) => olderLocalState(r, 1))(rng),
      ...many(6, (r) => olderLocalState(r, 2))(rng)
    ],
    decode: (buf) => decodeStrict(localState, buf, 'state'),
    check: checkLocalState,
    encode: (s) => c.encode(localState, s)
  }),
  // Empty buffers decode here and in liveBlock, revocations and account payloads; what reads
  // them next (unseal, decodeMessageBlock, decodeRevocation, decodeStrict) refuses them. The
  // envelope must not throw for one: protomux decodes it, and a throw there drops the peer.
  codec('sealedFile', sealedFile, many(8, (rng) => rng.bytes(rng.pick([1, 40, 200, 3000])))),
  codec('channelEnvelope', channelEnvelope, many(8, (rng) => rng.bytes(rng.pick([1, 40, 200])))),
  codec('channelHandshake', channelHandshake, many(8, (rng) => ({
    relayProof: rng.bytes(32), memberProof: rng.chance(0.5) ? rng.bytes(32) : null
  })), (h) => {
    ensureBytes(h.relayProof, 32, 'relay proof')
    if (h.memberProof !== null) ensureBytes(h.memberProof, 32, 'member proof')
  }),
  codec('announcement', announcement, many(16, (rng) => ({
    writers: Array.from({ length: rng.chance(0.1) ? MAX_ANNOUNCED_WRITERS : rng.int(6) }, () => ({
      key: rng.bytes(32), length: rng.pick([0, 5, 70000, 2 ** 40]), start: rng.pick([0, 3])
    }))
  })), checkAnnouncement),
  codec('announcement', announcement, many(16, (rng) => {
    const proofs = rng.chance(0.5)
    return {
      writers: Array.from({ length: rng.chance(0.1) ? MAX_ANNOUNCED_WRITERS : rng.int(6) }, () => {
        const w: WriterAnnouncement = { key: rng.bytes(32), length: rng.pick([0, 5, 70000, 2 ** 40]), start: rng.pick([0, 3]) }
        if (proofs && rng.chance(0.7)) w.proof = { tag: rng.bytes(32), sealed: rng.bytes(rng.pick([40, 300, MAX_SEALED_CLAIM_BYTES])), signature: rng.bytes(64) }
        return w
      })
    }
  }), checkAnnouncement),
  codec('writerProof', writerProof, many(8, (rng): WriterProof => ({ tag: rng.bytes(32), sealed: rng.bytes(rng.pick([0, 40, MAX_SEALED_CLAIM_BYTES])), signature: rng.bytes(64) })), (p) => {
    ensureBytes(p.tag, 32, 'proof tag')
    ensure(p.sealed.byteLength <= MAX_SEALED_CLAIM_BYTES, 'sealed claim too large')
  }),
  codec(
    'writerClaim',
    writerClaim,
    many(8, (rng): WriterClaim => ({
      certificate: sampleCertificate(rng),
      signature: rng.bytes(64),
      core: rng.chance(0.7) ? { signer: rng.bytes(32), signature: rng.bytes(64) } : null
    })),
    (w) => {
      ensureBytes(w.signature, 64, 'writer claim signature')
      ensureBytes(w.certificate.device, 32, 'writer claim device')
      if (w.core) {
        ensureBytes(w.core.signer, 32, 'core claim signer')
        ensureBytes(w.core.signature, 64, 'core claim signature')
      }
    }
  ),
  codec(
    'liveBlock',
    liveBlock,
    many(12, (rng): LiveBlock => {
      const l: LiveBlock = { key: rng.bytes(32), index: rng.pick([0, 1, 2 ** 32]), block: sampleBlock(rng) }
      // Frames from builds with stored live blocks carry the clear bytes, and forwarded ones a hop count.
      const extra = rng.pick([0, 1, 2])
      if (extra > 0) l.padding = rng.bytes(8)
      if (extra > 1) l.hops = rng.pick([1, 2, 3, 200])
      return l
    }),
    checkLiveBlock
  ),
  codec('presence', presence, many(20, (rng): Presence => {
    const p: Presence = { author: rng.bytes(32), profile: sampleProfile(rng), signature: rng.bytes(64) }
    if (rng.chance(0.5)) {
      p.certificate = sampleCertificate(rng)
      p.author = p.certificate.identity
    }
    return p
  }), checkPresence),
  codec('invite', invite, many(16, sampleInvite), checkInvite),
  codec('wipeNotice', wipeNotice, many(8, (rng): WipeNotice => {
    const length = rng.int(5000)
    const keep = length === 0 ? [] : [...new Set(Array.from({ length: rng.pick([0, 1, 5]) }, () => rng.int(length)))].sort((a, b) => a - b)
    return { core: rng.bytes(32), length, keep, signature: rng.bytes(64) }
  }), (n) => {
    ensureBytes(n.core, 32, 'wipe core')
    ensureBytes(n.signature, 64, 'wipe signature')
    ensure(n.keep.length <= MAX_WIPE_KEEP, 'keep list')
    for (let i = 0; i < n.keep.length; i++) ensure(n.keep[i]! < n.length && (i === 0 || n.keep[i]! > n.keep[i - 1]!), 'keep order')
  }),
  codec('relayLink', relayLink, many(4, (rng): RelayLink => ({ relaySecret: rng.bytes(32), admissionKey: rng.chance(0.5) ? rng.bytes(32) : null })), (l) => {
    ensureBytes(l.relaySecret, 32, 'relay secret')
    if (l.admissionKey) ensureBytes(l.admissionKey, 32, 'admission key')
  }),
  codec('profileFields', profileFields, many(16, sampleProfile), checkProfile),
  codec('accountView', accountView, (rng) => [...many(16, sampleAccountView)(rng), sampleAccountView(rng, MAX_ACCOUNT_ROOMS)], checkAccountView),
  target<Buffer, DeviceCertificate>({
    name: 'decodeCertificate',
    kind: 'bytes',
    codecs: [deviceCertificate],
    samples: (rng) => many(16, sampleCertificate)(rng).map(encodeCertificate),
    decode: decodeCertificate,
    check: checkCertificate,
    encode: encodeCertificate
  }),
  target<Buffer, DeviceRevocation>({
    name: 'decodeRevocation',
    kind: 'bytes',
    codecs: [deviceRevocation],
    samples: (rng) => many(16, sampleRevocation)(rng).map(encodeRevocation),
    decode: decodeRevocation,
    check: checkRevocation,
    encode: encodeRevocation
  }),
  target<Buffer, MessageRecord>({
    name: 'decodeRecord',
    kind: 'bytes',
    samples: (rng) => RECORD_TYPES.map((type) => encodeRecord(sampleRecord(rng, type))),
    decode: decodeRecord,
    check: (r) => checkRecord(r, 0),
    encode: encodeRecord
  }),
  codec('epochRecord', epochRecord, many(16, sampleEpochRecord), checkEpochRecord),
  target<Buffer, EpochRecord>({
    name: 'decodeEpochRecord',
    kind: 'bytes',
    samples: (rng) => many(8, sampleEpochRecord)(rng).map(encodeEpochRecord),
    decode: decodeEpochRecord,
    check: checkEpochRecord,
    encode: encodeEpochRecord
  }),
  codec('sealedRecord', sealedRecord, many(8, sampleSealedRecord), checkSealedRecord),
  target<Buffer, SealedRecord>({
    name: 'decodeSealedRecord',
    kind: 'bytes',
    samples: (rng) => many(8, sampleSealedRecord)(rng).map((v) => c.encode(sealedRecord, v)),
    decode: decodeSealedRecord,
    check: checkSealedRecord,
    encode: (v) => c.encode(sealedRecord, v)
  }),
  linkTarget('parseInvite', INVITE_PREFIX, (rng) => many(16, sampleInvite)(rng).map(inviteLink), parseInvite, checkInvite, inviteLink),
  linkTarget(
    'parseDeviceLink',
    DEVICE_LINK_PREFIX,
    (rng) =>
      many(8, sampleDeviceLink)(rng).map(deviceLinkOf),
    parseDeviceLink,
    checkDeviceLink,
    deviceLinkOf
  ),
  // Device linking: the link's bytes, and the frames the two devices exchange once unsealed.
  codec('deviceLink', deviceLink, many(8, sampleDeviceLink), checkDeviceLink),
  codec('pairingFrame', pairingFrame, many(24, samplePairingFrame), checkPairingFrame, 2),
  // The local Hyperbee's entries (lib/state/codecs.ts), sealed on disk.
  entry('roomEntry', roomEntry, (rng) => many(12, (r) => sampleLocalState(r).rooms)(rng).flat(), checkRoomState),
  entry('profileEntry', profileEntry, many(12, sampleProfile), checkProfile),
  entry('readEntry', readEntry, many(16, sampleReadState), checkReadState),
  entry<ChatPrefs>(
    'chatPrefsEntry',
    chatPrefsEntry,
    (rng) => [
      { lastRoom: '', history: [] },
      { lastRoom: 'ab'.repeat(32), history: ['/join x', 'hello'] },
      { lastRoom: 'cd'.repeat(32), history: Array.from({ length: MAX_INPUT_HISTORY }, (_, i) => `line ${i} ${rng.int(1000)}`) },
      { lastRoom: '', history: ['é'.repeat(MAX_INPUT_LINE_BYTES / 2)] }
    ],
    (p) => {
      ensure(/^(?:[0-9a-f]{64})?$/.test(p.lastRoom), `last room ${p.lastRoom}`)
      ensure(p.history.length <= MAX_INPUT_HISTORY, `${p.history.length} history lines`)
      ensure(p.history.every((l) => Buffer.byteLength(l) <= MAX_INPUT_LINE_BYTES), 'a history line too long')
    }
  ),
  entry<StateMeta>('metaEntry', metaEntry, (rng) => [0, 1, 7, 2 ** 40].map((generation) => ({ generation: generation + rng.int(2) })), (m) => ensureUint(m.generation, 'generation')),
  codec(
    'accountSecrets',
    accountSecrets,
    many(12, (rng): AccountSecrets => ({
      identitySeed: rng.pick([true, false]) ? rng.bytes(32) : null,
      deviceSeed: rng.bytes(32),
      accountKey: rng.bytes(32),
      certificate: encodeCertificate(sampleCertificate(rng))
    })),
    (v) => {
      if (v.identitySeed !== null) ensureBytes(v.identitySeed, 32, 'identity seed')
      ensureBytes(v.deviceSeed, 32, 'device seed')
      ensureBytes(v.accountKey, 32, 'account key')
      ensure(b4a.isBuffer(v.certificate), 'certificate bytes')
    }
  ),
  target<Buffer, BlockBody | null>({
    name: 'decodeBodyOrNull',
    kind: 'bytes',
    samples: sampleBlocks,
    // A total function: it never throws, whatever it is given. Its null counts as a refusal.
    decode: (bytes) => {
      const body = decodeBodyOrNull(bytes)
      if (body === null) throw BackspaceError.DECODE_FAILED('no body')
      return body
    },
    check: (b) => {
      if (b) checkBody(b)
    }
  }),
  linkTarget(
    'parseContactLink',
    CONTACT_LINK_PREFIX,
    (rng) => many(8, (r) => contactLinkOf({ key: r.bytes(32), name: r.pick(['', 'ann', 'Zoë K', '山田']) }))(rng),
    parseContactLink,
    (v) => ensureBytes(v.key, 32, 'contact key'),
    contactLinkOf
  ),
  linkTarget(
    'parseRelayNodeLink',
    RELAY_NODE_PREFIX,
    (rng) => many(4, (r) => relayNodeLinkOf({ secret: r.bytes(32) }))(rng),
    parseRelayNodeLink,
    (v) => ensureBytes(v.secret, 32, 'relay node secret'),
    relayNodeLinkOf
  ),
  linkTarget(
    'parseRelayLink',
    RELAY_LINK_PREFIX,
    (rng) => many(4, (r) => relayLinkOf(r.bytes(32), r.chance(0.5) ? r.bytes(32) : null))(rng),
    parseRelayLink,
    (l) => ensureBytes(l.relaySecret, 32, 'relay secret'),
    (l) => relayLinkOf(l.relaySecret, l.admissionKey ?? null)
  ),
  target<string, { core: Buffer; seq: number }>({
    name: 'parseMessageId',
    kind: 'string',
    samples: (rng) => Array.from({ length: 12 }, () => messageId16(rng.bytes(16), rng.pick([0, 1, 10, 12345, 2 ** 32, Number.MAX_SAFE_INTEGER]))),
    decode: parseMessageId,
    // The id pattern is strict: what parses is exactly the id of what it returns.
    check: (v, input) => {
      ensureBytes(v.core, 16, 'message id core')
      ensureUint(v.seq, 'message id seq')
      ensure(messageId16(v.core, v.seq) === input, 'a message id that is not its own canonical form')
    }
  }),
  target<string, Command>({
    name: 'parseCommand',
    kind: 'string',
    total: true,
    samples: () => [
      'hello', '  hi there  ', '//slash', '/me waves', '/join "book club" secret', '/j lobby', '/join a b c', '/create',
      '/create My Room', '/switch 2', '/nick Zoë', '/status', '/away brb', '/back', '/help', '/?', '/quit', '/jion x',
      '/unknownthing', '/', '"', '/edit ^2 fixed', '/del ^kbfd', '/react ^ :tada:', '/unreact +1',
      `/reply ${'ab'.repeat(16)}-7 yes`, ...COMMANDS.map((cmd) => cmd.usage)
    ],
    decode: parseCommand,
    check: checkCommand
  }),
  target<string, string>({
    name: 'normalizeRoomName',
    kind: 'string',
    samples: () => ['general', '#General ', 'Book   Club', 'ΣΑΣ ΟΔΟΣ', 'İstanbul', 'ﬁsh', 'ＡＢＣ', 'Ⅸ', '\ufdfa', 'n'.repeat(64), '##a', '# b'],
    decode: normalizeRoomName,
    check: checkRoomName
  }),
  target<string, Identity>({
    name: 'Identity.fromPhrase',
    kind: 'string',
    samples: (rng) => {
      const phrases = sampleIdentities(rng, 6).map((id) => id.phrase)
      return [...phrases, phrases[0]!.toUpperCase(), `  ${phrases[1]!.split(' ').join('\t ')}  `, rng.pick(bip39Words.length ? [bip39Words.slice(0, 24).join(' ')] : ['abandon'])]
    },
    decode: Identity.fromPhrase,
    check: (id) => ensure(id.phrase.split(' ').length === 24, 'a phrase that is not 24 words'),
    encode: (id) => id.phrase,
    project: (id) => id.publicKey
  }),
  target<string, Identity>({
    name: 'Identity.fromSecretKey',
    kind: 'string',
    samples: (rng) => sampleIdentities(rng, 6).flatMap((id) => [id.secretKeyHex, id.secretKeyHex + id.publicKey.toString('hex'), ` ${id.secretKeyHex.toUpperCase()}\n`]),
    decode: Identity.fromSecretKey,
    encode: (id) => id.secretKeyHex,
    project: (id) => id.publicKey
  })
]

function linkTarget<T>(
  name: string,
  prefix: string,
  samples: (rng: Rng) => string[],
  parse: (text: string) => T,
  check: (value: T) => void,
  encode: (value: T) => string
): Target {
  const payloadOf = (s: string): Buffer | null => {
    try {
      return z32.decode(s.slice(prefix.length))
    } catch {
      return null
    }
  }
  return target<string, T>({
    name,
    kind: 'string',
    samples,
    decode: parse,
    check,
    encode,
    payload: { of: payloadOf, wrap: (bytes) => prefix + z32.encode(bytes) }
  })
}

// ---------------------------------------------------------------------------
// The runner
// ---------------------------------------------------------------------------

export interface Failure {
  target: string
  seed: number
  iteration: number
  stage: 'decode' | 'check' | 'round trip' | 'slow'
  how: string
  /** The input: hex for bytes; JSON, then the hex of its UTF-8, for strings. */
  input: string
  error: string
}

export interface TargetReport {
  name: string
  inputs: number
  /** Decoded to a value that passed every check. */
  accepted: number
  /** Refused with a BackspaceError, by code. */
  rejected: Record<string, number>
  failures: Failure[]
  /** Failures beyond the ones kept. */
  moreFailures: number
  /** Every failure, kept or not, by what failed. */
  stages: Record<Failure['stage'], number>
  /** With timing on: the slowest single call, in ms. */
  maxMs: number
}

export interface FuzzOptions {
  seed: number
  /** Inputs in total, shared between targets by weight. */
  count: number
  targets?: readonly Target[]
  /** Time each call; an input slower than `slowMs` (three times over) is a failure. */
  timing?: boolean
  slowMs?: number
  /** Failures kept per target (default 5). */
  keep?: number
  onProgress?: (report: TargetReport) => void
}

export function describeInput(input: Buffer | string): string {
  return typeof input === 'string' ? `${JSON.stringify(input)} (utf8 ${b4a.from(input).toString('hex')})` : input.toString('hex')
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}${err instanceof Violation ? '' : `\n${err.stack ?? ''}`}`
  return `non-Error thrown: ${String(err)}`
}

/** Share `count` between targets by weight; every target gets at least one input. */
export function shares(targets: readonly Target[], count: number): number[] {
  const total = targets.reduce((s, t) => s + t.weight, 0)
  const out = targets.map((t) => Math.max(1, Math.floor((count * t.weight) / total)))
  let left = count - out.reduce((s, n) => s + n, 0)
  for (let i = 0; left > 0; i = (i + 1) % out.length, left--) out[i]! += 1
  return out
}

export function runTarget(t: Target, seed: number, count: number, opts: Omit<FuzzOptions, 'seed' | 'count' | 'targets'> = {}): TargetReport {
  const state = prepare(t, seed)
  const rng = new Rng(seed, `inputs:${t.name}`)
  const keep = opts.keep ?? 5
  const slowMs = opts.slowMs ?? 50
  const total = t.total === true
  const report: TargetReport = {
    name: t.name,
    inputs: 0,
    accepted: 0,
    rejected: {},
    failures: [],
    moreFailures: 0,
    stages: { decode: 0, check: 0, 'round trip': 0, slow: 0 },
    maxMs: 0
  }
  const fail = (iteration: number, stage: Failure['stage'], how: string, input: Buffer | string, error: unknown) => {
    report.stages[stage]++
    if (report.failures.length >= keep) {
      report.moreFailures++
      return
    }
    report.failures.push({ target: t.name, seed, iteration, stage, how, input: describeInput(input), error: describeError(error) })
  }
  for (let i = 0; i < count; i++) {
    const { input, how } = t.generate(rng, state)
    let result: RunResult
    if (opts.timing) {
      const start = performance.now()
      result = t.run(input)
      let ms = performance.now() - start
      if (ms > slowMs) {
        // A GC pause is not the decoder's fault: only the best of three counts.
        for (let k = 0; k < 2 && ms > slowMs; k++) {
          const again = performance.now()
          t.run(input)
          ms = Math.min(ms, performance.now() - again)
        }
        if (ms > slowMs) fail(i, 'slow', how, input, new Error(`${ms.toFixed(1)} ms`))
      }
      report.maxMs = Math.max(report.maxMs, ms)
    } else {
      result = t.run(input)
    }
    report.inputs++
    if (result.ok) {
      report.accepted++
      continue
    }
    if (result.stage !== 'decode') fail(i, result.stage, how, input, result.error)
    else if (total) fail(i, 'decode', how, input, result.error)
    else if (isBackspaceError(result.error)) {
      const code = result.error.code
      report.rejected[code] = (report.rejected[code] ?? 0) + 1
    } else fail(i, 'decode', how, input, result.error)
  }
  return report
}

export function runFuzz(opts: FuzzOptions): TargetReport[] {
  const targets = opts.targets ?? TARGETS
  const counts = shares(targets, opts.count)
  return targets.map((t, i) => {
    const report = runTarget(t, opts.seed, counts[i]!, opts)
    opts.onProgress?.(report)
    return report
  })
}

/** A failure as one paragraph, with what it takes to reproduce it. */
export function formatFailure(f: Failure): string {
  return [
    `${f.target}: ${f.stage === 'decode' ? 'a non-BackspaceError exception' : f.stage === 'check' ? 'a decoded value breaks what senders are held to' : f.stage === 'round trip' ? 'the round trip changed the value' : 'too slow'}`,
    `  seed ${f.seed}, input #${f.iteration} (${f.how}); reproduce: npm run fuzz -- --seed ${f.seed} --target ${f.target}`,
    `  input ${f.input}`,
    `  ${f.error.split('\n').join('\n  ')}`
  ].join('\n')
}
