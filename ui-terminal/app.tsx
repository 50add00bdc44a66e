import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { Box, Text, useApp, useInput, useStdout } from 'ink'
import { BackspaceError, MAX_TEXT_BYTES, orderedRooms, type Backspace } from '../lib/index.js'
import { pointsAtMessage } from '../lib/commands.js'
import { shortRefs } from '../lib/message-refs.js'
import { AccountSetup } from './components/account-setup.js'
import { InputLine } from './components/input-line.js'
import { MessagePane } from './components/message-pane.js'
import { RoomList } from './components/room-list.js'
import { StatusBar } from './components/status-bar.js'
import { oneLine, TitleBar } from './components/title-bar.js'
import { cut, layoutRows, type PaneRow } from './format.js'
import { useAccountSetup, type SetupOptions } from './use-account-setup.js'
import { label, selectEntries, useChat, type ChatOptions } from './use-chat.js'
import { useTerminalSize } from './use-terminal-size.js'

export interface AppProps extends SetupOptions {
  /** A room to join once the node is open, as `backspace --room` asks. */
  room?: ChatOptions['room']
  /** Called when the user quits, before the app unmounts. */
  onQuit?: () => void
  /**
   * Called, before the app unmounts, when it ends on an error: a start-up problem no retry can
   * fix, or Ctrl+C at a failure or password prompt. The caller exits non-zero with it.
   */
  onFail?: (err: Error) => void
}

/**
 * The whole terminal app: the first start (account selector, new account, unlock) until a
 * node is open, then the chat. The node comes from `open`, whose caller closes it.
 */
export function App({ room, onQuit, onFail, ...setupOptions }: AppProps) {
  const { exit } = useApp()
  const { columns, rows } = useTerminalSize()
  const setup = useAccountSetup(setupOptions)
  const step = setup.state.step
  const fail = (err: Error) => {
    onFail?.(err)
    exit(err)
  }
  // A start-up problem no retry can fix: the sentence stays on the screen and the app ends.
  useEffect(() => {
    if (step.name === 'fatal') fail(step.reason)
  }, [step])
  useInput(
    (input, key) => {
      if (!key.ctrl || input !== 'c') return
      if (step.name === 'failed') {
        return fail(step.reason instanceof Error ? step.reason : new Error(String(step.reason)))
      }
      if (step.name === 'unlock') return fail(BackspaceError.PASSWORD_REQUIRED('cancelled'))
      onQuit?.()
      exit()
    },
    { isActive: setup.node === null }
  )
  if (setup.node) return <ChatApp node={setup.node} room={room} onQuit={onQuit} />
  return (
    <AccountSetup
      setup={setup}
      account={setupOptions.account}
      storage={setupOptions.storage}
      width={columns}
      height={rows}
    />
  )
}

export interface ChatAppProps extends ChatOptions {
  /** A ready node. The app never closes it: whoever made it does. */
  node: Backspace
}

// Rows besides the message pane: the title bar, the status bar and the input line, plus one:
// Ink clears and redraws the whole screen when its output is as tall as the terminal.
const CHROME_ROWS = 4

