import { useCallback, useEffect, useMemo, useReducer, useRef } from 'react'
import {
  isBackspaceError,
  normalizeRoomName,
  type Backspace,
  type Message,
  type Room,
  type RoomKindName
} from '../lib/index.js'
import { COMMANDS, parseCommand, type Command } from './commands.js'

/** What the UI shows of one joined room. */
export interface RoomView {
  /** The room's topic in hex: two rooms may share a name, never a topic. */
  readonly key: string
  readonly name: string
  readonly kind: RoomKindName
  readonly peers: number
  /** Messages that arrived while another room was shown. */
  readonly unread: number
  /** The latest page, oldest first, in the order the library agreed on. */
  readonly messages: readonly Message[]
}

/** A line from the UI itself: command output, progress, errors. */
export interface Notice {
  readonly id: number
  readonly time: number
  readonly level: 'info' | 'error'
  readonly text: string
  /** The room it belongs to, or null to show it in every room. */
  readonly room: string | null
}

export interface ChatState {
  /** Joined rooms in the order they were joined. */
  readonly rooms: readonly RoomView[]
  /** The key of the room shown and sent to. */
  readonly active: string | null
  readonly notices: readonly Notice[]
  readonly nextNotice: number
  /** Joins still running, shown until they finish. */
  readonly joining: readonly string[]
}

export type ChatAction =
  | { type: 'room-add'; key: string; name: string; kind: RoomKindName; peers: number }
  | { type: 'room-remove'; key: string }
  | { type: 'messages'; key: string; messages: readonly Message[] }
  | { type: 'message'; key: string }
  | { type: 'peers'; key: string; peers: number }
  | { type: 'switch'; key: string }
  | { type: 'notice'; level: Notice['level']; text: string; time: number; global?: boolean }
  | { type: 'joining'; name: string; done: boolean }

/** How many notices are kept; older ones scroll away for good. */
const NOTICE_LIMIT = 200

