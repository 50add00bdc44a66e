import type { BackspaceError } from './errors.js'

/** One chat message, as every member of the room sees it. */
export interface Message {
  /** Stable and unique across peers: the writer core and the message's index in it. */
  readonly id: string
  /** The author's identity public key (32 bytes). */
  readonly author: Buffer
  readonly text: string
  /** Milliseconds since the epoch, as the author stamped it, clamped to the reader's clock. */
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
}

export type MessageKind = 'text' | 'action'

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
}

/** Why a block from a peer was dropped. */
export type RejectReason = 'malformed' | 'invalid-signature' | 'oversized' | 'unsupported'

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
  /** Blocks of this room's logs this node has sent to peers. */
  uploaded: number
  /**
   * How far peers have fetched this node's own log, in blocks (the highest index fetched,
   * plus one). Once it reaches the log's length, every message sent has left this machine.
   */
  delivered: number
  /** The length of this node's own log in this room, in blocks. */
  ownBlocks: number
}

export interface RoomEvents {
  /** A message this node had not delivered before: live, from a writer just found, or its own. */
  message: [Message]
  /**
   * A message shown from the live channel was never stored by its author (its append
   * failed), and Hypercore now holds another block in its place. Remove it from view.
   */
  'message-withdrawn': [Message]
  /** A block failed to decode or verify and was dropped. */
  reject: [RejectEvent]
  /** A member's connection opened the room's channel. */
  'peer-add': [Buffer]
  'peer-remove': [Buffer]
  /** A writer core was discovered. */
  'writer-add': [Buffer]
  /** A member's profile or online state changed, or a member was first seen. */
  'member-update': [Member]
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

export type RoomKindName = 'named' | 'private'
