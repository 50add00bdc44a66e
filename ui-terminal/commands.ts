/** What one line typed into the chat asks for. */
export type Command =
  | { type: 'say'; text: string }
  | { type: 'join'; name: string; password?: string }
  | { type: 'create'; label?: string }
  | { type: 'invite' }
  | { type: 'leave' }
  | { type: 'rooms' }
  | { type: 'switch'; target: string }
  | { type: 'quit' }
  | { type: 'help' }
  | { type: 'usage'; text: string }
  | { type: 'none' }

/** The slash commands, for `/help`. */
export const COMMANDS: ReadonlyArray<readonly [usage: string, what: string]> = [
  ['/join <name> [password]', 'join a named room (another password is another room)'],
  ['/join <invite>', 'join a private room from its invite'],
  ['/create [label]', 'create a private room and show its invite'],
  ['/invite', 'show the invite of the current room'],
  ['/switch <name|number>', 'switch to another joined room (also /room)'],
  ['/rooms', 'list joined rooms'],
  ['/leave', 'leave the current room and delete its local history'],
  ['/quit', 'close Backspace (also Ctrl-C)'],
  ['/help', 'show this help'],
  ['//text', 'send a message that starts with a slash']
]

/**
 * Parses one line of input. Arguments are separated by spaces; double quotes keep spaces
 * inside one argument, as in `/join "book club" secret`.
 */
export function parseCommand(line: string): Command {
  const trimmed = line.trim()
  if (trimmed.length === 0) return { type: 'none' }
  if (trimmed.startsWith('//')) return { type: 'say', text: trimmed.slice(1) }
  if (!trimmed.startsWith('/')) return { type: 'say', text: line.trimEnd() }

  const [word = '', ...args] = splitArgs(trimmed.slice(1))
  switch (word.toLowerCase()) {
    case 'join':
    case 'j':
      if (args.length < 1 || args.length > 2) return usage('/join <name> [password]')
      return args[1] === undefined
        ? { type: 'join', name: args[0]! }
        : { type: 'join', name: args[0]!, password: args[1] }
    case 'create':
      return args.length === 0 ? { type: 'create' } : { type: 'create', label: args.join(' ') }
    case 'invite':
      return args.length === 0 ? { type: 'invite' } : usage('/invite')
    case 'leave':
    case 'part':
      return args.length === 0 ? { type: 'leave' } : usage('/leave')
    case 'rooms':
      return args.length === 0 ? { type: 'rooms' } : usage('/rooms')
    case 'switch':
    case 'room':
      return args.length === 0
        ? usage('/switch <name|number>')
        : { type: 'switch', target: args.join(' ') }
    case 'quit':
    case 'exit':
    case 'q':
      return { type: 'quit' }
    case 'help':
    case '?':
      return { type: 'help' }
    default:
      return { type: 'usage', text: `Unknown command /${word}. Type /help for the list.` }
  }
}

function usage(text: string): Command {
  return { type: 'usage', text: `Usage: ${text}` }
}

function splitArgs(text: string): string[] {
  const args: string[] = []
  const pattern = /"([^"]*)"|(\S+)/g
  for (const m of text.matchAll(pattern)) args.push(m[1] ?? m[2] ?? '')
  return args
}
