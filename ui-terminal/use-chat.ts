import { useCallback, useEffect, useMemo, useReducer, useRef } from 'react'
import {
  aloneNotice,
  compareMessages,
  completeLine,
  HELP_FOOTER,
  roomLabel,
  isBackspaceError,
  parseCommand,
  runCommand,
  type Backspace,
  type DeviceInfo,
  type DeviceRequest,
  type FriendRequest,
  type Member,
  type MentionTarget,
  type Message,
  type Profile,
  type Room,
  type RoomKindName,
  type UnreadCounts
} from '../lib/index.js'
import { describeMessageError, lastOwnMessage, type MessageAction } from '../lib/message-refs.js'
import { copyToClipboard } from './clipboard.js'

/** What the UI shows of one joined room. */
export interface RoomView {
  /** The room's id (its topic in hex): two rooms may share a name, never an id. */
  readonly key: string
  readonly name: string
  readonly kind: RoomKindName
  /** A password room (`room.locked`): the list marks it. */
  readonly locked: boolean
  readonly peers: number
  /** Messages from others not read yet, as the library counts them (kept across restarts). */
  readonly unread: number
  /** Of those, the ones that mention this node's name. */
  readonly mentions: number
  /** Loaded messages, oldest first, in the order the library agreed on. */
  readonly messages: readonly Message[]
  /** True once paging back found nothing older. */
  readonly atStart: boolean
  /** An older page is being fetched. */
  readonly loadingOlder: boolean
  readonly members: readonly Member[]
  /** `/clear`: what was shown up to then is hidden, on this screen only. */
  readonly cleared: { readonly id: string | null; readonly time: number } | null
  /** Rows scrolled up from the newest line; 0 follows new messages. */
  readonly scroll: number
}

/** A line from the UI itself: command output, progress, errors. */
export interface Notice {
  readonly id: number
  readonly time: number
  readonly level: 'info' | 'error'
  readonly text: string
  /**
   * The room it is shown in: the one it is about, else the one shown when it came. Null only
   * while no room is shown: such a notice stays on that empty screen.
   */
  readonly room: string | null
}

/**
 * A message the input line works on: `edit` (Up on an empty line) puts its text in the line
 * and Enter saves it; `reply` (Alt+Up/Down picks it) sends the next line as an answer, and
 * message commands without a reference act on it.
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
  readonly notices: readonly Notice[]
  readonly nextNotice: number
  /** Joins still running, shown until they finish. */
  readonly joining: readonly string[]
  /** This identity's profile: display name, status, away. */
  readonly profile: Profile
  /** Connections to other peers. */
  readonly connections: number
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
  | { type: 'notice'; level: Notice['level']; text: string; time: number; room?: string | null }
  | { type: 'joining'; name: string; done: boolean }
  | { type: 'profile'; profile: Profile }
  | { type: 'connections'; connections: number }

/** How many notices are kept; older ones scroll away for good. */
const NOTICE_LIMIT = 300
/** Messages fetched per PgUp beyond what is loaded. */
export const OLDER_PAGE = 100

