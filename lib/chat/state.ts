import type { Member, Message, Profile, RoomKindName } from '../types.js'
import type { Role, RoomSettings } from '../governance/types.js'
import { compareMessages } from '../timeline.js'
import type { ChatNotice, NoticeBody } from './notices.js'

/** What a chat screen shows of one joined room. */
export interface RoomView {
  /** The room's id (its topic in hex): two rooms may share a name, never an id. */
  readonly key: string
  readonly name: string
  readonly kind: RoomKindName
  /** A password room (`room.locked`): lists mark it. */
  readonly locked: boolean
  readonly peers: number
  /** Messages from others not read yet, as the library counts them (kept across restarts). */
  readonly unread: number
  /** Of those, the ones that mention this identity. */
  readonly mentions: number
  /** The loaded window of messages, oldest first, in the order the library agreed on. */
  readonly messages: readonly Message[]
  /** True once paging back found nothing older. */
  readonly atStart: boolean
  /** An older page is being fetched. */
  readonly loadingOlder: boolean
  readonly members: readonly Member[]
  /** `/clear`: what was shown up to then is hidden, on this screen only. */
  readonly cleared: { readonly id: string | null; readonly time: number } | null
  /**
   * The first message that arrived unread: a "new messages" marker goes above it. Set while
   * the room is not shown; dropped when the user leaves the room for another.
   */
  readonly newFrom: string | null
  /** How far the UI is scrolled up from the newest line, in its own units; 0 follows new messages. */
  readonly scroll: number
  /** The owner's identity key in hex (`room.owner`), or null while unknown. */
  readonly owner: string | null
  /**
   * Members' roles above or below `member` (`room.role(key)`), by identity key in hex: owners,
   * admins, ops and the banned among the members known. Anyone absent is a plain member.
   * Read it with `roleOf`; `ROLE_MARKS` gives the mark shown beside a name.
   */
  readonly roles: Readonly<Record<string, Role>>
  /** The room's settings (`room.settings`): topic, announcement, welcome, slow mode... */
  readonly settings: RoomSettings
  /** For a DM (`kind === 'dm'`): the friend it is with, and whether they are online. Else null. */
  readonly peer: DmPeer | null
}

/** The other side of a DM, as `node.dms` tells it. */
export interface DmPeer {
  /** Their identity key in hex. */
  readonly key: string
  /** The name they go by now (their latest profile in the DM), or the one they gave. */
  readonly name: string
  readonly fingerprint: string
  /** One of their devices is connected in the DM now (presence only friends see). */
  readonly online: boolean
}

/** A room's settings before any governance operation is known. */
export const DEFAULT_SETTINGS: RoomSettings = Object.freeze({
  topic: '',
  announcement: '',
  welcome: '',
  locked: false,
  private: false,
  slowMode: 0,
  maxUsers: 0,
  ttl: 0,
  allowAnonymous: true,
  allowFiles: true
})

/** The mark shown beside a name for each role (IRC's): `~` owner, `&` admin, `@` op. */
export const ROLE_MARKS: Readonly<Record<Role, string>> = Object.freeze({
  owner: '~',
  admin: '&',
  op: '@',
  member: '',
  banned: ''
})

/** A member's role in a room view: `key` is an identity key, as a Buffer or in hex. */
export function roleOf(view: Pick<RoomView, 'roles'>, key: Buffer | string): Role {
  const hex = typeof key === 'string' ? key : key.toString('hex')
  return view.roles[hex] ?? 'member'
}

/**
 * The room list in the order to show it: rooms (not DMs) in the order they were joined, then
 * the DMs, the latest conversation first (then by name). Numbers (`Alt+1..9`) and
 * next/previous follow this order.
 */
export function roomOrder(state: Pick<ChatState, 'rooms'>): { rooms: RoomView[]; dms: RoomView[] } {
  const rooms = state.rooms.filter((r) => r.kind !== 'dm')
  const dms = state.rooms
    .filter((r) => r.kind === 'dm')
    .map((r) => ({ r, at: r.messages[r.messages.length - 1]?.timestamp ?? 0 }))
    .sort((x, y) => y.at - x.at || dmName(x.r).localeCompare(dmName(y.r)))
    .map((x) => x.r)
  return { rooms, dms }
}

/** `roomOrder` as one list: rooms, then DMs. */
export function orderedRooms(state: Pick<ChatState, 'rooms'>): RoomView[] {
  const { rooms, dms } = roomOrder(state)
  return [...rooms, ...dms]
}

function dmName(r: RoomView): string {
  return r.peer?.name || r.name
}

