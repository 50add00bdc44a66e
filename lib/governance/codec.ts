// The wire format of a governance operation: the payload of a GOVERN record in a member's
// signed, device-certified writer block. The block signature covers the room id, the core and
// the block's index, so an operation cannot be moved to another room or another place; the
// identity that acts is the block's certified author, never a field of the payload.
import c from 'compact-encoding'
import b4a from 'b4a'
import { BackspaceError } from '../errors.js'
import { decodeStrict, messageTextProblem, type Encoding, type Target } from '../messages.js'

/** What an operation does. Numbers are on the wire: never reuse one. */
export const GovAction = {
  /** Claims a room that has no owner yet (`nonce` proves it in a room made by createRoom). */
  CLAIM: 0,
  /** Acknowledges `target` as the owner: how members settle concurrent claims. */
  ACK: 1,
  TOPIC: 2,
  ANNOUNCE: 3,
  WELCOME: 4,
  OP: 5,
  DEOP: 6,
  ADMIN: 7,
  UNADMIN: 8,
  KICK: 9,
  BAN: 10,
  UNBAN: 11,
  /** Deletes another member's message (`message`). */
  DELETE: 12,
  /** Sets one of the room's settings (`setting`, `value`). */
  SET: 13,
  /** The Backspace wipe: every message block written before it (by its clock) is deleted. */
  WIPE: 14,
  /**
   * A newcomer's proof that it knows the password of the current lock (`proof`): readers let
   * it in while the room is locked, and in a created room members give it the epoch key.
   */
  ACCESS: 15
} as const
export type GovActionValue = (typeof GovAction)[keyof typeof GovAction]
const LAST_ACTION = GovAction.ACCESS

/** The numeric settings a SET operation may change. */
export const GovSetting = {
  SLOW_MODE: 0,
  MAX_USERS: 1,
  TTL: 2,
  ALLOW_ANONYMOUS: 3,
  ALLOW_FILES: 4,
  LOCKED: 5,
  PRIVATE: 6
} as const
export type GovSettingValue = (typeof GovSetting)[keyof typeof GovSetting]
const LAST_SETTING = GovSetting.PRIVATE

/** One writer core's length as the operation's author saw it: the causal state it was made in. */
export interface ClockEntry {
  /** The first 16 bytes of the writer core's key. */
  core: Buffer
  /** Blocks of that core the author had seen when it acted. */
  length: number
}

export interface GovOperation {
  action: GovActionValue
  /** The identity acted on (op, kick, ack...). */
  target: Buffer | null
  /** Topic, announcement, welcome, or a kick/ban reason. */
  text: string
  /** The message a DELETE removes. */
  message: Target | null
  setting: GovSettingValue | null
  value: number
  /** CLAIM in an owned room: the secret's preimage, which binds the room to its creator. */
  nonce: Buffer | null
  /** The writer cores' lengths the author had seen: the causal state of the operation. */
  clock: ClockEntry[]
  /** A lock with a password: the public key derived from it (`lockKeyPair`), which checks access proofs. */
  key?: Buffer | null
  /** ACCESS: the signature, by the lock's password key, over the lock and the newcomer (`accessSignable`). */
  proof?: Buffer | null
}

/** Writer cores one operation may name; a room has at most this many writers anyway. */
export const MAX_CLOCK_ENTRIES = 256
/** Topic, announcement, welcome and reasons: shorter than a message. */
export const MAX_GOV_TEXT_BYTES = 1024
/** Settings are small numbers (seconds, counts, ms of a TTL up to 7 days). */
export const MAX_SETTING_VALUE = 2 ** 40

const VERSION = 1
const FLAG_TARGET = 1
const FLAG_TEXT = 2
const FLAG_MESSAGE = 4
const FLAG_SETTING = 8
const FLAG_NONCE = 16
const FLAG_KEY = 32
const FLAG_PROOF = 64
const KNOWN_FLAGS = 127

function flagsOf(op: GovOperation): number {
  return (
    (op.target ? FLAG_TARGET : 0) |
    (op.text ? FLAG_TEXT : 0) |
    (op.message ? FLAG_MESSAGE : 0) |
    (op.setting !== null ? FLAG_SETTING : 0) |
    (op.nonce ? FLAG_NONCE : 0) |
    (op.key ? FLAG_KEY : 0) |
    (op.proof ? FLAG_PROOF : 0)
  )
}

const clockEntry: Encoding<ClockEntry> = {
  preencode(state, e) {
    c.fixed(16).preencode(state, e.core)
    c.uint.preencode(state, e.length)
  },
  encode(state, e) {
    c.fixed(16).encode(state, e.core)
    c.uint.encode(state, e.length)
  },
  decode(state) {
    return { core: c.fixed(16).decode(state), length: c.uint.decode(state) }
  }
}

