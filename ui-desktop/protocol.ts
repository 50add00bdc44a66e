// What the page and the shell say to each other over the one WebSocket: JSON text frames.
//
//   page -> shell   { id, type, ...args }                 a request
//   shell -> page   { id, result } | { id, error }        its answer
//   shell -> page   { event, data }                       something happened
//
// The views are plain data the library returned; the page only formats them.
import type { GovernanceActionName, MemberAction, Role, RoomKindName, RoomSettings } from '../lib/index.js'

/** Where the shell is: no node yet (setup, unlock), the node opening, or chatting. */
export type Phase = 'setup' | 'unlock' | 'opening' | 'chat' | 'closed'

export interface AccountView {
  name: string
  /** The account needs its password to open. */
  encrypted: boolean
}

/** Before a node exists: what the account screens need. */
export interface SetupView {
  /** The account a new identity is saved as, or the one to unlock. */
  account: string
  /** --account named it: the page does not offer another name. */
  accountFixed: boolean
  /** The accounts already in the storage. */
  accounts: AccountView[]
  /** --password was given: new accounts are encrypted with it, so the page does not ask. */
  passwordGiven: boolean
}

export interface IdentityView {
  fingerprint: string
  /** The display name, '' when none is set. */
  name: string
  incognito: boolean
  /** The account name, null when incognito. */
  account: string | null
}

/** A room as the page sees it. */
export interface RoomView {
  /** `room.id`: how the protocol names rooms. */
  id: string
  name: string
  kind: RoomKindName
  /** Members online now: connections on which the room's channel is open. */
  peers: number
  /** The invite link; anyone holding it can read the room. */
  invite: string
  /** Messages from others not read yet, as the library counts them. */
  unread: number
  /** Of those, the ones that mention this identity. */
  mentions: number
  /** A password room: another password makes another room with the same name. Marked. */
  locked: boolean
  /** A short fingerprint of the room id, shown when two rooms share a name. */
  tag: string
  /** The room's topic and its announcement (a banner), '' for none: the header shows them. */
  topic: string
  announcement: string
  /** This identity's role here. */
  role: Role
  /**
   * The settings panel may change the settings: owner or admin, or nobody owns the room yet
   * (the first change claims it, as the library rules). The library checks again.
   */
  canEditSettings: boolean
  /** Who holds a role above member, for the marks beside names (`~` owner, `&` admin, `@` op). */
  staff: StaffView[]
}

/** A member with a role above member; at most 500 per room. */
export interface StaffView {
  /** The identity key in hex. */
  key: string
  role: 'owner' | 'admin' | 'op'
}

/** A room's settings, as its settings panel shows them. */
export interface RoomSettingsView {
  room: string
  settings: RoomSettings
  /** This identity's role in the room. */
  role: Role
  /** The owner's fingerprint, null while no owner is known. */
  owner: string | null
  /** Owner or admin, or no owner yet: the panel can change them (the library checks again). */
  canEdit: boolean
}

/** What `room-settings-set` may change; fields left out stay as they are. */
export interface RoomSettingsPatch {
  topic?: string
  announcement?: string
  welcome?: string
  /** Seconds between messages per member; 0 for none. */
  slowMode?: number
  /** 0 for no limit. */
  maxUsers?: number
  /** The room's message TTL in ms, at most 7 days; 0 for the default. */
  ttl?: number
  allowAnonymous?: boolean
  /** Who may join from now on. */
  locked?: boolean
}

/** An identity in a governance line. */
export interface ActorView {
  key: string
  /** '' when the room knows no name for it. */
  name: string
  fingerprint: string
}

/** A governance operation that took effect: a line in the room's timeline. */
export interface GovernanceView {
  id: string
  action: GovernanceActionName
  actor: ActorView
  /** Whom it acted on (op, kick, ban...), else null. */
  target: ActorView | null
  /** The topic, announcement or welcome, or a reason. */
  text: string
  /** `set`: which setting, and its new value. */
  setting: keyof RoomSettings | null
  value: string | number | boolean | null
  /** This identity is the target. */
  self: boolean
  /** When this shell saw it, ms since the epoch (operations carry no trusted time). */
  time: number
}

/** A friend, with the presence only friends see. */
export interface FriendView {
  key: string
  name: string
  fingerprint: string
  online: boolean
  since: number
}

/** A friend request that arrived: only its note is shown until it is answered. */
export interface FriendRequestView {
  key: string
  /** The name the sender gave; not verified. */
  name: string
  fingerprint: string
  text: string
  timestamp: number
}