export const initialChatState: ChatState = {
  rooms: [],
  active: null,
  target: null,
  notices: [],
  nextNotice: 0,
  joining: [],
  profile: { name: '', status: '', away: null },
  connections: 0
}

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
        scroll: 0
      }
      return { ...state, rooms: [...state.rooms, view], active: state.active ?? key }
    }
    case 'room-remove': {
      const rooms = state.rooms.filter((r) => r.key !== action.key)
      if (rooms.length === state.rooms.length) return state
      const index = state.rooms.findIndex((r) => r.key === action.key)
      const active =
        state.active === action.key
          ? (rooms[Math.min(index, rooms.length - 1)]?.key ?? null)
          : state.active
      const target = state.target?.key === action.key ? null : state.target
      return { ...state, rooms: markRead(rooms, active), active, target }
    }
    case 'page':
      return updateRoom(state, action.key, (r) => {
        const messages = mergePage(r.messages, action.messages)
        // A page shorter than asked for is the whole history there is.
        const atStart = r.atStart || action.messages.length < action.limit
        return { ...r, messages, atStart }
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
      return updateRoom(state, action.key, (r) => insertMessage(r, action.message))
    case 'unread': {
      // The room shown is being read: the hook marks it read in the library as it shows it.
      const shown = action.key === state.active
      const unread = shown ? 0 : action.unread
      const mentions = shown ? 0 : action.mentions
      return updateRoom(state, action.key, (r) =>
        r.unread === unread && r.mentions === mentions ? r : { ...r, unread, mentions }
      )
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
      return updateRoom(state, action.key, (r) =>
        r.peers === action.peers ? r : { ...r, peers: action.peers }
      )
    case 'members':
      return updateRoom(state, action.key, (r) => ({ ...r, members: action.members }))
    case 'switch':
      if (!state.rooms.some((r) => r.key === action.key)) return state
      return {
        ...state,
        active: action.key,
        rooms: markRead(state.rooms, action.key),
        target: state.target?.key === action.key ? state.target : null
      }
    case 'switch-by': {
      const n = state.rooms.length
      if (n < 2) return state
      const at = state.rooms.findIndex((r) => r.key === state.active)
      const next = state.rooms[(((at + action.delta) % n) + n) % n]!
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
        scroll: 0
      }))
    case 'notice': {
      const notice: Notice = {
        id: state.nextNotice,
        time: action.time,
        level: action.level,
        text: action.text,
        room: action.room === undefined ? state.active : action.room
      }
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
      return state.connections === action.connections
        ? state
        : { ...state, connections: action.connections }
  }
}

/**
 * The first page joins what arrived while it was being read: one list in the library's
 * order, the page's copy of a message winning (the hook reads it fresh before dispatching).
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

function markRead(rooms: readonly RoomView[], key: string | null): readonly RoomView[] {
  return rooms.map((r) =>
    r.key === key && (r.unread > 0 || r.mentions > 0) ? { ...r, unread: 0, mentions: 0 } : r
  )
}

/** One line of the message pane: a message or a notice, merged by time. */
export type Entry =
  | { readonly kind: 'message'; readonly key: string; readonly message: Message }
  | { readonly kind: 'notice'; readonly key: string; readonly notice: Notice }

/** The active room's messages (after any /clear) and the notices shown with them, oldest first. */
export function selectEntries(state: ChatState): Entry[] {
  const room = state.rooms.find((r) => r.key === state.active)
  let messages = room?.messages ?? []
  const cleared = room?.cleared ?? null
  if (cleared?.id) {
    const at = messages.findIndex((m) => m.id === cleared.id)
    messages = at >= 0 ? messages.slice(at + 1) : messages.filter((m) => m.timestamp > cleared.time)
  }
  const notices = state.notices.filter(
    (n) =>
      n.room === state.active && (cleared === null || n.time > cleared.time)
  )
  const entries: Entry[] = []
  let i = 0
  let j = 0
  while (i < messages.length || j < notices.length) {
    const m = messages[i]
    const n = notices[j]
    if (m && (!n || m.timestamp <= n.time)) {
      entries.push({ kind: 'message', key: m.id, message: m })
      i++
    } else if (n) {
      entries.push({ kind: 'notice', key: `notice-${n.id}`, notice: n })
      j++
    }
  }
  return entries
}

export interface ChatOptions {
  /** A room to join on start, as `backspace --room` asks. */
  room?: { name: string; password?: string } | undefined
  /** How many of the latest messages of a room are loaded at first. Default 200. */
  historyLimit?: number
  /** Called on `/quit`. */
  onQuit?: (() => void) | undefined
}

