// The wire and storage formats of the social layer, each versioned: the contact link's record,
// a friend request (sealed to its recipient), the record that accepts one inside the DM, and the
// account's social view (contacts and blocks), which the account log carries to every device.
import c from 'compact-encoding'
import b4a from 'b4a'
import { BackspaceError } from '../errors.js'
import { hash, sign, verify } from '../crypto.js'
import { profileTextProblem, messageTextProblem, type Encoding } from '../messages.js'

/** The longest text of a friend request, in bytes. */
export const MAX_REQUEST_TEXT_BYTES = 512
/** Contacts and blocks the account remembers at most; a view with more is refused. */
export const MAX_CONTACTS = 128

const NS_REQUEST = b4a.from('backspace/friend-request/v1')

// ---------------------------------------------------------------------------------------------
// Contact link: an identity key and the name its owner goes by
// ---------------------------------------------------------------------------------------------

export interface Contact {
  key: Buffer
  name: string
}

const CONTACT_VERSION = 1

export const contactRecord: Encoding<Contact> = {
  preencode(state, v) {
    c.uint.preencode(state, CONTACT_VERSION)
    c.fixed32.preencode(state, v.key)
    c.string.preencode(state, v.name)
  },
  encode(state, v) {
    c.uint.encode(state, CONTACT_VERSION)
    c.fixed32.encode(state, v.key)
    c.string.encode(state, v.name)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== CONTACT_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`contact link v${version}`)
    const key = c.fixed32.decode(state)
    const name = c.string.decode(state)
    if (name !== '') checkName(name)
    return { key, name }
  }
}

function checkName(name: string): void {
  const problem = profileTextProblem('name', name)
  if (problem) throw BackspaceError.DECODE_FAILED(problem)
}

// ---------------------------------------------------------------------------------------------
// Friend request: signed by the sender's identity, sealed to the recipient's
// ---------------------------------------------------------------------------------------------

export interface FriendRequestBody {
  from: Buffer
  to: Buffer
  /** The per-DM salt: with the two identities' shared secret, it makes the DM's secret. */
  salt: Buffer
  timestamp: number
  /** The sender's display name when it asked. */
  name: string
  text: string
}

export interface SignedFriendRequest extends FriendRequestBody {
  signature: Buffer
}

const REQUEST_VERSION = 1

const requestBody: Encoding<FriendRequestBody> = {
  preencode(state, v) {
    c.uint.preencode(state, REQUEST_VERSION)
    c.fixed32.preencode(state, v.from)
    c.fixed32.preencode(state, v.to)
    c.fixed32.preencode(state, v.salt)
    c.uint.preencode(state, v.timestamp)
    c.string.preencode(state, v.name)
    c.string.preencode(state, v.text)
  },
  encode(state, v) {
    c.uint.encode(state, REQUEST_VERSION)
    c.fixed32.encode(state, v.from)
    c.fixed32.encode(state, v.to)
    c.fixed32.encode(state, v.salt)
    c.uint.encode(state, v.timestamp)
    c.string.encode(state, v.name)
    c.string.encode(state, v.text)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== REQUEST_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`friend request v${version}`)
    const from = c.fixed32.decode(state)
    const to = c.fixed32.decode(state)
    const salt = c.fixed32.decode(state)
    const timestamp = c.uint.decode(state)
    const name = c.string.decode(state)
    const text = c.string.decode(state)
    if (name !== '') checkName(name)
    const problem = requestTextProblem(text)
    if (problem) throw BackspaceError.DECODE_FAILED(problem)
    return { from, to, salt, timestamp, name, text }
  }
}

export const friendRequest: Encoding<SignedFriendRequest> = {
  preencode(state, v) {
    requestBody.preencode(state, v)
    c.fixed64.preencode(state, v.signature)
  },
  encode(state, v) {
    requestBody.encode(state, v)
    c.fixed64.encode(state, v.signature)
  },
  decode(state) {
    const body = requestBody.decode(state)
    return { ...body, signature: c.fixed64.decode(state) }
  }
}

/** Why a request text is refused, or null. */
export function requestTextProblem(text: string): string | null {
  if (b4a.byteLength(text) > MAX_REQUEST_TEXT_BYTES) return `a friend request text is at most ${MAX_REQUEST_TEXT_BYTES} bytes`
  return messageTextProblem(text)
}

