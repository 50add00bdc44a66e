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
