// The formats of device linking: the one-time link, and the frames the two devices exchange,
// each sealed with a key derived from the link's secret before it goes on the wire.
import c from 'compact-encoding'
import b4a from 'b4a'
import { BackspaceError } from '../errors.js'
import { profileFields, type Encoding, type ProfileFields, type State } from '../messages.js'
import { MAX_DEVICE_NAME_BYTES } from './device.js'

/** What a `backspace-device:` link holds. */
export interface DeviceLink {
  /** 32 random bytes: the topic, the channel and the frame keys all derive from it. */
  secret: Buffer
  /** ms since the epoch, a whole second: after it, neither side goes on. */
  expiresAt: number
  /**
   * 16 bytes that commit to the identity that made the link, so the new device accepts a
   * certificate of that identity only (see `identityCheck` in pairing.ts).
   */
  identityCheck: Buffer
}

const LINK_VERSION = 1
const IDENTITY_CHECK_BYTES = 16
const fixed16 = c.fixed(IDENTITY_CHECK_BYTES)

// The year 10000, in seconds: any later expiry is garbage.
const MAX_LINK_SECONDS = 253_402_300_800

export const deviceLink: Encoding<DeviceLink> = {
  preencode(state, l) {
    c.uint.preencode(state, LINK_VERSION)
    c.fixed32.preencode(state, l.secret)
    c.uint.preencode(state, Math.ceil(l.expiresAt / 1000))
    fixed16.preencode(state, l.identityCheck)
  },
  encode(state, l) {
    c.uint.encode(state, LINK_VERSION)
    c.fixed32.encode(state, l.secret)
    c.uint.encode(state, Math.ceil(l.expiresAt / 1000))
    fixed16.encode(state, l.identityCheck)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== LINK_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`device link v${version}`)
    const secret = c.fixed32.decode(state)
    const seconds = c.uint.decode(state)
    // Fuzzing found: a huge expiry made a time past the safe integers. No link lives that long.
    if (seconds > MAX_LINK_SECONDS) throw BackspaceError.DECODE_FAILED('device link expiry out of range')
    const expiresAt = seconds * 1000
    const identityCheck = fixed16.decode(state)
    state.start = state.end
    return { secret, expiresAt, identityCheck }
  }
}

/** A room the approving device hands over, so the new device shows the same rooms. */
export interface LinkedRoom {
  /** `RoomKind.NAMED` or `RoomKind.PRIVATE`. */
  kind: number
  secret: Buffer
  name: string
}

export const MAX_LINKED_ROOMS = 256
const MAX_ROOM_LABEL_BYTES = 256

export type PairingFrame =
  /** New device → approver: its key and name, signed by the device key for this connection. */
  | { type: 'request'; device: Buffer; name: string; signature: Buffer }
  /** Approver → new device: its certificate and what the account's devices share. */
  | {
      type: 'grant'
      certificate: Buffer
      accountKey: Buffer
      profile: ProfileFields
      rooms: LinkedRoom[]
      /** The identity's other devices: encoded certificates, then encoded revocations. */
      devices: Buffer[]
      revocations: Buffer[]
    }
  /** Approver → new device: the user said no. */
  | { type: 'deny' }
  /** Approver → new device: the link was used already, or has expired. */
  | { type: 'gone' }
  /** New device → approver: the grant is saved; the channel can close. */
  | { type: 'done' }

const FRAME_VERSION = 1
const FRAME_TYPES = ['request', 'grant', 'deny', 'gone', 'done'] as const
const GRANT_FLAG_ROOMS = 1
const GRANT_FLAG_DEVICES = 2
/** Devices and revocations a grant carries, at most, each. */
export const MAX_GRANT_DEVICES = 256
const MAX_DEVICE_RECORD_BYTES = 1024

const linkedRoom: Encoding<LinkedRoom> = {
  preencode(state, r) {
    c.uint.preencode(state, r.kind)
    c.fixed32.preencode(state, r.secret)
    c.string.preencode(state, r.name)
  },
  encode(state, r) {
    c.uint.encode(state, r.kind)
    c.fixed32.encode(state, r.secret)
    c.string.encode(state, r.name)
  },
  decode(state) {
    const kind = c.uint.decode(state)
    if (kind !== 0 && kind !== 1) throw BackspaceError.DECODE_FAILED('unknown room kind')
    const secret = c.fixed32.decode(state)
    const name = c.string.decode(state)
    if (b4a.byteLength(name) > MAX_ROOM_LABEL_BYTES) throw BackspaceError.DECODE_FAILED('room label too long')
    return { kind, secret, name }
  }
}