function requestSignable(body: FriendRequestBody): Buffer {
  return hash([NS_REQUEST, c.encode(requestBody, body)])
}

export function signRequest(body: FriendRequestBody, identitySecretKey: Buffer): SignedFriendRequest {
  return { ...body, signature: sign(requestSignable(body), identitySecretKey) }
}

/** True when the sender's identity signed exactly this request. */
export function verifyRequest(req: SignedFriendRequest): boolean {
  const { signature, ...body } = req
  return verify(signature, requestSignable(body), req.from)
}

// ---------------------------------------------------------------------------------------------
// The account's social view
// ---------------------------------------------------------------------------------------------

export const ContactState = {
  /** This identity asked; the other has not answered (as far as anyone here can tell). */
  OUTGOING: 0,
  FRIEND: 1,
  /** Was a friend or asked, and was removed: the DM is closed. */
  REMOVED: 2
} as const
export type ContactStateValue = (typeof ContactState)[keyof typeof ContactState]

export interface ContactEntry {
  key: Buffer
  state: ContactStateValue
  /** The name they went by when the request was made or accepted. */
  name: string
  salt: Buffer
  /** The DM's room secret, derived by the device that holds the identity. */
  secret: Buffer
  /** When the friendship began (accepted); for OUTGOING, when the request was sent. */
  since: number
  /** When this entry last changed: the later entry wins on every device. */
  at: number
  /** OUTGOING: the request's text. */
  text: string
}

export const BlockState = {
  NONE: 0,
  /** A request was declined: later requests from this key are dropped unseen. */
  DECLINED: 1,
  BLOCKED: 2
} as const
export type BlockStateValue = (typeof BlockState)[keyof typeof BlockState]

export interface BlockEntry {
  key: Buffer
  state: BlockStateValue
  at: number
}

/** A relay the user added (`node.relays.add`): the secret of its relay node link. */
export interface RelayEntry {
  secret: Buffer
  removed: boolean
  at: number
}

export interface SocialView {
  contacts: ContactEntry[]
  blocks: BlockEntry[]
  relays: RelayEntry[]
}

/** Relays one account keeps at most. */
export const MAX_RELAYS = 16

const relayEntry: Encoding<RelayEntry> = {
  preencode(state, e) {
    c.uint.preencode(state, e.removed ? 1 : 0)
    c.fixed32.preencode(state, e.secret)
    c.uint.preencode(state, e.at)
  },
  encode(state, e) {
    c.uint.encode(state, e.removed ? 1 : 0)
    c.fixed32.encode(state, e.secret)
    c.uint.encode(state, e.at)
  },
  decode(state) {
    const flags = c.uint.decode(state)
    return { removed: (flags & 1) !== 0, secret: c.fixed32.decode(state), at: c.uint.decode(state) }
  }
}

const SOCIAL_VERSION = 1

const contactEntry: Encoding<ContactEntry> = {
  preencode(state, e) {
    c.uint.preencode(state, e.state)
    c.fixed32.preencode(state, e.key)
    c.string.preencode(state, e.name)
    c.fixed32.preencode(state, e.salt)
    c.fixed32.preencode(state, e.secret)
    c.uint.preencode(state, e.since)
    c.uint.preencode(state, e.at)
    c.string.preencode(state, e.text)
  },
  encode(state, e) {
    c.uint.encode(state, e.state)
    c.fixed32.encode(state, e.key)
    c.string.encode(state, e.name)
    c.fixed32.encode(state, e.salt)
    c.fixed32.encode(state, e.secret)
    c.uint.encode(state, e.since)
    c.uint.encode(state, e.at)
    c.string.encode(state, e.text)
  },
  decode(state) {
    const s = c.uint.decode(state)
    if (s !== ContactState.OUTGOING && s !== ContactState.FRIEND && s !== ContactState.REMOVED) {
      throw BackspaceError.DECODE_FAILED(`contact state ${s}`)
    }
    const key = c.fixed32.decode(state)
    const name = c.string.decode(state)
    if (b4a.byteLength(name) > 64) throw BackspaceError.DECODE_FAILED('contact name too long')
    const salt = c.fixed32.decode(state)
    const secret = c.fixed32.decode(state)
    const since = c.uint.decode(state)
    const at = c.uint.decode(state)
    const text = c.string.decode(state)
    if (b4a.byteLength(text) > MAX_REQUEST_TEXT_BYTES) throw BackspaceError.DECODE_FAILED('contact text too long')
    return { key, state: s, name, salt, secret, since, at, text }
  }
}

