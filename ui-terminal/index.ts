import { createElement } from 'react'
import { render } from 'ink'
import type { Backspace } from '../lib/index.js'
import { ChatApp, type ChatAppProps } from './app.js'

export { ChatApp, type ChatAppProps } from './app.js'
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
  type RoomView
} from './use-chat.js'
export { parseCommand, COMMANDS, type Command } from './commands.js'

export interface ChatSession {
  /** Resolves when the user quits (`/quit`, Ctrl-C) or `stop()` is called. */
  readonly exited: Promise<void>
  /** Unmounts the UI, as on `/quit`. */
  stop(): void
}

/** Renders the chat on the terminal for a ready node. Closing the node is left to the caller. */
export function startChat(node: Backspace, opts: Omit<ChatAppProps, 'node'> = {}): ChatSession {
  const instance = render(createElement(ChatApp, { node, ...opts }), { exitOnCtrlC: true })
  return {
    exited: instance.waitUntilExit().then(() => undefined),
    stop: () => instance.unmount()
  }
}
