import { Box, useApp, useInput } from 'ink'
import type { Backspace } from '../lib/index.js'
import { AccountSetup } from './components/account-setup.js'
import { Header } from './components/header.js'
import { InputLine } from './components/input-line.js'
import { Timeline } from './components/timeline.js'
import { label, selectEntries, useChat, type ChatOptions } from './use-chat.js'
import { useTerminalSize } from './use-terminal-size.js'
import { useAccountSetup, type SetupOptions } from './use-account-setup.js'

export interface AppProps extends SetupOptions {
  /** A room to join once the node is open, as `backspace --room` asks. */
  room?: ChatOptions['room']
  /** Called when the user quits, before the app unmounts. */
  onQuit?: () => void
}

/**
 * The whole terminal app: the first start (account selector, new account, unlock) until a
 * node is open, then the chat. The node comes from `open`, whose caller closes it.
 */
export function App({ room, onQuit, ...setupOptions }: AppProps) {
  const { exit } = useApp()
  const { columns } = useTerminalSize()
  const setup = useAccountSetup(setupOptions)
  useInput(
    (input, key) => {
      if (key.ctrl && input === 'c') {
        onQuit?.()
        exit()
      }
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
    />
  )
}

export interface ChatAppProps extends ChatOptions {
  /** A ready node. The app never closes it: whoever made it does. */
  node: Backspace
}

// Rows taken by the header (2) and the input line (1), plus one: Ink redraws the whole
// screen when its output is as tall as the terminal.
const CHROME_ROWS = 4

/** The chat screen: header, the active room's timeline, and the input line. */
export function ChatApp({ node, onQuit, ...opts }: ChatAppProps) {
  const { exit } = useApp()
  const quit = () => {
    onQuit?.()
    exit()
  }
  const { state, submit } = useChat(node, { ...opts, onQuit: quit })
  useInput((input, key) => {
    if (key.ctrl && input === 'c') quit()
  })
  const { columns, rows } = useTerminalSize()
  const identity = node.identity
  const active = state.rooms.find((r) => r.key === state.active) ?? null
  return (
    <Box flexDirection="column" width={columns}>
      <Header
        fingerprint={identity.fingerprint}
        anonName={node.incognito ? identity.anonName : null}
        active={active}
        rooms={state.rooms}
        joining={state.joining}
      />
      <Timeline
        entries={selectEntries(state, node.publicKey)}
        height={Math.max(3, rows - CHROME_ROWS)}
        width={columns}
      />
      <InputLine prompt={active ? `${label(active)}> ` : '> '} width={columns} onSubmit={submit} />
    </Box>
  )
}