export interface Chat {
  readonly state: ChatState
  /**
   * Runs one typed line: a message or a slash command. Resolves when it is done: false when
   * it failed (the notice says why), so the input line can give the text back.
   */
  submit(line: string): Promise<boolean>
  /** Tab completion for the input line: commands, then names in the active room. */
  complete(line: string): string[]
  /** Fetches the page before the oldest loaded message of a room. */
  loadOlder(key: string): void
  /**
   * Edit mode: -1 edits your message before the one being edited (from an empty line, your
   * last one), 1 the one after. Returns its text for the input line, or null when there is
   * none (stepping past the newest leaves edit mode).
   */
  stepEdit(direction: -1 | 1): string | null
  /** Picks a message to answer: -1 the one above the picked one (or the newest), 1 below. */
  pick(direction: -1 | 1): void
  /** The target now, even before the render that shows it. */
  target(): Target | null
  /** Drops the target: leaves edit mode, forgets the picked message. */
  dropTarget(): void
  dispatch(action: ChatAction): void
}

/**
 * Binds a Backspace node to UI state. Every chat rule stays in the library: this hook turns
 * its events into actions, and typed lines into `runCommand` calls.
 */
export function useChat(node: Backspace, opts: ChatOptions = {}): Chat {
  const [state, dispatch] = useReducer(chatReducer, {
    ...initialChatState,
    profile: node.profile,
    connections: node.connections
  })
  // Commands run outside render and need the latest state and the Room objects.
  const stateRef = useRef(state)
  stateRef.current = state
  const rooms = useRef(new Map<string, Room>())
  const optsRef = useRef(opts)
  optsRef.current = opts
  const limit = opts.historyLimit ?? 200

  const notify = useCallback((level: Notice['level'], text: string, room?: string | null) => {
    dispatch({ type: 'notice', level, text, time: Date.now(), room })
  }, [])

  const markRead = useCallback(
    (key: string) => {
      node.markRead(key).catch((err: unknown) => {
        // Left or closed meanwhile: nothing to mark.
        const gone = ['INVALID_ARGUMENT', 'ROOM_CLOSED', 'NODE_CLOSED'] as const
        if (!gone.some((code) => isBackspaceError(err, code))) notify('error', describe(err), key)
      })
    },
    [node, notify]
  )

  useEffect(() => {
    const detach = new Map<string, () => void>()

    const add = (room: Room) => {
      const key = room.id
      if (detach.has(key)) return
      rooms.current.set(key, room)
      // The latest page, once: after it, events carry every change, one message at a time.
      const loadFirstPage = async () => {
        try {
          const page = await room.messages({ limit })
          // Changes that came while the page was read are in the room's copy.
          const messages = page.map((m) => room.message(m.id) ?? m)
          dispatch({ type: 'page', key, messages, limit })
        } catch (err) {
          if (!isBackspaceError(err, 'ROOM_CLOSED')) notify('error', describe(err), key)
        }
      }
      const onMessage = (message: Message) => {
        if (stateRef.current.active === key) markRead(key)
        dispatch({ type: 'message', key, message })
      }
      const onUpdate = (message: Message) => dispatch({ type: 'update', key, message })
      const onPeers = () => {
        dispatch({ type: 'peers', key, peers: room.stats.peers })
        dispatch({ type: 'connections', connections: node.connections })
      }
      const onMembers = () => dispatch({ type: 'members', key, members: room.members() })
      const onError = (err: Error) => notify('error', `${label(room)}: ${describe(err)}`, key)
      const onWithdrawn = (message: Message) => dispatch({ type: 'withdrawn', key, id: message.id })
      const onAlone = () => notify('info', aloneNotice(room), key)
      room.on('alone', onAlone)
      room.on('message', onMessage)
      room.on('message-update', onUpdate)
      room.on('message-withdrawn', onWithdrawn)
      room.on('peer-add', onPeers)
      room.on('peer-remove', onPeers)
      room.on('member-update', onMembers)
      room.on('error', onError)
      detach.set(key, () => {
        room.off('alone', onAlone)
        room.off('message', onMessage)
        room.off('message-update', onUpdate)
        room.off('message-withdrawn', onWithdrawn)
        room.off('peer-add', onPeers)
        room.off('peer-remove', onPeers)
        room.off('member-update', onMembers)
        room.off('error', onError)
      })
      dispatch({ type: 'room-add', key, name: room.name, kind: room.kind, peers: room.stats.peers, locked: room.locked })
      onUnread(key, node.unread(key))
      onMembers()
      void loadFirstPage()
    }

    const remove = (room: Room) => {
      const key = room.id
      detach.get(key)?.()
      detach.delete(key)
      rooms.current.delete(key)
      dispatch({ type: 'room-remove', key })
    }

    // Notices about no room in particular go to the room shown when they come, not to all.
    const onNodeError = (err: Error) => notify('error', describe(err))
    function onUnread(key: string, counts: UnreadCounts) {
      dispatch({ type: 'unread', key, unread: counts.unread, mentions: counts.mentions })
    }
    const onDeviceRequest = (req: DeviceRequest) =>
      notify(
        'info',
        `A new device asks to join your identity: ${req.fingerprint}${req.name ? ` "${req.name}"` : ''}. ` +
          'If the new device shows this same fingerprint, /device approve; otherwise /device deny.'
      )
    const onFriendRequest = (req: FriendRequest) =>
      notify(
        'info',
        `${req.name || 'Someone'} (${req.fingerprint}) asks to be your friend: "${req.text}". ` +
          `/requests accept ${req.fingerprint}, or /requests decline ${req.fingerprint} (they cannot tell).`
      )
    const onDevices = (devices: DeviceInfo[]) => {
      if (devices.some((d) => d.current && d.revoked)) {
        notify('error', 'This device was revoked: it no longer speaks for your identity.')
      }
    }
    const onProfile = (profile: Profile) => dispatch({ type: 'profile', profile })
    const onConnections = (connections: number) => dispatch({ type: 'connections', connections })

    node.on('room-add', add)
    node.on('room-remove', remove)
    node.on('error', onNodeError)
    node.on('profile', onProfile)
    node.on('connections', onConnections)
    node.on('unread', onUnread)
    node.on('device-request', onDeviceRequest)
    node.on('friend-request', onFriendRequest)
    node.on('device-update', onDevices)
    // Read again now: the state was first made before these listeners existed.
    onProfile(node.profile)
    onConnections(node.connections)
    for (const room of node.rooms) add(room)
    return () => {
      node.off('connections', onConnections)
      node.off('device-request', onDeviceRequest)
      node.off('friend-request', onFriendRequest)
      node.off('device-update', onDevices)
      node.off('room-add', add)
      node.off('room-remove', remove)
      node.off('error', onNodeError)
      node.off('profile', onProfile)
      node.off('unread', onUnread)
      for (const off of detach.values()) off()
      detach.clear()
    }
  }, [node, limit, notify, markRead])

  // The room shown is read: on every switch, and (above) as messages arrive in it.
  useEffect(() => {
    if (state.active !== null) markRead(state.active)
  }, [state.active, markRead])

  const activeRoom = useCallback(() => {
    const key = stateRef.current.active
    return key === null ? undefined : rooms.current.get(key)
  }, [])

  const activeMessages = useCallback((): readonly Message[] => {
    const { rooms: views, active } = stateRef.current
    return views.find((r) => r.key === active)?.messages ?? []
  }, [])

  // Sets the target now, for keys that come before the next render.
  const setTarget = useCallback((target: Target | null) => {
    stateRef.current = { ...stateRef.current, target }
    dispatch({ type: 'target', target })
  }, [])

  /** Saves an edit or sends an answer: the line typed while a message was the target. */
  const submitTarget = useCallback(
    async (target: Target, line: string) => {
      setTarget(null)
      const room = rooms.current.get(target.key)
      if (!room) return false
      const action: MessageAction = target.mode
      try {
        if (target.mode === 'edit') {
          const before = room.message(target.id)
          if (line.trim() === '' || before?.text === line) return true
          await room.edit(target.id, line)
        } else {
          await room.send(line, { replyTo: target.id })
        }
        return true
      } catch (err) {
        notify('error', describeMessageError(err, action), target.key)
        // The text goes back to the line, still editing or answering the same message.
        setTarget(target)
        return false
      }
    },
    [notify, setTarget]
  )

  const submit = useCallback(
    async (line: string) => {
      // Output belongs to the room the line was typed in, even if the user switched since.
      const origin = stateRef.current.active
      // Whoever sends or runs a command wants to see the result: back to the bottom.
      if (origin !== null && line.trim() !== '') dispatch({ type: 'scroll', key: origin, scroll: 0 })
      const room = activeRoom()
      const command = parseCommand(line)
      const target = stateRef.current.target
      // A plain line answers the picked message; a command acts on it; an edit is saved.
      if (target && (target.mode === 'edit' || command.type === 'say')) {
        return submitTarget(target, command.type === 'say' ? command.text : line)
      }
      if (target) setTarget(null)
      const joining = command.type === 'join' ? joinLabel(command.name) : null
      if (joining) dispatch({ type: 'joining', name: joining, done: false })
      let result
      try {
        result = await runCommand(node, line, {
          room,
          messages: activeMessages(),
          selected: target?.id
        })
      } finally {
        if (joining) dispatch({ type: 'joining', name: joining, done: true })
      }
      if (result.room) dispatch({ type: 'switch', key: result.room.id })
      // After /leave, the room shown next (the reducer knows it by now) gets the notice.
      const where = result.left ? undefined : (result.room?.id ?? origin)
      for (const n of result.notices) notify(n.level, n.text, where)
      const shared = result.command.type === 'create' ? result.room : result.command.type === 'invite' ? room : undefined
      if (shared && result.notices.every((n) => n.level === 'info') && copyToClipboard(shared.invite)) {
        notify('info', 'The invite is on the clipboard too, if this terminal allows it (OSC 52).', where)
      }
      if (result.help) {
        // The library gives the table as data; this screen lays it out.
        for (const c of [...result.help, HELP_FOOTER]) notify('info', `${c.usage.padEnd(26)} ${c.description}`, where)
        notify('info', KEYS_HELP, where)
      }
      if (result.clear && origin !== null)
        dispatch({ type: 'clear', key: origin, time: Date.now() })
      if (result.quit) optsRef.current.onQuit?.()
      // A message the library refused (too large, room closed) goes back to the line.
      const sending = result.command.type === 'say' || result.command.type === 'me'
      return !(sending && result.notices.some((n) => n.level === 'error' && n.code !== undefined))
    },
    [node, notify, activeRoom, activeMessages, submitTarget, setTarget]
  )

  const complete = useCallback((line: string) => {
    const key = stateRef.current.active
    const view = stateRef.current.rooms.find((r) => r.key === key)
    // Members by key, so that Tab offers `@alice#34ab` when two are called alice.
    const targets = new Map<string, MentionTarget>()
    for (const m of view?.members ?? []) if (m.name && !m.self) targets.set(m.key.toString('hex'), m)
    for (const m of view?.messages ?? []) {
      const hex = m.author.toString('hex')
      if (m.name && !m.self && !targets.has(hex)) targets.set(hex, { name: m.name, key: m.author })
    }
    return completeLine(line, [...targets.values()], view?.messages ?? [])
  }, [])

  const stepEdit = useCallback(
    (direction: -1 | 1): string | null => {
      const { active, target } = stateRef.current
      if (active === null) return null
      const own = activeMessages().filter((m) => m.self && !m.deleted)
      let next: Message | undefined
      if (target?.mode !== 'edit') {
        if (direction === 1) return null
        next = lastOwnMessage(own)
      } else {
        const at = own.findIndex((m) => m.id === target.id)
        next = at === -1 ? undefined : own[at + direction]
        if (!next && direction === -1) return null
      }
      if (!next && target?.mode !== 'edit') return null
      setTarget(next ? { mode: 'edit', key: active, id: next.id } : null)
      return next ? next.text : null
    },
    [activeMessages, setTarget]
  )

  const pick = useCallback(
    (direction: -1 | 1) => {
      const { active, target } = stateRef.current
      if (active === null) return
      const messages = activeMessages().filter((m) => !m.deleted)
      const at = target ? messages.findIndex((m) => m.id === target.id) : messages.length
      const next = messages[at === -1 ? messages.length - 1 : at + direction]
      setTarget(next ? { mode: 'reply', key: active, id: next.id } : null)
    },
    [activeMessages, setTarget]
  )

  const loadOlder = useCallback(
    (key: string) => {
      const room = rooms.current.get(key)
      const view = stateRef.current.rooms.find((r) => r.key === key)
      if (!room || !view || view.atStart || view.loadingOlder) return
      const first = view.messages[0]
      if (!first) return dispatch({ type: 'older', key, messages: [] })
      dispatch({ type: 'older-loading', key })
      room.messages({ before: first, limit: OLDER_PAGE }).then(
        (messages) => dispatch({ type: 'older', key, messages }),
        (err: unknown) => {
          dispatch({ type: 'older', key, messages: [] })
          if (!isBackspaceError(err, 'ROOM_CLOSED')) notify('error', describe(err), key)
        }
      )
    },
    [notify]
  )

  // The --room of the command line, once.
  const started = useRef(false)
  useEffect(() => {
    if (started.current) return
    started.current = true
    const room = optsRef.current.room
    if (!room) {
      if (node.rooms.length === 0) {
        notify('info', 'Type /join <room> to join a room, or /help for the commands.', null)
      }
      return
    }
    const name = joinLabel(room.name)
    dispatch({ type: 'joining', name, done: false })
    node
      .join(room.name, room.password === undefined ? {} : { password: room.password })
      .then(
        (joined) => {
          dispatch({ type: 'switch', key: joined.id })
          notify('info', `Joined ${label(joined)}.`)
        },
        (err: unknown) => notify('error', describe(err))
      )
      .finally(() => dispatch({ type: 'joining', name, done: true }))
  }, [node, notify])

  const target = useCallback(() => stateRef.current.target, [])
  const dropTarget = useCallback(() => setTarget(null), [setTarget])

  return useMemo(
    () => ({ state, submit, complete, loadOlder, stepEdit, pick, target, dropTarget, dispatch }),
    [state, submit, complete, loadOlder, stepEdit, pick, target, dropTarget]
  )
}