/**
 * A message the input works on: `edit` puts its text in the input and saves it; `reply`
 * sends the next line as an answer, and message commands without a reference act on it.
 */
export interface Target {
  readonly mode: 'edit' | 'reply'
  /** The room it is in: switching rooms drops it. */
  readonly key: string
  readonly id: string
}

export interface ChatState {
  /** Joined rooms in the order they were joined (the library's order, for /switch N). */
  readonly rooms: readonly RoomView[]
  /** The key of the room shown and sent to. */
  readonly active: string | null
  /** The message being edited or answered, in the active room. */
  readonly target: Target | null
  readonly notices: readonly ChatNotice[]
  readonly nextNotice: number
  /** Joins still running, shown until they finish. */
  readonly joining: readonly string[]
  /** This identity's profile: display name, status, away. */
  readonly profile: Profile
  /** Connections to other peers. */
  readonly connections: number
  /** False while the DHT bootstrap cannot be reached; true until known otherwise. */
  readonly reachable: boolean
  /** A command waiting for the user to confirm it: `/leave` of the room `key`. */
  readonly pending: { readonly kind: 'leave'; readonly key: string } | null
  /** The lines typed before, kept across restarts (oldest first); null until loaded. */
  readonly history: readonly string[] | null
}

export type ChatAction =
  | { type: 'room-add'; key: string; name: string; kind: RoomKindName; peers: number; locked?: boolean }
  | { type: 'room-remove'; key: string }
  | { type: 'page'; key: string; messages: readonly Message[]; limit: number }
  | { type: 'older-loading'; key: string }
  | { type: 'older'; key: string; messages: readonly Message[] }
  | { type: 'message'; key: string; message: Message }
  /** A loaded message changed (edit, delete, reactions, its reply's quote): replace it. */
  | { type: 'update'; key: string; message: Message }
  | { type: 'withdrawn'; key: string; id: string }
  | { type: 'target'; target: Target | null }
  | { type: 'unread'; key: string; unread: number; mentions: number }
  | { type: 'peers'; key: string; peers: number }
  | { type: 'members'; key: string; members: readonly Member[] }
  | { type: 'switch'; key: string }
  | { type: 'switch-by'; delta: number }
  | { type: 'scroll'; key: string; scroll: number }
  | { type: 'clear'; key: string; time: number }
  | { type: 'notice'; notice: NoticeBody; time: number; room?: string | null }
  | { type: 'joining'; name: string; done: boolean }
  | { type: 'profile'; profile: Profile }
  | { type: 'connections'; connections: number }
  | { type: 'reachable'; reachable: boolean }
  | { type: 'pending'; pending: ChatState['pending'] }
  | { type: 'history'; history: readonly string[] }
  /** The room's governance now: after a governance event, or a member change. */
  | { type: 'governance'; key: string; owner: string | null; roles: Readonly<Record<string, Role>>; settings: RoomSettings }
  /** A DM's friend: their name or online status changed. */
  | { type: 'peer'; key: string; peer: DmPeer | null }

/** How many notices are kept; older ones scroll away for good. */
export const NOTICE_LIMIT = 300

export const initialChatState: ChatState = {
  rooms: [],
  active: null,
  target: null,
  notices: [],
  nextNotice: 0,
  joining: [],
  profile: { name: '', status: '', away: null },
  connections: 0,
  reachable: true,
  pending: null,
  history: null
}