/** A request this identity sent that is not accepted yet. */
export interface SentRequestView {
  key: string
  name: string
  fingerprint: string
  text: string
  at: number
}

/** An open DM: the room id names it in every room request. */
export interface DmView {
  key: string
  name: string
  fingerprint: string
  room: string
  online: boolean
  unread: number
}

/** Friends, requests, DMs and blocks; each list at most 500. */
export interface SocialView {
  /** False incognito: no friends, requests or DMs there. */
  available: boolean
  friends: FriendView[]
  requests: FriendRequestView[]
  sent: SentRequestView[]
  dms: DmView[]
  blocked: { key: string; fingerprint: string }[]
  /** This identity's contact link (`backspace-contact:`) for others to add it; '' incognito. */
  contactLink: string
}

/** A message as the page sees it. */
export interface MessageView {
  id: string
  /** The author's public key in hex. */
  author: string
  /** The short key fingerprint shown beside the name. */
  fingerprint: string
  /** The author's display name when they sent it, '' if none. */
  name: string
  text: string
  kind: 'text' | 'action'
  timestamp: number
  seq: number
  /** Sent by this identity. */
  self: boolean
  /** Mentions this identity's display name. */
  mention: boolean
  /** Sorts as the library orders messages: compare two with `<`. */
  order: string
  /** What to type to point at it in a command: `^kbfd`. */
  ref: string
  /** Changed since it was sent: show "(edited)". */
  edited: boolean
  /** Deleted by its author: show a tombstone; `text` is ''. */
  deleted: boolean
  /** The message it answers, when it is a reply. */
  replyTo: ReplyView | null
  /** One entry per emoji, in the order they were first used. */
  reactions: ReactionView[]
}

/** What a reply shows of the message it answers. */
export interface ReplyView {
  id: string
  /** This node has it loaded; if not, only the id is known. */
  loaded: boolean
  name: string
  fingerprint: string
  /** Its current text ('' when deleted or not loaded). */
  text: string
  deleted: boolean
}

export interface ReactionView {
  emoji: string
  count: number
  /** This identity is one of those who reacted. */
  self: boolean
  /** Who reacted, as names (or fingerprints), oldest first; at most 20. */
  who: string[]
}

export interface StatusView {
  /** Connections to other peers. */
  connections: number
  /** Distinct peers over all rooms, as the library counts them. */
  peers: number
}

export interface ChatView {
  identity: IdentityView
  rooms: RoomView[]
  status: StatusView
  /** The reactions offered in one click. */
  quickReactions: string[]
  /** The most UTF-8 bytes a message may have: the composer counts down to it. */
  maxMessageBytes: number
  /** What Settings offers for this account. */
  account: AccountSettingsView
}

export interface AccountSettingsView {
  /** The account's key file is encrypted: changing it or showing the words asks for it. */
  encrypted: boolean
  /** Another account of the storage can be opened from here (not incognito, no --account). */
  canSwitch: boolean
  /** The account is saved on disk (not incognito): it has a password to set. */
  saved: boolean
}

/** While a new device waits for approval (phase 'opening' with a device link). */
export interface LinkingView {
  /** This device's fingerprint: the other device must show the same one. */
  fingerprint: string
  /** When the link stops working, ms since the epoch. */
  expiresAt: number
}

/** A new device asks to join this identity; the page asks the user. */
export interface DeviceRequestView {
  /** The new device's public key in hex. */
  key: string
  fingerprint: string
  /** The name the new device gave itself, '' for none. */
  name: string
}

/** One of this identity's devices. */
export interface DeviceView {
  key: string
  fingerprint: string
  name: string
  createdAt: number
  primary: boolean
  current: boolean
  revoked: boolean
}

/** A member of a room, as its list and its profile card show it. */
export interface MemberView {
  /** The member's public key in hex. */
  key: string
  fingerprint: string
  /** The display name, '' when none is known. */
  name: string
  /** Connected to this node in this room now. */
  online: boolean
  /** This identity. */
  self: boolean
  /** The member's role in the room. */
  role: Role
  /**
   * What this identity may do to them in the room, as the library's roles allow: only to a
   * role below its own (admin and unadmin for the owner), unban for the banned. Empty outside
   * a room, in a DM, and for yourself.
   */
  actions: ModerationAction[]
}