/** The keys, for /help: they belong to this screen, not to the library. */
export const KEYS_HELP =
  'Keys: Enter sends, Tab completes, PgUp/PgDn scroll, Alt+1..9 or Ctrl+N/Ctrl+P switch ' +
  'rooms, Ctrl+C quits. Up on an empty line edits your last message (Esc cancels); ' +
  'Alt+Up/Down picks a message to answer or act on; Ctrl+Up/Down recall lines.'

/** What `label` needs of a room: a RoomView, or the library's Room. */
type Labelled = { readonly name: string; readonly kind: RoomKindName; readonly locked?: boolean } & (
  | { readonly key: string }
  | { readonly id: string }
)

/**
 * `#name` or `~label`, as the library's command output writes rooms; with the room's tag
 * (`#secret·1a2b`) when another of `rooms` shows the same. The room list puts `LOCK` before
 * a password room.
 */
export function label(room: Labelled, rooms: readonly RoomView[] = []): string {
  const id = 'key' in room ? room.key : room.id
  return roomLabel(
    { name: room.name, kind: room.kind, id },
    rooms.map((r) => ({ name: r.name, kind: r.kind, id: r.key }))
  )
}

/** Marks a password room: another password makes another room with the same name. */
export const LOCK = '🔒'

function joinLabel(name: string): string {
  return name.startsWith('backspace:') ? 'a private room' : `#${name}`
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