/** The chat's state transitions: one action at a time, one message at a time. */
export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'room-add': {
      if (state.rooms.some((r) => r.key === action.key)) return state
      const { key, name, kind, peers } = action
      const view: RoomView = {
        key,
        name,
        kind,
        locked: action.locked ?? false,
        peers,
        unread: 0,
        mentions: 0,
        messages: [],
        atStart: false,
        loadingOlder: false,
        members: [],
        cleared: null,
        newFrom: null,
        scroll: 0,
        owner: null,
        roles: {},
        settings: DEFAULT_SETTINGS,
        peer: null
      }
      return { ...state, rooms: [...state.rooms, view], active: state.active ?? key }
    }
    case 'room-remove': {
      const rooms = state.rooms.filter((r) => r.key !== action.key)
      if (rooms.length === state.rooms.length) return state
      const index = state.rooms.findIndex((r) => r.key === action.key)
      const active =
        state.active === action.key ? (rooms[Math.min(index, rooms.length - 1)]?.key ?? null) : state.active
      const target = state.target?.key === action.key ? null : state.target
      return { ...state, rooms: showRoom(rooms, active, null), active, target }
    }
    case 'page':
      return updateRoom(state, action.key, (r) => {
        const messages = mergePage(r.messages, action.messages)
        // A page shorter than asked for is the whole history there is.
        const atStart = r.atStart || action.messages.length < action.limit
        return markNew({ ...r, messages, atStart }, r.unread)
      })
    case 'older-loading':
      return updateRoom(state, action.key, (r) => ({ ...r, loadingOlder: true }))
    case 'older':
      return updateRoom(state, action.key, (r) => {
        const known = new Set(r.messages.map((m) => m.id))
        const older = action.messages.filter((m) => !known.has(m.id))
        return {
          ...r,
          messages: older.length > 0 ? [...older, ...r.messages] : r.messages,
          atStart: older.length === 0,
          loadingOlder: false
        }
      })
    case 'message':
      return updateRoom(state, action.key, (r) => {
        const next = insertMessage(r, action.message)
        // The first message from someone else while the room is not shown: new from here.
        const unseen = action.key !== state.active && !action.message.self && r.newFrom === null
        return unseen && next !== r ? { ...next, newFrom: action.message.id } : next
      })
    case 'unread': {
      // The room shown is being read: the model marks it read in the library as it shows it.
      const shown = action.key === state.active
      const unread = shown ? 0 : action.unread
      return updateRoom(state, action.key, (r) => {
        // Every message in a DM is for you: it counts as a mention.
        const mentions = shown ? 0 : r.kind === 'dm' ? unread : action.mentions
        return r.unread === unread && r.mentions === mentions ? r : markNew({ ...r, unread, mentions }, unread)
      })
    }
    case 'update':
      return updateRoom(state, action.key, (r) => {
        const at = r.messages.findIndex((m) => m.id === action.message.id)
        if (at === -1) return r
        const messages = r.messages.slice()
        messages[at] = action.message
        return { ...r, messages }
      })
    case 'withdrawn': {
      const next = updateRoom(state, action.key, (r) => {
        const messages = r.messages.filter((m) => m.id !== action.id)
        return messages.length === r.messages.length ? r : { ...r, messages }
      })
      return next.target?.id === action.id ? { ...next, target: null } : next
    }
    case 'target':
      return state.target === action.target ? state : { ...state, target: action.target }
    case 'peers':
      return updateRoom(state, action.key, (r) => (r.peers === action.peers ? r : { ...r, peers: action.peers }))
    case 'members':
      return updateRoom(state, action.key, (r) => ({ ...r, members: action.members }))
    case 'switch':
      if (!state.rooms.some((r) => r.key === action.key)) return state
      if (state.active === action.key) return { ...state, rooms: showRoom(state.rooms, action.key, null) }
      return {
        ...state,
        active: action.key,
        rooms: showRoom(state.rooms, action.key, state.active),
        target: state.target?.key === action.key ? state.target : null
      }
    case 'switch-by': {
      const order = orderedRooms(state)
      const n = order.length
      if (n < 2) return state
      const at = order.findIndex((r) => r.key === state.active)
      const next = order[(((at + action.delta) % n) + n) % n]!
      return chatReducer(state, { type: 'switch', key: next.key })
    }
    case 'scroll':
      return updateRoom(state, action.key, (r) =>
        r.scroll === action.scroll ? r : { ...r, scroll: Math.max(0, action.scroll) }
      )
    case 'clear':
      return updateRoom(state, action.key, (r) => ({
        ...r,
        cleared: { id: r.messages[r.messages.length - 1]?.id ?? null, time: action.time },
        newFrom: null,
        scroll: 0
      }))
    case 'notice': {
      const notice = {
        ...action.notice,
        id: state.nextNotice,
        time: action.time,
        room: action.room === undefined ? state.active : action.room
      } as ChatNotice
      const notices = [...state.notices, notice].slice(-NOTICE_LIMIT)
      return { ...state, notices, nextNotice: state.nextNotice + 1 }
    }
    case 'joining': {
      if (!action.done) return { ...state, joining: [...state.joining, action.name] }
      const at = state.joining.indexOf(action.name)
      if (at === -1) return state
      return { ...state, joining: state.joining.filter((_, i) => i !== at) }
    }
    case 'profile':
      return state.profile === action.profile ? state : { ...state, profile: action.profile }
    case 'connections':
      return state.connections === action.connections ? state : { ...state, connections: action.connections }
    case 'reachable':
      return state.reachable === action.reachable ? state : { ...state, reachable: action.reachable }
    case 'history':
      return { ...state, history: action.history }
    case 'pending':
      return state.pending === action.pending ? state : { ...state, pending: action.pending }
    case 'governance':
      return updateRoom(state, action.key, (r) =>
        r.owner === action.owner && sameRecord(r.roles, action.roles) && sameRecord(r.settings, action.settings)
          ? r
          : { ...r, owner: action.owner, roles: action.roles, settings: action.settings }
      )
    case 'peer':
      return updateRoom(state, action.key, (r) =>
        r.peer === action.peer || (r.peer !== null && action.peer !== null && sameRecord(r.peer, action.peer))
          ? r
          : { ...r, peer: action.peer }
      )
  }
}