/** The chat screen: title bar, room list, message pane, status bar and input line. */
export function ChatApp({ node, onQuit, ...opts }: ChatAppProps) {
  const { exit } = useApp()
  // Quitting shows "Closing..." first: closing the node can take a while (see closeWithin),
  // and a screen that does not answer looks frozen. The app exits once that frame is drawn.
  const [closing, setClosing] = useState(false)
  useEffect(() => {
    if (closing) exit()
  }, [closing])
  const quit = () => {
    if (closing) return
    onQuit?.()
    setClosing(true)
  }
  // A mention rings the terminal's bell (BEL), as irssi and weechat do; only on a real terminal.
  const { stdout } = useStdout()
  const bell = useCallback(() => {
    if (stdout.isTTY) stdout.write('\u0007')
  }, [stdout])
  const chat = useChat(node, { onMention: bell, ...opts, onQuit: quit })
  const { state, dispatch } = chat
  const { columns, rows: terminalRows } = useTerminalSize()
  const now = useMinuteClock()

  const active = state.rooms.find((r) => r.key === state.active) ?? null
  // Rooms, then DMs: the order the room list numbers them in.
  const ordered = useMemo(() => orderedRooms(state), [state.rooms])
  const listWidth = columns >= 70 ? 18 : columns >= 50 ? 14 : 0
  const paneWidth = Math.max(10, columns - listWidth)
  // The room's announcement is a banner of its own under the title bar.
  const announcement =
    active && active.kind !== 'dm' && active.settings.announcement ? oneLine(active.settings.announcement) : ''
  const paneHeight = Math.max(3, terminalRows - CHROME_ROWS - (announcement ? 1 : 0))

  // While the line is a command that takes a message reference, the pane shows them.
  const [showRefs, setShowRefs] = useState(false)
  const onLineChange = useCallback((value: string) => setShowRefs(pointsAtMessage(value)), [])
  const refs = useMemo(
    () => (showRefs && active ? shortRefs(active.messages) : null),
    [showRefs, active?.messages]
  )
  const target = state.target?.key === active?.key ? state.target : null
  const targetMessage = target ? active?.messages.find((m) => m.id === target.id) : undefined

  const entries = useMemo(() => selectEntries(state), [state.rooms, state.active, state.notices])
  const laidOut = useMemo(
    () => layoutRows(entries, paneWidth, { refs, selected: target?.id ?? null, roles: active?.roles ?? {} }),
    [entries, paneWidth, refs, target?.id, active?.roles]
  )
  const rows = useMemo(() => {
    if (!active) return laidOut
    // After /clear the top of the pane is not the start of the room.
    const top = active.loadingOlder
      ? 'Loading older messages...'
      : active.atStart && active.cleared === null
        ? `Start of ${label(active, state.rooms)}.`
        : null
    if (top === null) return laidOut
    const banner: PaneRow = {
      key: 'top',
      time: '',
      nick: '--',
      style: 'day',
      continued: false,
      text: top,
      author: null
    }
    return [banner, ...laidOut]
  }, [laidOut, active?.loadingOlder, active?.atStart, active?.cleared, active?.name, active?.kind])

  const maxScroll = Math.max(0, rows.length - paneHeight)
  const scroll = Math.min(active?.scroll ?? 0, maxScroll)
  const page = Math.max(1, paneHeight - 2)

  // While scrolled up, new messages at the bottom must not move what is being read.
  const previous = useRef<{ key: string | null; first?: string; last?: string; count: number }>({
    key: null,
    count: 0
  })
  useEffect(() => {
    const prev = previous.current
    const first = rows[0]?.key
    const last = rows[rows.length - 1]?.key
    if (
      active &&
      prev.key === active.key &&
      scroll > 0 &&
      prev.first === first &&
      prev.last !== last
    ) {
      dispatch({ type: 'scroll', key: active.key, scroll: scroll + rows.length - prev.count })
    }
    previous.current = { key: active?.key ?? null, first, last, count: rows.length }
  }, [rows, active?.key])

  // A message picked with Alt+Up/Down is scrolled into view.
  useEffect(() => {
    if (!active || !target) return
    const first = rows.findIndex((r) => r.selected)
    if (first === -1) return
    let last = first
    while (rows[last + 1]?.selected) last++
    const bottom = rows.length - scroll // one past the last row shown
    if (last >= bottom)
      dispatch({ type: 'scroll', key: active.key, scroll: rows.length - 1 - last })
    else if (first < bottom - paneHeight) {
      dispatch({
        type: 'scroll',
        key: active.key,
        scroll: Math.max(0, rows.length - first - paneHeight)
      })
    }
  }, [target?.id, rows.length, paneHeight])

  // Up on an empty line edits your last message; Up and Down then walk your messages; Esc
  // leaves edit mode (and drops a picked message).
  const onLineKey = useCallback(
    (key: 'up' | 'down' | 'escape', line: { value: string; browsing: boolean }) => {
      const mode = chat.target()?.mode ?? null
      if (key === 'escape') {
        if (mode === null) return undefined
        chat.dropTarget()
        return mode === 'edit' ? '' : null
      }
      if (mode !== 'edit' && (line.value !== '' || line.browsing || key === 'down'))
        return undefined
      const text = chat.stepEdit(key === 'up' ? -1 : 1)
      if (text !== null) return text
      return mode === 'edit' ? (key === 'down' ? '' : null) : undefined
    },
    [chat.target, chat.stepEdit, chat.dropTarget]
  )

  useInput((input, key) => {
    if (key.ctrl && input === 'c') return quit()
    if (key.ctrl && input === 'n') return dispatch({ type: 'switch-by', delta: 1 })
    if (key.ctrl && input === 'p') return dispatch({ type: 'switch-by', delta: -1 })
    if (key.meta && /^[1-9]$/.test(input)) {
      const target = ordered[Number(input) - 1]
      if (target) dispatch({ type: 'switch', key: target.key })
      return
    }
    if (!active) return
    if (key.meta && (key.upArrow || key.downArrow)) return chat.pick(key.upArrow ? -1 : 1)
    if (key.pageUp) {
      // Past the top of what is loaded, the scroll waits for the older page asked for here.
      const next = active.atStart ? Math.min(scroll + page, maxScroll) : scroll + page
      dispatch({ type: 'scroll', key: active.key, scroll: next })
      if (next + page >= maxScroll) chat.loadOlder(active.key)
      return
    }
    if (key.pageDown) {
      dispatch({ type: 'scroll', key: active.key, scroll: Math.max(0, scroll - page) })
    }
  })

  const room = active ? `[${label(active, state.rooms)}] ` : '> '
  const prompt = !targetMessage
    ? room
    : target?.mode === 'edit'
      ? `${room}edit: `
      : `${room}${cut(`↳ ${targetMessage.name || targetMessage.fingerprint.split('-')[0]}`, 16)}: `
  const activity =
    listWidth > 0
      ? null
      : ordered.flatMap((r, i) =>
          r.unread > 0 || r.mentions > 0 ? [{ index: i + 1, mention: r.mentions > 0 }] : []
        )
  return (
    <Box flexDirection="column" width={columns} height={terminalRows - 1}>
      <TitleBar width={columns} active={active} rooms={state.rooms} />
      {announcement ? (
        <Box width={columns} height={1}>
          <Text wrap="truncate-end" color="yellow" bold>
            {`Announcement: ${announcement}`}
          </Text>
        </Box>
      ) : null}
      <Box height={paneHeight}>
        {listWidth > 0 ? (
          <RoomList
            rooms={state.rooms}
            active={state.active}
            width={listWidth}
            height={paneHeight}
          />
        ) : null}
        <MessagePane rows={rows} height={paneHeight} width={paneWidth} scroll={scroll} />
      </Box>
      <StatusBar
        width={columns}
        now={now}
        profile={state.profile}
        fingerprint={node.identity.fingerprint}
        anonName={node.incognito ? node.identity.anonName : null}
        connections={state.connections}
        reachable={state.reachable}
        active={active}
        joining={state.joining}
        scroll={scroll}
        activity={activity}
      />
      {closing ? (
        <Text color="yellow">Closing...</Text>
      ) : (
      <InputLine
        prompt={prompt}
        width={columns}
        onSubmit={chat.submit}
        limit={MAX_TEXT_BYTES}
        complete={chat.complete}
        onKey={onLineKey}
        onChange={onLineChange}
        remember={target?.mode !== 'edit'}
        submitEmpty={target?.mode === 'edit'}
        multiline
        history={state.history}
        onRemember={chat.remember}
      />
      )}
    </Box>
  )
}

/** The time, updated each minute, for the status bar. */
function useMinuteClock(): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    let timer: NodeJS.Timeout
    const schedule = () => {
      timer = setTimeout(
        () => {
          setNow(Date.now())
          schedule()
        },
        60_000 - (Date.now() % 60_000)
      )
      timer.unref?.()
    }
    schedule()
    return () => clearTimeout(timer)
  }, [])
  return now
}
