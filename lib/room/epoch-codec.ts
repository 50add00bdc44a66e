// The wire formats of key epochs (issue 12, "removal is real"): the EPOCH record, which starts
// an epoch (a fresh content key sealed to each remaining member device) or grants the current
// key to devices that joined since, and the SEALED record, which carries another record
// encrypted under an epoch's key. Both sit in a member's signed, device-certified block, so the
// author of an epoch record is the block's certified author, never a field of the payload.
import c from 'compact-encoding'
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { BackspaceError } from '../errors.js'
import { hash, randomBytes } from '../crypto.js'
import { decodeRecord, decodeStrict, encodeRecord, MessageType, type Encoding, type MessageRecord, type Target } from '../messages.js'

/** Devices one epoch record seals the key to; a larger room writes several grant records. */
export const MAX_EPOCH_RECIPIENTS = 128
/** A crypto_box_seal of a 32-byte key. */
export const SEALED_KEY_BYTES = 32 + sodium.crypto_box_SEALBYTES
const CHECK_BYTES = 16
const NONCE_BYTES = sodium.crypto_secretbox_NONCEBYTES
const MAC_BYTES = sodium.crypto_secretbox_MACBYTES
/** The largest sealed record: a message of the largest size, with its framing, nonce and MAC. */
export const MAX_SEALED_BYTES = 17 * 1024 + NONCE_BYTES + MAC_BYTES

const NS_CHECK = b4a.from('backspace/epoch-key-check/v1')

/** One device's copy of an epoch key. */
export interface EpochRecipient {
  /** The device's Ed25519 key, as its certificate names it. */
  device: Buffer
  /** The epoch key, sealed (crypto_box_seal) to the device's X25519 key. */
  box: Buffer
}

export interface EpochRecord {
  /**
   * A new epoch: the GOVERN operation (kick, ban or lock) that caused it, written by the same
   * author. The epoch's id is the id of this record.
   */
  cause: Target | null
  /** A commitment to the new key, so a recipient can tell a junk box from the key. */
  check: Buffer | null
  /** A grant: the epoch (the id of the record that started it) whose key this hands on. */
  epoch: Target | null
  recipients: EpochRecipient[]
}

/** A record sealed under an epoch's key. */
export interface SealedRecord {
  /** The id of the record that started the epoch. */
  epoch: Target
  /** nonce || secretbox(the inner record as encodeRecord encodes it). */
  box: Buffer
}

/** Record kinds sealed under the current epoch: what members read. */
export function isSealable(type: number): boolean {
  return (
    type === MessageType.TEXT ||
    type === MessageType.ACTION ||
    type === MessageType.REPLY ||
    type === MessageType.EDIT ||
    type === MessageType.REACT ||
    type === MessageType.UNREACT
  )
}

const EPOCH_VERSION = 1
const FLAG_START = 1
const FLAG_GRANT = 2
const SEALED_VERSION = 1

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
    const core = c.fixed(16).decode(state)
    const seq = c.uint.decode(state)
    if (!Number.isSafeInteger(seq)) throw BackspaceError.DECODE_FAILED('seq out of range')
    return { core, seq }
  }
}

/** v1: version, flags (start or grant, exactly one), its fields, then the recipients. */
export const epochRecord: Encoding<EpochRecord> = {
  preencode(state, e) {
    c.uint.preencode(state, EPOCH_VERSION)
    c.uint.preencode(state, e.cause ? FLAG_START : FLAG_GRANT)
    if (e.cause) {
      target.preencode(state, e.cause)
      c.fixed(CHECK_BYTES).preencode(state, e.check!)
    } else target.preencode(state, e.epoch!)
    c.uint.preencode(state, e.recipients.length)
    for (const r of e.recipients) {
      c.fixed32.preencode(state, r.device)
      c.fixed(SEALED_KEY_BYTES).preencode(state, r.box)
    }
  },
  encode(state, e) {
    c.uint.encode(state, EPOCH_VERSION)
    c.uint.encode(state, e.cause ? FLAG_START : FLAG_GRANT)
    if (e.cause) {
      target.encode(state, e.cause)
      c.fixed(CHECK_BYTES).encode(state, e.check!)
    } else target.encode(state, e.epoch!)
    c.uint.encode(state, e.recipients.length)
    for (const r of e.recipients) {
      c.fixed32.encode(state, r.device)
      c.fixed(SEALED_KEY_BYTES).encode(state, r.box)
    }
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== EPOCH_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`epoch record v${version}`)
    const flags = c.uint.decode(state)
    if (flags !== FLAG_START && flags !== FLAG_GRANT) throw BackspaceError.DECODE_FAILED(`epoch record flags ${flags}`)
    let cause: Target | null = null
    let check: Buffer | null = null
    let epoch: Target | null = null
    if (flags === FLAG_START) {
      cause = target.decode(state)
      check = c.fixed(CHECK_BYTES).decode(state)
    } else epoch = target.decode(state)
    const count = c.uint.decode(state)
    if (count > MAX_EPOCH_RECIPIENTS || count * (32 + SEALED_KEY_BYTES) > state.end - state.start) {
      throw BackspaceError.DECODE_FAILED(`${count} epoch recipients`)
    }
    if (count === 0 && flags === FLAG_GRANT) throw BackspaceError.DECODE_FAILED('a grant to nobody')
    const recipients: EpochRecipient[] = []
    for (let i = 0; i < count; i++) recipients.push({ device: c.fixed32.decode(state), box: c.fixed(SEALED_KEY_BYTES).decode(state) })
    return { cause, check, epoch, recipients }
  }
}

