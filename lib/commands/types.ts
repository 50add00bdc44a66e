import type { ErrorCode } from '../errors.js'
import type { Backspace } from '../index.js'
import type { MessageRef } from '../message-refs.js'
import type { Room } from '../room/room.js'
import type { DeviceInfo, DeviceInvite, Member, Message } from '../types.js'

/**
 * The fields of each command, by its type. Every command file adds its own entries with
 * `declare module './types.js' { interface CommandMap { ... } }`, next to its registry entry,
 * so a new command is one file (or one entry in a file) and one line in `registry.ts`.
 */
export interface CommandMap {
  /** A plain line: a message to send. */
  say: { text: string }
  /** A line that could not be parsed: `text` says why, and how to type it. */
  usage: { text: string }
  /** An empty line. */
  none: Record<never, never>
}

/** What one line typed into the chat asks for. */
export type Command = { [K in keyof CommandMap]: { type: K } & CommandMap[K] }[keyof CommandMap]

export type CommandType = keyof CommandMap

/** One argument of a command, in the order typed. */
export type ArgSpec =
  /** One word; double quotes keep spaces inside it (`"book club"`). */
  | { readonly name: string; readonly kind: 'word'; readonly optional?: boolean }
  /** The remaining words, joined by one space (quotes removed). */
  | { readonly name: string; readonly kind: 'words'; readonly optional?: boolean }
  /** The rest of the line as typed (trimmed). An optional one without `default` is left out. */
  | { readonly name: string; readonly kind: 'text'; readonly optional?: boolean; readonly default?: string }
  /** An optional message reference (`^`, `^2`, `^kbfd`, an id); `null` when not typed. */
  | { readonly name: string; readonly kind: 'ref' }
  /** One emoji, or a name for one (`+1`, `:tada:`). */
  | { readonly name: string; readonly kind: 'emoji' }

/** The values of a command's arguments, by name, as `parseArgs` found them. */
export type ArgValues = Record<string, string | MessageRef | null>

/** What `/help` and completion know of a command. */
export interface CommandInfo {
  readonly name: string
  readonly usage: string
  readonly description: string
  readonly aliases: readonly string[]
}

/** A line for the user to read: a sentence, never a padded layout. */
export interface Notice {
  level: 'info' | 'error'
  text: string
  /** For an error the library reported: its code. */
  code?: ErrorCode
}

export interface CommandContext {
  /** The room the line was typed in, if any. */
  room?: Room | undefined
  /**
   * The room's messages the UI has loaded, oldest first: references (`^2`, `^kbfd`) and
   * defaults ("your last message") are looked up among them. Without it, among the room's
   * latest 200.
   */
  messages?: readonly Message[] | undefined
  /** A message picked in the UI (or its id): message commands without a reference act on it. */
  selected?: Message | string | undefined
}

/** One joined room as `/rooms` lists it. */
export interface RoomListing {
  /** 1-based, as `/switch <number>` and Alt+number take it. */
  readonly number: number
  readonly room: Room
  /** `roomLabel` among the joined rooms. */
  readonly label: string
  readonly locked: boolean
  readonly peers: number
  /** The room the line was typed in. */
  readonly shown: boolean
}

/** What a handler hands back, besides its notices: data for the UI to lay out. */
export interface CommandOutput {
  /** The room to show now: joined, created or switched to. */
  room?: Room
  /** The room that was left. */
  left?: Room
  /** `/clear`: hide what is shown of the current room, on this screen only. */
  clear?: boolean
  quit?: boolean
  /** `/help`: the commands, for the UI to lay out. */
  help?: readonly CommandInfo[]
  /** `/rooms`: the joined rooms. */
  rooms?: readonly RoomListing[]
  /** `/peers`: the current room's members, you first, then online ones, then by name. */
  members?: readonly Member[]
  /** `/device list`: the identity's devices. */
  devices?: DeviceInfo[]
  /** `/device link`: the one-time link made for a new device. */
  deviceInvite?: DeviceInvite
}

export interface CommandResult extends CommandOutput {
  command: Command
  /** Sentences to show the user. */
  notices: Notice[]
}

/** What a handler gets: the node, the room, and a way to tell the user. */
export interface CommandScope {
  readonly node: Backspace
  /** The room the line was typed in, unless it is closing. */
  readonly room: Room | undefined
  readonly ctx: CommandContext
  info(text: string): void
  error(text: string, code?: ErrorCode): void
  /** The room, or null after telling the user to join one. */
  needRoom(): Room | null
}

/** What Tab completion gives a command's own completer. */
export interface CompletionInput {
  /** The whole line. */
  readonly line: string
  /** What follows the command word and its spaces. */
  readonly rest: string
  readonly messages: readonly Message[]
}

/**
 * One slash command: everything about it in one entry. `parseCommand`, `runCommand`,
 * `completeLine`, `/help` and the "did you mean" suggestions all read the registry.
 */
export interface CommandSpec<K extends CommandType = CommandType> extends CommandInfo {
  readonly name: K
  /** The arguments in order; `[]` means the command takes none. */
  readonly args: readonly ArgSpec[]
  /**
   * Builds the command from its argument values; a string is a usage error to show. Without
   * it, the values become the command's fields as they are (absent optional ones left out).
   */
  build?(values: ArgValues, spec: CommandSpec<K>): CommandMap[K] | string
  /** Does what the command asks; notices go through `scope`, data comes back. */
  run(scope: CommandScope, command: { type: K } & CommandMap[K]): Promise<CommandOutput | void> | CommandOutput | void
  /** Whole-line candidates for Tab after the command word, or null for the default (names). */
  complete?(input: CompletionInput): string[] | null
  /** True for commands that act on a message: the moment for a UI to show references. */
  readonly targetsMessage?: boolean
}

/** Checks an entry's types and freezes it. */
export function defineCommand<K extends CommandType>(spec: Omit<CommandSpec<K>, 'aliases'> & { aliases?: readonly string[] }): CommandSpec<K> {
  return Object.freeze({ ...spec, aliases: Object.freeze([...(spec.aliases ?? [])]) }) as CommandSpec<K>
}