export const pairingFrame: Encoding<PairingFrame> = {
  preencode(state, f) {
    c.uint.preencode(state, FRAME_VERSION)
    c.uint.preencode(state, FRAME_TYPES.indexOf(f.type))
    switch (f.type) {
      case 'request':
        c.fixed32.preencode(state, f.device)
        c.string.preencode(state, f.name)
        c.fixed64.preencode(state, f.signature)
        break
      case 'grant':
        c.uint.preencode(state, grantFlags(f))
        c.buffer.preencode(state, f.certificate)
        c.fixed32.preencode(state, f.accountKey)
        profileFields.preencode(state, f.profile)
        if (f.rooms.length) {
          c.uint.preencode(state, f.rooms.length)
          for (const r of f.rooms) linkedRoom.preencode(state, r)
        }
        if (f.devices.length || f.revocations.length) {
          bufferList.preencode(state, f.devices)
          bufferList.preencode(state, f.revocations)
        }
        break
    }
  },
  encode(state, f) {
    c.uint.encode(state, FRAME_VERSION)
    c.uint.encode(state, FRAME_TYPES.indexOf(f.type))
    switch (f.type) {
      case 'request':
        c.fixed32.encode(state, f.device)
        c.string.encode(state, f.name)
        c.fixed64.encode(state, f.signature)
        break
      case 'grant':
        c.uint.encode(state, grantFlags(f))
        c.buffer.encode(state, f.certificate)
        c.fixed32.encode(state, f.accountKey)
        profileFields.encode(state, f.profile)
        if (f.rooms.length) {
          c.uint.encode(state, f.rooms.length)
          for (const r of f.rooms) linkedRoom.encode(state, r)
        }
        if (f.devices.length || f.revocations.length) {
          bufferList.encode(state, f.devices)
          bufferList.encode(state, f.revocations)
        }
        break
    }
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== FRAME_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`pairing frame v${version}`)
    const type = FRAME_TYPES[c.uint.decode(state)]
    switch (type) {
      case 'request': {
        const device = c.fixed32.decode(state)
        const name = c.string.decode(state)
        if (b4a.byteLength(name) > MAX_DEVICE_NAME_BYTES) throw BackspaceError.DECODE_FAILED('device name too long')
        const signature = c.fixed64.decode(state)
        return { type, device, name, signature }
      }
      case 'grant': {
        const flags = c.uint.decode(state)
        const certificate = c.buffer.decode(state)
        if (!certificate) throw BackspaceError.DECODE_FAILED('grant without a certificate')
        const accountKey = c.fixed32.decode(state)
        const profile = profileFields.decode(state)
        const rooms: LinkedRoom[] = []
        if (flags & GRANT_FLAG_ROOMS) {
          const count = c.uint.decode(state)
          if (count > MAX_LINKED_ROOMS) throw BackspaceError.DECODE_FAILED('too many rooms')
          for (let i = 0; i < count; i++) rooms.push(linkedRoom.decode(state))
        }
        const devices = flags & GRANT_FLAG_DEVICES ? boundedBuffers(state) : []
        const revocations = flags & GRANT_FLAG_DEVICES ? boundedBuffers(state) : []
        return { type, certificate, accountKey, profile, rooms, devices, revocations }
      }
      case 'deny':
      case 'gone':
      case 'done':
        return { type }
      default:
        throw BackspaceError.DECODE_FAILED('unknown pairing frame')
    }
  }
}

function grantFlags(f: Extract<PairingFrame, { type: 'grant' }>): number {
  return (f.rooms.length ? GRANT_FLAG_ROOMS : 0) | (f.devices.length || f.revocations.length ? GRANT_FLAG_DEVICES : 0)
}

const bufferList: Encoding<Buffer[]> = {
  preencode(state, list) {
    c.uint.preencode(state, list.length)
    for (const b of list) c.buffer.preencode(state, b)
  },
  encode(state, list) {
    c.uint.encode(state, list.length)
    for (const b of list) c.buffer.encode(state, b)
  },
  decode: boundedBuffers
}

// A count is checked before anything is allocated for it.
function boundedBuffers(state: State): Buffer[] {
  const count = c.uint.decode(state)
  if (count > MAX_GRANT_DEVICES) throw BackspaceError.DECODE_FAILED('too many devices')
  const out: Buffer[] = []
  for (let i = 0; i < count; i++) {
    const b = c.buffer.decode(state)
    if (!b || b.byteLength > MAX_DEVICE_RECORD_BYTES) throw BackspaceError.DECODE_FAILED('bad device record')
    out.push(b)
  }
  return out
}
