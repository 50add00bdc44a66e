// The links Backspace hands out: an invite (`backspace:`), which lets a member in, a relay
// link (`backspace-relay:`), which lets a relay keep the room without reading it, and a
// device link (`backspace-device:`), which lets a new device ask to join an identity. Each is
// a prefix, then a versioned codec in z-base-32.
//
// Invites and relay links are v2 links: a frame around the record with a checksum, so that a
// typo or a cut link is refused instead of opening an empty room with the same label. v1 links
// (the record alone) still parse.
import b4a from 'b4a'
import c from 'compact-encoding'
import z32 from 'z32'
import { hash } from './crypto.js'
import { BackspaceError } from './errors.js'
import { decodeStrict, invite, relayLink, type Encoding, type Invite, type RelayLink } from './messages.js'
import { deviceLink, type DeviceLink } from './identity/pairing-messages.js'
import { contactRecord, type Contact } from './social/codecs.js'
import { relayNodeRecord, type RelayNode } from './social/relay-service.js'

export const INVITE_PREFIX = 'backspace:'
export const RELAY_LINK_PREFIX = 'backspace-relay:'
export const DEVICE_LINK_PREFIX = 'backspace-device:'
export const CONTACT_LINK_PREFIX = 'backspace-contact:'
export const RELAY_NODE_PREFIX = 'backspace-relay-node:'

function encodeLink<T>(prefix: string, enc: Encoding<T>, value: T): string {
  return prefix + z32.encode(c.encode(enc, value))
}

/** The first byte of a v2 link; a v1 link starts with its record's version, 1. */
const CHECKED_LINK_VERSION = 2
const CHECKSUM_BYTES = 4

// The checksum covers the prefix too: an invite's body under the relay prefix is refused.
function checksum(prefix: string, body: Buffer): Buffer {
  return hash([b4a.from('backspace link checksum'), b4a.from(prefix), body], undefined, 16).subarray(0, CHECKSUM_BYTES)
}

function encodeCheckedLink<T>(prefix: string, enc: Encoding<T>, value: T): string {
  const body = b4a.concat([c.encode(c.uint, CHECKED_LINK_VERSION), c.encode(enc, value)])
  return prefix + z32.encode(b4a.concat([body, checksum(prefix, body)]))
}

const TYPO = 'it has a typo or is cut short'

/**
 * Parses a v2 link (checksummed) or a v1 link. A v2 link whose checksum does not match is a
 * typo: refused, never read as another room.
 */
function decodeCheckedLink<T>(text: string, prefix: string, enc: Encoding<T>, what: string): T {
  if (typeof text !== 'string' || !hasPrefix(text, prefix)) throw BackspaceError.INVALID_INVITE()
  const copy = `; copy the whole ${prefix} link again`
  let bytes: Buffer
  try {
    bytes = z32.decode(text.trim().slice(prefix.length))
  } catch (err) {
    throw BackspaceError.INVALID_INVITE(`${TYPO} (a character that no link holds)${copy}`, err)
  }
  if (bytes.byteLength === 0 || bytes[0] !== CHECKED_LINK_VERSION) {
    try {
      return decodeStrict(enc, bytes, what)
    } catch (err) {
      throw BackspaceError.INVALID_INVITE(`it is damaged or incomplete${copy}`, err)
    }
  }
  // The last character carries spare bits: a typo there may decode to the same bytes.
  if (z32.encode(bytes) !== text.trim().slice(prefix.length)) {
    throw BackspaceError.INVALID_INVITE(`${TYPO}: its last character is wrong${copy}`)
  }
  const body = bytes.subarray(0, Math.max(1, bytes.byteLength - CHECKSUM_BYTES))
  const sum = bytes.subarray(body.byteLength)
  if (sum.byteLength !== CHECKSUM_BYTES || !b4a.equals(sum, checksum(prefix, body))) {
    throw BackspaceError.INVALID_INVITE(`${TYPO}: its checksum does not match${copy}`)
  }
  try {
    return decodeStrict(enc, body.subarray(1), what)
  } catch (err) {
    throw BackspaceError.INVALID_INVITE(`it is damaged or incomplete${copy}`, err)
  }
}