export const sealedRecord: Encoding<SealedRecord> = {
  preencode(state, s) {
    c.uint.preencode(state, SEALED_VERSION)
    target.preencode(state, s.epoch)
    c.buffer.preencode(state, s.box)
  },
  encode(state, s) {
    c.uint.encode(state, SEALED_VERSION)
    target.encode(state, s.epoch)
    c.buffer.encode(state, s.box)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== SEALED_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`sealed record v${version}`)
    const epoch = target.decode(state)
    const box = c.buffer.decode(state)
    if (!box || box.byteLength < NONCE_BYTES + MAC_BYTES || box.byteLength > MAX_SEALED_BYTES) {
      throw BackspaceError.DECODE_FAILED('sealed record size')
    }
    return { epoch, box }
  }
}

export function encodeEpochRecord(e: EpochRecord): Buffer {
  if ((e.cause === null) === (e.epoch === null)) throw BackspaceError.INVALID_ARGUMENT('an epoch record starts an epoch or grants one')
  if (e.recipients.length > MAX_EPOCH_RECIPIENTS) throw BackspaceError.INVALID_ARGUMENT('too many recipients')
  return c.encode(epochRecord, e)
}

export function decodeEpochRecord(buf: Buffer): EpochRecord {
  return decodeStrict(epochRecord, buf, 'epoch record')
}

export function decodeSealedRecord(buf: Buffer): SealedRecord {
  return decodeStrict(sealedRecord, buf, 'sealed record')
}

/** The commitment to an epoch key that a start record carries. */
export function keyCheck(key: Buffer): Buffer {
  return hash([NS_CHECK], key, CHECK_BYTES)
}

/** A fresh random epoch key. */
export function newEpochKey(): Buffer {
  return randomBytes(32)
}

/** Seals `record` under `key`, as the payload of a SEALED record of the same timestamp. */
export function sealRecord(record: MessageRecord, epoch: Target, key: Buffer): MessageRecord {
  const plain = encodeRecord(record)
  const box = b4a.alloc(NONCE_BYTES + plain.byteLength + MAC_BYTES)
  const nonce = box.subarray(0, NONCE_BYTES)
  sodium.randombytes_buf(nonce)
  sodium.crypto_secretbox_easy(box.subarray(NONCE_BYTES), plain, nonce, key)
  return { type: MessageType.SEALED, timestamp: record.timestamp, text: '', payload: c.encode(sealedRecord, { epoch, box }) }
}

/**
 * The record inside a sealed one, or a coded error: it does not open under `key`, does not
 * decode, is of a kind that is never sealed, or claims another time than its envelope.
 */
export function openRecord(sealed: SealedRecord, timestamp: number, key: Buffer): MessageRecord {
  const { box } = sealed
  const plain = b4a.alloc(box.byteLength - NONCE_BYTES - MAC_BYTES)
  if (!sodium.crypto_secretbox_open_easy(plain, box.subarray(NONCE_BYTES), box.subarray(0, NONCE_BYTES), key)) {
    throw BackspaceError.DECODE_FAILED('sealed record does not open with its epoch key')
  }
  const record = decodeRecord(plain)
  if (!isSealable(record.type)) throw BackspaceError.DECODE_FAILED(`sealed record of kind ${record.type}`)
  if (record.timestamp !== timestamp) throw BackspaceError.DECODE_FAILED('sealed record time differs from its envelope')
  return record
}
