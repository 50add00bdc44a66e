// The links Backspace hands out: an invite (`backspace:`), which lets a member in, a relay
// link (`backspace-relay:`), which lets a relay keep the room without reading it, and a
// device link (`backspace-device:`), which lets a new device ask to join an identity. Each is
// a prefix, then a versioned codec in z-base-32.
import c from 'compact-encoding'
import z32 from 'z32'
import { BackspaceError } from './errors.js'
import { decodeStrict, invite, relayLink, type Encoding, type Invite, type RelayLink } from './messages.js'
import { deviceLink, type DeviceLink } from './identity/pairing-messages.js'

export const INVITE_PREFIX = 'backspace:'
export const RELAY_LINK_PREFIX = 'backspace-relay:'
export const DEVICE_LINK_PREFIX = 'backspace-device:'

function encodeLink<T>(prefix: string, enc: Encoding<T>, value: T): string {
  return prefix + z32.encode(c.encode(enc, value))
}

function decodeLink<T>(
  text: string,
  prefix: string,
  enc: Encoding<T>,
  what: string,
  invalid: (detail?: string, cause?: unknown) => BackspaceError = BackspaceError.INVALID_INVITE
): T {
  if (typeof text !== 'string' || !text.trim().startsWith(prefix)) throw invalid()
  try {
    return decodeStrict(enc, z32.decode(text.trim().slice(prefix.length)), what)
  } catch (err) {
    // The decoder's detail (a version number from random bytes) would only confuse.
    throw invalid(`it is damaged or incomplete; copy the whole ${prefix} link`, err)
  }
}

export function inviteLink(value: Invite): string {
  return encodeLink(INVITE_PREFIX, invite, value)
}

/** Parses an invite. Throws INVALID_INVITE. */
export function parseInvite(text: string): Invite {
  return decodeLink(text, INVITE_PREFIX, invite, 'invite')
}

export function isInvite(text: string): boolean {
  return typeof text === 'string' && text.startsWith(INVITE_PREFIX)
}

/** A relay link; with the room's admission public key, the relay checks who made each core. */
export function relayLinkOf(relaySecret: Buffer, admissionKey: Buffer | null = null): string {
  return encodeLink(RELAY_LINK_PREFIX, relayLink, { relaySecret, admissionKey })
}

/** Parses a relay link: its relay secret, and the admission key if it carries one. Throws INVALID_INVITE. */
export function parseRelayLink(text: string): RelayLink {
  return decodeLink(text, RELAY_LINK_PREFIX, relayLink, 'relay link')
}

export function isRelayLink(text: string): boolean {
  return typeof text === 'string' && text.startsWith(RELAY_LINK_PREFIX)
}

export function deviceLinkOf(value: DeviceLink): string {
  return encodeLink(DEVICE_LINK_PREFIX, deviceLink, value)
}

/** Parses a device link. Throws DEVICE_LINK_INVALID. */
export function parseDeviceLink(text: string): DeviceLink {
  return decodeLink(text, DEVICE_LINK_PREFIX, deviceLink, 'device link', BackspaceError.DEVICE_LINK_INVALID)
}

export function isDeviceLink(text: string): boolean {
  return typeof text === 'string' && text.trim().startsWith(DEVICE_LINK_PREFIX)
}