function sameRecord<T extends object>(a: T, b: T): boolean {
  const ka = Object.keys(a) as (keyof T)[]
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k])
}

/**
 * The first page joins what arrived while it was being read: one list in the library's
 * order, the page's copy of a message winning (the model reads it fresh before dispatching).
 */
function mergePage(existing: readonly Message[], page: readonly Message[]): readonly Message[] {
  if (existing.length === 0) return page
  const ids = new Set(page.map((m) => m.id))
  const merged = [...existing.filter((m) => !ids.has(m.id)), ...page]
  return merged.sort(compareMessages)
}

/**
 * A new message goes where the library's order puts it: nearly always at the end. One older
 * than everything loaded waits for paging back, or the page before it would skip messages.
 */
function insertMessage(r: RoomView, m: Message): RoomView {
  const list = r.messages
  const last = list[list.length - 1]
  if (!last || compareMessages(last, m) < 0) return { ...r, messages: [...list, m] }
  if (list.some((x) => x.id === m.id)) return r
  if (!r.atStart && compareMessages(m, list[0]!) < 0) return r
  const at = list.findIndex((x) => compareMessages(m, x) < 0)
  return { ...r, messages: [...list.slice(0, at), m, ...list.slice(at)] }
}

/**
 * Unread counts known (say, kept from before a restart) but no marker yet: it goes above the
 * `unread`-th latest loaded message from someone else.
 */
function markNew(r: RoomView, unread: number): RoomView {
  if (r.newFrom !== null || unread <= 0) return r
  let left = unread
  for (let i = r.messages.length - 1; i >= 0; i--) {
    const m = r.messages[i]!
    if (m.self) continue
    if (--left === 0) return { ...r, newFrom: m.id }
  }
  return r
}

function updateRoom(state: ChatState, key: string, fn: (r: RoomView) => RoomView): ChatState {
  let changed = false
  const rooms = state.rooms.map((r) => {
    if (r.key !== key) return r
    const next = fn(r)
    if (next !== r) changed = true
    return next
  })
  return changed ? { ...state, rooms } : state
}

/** The room shown is read; the room left behind loses its "new messages" marker. */
function showRoom(rooms: readonly RoomView[], key: string | null, leaving: string | null): readonly RoomView[] {
  return rooms.map((r) => {
    if (r.key === key && (r.unread > 0 || r.mentions > 0)) return { ...r, unread: 0, mentions: 0 }
    if (r.key === leaving && r.newFrom !== null) return { ...r, newFrom: null }
    return r
  })
}

/** One line of a room's timeline: a message, a notice, or the "new messages" marker. */
export type Entry =
  | { readonly kind: 'message'; readonly key: string; readonly message: Message }
  | { readonly kind: 'notice'; readonly key: string; readonly notice: ChatNotice }
  /** Above the first message that arrived unread; `time` is that message's. */
  | { readonly kind: 'new-marker'; readonly key: string; readonly time: number }

/** The active room's messages (after any /clear) and the notices shown with them, oldest first. */
export function selectEntries(state: ChatState): Entry[] {
  const room = state.rooms.find((r) => r.key === state.active)
  let messages = room?.messages ?? []
  const cleared = room?.cleared ?? null
  if (cleared?.id) {
    const at = messages.findIndex((m) => m.id === cleared.id)
    messages = at >= 0 ? messages.slice(at + 1) : messages.filter((m) => m.timestamp > cleared.time)
  }
  const notices = state.notices.filter((n) => n.room === state.active && (cleared === null || n.time > cleared.time))
  const newFrom = room?.newFrom ?? null
  const entries: Entry[] = []
  let i = 0
  let j = 0
  while (i < messages.length || j < notices.length) {
    const m = messages[i]
    const n = notices[j]
    if (m && (!n || m.timestamp <= n.time)) {
      if (m.id === newFrom) entries.push({ kind: 'new-marker', key: `new-${m.id}`, time: m.timestamp })
      entries.push({ kind: 'message', key: m.id, message: m })
      i++
    } else if (n) {
      entries.push({ kind: 'notice', key: `notice-${n.id}`, notice: n })
      j++
    }
  }
  return entries
}