/** A moderation action on one member, from the profile card (`moderate`): the library's. */
export type ModerationAction = MemberAction

/** A member of a room came online, went offline, or took another name: one line in the room. */
export interface MemberLineView {
  room: string
  kind: 'join' | 'leave' | 'rename'
  /** The name now ('' when none is known). */
  name: string
  /** For `rename`, the name before; else ''. */
  from: string
  fingerprint: string
  /** When this shell saw it, ms since the epoch. */
  time: number
}

/** The whole state, sent on connect and on every phase change. */
export interface StateView {
  phase: Phase
  setup: SetupView | null
  chat: ChatView | null
  /** A new device waiting for approval, while opening with a device link. */
  linking: LinkingView | null
  /** Why the last attempt to open a node failed, e.g. WRONG_PASSWORD. */
  error: ErrorView | null
}

export interface ErrorView {
  code: string
  message: string
}

export interface Notice {
  level: 'info' | 'error'
  text: string
}

/** What one typed line did, from the library's command executor. */
export interface LineResult {
  notices: Notice[]
  /** The room to show now. */
  room: string | null
  /** The room that was left. */
  left: string | null
  /** /clear: hide what is shown of the room (local only). */
  clear: boolean
  quit: boolean
  /**
   * /help: the commands, for the page to lay out as a table. The first `help.length`
   * notices are the same table as text lines, for UIs that cannot.
   */
  help: { usage: string; description: string }[] | null
  /** A message the library refused (too large, room closed): the composer keeps its text. */
  failed: boolean
}

/** The requests, by type, with their arguments and results. */
export interface Requests {
  state: { args: {}; result: StateView }
  /**
   * A fresh identity for a new account; its words stay on the page until confirmed. The
   * account can be created from it only once `setup-confirm` accepted the words at
   * `positions` (1-based); before that `setup-create` fails with PHRASE_NOT_CONFIRMED.
   */
  'setup-generate': { args: {}; result: { words: string[]; fingerprint: string; positions: number[] } }
  /**
   * The words typed back for `positions`, in order. `wrong` is the first position whose word
   * does not match (nothing is confirmed then), null once all do.
   */
  'setup-confirm': { args: { words: string[] }; result: { confirmed: boolean; wrong: number | null } }
  /** Checks a phrase or secret key before the password step. */
  'setup-preview': {
    args: { source: 'phrase' | 'secret-key'; value: string }
    result: { fingerprint: string }
  }
  /** Saves the account and opens the node. `password: null` is the explicit "no password". */
  'setup-create': {
    args: {
      source: 'new' | 'phrase' | 'secret-key'
      value?: string
      account?: string
      password: string | null
    }
    result: StateView
  }
  /** Opens an existing account (the password only if it is encrypted). */
  'setup-open': { args: { account: string; password?: string }; result: StateView }
  'setup-incognito': { args: {}; result: StateView }
  /**
   * Makes the account a new device of an identity, with a link from its other device. Answers
   * once that device approved (or denied: DEVICE_LINK_DENIED); meanwhile the state's `linking`
   * shows the fingerprint to compare.
   */
  'setup-link': {
    args: { link: string; account?: string; password: string | null; deviceName?: string }
    result: StateView
  }
  /** Gives up a link that waits for approval. */
  'setup-cancel': { args: {}; result: {} }
  /** Answers the device request shown (`device-request`). */
  'device-answer': { args: { approve: boolean }; result: { device: DeviceView | null } }
  /** This identity's devices. */
  devices: { args: {}; result: DeviceView[] }
  messages: {
    args: { room: string; before?: string; limit?: number }
    result: { room: string; messages: MessageView[]; more: boolean }
  }
  /**
   * One line from the composer: a message or a slash command, as in the terminal. With
   * `selected` (a message id), message commands without a reference act on that message,
   * and a plain message answers it.
   */
  line: { args: { room: string | null; text: string; selected?: string }; result: LineResult }
  // `message` is a message id (`id` is the request's own).
  /** Sends `text` as an answer to `message`. */
  reply: { args: { room: string; message: string; text: string }; result: MessageView }
  /** Changes the text of one of this identity's messages. */
  edit: { args: { room: string; message: string; text: string }; result: MessageView }
  /** Deletes one of this identity's messages, for everyone. */
  delete: { args: { room: string; message: string }; result: {} }
  react: { args: { room: string; message: string; emoji: string }; result: {} }
  unreact: { args: { room: string; message: string; emoji: string }; result: {} }
  /** Tab completion: full-line candidates. */
  complete: { args: { room: string | null; text: string }; result: string[] }
  join: { args: { name: string; password?: string }; result: RoomView }
  create: { args: { name?: string }; result: RoomView }
  leave: { args: { room: string }; result: {} }
  /** A room's members: online ones first, then by name. */
  members: { args: { room: string }; result: MemberView[] }
  /** Sets this identity's display name (onboarding, settings). */
  profile: { args: { name: string }; result: IdentityView }
  /** Re-encrypts this account's key file: `next` null for none. Asks for the current one. */
  'account-password': { args: { current?: string; next: string | null }; result: AccountSettingsView }
  /** The recovery words of this account, once its password is given again. */
  'account-phrase': { args: { password?: string }; result: { words: string[] } }
  /** Closes this account's node and goes back to the account screens. */
  'account-switch': { args: {}; result: StateView }
  /** The room is on screen: the library marks it read. */
  read: { args: { room: string }; result: { unread: number; mentions: number } }
  /**
   * One identity's profile card: as a member of `room` when given (role, presence), else
   * from its key (`name` is the page's fallback when the shell knows none).
   */
  member: { args: { room?: string | null; key: string; name?: string }; result: MemberView }
  /** Friends, requests, DMs and blocks. */
  social: { args: {}; result: SocialView }
  /**
   * Sends a friend request with a short note (at most 1 KiB), to an identity key (64 hex
   * digits) or, from the friends panel, to whatever was pasted in `who`: a key or a contact
   * link (checked with its checksum: a typo is INVALID_INVITE with a sentence).
   */
  'friend-request': { args: { key?: string; who?: string; text?: string }; result: SocialView }
  /** Answers a request that arrived; `accept` answers with the DM's room. */
  'friend-answer': {
    args: { key: string; answer: 'accept' | 'decline' | 'block' }
    result: { room: RoomView | null; social: SocialView }
  }
  /** Ends a friendship (the DM closes). */
  'friend-remove': { args: { key: string }; result: SocialView }
  /** Blocks or unblocks an identity. */
  block: { args: { key: string; blocked: boolean }; result: SocialView }
  /** Opens the DM with a friend (NOT_FRIENDS otherwise). */
  dm: { args: { key: string }; result: RoomView }
  /** A room's settings and this identity's role there. */
  'room-settings': { args: { room: string }; result: RoomSettingsView }
  /**
   * Kicks, bans, unbans, ops, deops, admins or unadmins one member through `room.moderate`.
   * Answers with their card as it is now; NOT_ALLOWED (with a sentence) without the role.
   */
  moderate: {
    args: { room: string; key: string; action: ModerationAction; reason?: string }
    result: MemberView
  }
  /** Changes settings through `room.moderate` (NOT_ALLOWED without the role). */
  'room-settings-set': { args: { room: string; patch: RoomSettingsPatch }; result: RoomSettingsView }
}

