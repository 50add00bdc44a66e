import type { AccessEvent, GovernanceEvent } from './governance/types.js'
import type { BackspaceError } from './errors.js'

/** One chat message, as every member of the room sees it. */
export interface Message {
  /** Stable and unique across peers: the writer core and the message's index in it. */
  readonly id: string
  /** The author's identity public key (32 bytes). */
  readonly author: Buffer
  /**
   * The device key that signed it, certified by `author`. For blocks written before devices
   * existed, the identity key itself.
   */
  readonly device: Buffer
  /** The current text: the latest edit's, or '' once deleted. */
  readonly text: string
  /**
   * Milliseconds since the epoch, as the author stamped it, but never later than when this
   * node first verified the message: the same after a restart. Order and expiry use it.
   */
  readonly timestamp: number
  /** The message's index in its author's log for this room. */
  readonly seq: number
  /** `action` for a `/me` line: the text says what the author does. */
  readonly kind: MessageKind
  /** The author's display name when they sent it; '' if they had none. Not unique. */
  readonly name: string
  /** A short fingerprint of the author's key, to show next to the name. */
  readonly fingerprint: string
  /** Sent by this node's identity. */
  readonly self: boolean
  /** Mentions this node's display name as `@name` (never true for its own messages). */
  readonly mention: boolean
  /** The author changed the text since sending it; show "(edited)". */
  readonly edited: boolean
  /** The author deleted it: show a tombstone ("message deleted"); `text` is ''. */
  readonly deleted: boolean
  /** The message this one answers, when it is a reply. */
  readonly replyTo: ReplyPreview | null
  /** Reactions, one entry per emoji, in the order they were first used. */
  readonly reactions: readonly Reaction[]
}

export type MessageKind = 'text' | 'action'

/** What a reply shows of the message it answers. */
export interface ReplyPreview {
  /** The id of the message answered. */
  readonly id: string
  /** Whether this node has that message loaded; if not, only the id is known. */
  readonly loaded: boolean
  readonly author: Buffer | null
  readonly name: string
  readonly fingerprint: string
  /** Its current text ('' if deleted or not loaded). */
  readonly text: string
  readonly deleted: boolean
}

/** One emoji on a message. */
export interface Reaction {
  readonly emoji: string
  /** How many identities reacted with it (each counts once). */
  readonly count: number
  /** This node's identity is one of them. */
  readonly self: boolean
  /** The identity keys that reacted with it, oldest first. */
  readonly authors: readonly Buffer[]
}

/** A device of this node's identity. */
export interface DeviceInfo {
  /** The device's public key. */
  readonly key: Buffer
  readonly fingerprint: string
  /** A label its owner gave it ('' for none). */
  readonly name: string
  /** When the identity approved it, ms since the epoch. */
  readonly createdAt: number
  /** It holds the identity's secret (made from the 24 words or the hex key). */
  readonly primary: boolean
  /** It is this node's device. */
  readonly current: boolean
  readonly revoked: boolean
}

/** A one-time link that lets another install join this identity as a new device. */
export interface DeviceInvite {
  /** `backspace-device:…`; give it to the new device (`new Backspace({ link })`). */
  readonly link: string
  /** After this moment (ms since the epoch) the link no longer works. */
  readonly expiresAt: number
}

/** A new device asks to join this identity through a link this node made. */
export interface DeviceRequest {
  /** The new device's public key. */
  readonly key: Buffer
  /** Compare it with the fingerprint the new device shows before approving. */
  readonly fingerprint: string
  /** The name the new device gave itself ('' for none). */
  readonly name: string
  /** Certifies the device and hands it the account's keys (never the identity's secret). */
  approve(): Promise<DeviceInfo>
  deny(): Promise<void>
}

/** What a member says about themselves. */
export interface Profile {
  /** A display name, at most 64 bytes; '' for none. */
  readonly name: string
  /** A free-form status line, at most 256 bytes; '' for none. */
  readonly status: string
  /** The away message ('' for plain away), or null when not away. */
  readonly away: string | null
}

/** A member of a room, as far as this node knows: authors it has read, peers online now. */
export interface Member extends Profile {
  readonly key: Buffer
  readonly fingerprint: string
  /** Connected to this node in this room now. */
  readonly online: boolean
  readonly self: boolean
}

export interface SendOptions {
  /** Send as a `/me` action. */
  action?: boolean
  /** Answer this message (a Message of this room or its id). */
  replyTo?: Message | string
}

/** Why a block from a peer was dropped. */
export type RejectReason =
  | 'malformed'
  | 'invalid-signature'
  | 'oversized'
  | 'unsupported'
  /** The signing device has no valid certificate, or was revoked before it wrote the block. */
  | 'unauthorized-device'
  /** An edit or delete of a message by someone other than its author. */
  | 'forbidden'
  /** A record kind this build does not know; skipped. */
  | 'unknown-kind'
  /**
   * A governance operation without authority (or void by the room's conflict rules), or a
   * message the room's governance refuses: from a banned member, or against its settings.
   */
  | 'governance'

