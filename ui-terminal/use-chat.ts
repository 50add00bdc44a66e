import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from 'react'
import {
  ChatModel,
  roomLabel,
  type Backspace,
  type ChatAction,
  type ChatNotice,
  type ChatState,
  type CommandResult,
  type Message,
  type Room,
  type RoomKindName,
  type RoomView,
  type Target
} from '../lib/index.js'
import { copyToClipboard } from './clipboard.js'

export {
  chatReducer,
  initialChatState,
  selectEntries,
  OLDER_PAGE,
  type ChatAction,
  type ChatState,
  type Entry,
  type RoomView,
  type Target
} from '../lib/index.js'
/** A line from the chat that is not a message: typed data, worded by `format.ts`. */
export type Notice = ChatNotice

export interface ChatOptions {
  /** A room to join on start, as `backspace --room` asks. */
  room?: { name: string; password?: string } | undefined
  /** How many of the latest messages of a room are loaded at first. Default 200. */
  historyLimit?: number
  /** Called on `/quit`. */
  onQuit?: (() => void) | undefined
  /** Called for a message that mentions you: the app rings the terminal bell. */
  onMention?: ((message: Message, room: string) => void) | undefined
}

export interface Chat {
  readonly state: ChatState
  /** The library's chat model this screen renders. */
  readonly model: ChatModel
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
  /** Keeps a line typed for recall after a restart. */
  remember(line: string): void
}

/**
 * Renders the library's chat model: every chat rule is in `ChatModel`; this hook only
 * subscribes to it, and adds what belongs to a terminal (the clipboard, the bell).
 */
export function useChat(node: Backspace, opts: ChatOptions = {}): Chat {
  const optsRef = useRef(opts)
  optsRef.current = opts
  const model = useMemo(
    () => new ChatModel(node, { room: opts.room, historyLimit: opts.historyLimit ?? 200 }),
    // One model per node: the options are read when it starts.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [node]
  )
  const state = useSyncExternalStore(
    useCallback((fn: () => void) => model.subscribe(fn), [model]),
    () => model.state
  )

  useEffect(() => {
    const onQuit = () => optsRef.current.onQuit?.()
    const onMention = (message: Message, room: string) => optsRef.current.onMention?.(message, room)
    const onCommand = (result: CommandResult, room: Room | undefined) => {
      const shared = result.command.type === 'create' ? result.room : result.command.type === 'invite' ? room : undefined
      if (shared && result.notices.every((n) => n.level === 'info') && copyToClipboard(shared.invite)) {
        const text = 'The invite is on the clipboard too, if this terminal allows it (OSC 52).'
        model.notify({ kind: 'text', level: 'info', text }, result.room?.id ?? room?.id)
      }
    }
    model.on('quit', onQuit)
    model.on('mention', onMention)
    model.on('command', onCommand)
    model.ready().catch(() => {})
    return () => {
      model.off('quit', onQuit)
      model.off('mention', onMention)
      model.off('command', onCommand)
      void model.close()
    }
  }, [model])

  return useMemo(
    () => ({
      state,
      model,
      submit: (line: string) => model.submit(line),
      complete: (line: string) => model.complete(line),
      loadOlder: (key: string) => model.loadOlder(key),
      stepEdit: (direction: -1 | 1) => model.stepEdit(direction),
      pick: (direction: -1 | 1) => model.pick(direction),
      target: () => model.target(),
      dropTarget: () => model.dropTarget(),
      dispatch: (action: ChatAction) => model.dispatch(action),
      remember: (line: string) => model.remember(line)
    }),
    [state, model]
  )
}

export { KEYS_HELP } from './format.js'

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

