// The public types of room governance.
import type { Message } from '../types.js'

/** A member's standing in a room, highest first; `banned` is below every member. */
export type Role = 'owner' | 'admin' | 'op' | 'member' | 'banned'

export interface RoomSettings {
  topic: string
  /** A persistent banner. */
  announcement: string
  /** Shown to each member who joins. */
  welcome: string
  /** Who may join from now on (see docs/SECURITY.md for what a named room can enforce). */
  locked: boolean
  /** Kept out of the room directory. */
  private: boolean
  /** Seconds between messages per member; 0 for none. Owners, admins and ops are exempt. */
  slowMode: number
  /** Members who may write; 0 for no limit. */
  maxUsers: number
  /** The room's message TTL in ms; 0 for the node's default. */
  ttl: number
  allowAnonymous: boolean
  allowFiles: boolean
}

export type GovernanceActionName =
  | 'claim'
  | 'topic'
  | 'announce'
  | 'welcome'
  | 'op'
  | 'deop'
  | 'admin'
  | 'unadmin'
  | 'kick'
  | 'ban'
  | 'unban'
  | 'delete'
  | 'set'
  | 'wipe'

/** One governance operation that took effect: who did what to whom, and the state after. */
export interface GovernanceEvent {
  /** The operation's record id. */
  id: string
  action: GovernanceActionName
  /** The identity that acted. */
  actor: Buffer
  /** The identity acted on, for op/deop/admin/unadmin/kick/ban/unban. */
  target: Buffer | null
  /** The topic, announcement or welcome, or a reason. */
  text: string
  /** SET: which setting, and its new value; DELETE: the message id. */
  setting: keyof RoomSettings | null
  message: string | null
  /** Whether this node's identity is the target. */
  self: boolean
  owner: Buffer | null
  settings: RoomSettings
  /**
   * When its author says it happened (ms), taken like a message's: never later than when this
   * node first verified its block. For display only: wall clock never decides authority.
   */
  timestamp: number
  /**
   * True when it comes from history rather than live: read from this node's storage (a
   * restart), from a writer's history while joining or catching up after an absence, or
   * through a writer's chain of governance blocks. The state it leaves (`owner`, `settings`,
   * roles) is current either way; a UI folds replayed events instead of showing each as news
   * (lib/chat does). Claim events take the owner's claim's time and this flag.
   */
  replayed: boolean
}

/**
 * A newcomer proved the password of the room's lock (`moderate.enter`): every reader lets it
 * write while that lock holds, and in a created room members give it the epoch key. Told as
 * `room.on('access')`, apart from `governance`: it changes no role or setting, and chat UIs
 * show no line for it.
 */
export interface AccessEvent {
  /** The operation's record id. */
  id: string
  /** The newcomer's identity. */
  actor: Buffer
  /** The record id of the lock whose password it proved. */
  lock: string
  /** Whether this node's identity is the newcomer. */
  self: boolean
  /** As GovernanceEvent's: display only. */
  timestamp: number
  /** As GovernanceEvent's. */
  replayed: boolean
}

/** The moderation API: each call throws NOT_ALLOWED without the role. */
export interface Moderation {
  claim(): Promise<void>
  topic(text: string): Promise<void>
  announce(text: string): Promise<void>
  welcome(text: string): Promise<void>
  op(key: Buffer): Promise<void>
  deop(key: Buffer): Promise<void>
  admin(key: Buffer): Promise<void>
  unadmin(key: Buffer): Promise<void>
  kick(key: Buffer, reason?: string): Promise<void>
  ban(key: Buffer, reason?: string): Promise<void>
  unban(key: Buffer): Promise<void>
  deleteMessage(id: string | Message): Promise<void>
  /**
   * Locks the room: nobody new may join from now on. With a password, a newcomer who knows it
   * gets in with `enter(password)`. In a created room this starts a key epoch.
   */
  lock(password?: string): Promise<void>
  unlock(): Promise<void>
  /** Proves the current lock's password, as a newcomer: every reader lets this identity in. */
  enter(password: string): Promise<void>
  setPrivate(on?: boolean): Promise<void>
  set(patch: Partial<Pick<RoomSettings, 'slowMode' | 'maxUsers' | 'ttl' | 'allowAnonymous' | 'allowFiles'>>): Promise<void>
  /** The Backspace wipe: every member deletes every message written before it. */
  wipe(): Promise<void>
}

/** A created room's key epochs as this node sees them (`room.keyEpochs`). */
export interface KeyEpochStats {
  /** The current epoch's id, or null while the room key is the content key. */
  current: string | null
  /** Epoch keys held now. */
  keys: number
  /** Sealed records this node could not open (no key: what removal means). */
  unreadable: number
  /** Epoch keys deleted because all their messages expired. */
  deleted: number
}