const blockEntry: Encoding<BlockEntry> = {
  preencode(state, e) {
    c.uint.preencode(state, e.state)
    c.fixed32.preencode(state, e.key)
    c.uint.preencode(state, e.at)
  },
  encode(state, e) {
    c.uint.encode(state, e.state)
    c.fixed32.encode(state, e.key)
    c.uint.encode(state, e.at)
  },
  decode(state) {
    const s = c.uint.decode(state)
    if (s !== BlockState.NONE && s !== BlockState.DECLINED && s !== BlockState.BLOCKED) {
      throw BackspaceError.DECODE_FAILED(`block state ${s}`)
    }
    return { state: s, key: c.fixed32.decode(state), at: c.uint.decode(state) }
  }
}

/** The social view: version, contacts, blocks. Fields a later build appends are skipped. */
export const socialView: Encoding<SocialView> = {
  preencode(state, v) {
    c.uint.preencode(state, SOCIAL_VERSION)
    c.uint.preencode(state, v.contacts.length)
    for (const e of v.contacts) contactEntry.preencode(state, e)
    c.uint.preencode(state, v.blocks.length)
    for (const e of v.blocks) blockEntry.preencode(state, e)
    c.uint.preencode(state, v.relays.length)
    for (const e of v.relays) relayEntry.preencode(state, e)
  },
  encode(state, v) {
    c.uint.encode(state, SOCIAL_VERSION)
    c.uint.encode(state, v.contacts.length)
    for (const e of v.contacts) contactEntry.encode(state, e)
    c.uint.encode(state, v.blocks.length)
    for (const e of v.blocks) blockEntry.encode(state, e)
    c.uint.encode(state, v.relays.length)
    for (const e of v.relays) relayEntry.encode(state, e)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== SOCIAL_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`social view v${version}`)
    const n = c.uint.decode(state)
    if (n > MAX_CONTACTS) throw BackspaceError.DECODE_FAILED('too many contacts')
    const contacts: ContactEntry[] = []
    for (let i = 0; i < n; i++) contacts.push(contactEntry.decode(state))
    const m = c.uint.decode(state)
    if (m > MAX_CONTACTS) throw BackspaceError.DECODE_FAILED('too many blocks')
    const blocks: BlockEntry[] = []
    for (let i = 0; i < m; i++) blocks.push(blockEntry.decode(state))
    const r = c.uint.decode(state)
    if (r > MAX_RELAYS) throw BackspaceError.DECODE_FAILED('too many relays')
    const relays: RelayEntry[] = []
    for (let i = 0; i < r; i++) relays.push(relayEntry.decode(state))
    state.start = state.end
    return { contacts, blocks, relays }
  }
}


/**
 * Merges `from` into `into`, per key, the later `at` winning (ties: the higher state, so every
 * device ends with the same view). True if anything changed.
 */
export function mergeSocial(
  into: Map<string, ContactEntry>,
  blocks: Map<string, BlockEntry>,
  relays: Map<string, RelayEntry>,
  from: SocialView
): boolean {
  let changed = false
  for (const e of from.relays) {
    const k = e.secret.toString('hex')
    const cur = relays.get(k)
    if (cur && (cur.at > e.at || (cur.at === e.at && (cur.removed || !e.removed)))) continue
    relays.set(k, e)
    changed = true
  }
  for (const e of from.contacts) {
    const k = e.key.toString('hex')
    const cur = into.get(k)
    if (cur && (cur.at > e.at || (cur.at === e.at && cur.state >= e.state))) continue
    into.set(k, e)
    changed = true
  }
  for (const e of from.blocks) {
    const k = e.key.toString('hex')
    const cur = blocks.get(k)
    if (cur && (cur.at > e.at || (cur.at === e.at && cur.state >= e.state))) continue
    blocks.set(k, e)
    changed = true
  }
  return changed
}