export interface RejectEvent {
  reason: RejectReason
  /** The coded error that describes the problem. */
  error: BackspaceError
  /** The writer core the block came from (not an identity: cores are unlinkable). */
  writer: Buffer
  /** The block's index in that core. */
  index: number
}

export interface RoomStats {
  /** Writer cores known in this room, this node's own included. */
  writers: number
  /** Open connections on which the room's channel is open, i.e. members online now. */
  peers: number
  /** Messages loaded in memory. */
  messages: number
  /** Blocks dropped, by reason. */
  rejected: Record<RejectReason, number>
  /** Messages on the room channel dropped because they did not decrypt, decode or verify. */
  badAnnouncements: number
  /**
   * Opens of the room's channel whose proof of the room did not verify. Each closed that
   * channel only; the connection goes on for other rooms.
   */
  badProofs: number
  /** Blocks of this room's logs this node has sent to peers. */
  uploaded: number
  /**
   * How far peers have fetched this node's own log, in blocks (the highest index fetched,
   * plus one). Once it reaches the log's length, every message sent has left this machine.
   */
  delivered: number
  /** The length of this node's own log in this room, in blocks. */
  ownBlocks: number
  /** Writer cores heard of without a proof, refused and evicted (see docs/SECURITY.md). */
  admission: AdmissionStats
  /** Bytes held of other writers' cores, and whether a quota holds one back. */
  quota: QuotaStats
  /** Records dropped because their writer broke the rate limit (lib/room/rate-limit.ts). */
  rateLimited: number
}

export interface RoomEvents {
  /** A message this node had not delivered before: live, from a writer just found, or its own. */
  message: [Message]
  /**
   * A message shown from the live channel was never stored by its author (its append
   * failed, and Hypercore now holds another block in its place, or nothing came in time), or
   * its block's signature failed the check that follows a message straight from its
   * writer's device (in the same turn). Remove it from view.
   */
  'message-withdrawn': [Message]
  /**
   * A loaded message changed: edited, deleted, reacted to, or a reply's quoted message
   * changed. Carries the message's new state; replace the old one by `id`.
   */
  'message-update': [Message]
  /** A block failed to decode or verify and was dropped. */
  reject: [RejectEvent]
  /** A member's connection opened the room's channel. */
  'peer-add': [Buffer]
  'peer-remove': [Buffer]
  /** A writer core was admitted: announced with a proof that a member made it, or verified. */
  'writer-add': [Buffer]
  /** A quota stopped this node from fetching more of a writer's core (once per writer until it may again). */
  quota: [QuotaEvent]
  /** A member's profile or online state changed, or a member was first seen. */
  'member-update': [Member]
  /**
   * A password room (`room.locked`) in which nobody else has been seen, neither online nor in
   * its history, a while (`aloneAfter`, 30 s) after it opened: tell the user that another
   * password makes another room. At most once per open; `room.alone` says so to a listener
   * that attaches later.
   */
  alone: []
  /** A governance operation took effect: who did what to whom, with the room's new state. */
  governance: [GovernanceEvent]
  /** A newcomer proved the lock's password (`moderate.enter`): it may write while the lock holds. */
  access: [AccessEvent]
  /** A background task failed; the room goes on. */
  error: [Error]
  close: []
}

export interface MessagesOptions {
  /** How many messages to return; 50 by default, at most 1000. */
  limit?: number
  /** Return messages strictly older than this one (a Message or its id) for paging back. */
  before?: Message | string
}

export interface JoinOptions {
  /** The room password; another password is another room. */
  password?: string
}

export interface CreateRoomOptions {
  /** A label shown to invitees. It never reaches the network unencrypted. */
  name?: string
}

export type RoomKindName = 'named' | 'private' | 'dm'

/** Bytes a node holds of other peers' writer cores. */
export interface QuotaOptions {
  /** Of one writer core. */
  writer?: number
  /** Of one room, all its writers together. */
  room?: number
  /** Of every room this node is in or keeps. */
  total?: number
}

export type QuotaLimits = Required<QuotaOptions>

export type QuotaScope = 'writer' | 'room' | 'total'

/** A quota stopped this node from holding more of a writer's core. */
export interface QuotaEvent {
  scope: QuotaScope
  /** The writer core refused. */
  writer: Buffer
  /** Bytes held at that scope. */
  used: number
  limit: number
}

/** A room's quota figures, in its `stats`. */
export interface QuotaStats {
  /** Bytes of other writers' cores this room holds (or has committed to hold). */
  used: number
  /** Set while some writer is held back, to the scope that stopped it. */
  reached: QuotaScope | null
  /** Times a fetch or download was refused for quota. */
  refused: number
  /** Cores dropped because a block was larger than any block a writer may write. */
  oversized: number
}

/** Admission counts, in a room's or relay's stats. */
export interface AdmissionStats {
  /** Cores heard of without a proof, on trial (members) or kept at lowest priority. */
  unproven: number
  /** Cores refused: a proof that did not verify, or an identity or device over its limit. */
  refused: number
  /** Cores evicted to make room for admitted ones. */
  evicted: number
}
