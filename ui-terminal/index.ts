import { createElement } from 'react'
import { render } from 'ink'
import { Backspace, type BackspaceOptions } from '../lib/index.js'
import { App, ChatApp, type AppProps, type ChatAppProps } from './app.js'

export { App, ChatApp, type AppProps, type ChatAppProps } from './app.js'
export {
  SETUP_CHOICES,
  useAccountSetup,
  type AccountSetup,
  type SetupOptions,
  type SetupStep
} from './use-account-setup.js'
export {
  chatReducer,
  initialChatState,
  selectEntries,
  useChat,
  type Chat,
  type ChatAction,
  type ChatOptions,
  type ChatState,
  type Entry,
  type Notice,
  type RoomView,
  type Target
} from './use-chat.js'
export { layoutRows, wrapText, type PaneRow, type RowStyle } from './format.js'

export interface ChatSession {
  /**
   * Resolves when the user quits (`/quit`, Ctrl-C) or `stop()` is called; rejects with the
   * error when the app ended on one (see `AppProps.onFail`): the caller exits non-zero.
   */
  readonly exited: Promise<void>
  /** Unmounts the UI, as on `/quit`. */
  stop(): void
}

/**
 * Starts the whole terminal app before any node exists: the account selector or password
 * prompt first, then the chat. The app makes the node once the account is chosen; `exited`
 * resolves after the user quit and that node closed.
 */
export function startApp(opts: Omit<AppProps, 'open' | 'onQuit' | 'onFail'>): ChatSession {
  let node: Backspace | null = null
  const open = async (options: BackspaceOptions, onMade?: (node: Backspace) => void): Promise<Backspace> => {
    const made = new Backspace(options)
    node = made
    onMade?.(made)
    try {
      await made.ready()
    } catch (err) {
      if (node === made) node = null
      await made.close().catch(() => {})
      throw err
    }
    return made
  }
  let failure: Error | null = null
  const onFail = (err: Error) => {
    failure = err
  }
  const instance = render(createElement(App, { ...opts, open, onFail }), { exitOnCtrlC: false })
  // A failure (a storage in use, a cancelled password) rejects `exited`, after the node closed.
  const exited = instance
    .waitUntilExit()
    .catch(() => {})
    .then(() => closeWithin(node as Backspace | null, CLOSE_WAIT_MS))
    .then(() => {
      if (failure) throw failure
    })
  return { exited, stop: () => instance.unmount() }
}

/**
 * How long quitting waits for the node to close. Closing tells the DHT the node is gone; with
 * the bootstrap unreachable that waits out its timeouts (7.5 s), which the user cannot tell
 * from a hang. The node saves its state before it destroys the swarm (the slow part), so the
 * process may exit after this while the close goes on.
 */
export const CLOSE_WAIT_MS = 2000

/**
 * Closes `node`, best effort: resolves `'closed'` once it closed (or failed to), or
 * `'gave-up'` after `ms` if it has not, so the caller can exit anyway.
 */
export async function closeWithin(
  node: { close(): Promise<void> } | null,
  ms: number
): Promise<'closed' | 'gave-up'> {
  if (!node) return 'closed'
  let timer: NodeJS.Timeout | undefined
  const gaveUp = new Promise<'gave-up'>((resolve) => {
    timer = setTimeout(() => resolve('gave-up'), ms)
  })
  const closed = node.close().then(
    () => 'closed' as const,
    () => 'closed' as const
  )
  try {
    return await Promise.race([closed, gaveUp])
  } finally {
    clearTimeout(timer)
  }
}

/** Renders the chat on the terminal for a ready node. Closing the node is left to the caller. */
export function startChat(node: Backspace, opts: Omit<ChatAppProps, 'node'> = {}): ChatSession {
  const instance = render(createElement(ChatApp, { node, ...opts }), { exitOnCtrlC: false })
  return {
    exited: instance.waitUntilExit().then(() => undefined),
    stop: () => instance.unmount()
  }
}
