// The two links Backspace hands out: an invite (`backspace:`), which lets a member in, and a
// relay link (`backspace-relay:`), which lets a relay keep the room without reading it. Both
// are a prefix, then a versioned codec in z-base-32.
import c from 'compact-encoding'
import z32 from 'z32'
import { BackspaceError } from './errors.js'
import { decodeStrict, invite, relayLink, type Encoding, type Invite } from './messages.js'

export const INVITE_PREFIX = 'backspace:'
export const RELAY_LINK_PREFIX = 'backspace-relay:'

function encodeLink<T>(prefix: string, enc: Encoding<T>, value: T): string {
  return prefix + z32.encode(c.encode(enc, value))
}

function decodeLink<T>(text: string, prefix: string, enc: Encoding<T>, what: string): T {
  if (typeof text !== 'string' || !text.startsWith(prefix)) throw BackspaceError.INVALID_INVITE()
  try {
    return decodeStrict(enc, z32.decode(text.slice(prefix.length).trim()), what)
  } catch (err) {
    // The decoder's detail (a version number from random bytes) would only confuse.
    throw BackspaceError.INVALID_INVITE(`it is damaged or incomplete; copy the whole ${prefix} link`, err)
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

export function relayLinkOf(relaySecret: Buffer): string {
  return encodeLink(RELAY_LINK_PREFIX, relayLink, { relaySecret })
}

/** Parses a relay link into its relay secret. Throws INVALID_INVITE. */
export function parseRelayLink(text: string): Buffer {
  return decodeLink(text, RELAY_LINK_PREFIX, relayLink, 'relay link').relaySecret
}

export function isRelayLink(text: string): boolean {
  return typeof text === 'string' && text.startsWith(RELAY_LINK_PREFIX)
}