/** v1: version, action, flags, then each flagged field, then the clock. */
export const govOperation: Encoding<GovOperation> = {
  preencode(state, op) {
    c.uint.preencode(state, VERSION)
    c.uint.preencode(state, op.action)
    c.uint.preencode(state, flagsOf(op))
    if (op.target) c.fixed32.preencode(state, op.target)
    if (op.text) c.string.preencode(state, op.text)
    if (op.message) {
      c.fixed(16).preencode(state, op.message.core)
      c.uint.preencode(state, op.message.seq)
    }
    if (op.setting !== null) {
      c.uint.preencode(state, op.setting)
      c.uint.preencode(state, op.value)
    }
    if (op.nonce) c.fixed32.preencode(state, op.nonce)
    if (op.key) c.fixed32.preencode(state, op.key)
    if (op.proof) c.fixed64.preencode(state, op.proof)
    c.uint.preencode(state, op.clock.length)
    for (const e of op.clock) clockEntry.preencode(state, e)
  },
  encode(state, op) {
    c.uint.encode(state, VERSION)
    c.uint.encode(state, op.action)
    c.uint.encode(state, flagsOf(op))
    if (op.target) c.fixed32.encode(state, op.target)
    if (op.text) c.string.encode(state, op.text)
    if (op.message) {
      c.fixed(16).encode(state, op.message.core)
      c.uint.encode(state, op.message.seq)
    }
    if (op.setting !== null) {
      c.uint.encode(state, op.setting)
      c.uint.encode(state, op.value)
    }
    if (op.nonce) c.fixed32.encode(state, op.nonce)
    if (op.key) c.fixed32.encode(state, op.key)
    if (op.proof) c.fixed64.encode(state, op.proof)
    c.uint.encode(state, op.clock.length)
    for (const e of op.clock) clockEntry.encode(state, e)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`governance operation v${version}`)
    const action = c.uint.decode(state)
    if (action > LAST_ACTION) throw BackspaceError.UNSUPPORTED_VERSION(`governance action ${action}`)
    const flags = c.uint.decode(state)
    if ((flags & ~KNOWN_FLAGS) !== 0) throw BackspaceError.DECODE_FAILED('unknown governance flags')
    const target = flags & FLAG_TARGET ? c.fixed32.decode(state) : null
    const text = flags & FLAG_TEXT ? c.string.decode(state) : ''
    if (b4a.byteLength(text) > MAX_GOV_TEXT_BYTES) throw BackspaceError.DECODE_FAILED('governance text too long')
    const problem = text ? messageTextProblem(text) : null
    if (problem) throw BackspaceError.DECODE_FAILED(problem)
    const message = flags & FLAG_MESSAGE ? { core: c.fixed(16).decode(state), seq: c.uint.decode(state) } : null
    let setting: GovSettingValue | null = null
    let value = 0
    if (flags & FLAG_SETTING) {
      const s = c.uint.decode(state)
      if (s > LAST_SETTING) throw BackspaceError.UNSUPPORTED_VERSION(`governance setting ${s}`)
      setting = s as GovSettingValue
      value = c.uint.decode(state)
      if (value > MAX_SETTING_VALUE) throw BackspaceError.DECODE_FAILED('setting value out of range')
    }
    const nonce = flags & FLAG_NONCE ? c.fixed32.decode(state) : null
    const key = flags & FLAG_KEY ? c.fixed32.decode(state) : null
    const proof = flags & FLAG_PROOF ? c.fixed64.decode(state) : null
    const count = c.uint.decode(state)
    if (count > MAX_CLOCK_ENTRIES || count > state.end - state.start) throw BackspaceError.DECODE_FAILED(`${count} clock entries`)
    const clock: ClockEntry[] = []
    for (let i = 0; i < count; i++) clock.push(clockEntry.decode(state))
    const op: GovOperation = { action: action as GovActionValue, target, text, message, setting, value, nonce, clock, key, proof }
    const shape = shapeProblem(op)
    if (shape) throw BackspaceError.DECODE_FAILED(shape)
    return op
  }
}

/** Why an operation has the wrong fields for its action, or null: senders and readers alike. */
export function shapeProblem(op: GovOperation): string | null {
  const needsTarget =
    op.action === GovAction.ACK ||
    (op.action >= GovAction.OP && op.action <= GovAction.UNBAN)
  if (needsTarget !== (op.target !== null)) return `governance action ${op.action}: target ${needsTarget ? 'missing' : 'not expected'}`
  if ((op.action === GovAction.DELETE) !== (op.message !== null)) return `governance action ${op.action}: message`
  if ((op.action === GovAction.SET) !== (op.setting !== null)) return `governance action ${op.action}: setting`
  if (op.nonce !== null && op.action !== GovAction.CLAIM) return `governance action ${op.action}: nonce`
  const locks = op.action === GovAction.SET && op.setting === GovSetting.LOCKED && op.value === 1
  if ((op.key ?? null) !== null && !locks) return `governance action ${op.action}: key`
  if ((op.action === GovAction.ACCESS) !== ((op.proof ?? null) !== null)) return `governance action ${op.action}: proof`
  if (op.text && op.action !== GovAction.TOPIC && op.action !== GovAction.ANNOUNCE && op.action !== GovAction.WELCOME && op.action !== GovAction.KICK && op.action !== GovAction.BAN) {
    return `governance action ${op.action}: text`
  }
  if (b4a.byteLength(op.text) > MAX_GOV_TEXT_BYTES) return 'governance text too long'
  return null
}

export function encodeGovOperation(op: GovOperation): Buffer {
  const problem = shapeProblem(op)
  if (problem) throw BackspaceError.INVALID_ARGUMENT(problem)
  return c.encode(govOperation, op)
}

export function decodeGovOperation(buf: Buffer): GovOperation {
  return decodeStrict(govOperation, buf, 'governance operation')
}
