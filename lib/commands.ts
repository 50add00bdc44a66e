// The slash commands both UIs share. Each command is one entry of the registry
// (`commands/registry.ts`); this file reads it to parse, run and complete a typed line.
import { isBackspaceError, type ErrorCode } from './errors.js'
import type { Backspace } from './index.js'
import { mentionOf, type MentionTarget } from './mentions.js'
import type { Message } from './types.js'
import { closestWord, parseArgs, usage } from './commands/parse.js'
import { BY_WORD, COMMANDS } from './commands/registry.js'
import type { Command, CommandContext, CommandResult, CommandScope, CommandSpec } from './commands/types.js'

export { COMMANDS, HELP_FOOTER } from './commands/registry.js'
export { aloneNotice, describeDevice, roomLabel, roomTag, type RoomLabelInput } from './commands/labels.js'
export {
  defineCommand,
  type ArgSpec,
  type ArgValues,
  type Command,
  type CommandContext,
  type CommandInfo,
  type CommandMap,
  type CommandOutput,
  type CommandResult,
  type CommandScope,
  type CommandSpec,
  type CommandType,
  type CompletionInput,
  type Notice,
  type RoomListing
} from './commands/types.js'

/** The registry entry for a command word or alias (case-insensitive), if any. */
export function findCommand(word: string): CommandSpec | undefined {
  return BY_WORD.get(word.toLowerCase())
}

/**
 * Parses one line of input. Command words are case-insensitive. Arguments are separated by
 * spaces; double quotes keep spaces inside one, as in `/join "book club" secret`. A line that
 * starts with `//` sends a message starting with `/`.
 */
export function parseCommand(line: string): Command {
  if (typeof line !== 'string') return { type: 'none' }
  const trimmed = line.trim()
  if (trimmed.length === 0) return { type: 'none' }
  if (trimmed.startsWith('//')) return { type: 'say', text: trimmed.slice(1) }
  if (!trimmed.startsWith('/')) return { type: 'say', text: line.trimEnd() }

  const space = trimmed.search(/\s/)
  const word = (space === -1 ? trimmed.slice(1) : trimmed.slice(1, space)).toLowerCase()
  const rest = space === -1 ? '' : trimmed.slice(space + 1).trim()
  const spec = BY_WORD.get(word)
  if (!spec) {
    const close = suggest(word)
    return usage(`Unknown command /${word}.${close ? ` Did you mean ${close}?` : ''} Type /help for the list.`)
  }
  const values = parseArgs(spec, rest)
  if (typeof values === 'string') return usage(values)
  const fields = spec.build ? spec.build(values, spec) : values
  if (typeof fields === 'string') return usage(fields)
  return { ...fields, type: spec.name } as Command
}

/**
 * Runs one typed line against `node`: the executor both UIs share, so a command behaves
 * the same everywhere. It never throws for the user's input; failures come back as error
 * notices with the library's code.
 */
export async function runCommand(node: Backspace, line: string, ctx: CommandContext = {}): Promise<CommandResult> {
  const command = parseCommand(line)
  const result: CommandResult = { command, notices: [] }
  const room = ctx.room && !ctx.room.closing ? ctx.room : undefined
  const error = (text: string, code?: ErrorCode) =>
    result.notices.push(code === undefined ? { level: 'error', text } : { level: 'error', text, code })
  const scope: CommandScope = {
    node,
    room,
    ctx,
    info: (text) => result.notices.push({ level: 'info', text }),
    error,
    needRoom: () => {
      if (!room) error('Join a room first: /join <room>')
      return room ?? null
    }
  }
  try {
    if (command.type === 'none') return result
    if (command.type === 'usage') {
      error(command.text)
      return result
    }
    if (command.type === 'say') {
      const r = scope.needRoom()
      if (r) await r.send(command.text)
      return result
    }
    const spec = BY_WORD.get(command.type)!
    const output = await spec.run(scope, command)
    if (output) Object.assign(result, output)
  } catch (err) {
    // A BackspaceError's message starts with its code.
    if (isBackspaceError(err)) error(err.message, err.code)
    else error(`Failed: ${(err as Error)?.message ?? String(err)}`)
  }
  return result
}

/**
 * True when `line` is a command that points at a message (`/react`, `/edit`, ...): the moment
 * for a UI to show the messages' references.
 */
export function pointsAtMessage(line: string): boolean {
  const word = /^\s*\/(\S+)(?:\s|$)/.exec(line)?.[1]?.toLowerCase()
  return word !== undefined && BY_WORD.get(word)?.targetsMessage === true
}

/**
 * Tab completion. Returns whole-line candidates for `line`: command names while the first
 * word is being typed; then what the command's own completer offers (the emoji of `/react`,
 * handles of `messages` (`^kb`), `/edit `'s text to change); else names of `names` for the
 * last word (`@` kept if typed; a name at the start of a message gets `: `). A name given as a
 * member (name and key) completes to what mentions that member alone: `@alice#34ab` when
 * another member has the same name. Empty when nothing fits.
 */
export function completeLine(
  line: string,
  names: readonly (string | MentionTarget)[],
  messages: readonly Message[] = []
): string[] {
  if (typeof line !== 'string') return []
  if (/^\/\S*$/.test(line)) {
    const word = line.slice(1).toLowerCase()
    return COMMANDS.filter((c) => c.name.startsWith(word)).map((c) => `/${c.name} `)
  }
  const head = /^\/(\S+)\s+/.exec(line)
  const spec = head ? BY_WORD.get(head[1]!.toLowerCase()) : undefined
  const own = head && spec?.complete ? spec.complete({ line, rest: line.slice(head[0].length), messages }) : null
  if (own) return own
  return completeName(line, names)
}

function completeName(line: string, names: readonly (string | MentionTarget)[]): string[] {
  const match = /(^|\s)(@?)([^\s@]*)$/.exec(line)
  if (!match) return []
  const [, , at = '', partial = ''] = match
  if (partial === '' && at === '') return []
  const head = line.slice(0, line.length - at.length - partial.length)
  const lower = partial.toLowerCase()
  const seen = new Set<string>()
  const out: string[] = []
  // Members complete to what mentions exactly them: `alice#34ab` when two share the name.
  const targets = names.filter((n): n is MentionTarget => typeof n !== 'string')
  for (const entry of names) {
    const name = typeof entry === 'string' ? entry : mentionOf(entry, targets)?.slice(1)
    if (!name || /\s/.test(name) || seen.has(name)) continue
    if (!name.toLowerCase().startsWith(lower)) continue
    seen.add(name)
    const alone = head.trim() === ''
    out.push(head + (at || !alone ? `${at}${name} ` : `${name}: `))
  }
  return out.sort((a, b) => a.localeCompare(b))
}

/**
 * The command a typo away from `word`, or null: only close matches (see `closestWord`), so
 * /kick does not suggest /nick and /ban does not suggest /back.
 */
export function suggest(word: string): string | null {
  return closestWord(word, BY_WORD.keys())
}