export const initialChatState: ChatState = {
  rooms: [],
  active: null,
  notices: [],
  nextNotice: 0,
  joining: []
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'room-add': {
      if (state.rooms.some((r) => r.key === action.key)) return state
      const { key, name, kind, peers } = action
      const rooms = [...state.rooms, { key, name, kind, peers, unread: 0, messages: [] }]
      return { ...state, rooms, active: state.active ?? key }
    }
    case 'room-remove': {
      const rooms = state.rooms.filter((r) => r.key !== action.key)
      if (rooms.length === state.rooms.length) return state
      const index = state.rooms.findIndex((r) => r.key === action.key)
      const active =
        state.active === action.key
          ? (rooms[Math.min(index, rooms.length - 1)]?.key ?? null)
          : state.active
      return { ...state, rooms: markRead(rooms, active), active }
    }
    case 'messages':
      return updateRoom(state, action.key, (r) => ({ ...r, messages: action.messages }))
    case 'message':
      if (action.key === state.active) return state
      return updateRoom(state, action.key, (r) => ({ ...r, unread: r.unread + 1 }))
    case 'peers':
      return updateRoom(state, action.key, (r) =>
        r.peers === action.peers ? r : { ...r, peers: action.peers }
      )
    case 'switch':
      if (!state.rooms.some((r) => r.key === action.key)) return state
      return { ...state, active: action.key, rooms: markRead(state.rooms, action.key) }
    case 'notice': {
      const notice: Notice = {
        id: state.nextNotice,
        time: action.time,
        level: action.level,
        text: action.text,
        room: action.global ? null : state.active
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
  }
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
  return rooms.map((r) => (r.key === key && r.unread > 0 ? { ...r, unread: 0 } : r))
}

/** One line of the timeline: a message or a notice, merged by time. */
export type Entry =
  | {
      readonly kind: 'message'
      readonly key: string
      readonly message: Message
      readonly own: boolean
    }
  | { readonly kind: 'notice'; readonly key: string; readonly notice: Notice }

/** The active room's messages and the notices shown with them, oldest first. */
export function selectEntries(state: ChatState, self: Buffer): Entry[] {
  const room = state.rooms.find((r) => r.key === state.active)
  const messages = room?.messages ?? []
  const notices = state.notices.filter((n) => n.room === null || n.room === state.active)
  const entries: Entry[] = []
  let i = 0
  let j = 0
  while (i < messages.length || j < notices.length) {
    const m = messages[i]
    const n = notices[j]
    if (m && (!n || m.timestamp <= n.time)) {
      entries.push({ kind: 'message', key: m.id, message: m, own: m.author.equals(self) })
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
  room?: { name: string; password?: string }
  /** How many of the latest messages of a room are kept on screen. Default 200. */
  historyLimit?: number
  /** Called on `/quit`. */
  onQuit?: () => void
}

export interface Chat {
  readonly state: ChatState
  /** Runs one typed line: a message or a slash command. Resolves when it is done. */
  submit(line: string): Promise<void>
}

/**
 * Binds a Backspace node to UI state. Every chat rule stays in the library: this hook turns
 * its events into actions and typed commands into library calls, and failures into notices.
 */
export function useChat(node: Backspace, opts: ChatOptions = {}): Chat {
  const [state, dispatch] = useReducer(chatReducer, initialChatState)
  // Commands run outside render and need the latest state and the Room objects.
  const stateRef = useRef(state)
  stateRef.current = state
  const rooms = useRef(new Map<string, Room>())
  const optsRef = useRef(opts)
  optsRef.current = opts
  const limit = opts.historyLimit ?? 200

  const notify = useCallback((level: Notice['level'], text: string, global = false) => {
    dispatch({ type: 'notice', level, text, time: Date.now(), global })
  }, [])

  useEffect(() => {
    const detach = new Map<string, () => void>()

    const add = (room: Room) => {
      const key = roomKey(room)
      if (detach.has(key)) return
      rooms.current.set(key, room)
      // Reloads the latest page after new messages; calls that overlap collapse into one rerun.
      let loading = false
      let again = false
      const reload = async () => {
        if (loading) {
          again = true
          return
        }
        loading = true
        try {
          do {
            again = false
            const messages = await room.messages({ limit })
            dispatch({ type: 'messages', key, messages })
          } while (again)
        } catch (err) {
          if (!isBackspaceError(err, 'ROOM_CLOSED')) notify('error', describe(err))
        } finally {
          loading = false
        }
      }
      const onMessage = () => {
        dispatch({ type: 'message', key })
        void reload()
      }
      const onPeers = () => dispatch({ type: 'peers', key, peers: room.stats.peers })
      const onError = (err: Error) => notify('error', `#${room.name}: ${describe(err)}`, true)
      // A withdrawn message is gone from the library's page; reloading drops it from view.
      const onWithdrawn = () => void reload()
      room.on('message', onMessage)
      room.on('message-withdrawn', onWithdrawn)
      room.on('peer-add', onPeers)
      room.on('peer-remove', onPeers)
      room.on('error', onError)
      detach.set(key, () => {
        room.off('message', onMessage)
        room.off('message-withdrawn', onWithdrawn)
        room.off('peer-add', onPeers)
        room.off('peer-remove', onPeers)
        room.off('error', onError)
      })
      dispatch({ type: 'room-add', key, name: room.name, kind: room.kind, peers: room.stats.peers })
      void reload()
    }

    const remove = (room: Room) => {
      const key = roomKey(room)
      detach.get(key)?.()
      detach.delete(key)
      rooms.current.delete(key)
      dispatch({ type: 'room-remove', key })
    }

    const onNodeError = (err: Error) => notify('error', describe(err), true)

    node.on('room-add', add)
    node.on('room-remove', remove)
    node.on('error', onNodeError)
    for (const room of node.rooms) add(room)
    return () => {
      node.off('room-add', add)
      node.off('room-remove', remove)
      node.off('error', onNodeError)
      for (const off of detach.values()) off()
      detach.clear()
    }
  }, [node, limit, notify])

  const execute = useCallback(
    async (cmd: Command): Promise<void> => {
      const activeRoom = () => {
        const key = stateRef.current.active
        return key === null ? undefined : rooms.current.get(key)
      }
      switch (cmd.type) {
        case 'none':
          return
        case 'say': {
          const room = activeRoom()
          if (!room)
            return notify('info', 'You are not in a room yet. Type /join <name> to join one.')
          await room.send(cmd.text)
          return
        }
        case 'join': {
          const name = cmd.name.startsWith('backspace:') ? 'a private room' : `#${cmd.name}`
          dispatch({ type: 'joining', name, done: false })
          let room: Room
          try {
            const opts = cmd.password === undefined ? {} : { password: cmd.password }
            room = await node.join(cmd.name, opts)
          } finally {
            dispatch({ type: 'joining', name, done: true })
          }
          dispatch({ type: 'switch', key: roomKey(room) })
          notify('info', `Joined ${label(room)}.`)
          return
        }
        case 'create': {
          const room = await node.createRoom(cmd.label === undefined ? {} : { name: cmd.label })
          dispatch({ type: 'switch', key: roomKey(room) })
          notify('info', `Created ${label(room)}. Anyone holding this invite can join and read it:`)
          notify('info', room.invite)
          return
        }
        case 'invite': {
          const room = activeRoom()
          if (!room) return notify('info', 'You are not in a room.')
          notify('info', `Invite to ${label(room)}. Anyone holding it can join and read the room:`)
          notify('info', room.invite)
          return
        }
        case 'leave': {
          const room = activeRoom()
          if (!room) return notify('info', 'You are not in a room.')
          await room.leave()
          notify('info', `Left ${label(room)}.`, true)
          return
        }
        case 'rooms': {
          const { rooms: views, active } = stateRef.current
          if (views.length === 0)
            return notify('info', 'No rooms joined. Type /join <name> to join one.')
          const lines = views.map((r, i) => {
            const unread = r.unread > 0 ? `, ${r.unread} unread` : ''
            const mark = r.key === active ? '  <- current' : ''
            return `${i + 1}. ${label(r)}  (${r.kind}, ${peersText(r.peers)}${unread})${mark}`
          })
          notify('info', ['Rooms:', ...lines].join('\n'))
          return
        }
        case 'switch': {
          const views = stateRef.current.rooms
          const index = /^\d+$/.test(cmd.target) ? Number(cmd.target) - 1 : -1
          const byIndex = views[index]
          const wanted = byIndex ? null : normalizeRoomName(cmd.target)
          const view = byIndex ?? views.find((r) => r.name === wanted)
          if (!view)
            return notify(
              'info',
              `You are not in #${cmd.target}. Type /join ${cmd.target} to join it.`
            )
          dispatch({ type: 'switch', key: view.key })
          return
        }
        case 'quit':
          optsRef.current.onQuit?.()
          return
        case 'help': {
          const width = Math.max(...COMMANDS.map(([usage]) => usage.length))
          const lines = COMMANDS.map(([usage, what]) => `  ${usage.padEnd(width)}  ${what}`)
          notify(
            'info',
            ['Type a message and press Enter to send it. Commands:', ...lines].join('\n')
          )
          return
        }
        case 'usage':
          notify('error', cmd.text)
          return
      }
    },
    [node, notify]
  )

  const submit = useCallback(
    async (line: string) => {
      try {
        await execute(parseCommand(line))
      } catch (err) {
        notify('error', describe(err))
      }
    },
    [execute, notify]
  )

  // The --room of the command line, once.
  const started = useRef(false)
  useEffect(() => {
    if (started.current) return
    started.current = true
    const room = optsRef.current.room
    if (room) void submitJoin(room)
    else if (node.rooms.length === 0)
      notify('info', 'Type /join <name> to join a room, or /help.', true)

    async function submitJoin(room: { name: string; password?: string }) {
      try {
        await execute({ type: 'join', ...room })
      } catch (err) {
        notify('error', describe(err))
      }
    }
  }, [node, execute, notify])

  return useMemo(() => ({ state, submit }), [state, submit])
}

/** The key a room is known by in the UI state. */
export function roomKey(room: Room): string {
  return room.topic.toString('hex')
}

/** `#general` for a named room, `~label` for a private one. */
export function label(room: { name: string; kind: RoomKindName }): string {
  return room.kind === 'named' ? `#${room.name}` : `~${room.name}`
}

function peersText(n: number): string {
  return n === 1 ? '1 peer' : `${n} peers`
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