/** The events, by name, with their data. */
export interface Events {
  state: StateView
  'room-add': RoomView
  'room-remove': { room: string }
  /** A room's view changed (its peer count). */
  room: RoomView
  message: { room: string; message: MessageView }
  /** A loaded message changed (edited, deleted, reactions, its reply's quote): replace it. */
  'message-update': { room: string; message: MessageView }
  /** A room's unread counts changed. */
  unread: { room: string; unread: number; mentions: number }
  'message-withdrawn': { room: string; id: string }
  status: StatusView
  identity: IdentityView
  /** A new device asks to join this identity, or null once the request was answered or is gone. */
  'device-request': DeviceRequestView | null
  /** The device list changed. */
  devices: DeviceView[]
  /** A line for one room from the library, not an answer to a request (the `alone` notice). */
  notice: { room: string; level: 'info' | 'error'; text: string }
  /** Friends, requests, DMs (and their unread counts) or blocks changed. */
  social: SocialView
  /** A governance operation took effect in a room; a `room` event with its new view follows. */
  governance: { room: string; event: GovernanceView }
  /** A member came online, went offline or took another name (the chat model's notices). */
  'member-line': MemberLineView
}

export type RequestType = keyof Requests

/** The codes the shell itself answers with; library failures keep their own code. */
export type ShellErrorCode =
  'BAD_REQUEST' | 'UNKNOWN_REQUEST' | 'WRONG_PHASE' | 'UNKNOWN_ROOM' | 'NOT_CONFIRMED' | 'INTERNAL'