function hasPrefix(text: string, prefix: string): boolean {
  return text.trim().startsWith(prefix)
}

/**
 * True for text that is meant as a Backspace link but whose start is mistyped
 * (`backspce:yb…`, `Backspace:yb…`): joining it as a room name would open an empty room.
 */
export function looksLikeLink(text: string): boolean {
  if (typeof text !== 'string') return false
  const t = text.trim()
  if (t.startsWith(INVITE_PREFIX) || t.startsWith(RELAY_LINK_PREFIX) || t.startsWith(DEVICE_LINK_PREFIX)) return true
  if (t.startsWith(CONTACT_LINK_PREFIX) || t.startsWith(RELAY_NODE_PREFIX)) return true
  // A word of letters and dashes, a colon, then a long run of z-base-32 without spaces.
  return /^[a-z][a-z-]{3,20}:\s*[a-z0-9]{24,}$/i.test(t)
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

/** A v2 invite: the invite record, with a checksum. */
export function inviteLink(value: Invite): string {
  return encodeCheckedLink(INVITE_PREFIX, invite, value)
}

/** Parses an invite (v2, or v1 without a checksum). Throws INVALID_INVITE, with a sentence. */
export function parseInvite(text: string): Invite {
  return decodeCheckedLink(text, INVITE_PREFIX, invite, 'invite')
}

export function isInvite(text: string): boolean {
  return typeof text === 'string' && hasPrefix(text, INVITE_PREFIX)
}

/** A v2 relay link, with a checksum; with the room's admission public key, the relay checks who made each core. */
export function relayLinkOf(relaySecret: Buffer, admissionKey: Buffer | null = null): string {
  return encodeCheckedLink(RELAY_LINK_PREFIX, relayLink, { relaySecret, admissionKey })
}

/** Parses a relay link (v2, or v1): its relay secret, and the admission key if it carries one. Throws INVALID_INVITE. */
export function parseRelayLink(text: string): RelayLink {
  return decodeCheckedLink(text, RELAY_LINK_PREFIX, relayLink, 'relay link')
}

export function isRelayLink(text: string): boolean {
  return typeof text === 'string' && hasPrefix(text, RELAY_LINK_PREFIX)
}

/** @internal A v1 link, as builds before the checksum made them: for tests of old links. */
export function legacyLink(kind: 'invite', value: Invite): string
export function legacyLink(kind: 'relay', value: { relaySecret: Buffer }): string
export function legacyLink(kind: 'invite' | 'relay', value: Invite | { relaySecret: Buffer }): string {
  return kind === 'invite'
    ? encodeLink(INVITE_PREFIX, invite, value as Invite)
    : encodeLink(RELAY_LINK_PREFIX, relayLink, value as { relaySecret: Buffer })
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

/** A contact link: an identity key and a display name, with a checksum (lib/social). */
export function contactLinkOf(value: Contact): string {
  return encodeCheckedLink(CONTACT_LINK_PREFIX, contactRecord, value)
}

/** Parses a contact link. Throws INVALID_INVITE, with a sentence. */
export function parseContactLink(text: string): Contact {
  return decodeCheckedLink(text, CONTACT_LINK_PREFIX, contactRecord, 'contact link')
}

export function isContactLink(text: string): boolean {
  return typeof text === 'string' && hasPrefix(text, CONTACT_LINK_PREFIX)
}

/** A relay node link: what `backspace relay --serve` prints, and `node.relays.add` takes. */
export function relayNodeLinkOf(value: RelayNode): string {
  return encodeCheckedLink(RELAY_NODE_PREFIX, relayNodeRecord, value)
}

/** Parses a relay node link. Throws INVALID_INVITE, with a sentence. */
export function parseRelayNodeLink(text: string): RelayNode {
  return decodeCheckedLink(text, RELAY_NODE_PREFIX, relayNodeRecord, 'relay node link')
}

export function isRelayNodeLink(text: string): boolean {
  return typeof text === 'string' && hasPrefix(text, RELAY_NODE_PREFIX)
}
