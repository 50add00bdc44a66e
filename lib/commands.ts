import { BackspaceError, isBackspaceError, type ErrorCode } from './errors.js'
import type { Backspace } from './index.js'
import {
  describeMessageError,
  lastMessage,
  lastOwnMessage,
  lastReactedMessage,
  looksLikeMessageRef,
  parseMessageRef,
  QUICK_REACTIONS,
  REACTION_NAMES,
  reactionEmoji,
  resolveMessageRef,
  shortRefs,
  type MessageRef
} from './message-refs.js'
import type { Room } from './room/room.js'
import { mentionOf, type MentionTarget } from './mentions.js'
import type { DeviceInfo, DeviceInvite, Member, Message, RoomKindName } from './types.js'

/** What one line typed into the chat asks for. */
export type Command =
  | { type: 'say'; text: string }
  | { type: 'me'; text: string }
  /** Without `ref`: the message picked in the UI, if any. */
  | { type: 'reply'; ref: MessageRef | null; text: string }
  /** Without `ref`: the picked message, else this identity's last one. */
  | { type: 'edit'; ref: MessageRef | null; text: string }
  | { type: 'delete'; ref: MessageRef | null }
  /** Without `ref`: the picked message, else the latest one. */
  | { type: 'react'; ref: MessageRef | null; emoji: string }
  /** Without `ref`: the picked message, else the latest one with this reaction of yours. */
  | { type: 'unreact'; ref: MessageRef | null; emoji: string }
  | { type: 'join'; name: string; password?: string }
  | { type: 'create'; label?: string }
  | { type: 'invite' }
  | { type: 'leave' }
  | { type: 'rooms' }
  | { type: 'switch'; target: string }
  | { type: 'nick'; name: string }
  | { type: 'clear' }
  | { type: 'away'; message: string }
  | { type: 'back' }
  | { type: 'status'; text: string }
  | { type: 'peers' }
  | { type: 'whoami' }
  | { type: 'device'; action: 'link' | 'list' | 'approve' | 'deny' }
  | { type: 'device'; action: 'revoke'; key: string }
  | { type: 'quit' }
  | { type: 'help' }
  | { type: 'usage'; text: string }
  | { type: 'none' }

export interface CommandInfo {
  readonly name: string
  readonly usage: string
  readonly description: string
  readonly aliases: readonly string[]
}

/** The slash commands, in the order `/help` lists them. */
export const COMMANDS: readonly CommandInfo[] = [
  cmd('join', '/join <room> [password]', 'join a named room (another password is another room), or a private room by its invite', ['j']),
  cmd('create', '/create [label]', 'create a private room and show its invite'),
  cmd('invite', '/invite', "show the current room's invite link"),
  cmd('leave', '/leave', 'leave the current room and delete its local history', ['part']),
  cmd('rooms', '/rooms', 'list joined rooms'),
  cmd('switch', '/switch <name|number>', 'show another joined room (also Alt+1..9)', ['room']),
  cmd('me', '/me <action>', 'say what you are doing'),
  cmd('reply', '/reply <^ref> <text>', 'answer a message: ^ is the latest, ^2 the one before, ^kbfd its handle'),
  cmd('edit', '/edit [^ref] <text>', 'change the text of your message (default: your last)'),
  cmd('delete', '/delete [^ref]', 'delete your message for everyone (default: your last)', ['del']),
  cmd('react', '/react [^ref] <emoji>', 'react to a message (default: the latest); +1 or :tada: work too'),
  cmd('unreact', '/unreact [^ref] <emoji>', 'take your reaction back'),
  cmd('nick', '/nick <name>', 'set your display name in every room', ['name']),
  cmd('status', '/status [text]', 'set your status line (none clears it)'),
  cmd('away', '/away [message]', 'mark yourself away'),
  cmd('back', '/back', 'mark yourself back'),
  cmd('peers', '/peers', 'list the members of the current room and who is online', ['members', 'who', 'names']),
  cmd('whoami', '/whoami', 'show your name, key and fingerprint'),
  cmd('device', '/device link|list|revoke', 'your devices: link a new one, list them, revoke one (<key>); approve or deny a request', ['devices']),
  cmd('clear', '/clear', 'clear the messages shown (on this screen only)'),
  cmd('help', '/help', 'list the commands', ['?']),
  cmd('quit', '/quit', 'close Backspace', ['exit', 'q'])
]

function cmd(name: string, usage: string, description: string, aliases: string[] = []): CommandInfo {
  return Object.freeze({ name, usage, description, aliases: Object.freeze(aliases) })
}

const NO_ARGUMENTS = ['invite', 'leave', 'rooms', 'back', 'peers', 'whoami', 'clear', 'help', 'quit'] as const

const BY_WORD = new Map<string, CommandInfo>()
for (const info of COMMANDS) {
  BY_WORD.set(info.name, info)
  for (const alias of info.aliases) BY_WORD.set(alias, info)
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
  const args = splitArgs(rest)
  const info = BY_WORD.get(word)
  if (!info) {
    const close = suggest(word)
    return usage(`Unknown command /${word}.${close ? ` Did you mean ${close}?` : ''} Type /help for the list.`)
  }
  switch (info.name) {
    case 'join':
      if (args.length < 1 || args.length > 2) return usageOf(info)
      return args[1] === undefined ? { type: 'join', name: args[0]! } : { type: 'join', name: args[0]!, password: args[1] }
    case 'create':
      return rest === '' ? { type: 'create' } : { type: 'create', label: rest }
    case 'switch':
      return rest === '' ? usageOf(info) : { type: 'switch', target: args.join(' ') }
    case 'me':
      return rest === '' ? usageOf(info) : { type: 'me', text: rest }
    case 'reply':
    case 'edit':
    case 'delete':
    case 'react':
    case 'unreact':
      return parseMessageCommand(info, rest)
    case 'nick':
      return rest === '' ? usageOf(info) : { type: 'nick', name: args.join(' ') }
    case 'status':
      return { type: 'status', text: rest }
    case 'away':
      return { type: 'away', message: rest }
    case 'device': {
      const action = (args[0] ?? 'list').toLowerCase()
      if (action === 'revoke') return args.length === 2 ? { type: 'device', action, key: args[1]! } : usage('Usage: /device revoke <key or fingerprint>')
      if (action !== 'link' && action !== 'list' && action !== 'approve' && action !== 'deny') return usageOf(info)
      return args.length <= 1 ? { type: 'device', action } : usage(`/device ${action} takes no arguments`)
    }
    default: {
      const type = NO_ARGUMENTS.find((t) => t === info.name)
      if (type === undefined) return usageOf(info)
      return rest === '' ? { type } : usage(`/${info.name} takes no arguments`)
    }
  }
}

/**
 * Tab completion. Returns whole-line candidates for `line`: command names while the first
 * word is being typed; for the message commands, the emoji of `/react` (`/react ` offers the
 * quick ones, `/react :ta` gives 🎉), handles of `messages` (`^kb`) and `/edit `'s text to
 * change; else names of `names` for the last word (`@` kept if typed; a name at the start of
 * a message gets `: `). A name given as a member (name and key) completes to what mentions
 * that member alone: `@alice#34ab` when another member has the same name. Empty when nothing
 * fits.
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
  const forMessage = completeMessageCommand(line, messages)
  if (forMessage) return forMessage
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

/** A line for the user to read. */
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

export interface CommandResult {
  command: Command
  /** Lines to show the user. */
  notices: Notice[]
  /** The room to show now: joined, created or switched to. */
  room?: Room
  /** The room that was left. */
  left?: Room
  /** `/clear`: hide what is shown of the current room, on this screen only. */
  clear?: boolean
  quit?: boolean
  /** `/help`: the commands, for a UI that lays them out itself. */
  help?: readonly CommandInfo[]
  /** `/device list`: the identity's devices. */
  devices?: DeviceInfo[]
  /** `/device link`: the one-time link made for a new device. */
  deviceInvite?: DeviceInvite
}

/**
 * Runs one typed line against `node`: the executor both UIs share, so a command behaves
 * the same everywhere. It never throws for the user's input; failures come back as error
 * notices with the library's code.
 */
export async function runCommand(node: Backspace, line: string, ctx: CommandContext = {}): Promise<CommandResult> {
  const command = parseCommand(line)
  const result: CommandResult = { command, notices: [] }
  const info = (text: string) => result.notices.push({ level: 'info', text })
  const error = (text: string, code?: ErrorCode) =>
    result.notices.push(
      code === undefined ? { level: 'error', text } : { level: 'error', text, code }
    )
  const room = ctx.room && !ctx.room.closing ? ctx.room : undefined
  const needRoom = (): Room | null => {
    if (!room) error('Join a room first: /join <room>')
    return room ?? null
  }
  try {
    switch (command.type) {
      case 'none':
        break
      case 'usage':
        error(command.text)
        break
      case 'say':
      case 'me': {
        const r = needRoom()
        if (r) await r.send(command.text, { action: command.type === 'me' })
        break
      }
      case 'reply':
      case 'edit':
      case 'delete':
      case 'react':
      case 'unreact': {
        const r = needRoom()
        if (r) await runMessageCommand(r, command, ctx)
        break
      }
      case 'join': {
        const joined = await node.join(command.name, command.password === undefined ? {} : { password: command.password })
        result.room = joined
        const same = node.rooms.filter((r) => r !== joined && r.kind === joined.kind && r.name === joined.name)
        info(`Joined ${roomLabel(joined, node.rooms)}${joined.locked ? ', a password room' : ''}.`)
        if (same.length > 0) {
          info(
            `You are in ${plural(same.length + 1, 'room')} named ${roomLabel({ name: joined.name, kind: joined.kind })}: ` +
              'each password makes its own room; the tag after the name tells them apart.'
          )
        }
        break
      }
      case 'create': {
        const created = await node.createRoom(command.label === undefined ? {} : { name: command.label })
        result.room = created
        info(`Created ${roomLabel(created)}. Invite others with: ${created.invite}`)
        break
      }
      case 'invite': {
        const r = needRoom()
        if (r) {
          info(`Invite to ${roomLabel(r)}: ${r.invite}`)
          if (r.kind === 'named') info('Anyone who knows the room name and password can also join it.')
          info(`Relay link (a relay keeps the room for offline members, and cannot read it): ${r.relayLink}`)
        }
        break
      }
      case 'leave': {
        const r = needRoom()
        if (r) {
          await r.leave()
          result.left = r
          info(`Left ${roomLabel(r)}; its local history is deleted.`)
        }
        break
      }
      case 'rooms': {
        const rooms = node.rooms
        if (rooms.length === 0) info('No rooms joined. /join <room> joins one.')
        rooms.forEach((r, i) => info(`${i + 1}. ${roomLabel(r, rooms)}${r.locked ? ' (password)' : ''}  ${plural(r.stats.peers, 'peer')}${r === room ? '  (shown)' : ''}`))
        break
      }
      case 'switch': {
        const target = findRoom(node.rooms, command.target)
        if (target) result.room = target
        else error(`No joined room "${command.target}". /rooms lists them.`)
        break
      }
      case 'nick': {
        const profile = await node.setProfile({ name: command.name })
        info(`You are now known as ${profile.name}.`)
        break
      }
      case 'status': {
        await node.setProfile({ status: command.text })
        info(command.text ? `Status set: ${command.text}` : 'Status cleared.')
        break
      }
      case 'away': {
        await node.setProfile({ away: command.message })
        info(command.message ? `You are away: ${command.message}` : 'You are away.')
        break
      }
      case 'back': {
        if (node.profile.away === null) info('You were not away.')
        else {
          await node.setProfile({ away: null })
          info('Welcome back.')
        }
        break
      }
      case 'peers': {
        const r = needRoom()
        if (!r) break
        const members = sortMembers(r.members())
        const online = members.filter((m) => m.online).length
        info(`${roomLabel(r)}: ${plural(members.length, 'member')} known, ${online} online, ${plural(node.connections, 'connection')}.`)
        for (const m of members) info(`  ${describeMember(m)}`)
        break
      }
      case 'whoami': {
        const p = node.profile
        info(`You are ${p.name || '(no name: /nick sets one)'}  ${node.identity.fingerprint}`)
        info(`Public key ${node.publicKey.toString('hex')}`)
        const device = node.device
        info(`This device ${device.fingerprint}, ${device.primary ? 'primary (it holds the recovery phrase)' : 'linked'}${device.revoked ? ', REVOKED' : ''}`)
        if (p.status) info(`Status: ${p.status}`)
        if (p.away !== null) info(p.away ? `Away: ${p.away}` : 'Away')
        if (node.incognito) info('Incognito: nothing is written to disk.')
        break
      }
      case 'device':
        await runDevice(node, command, result, info, error)
        break
      case 'clear':
        result.clear = true
        break
      case 'help':
        result.help = COMMANDS
        for (const c of COMMANDS) info(`${c.usage.padEnd(26)} ${c.description}`)
        info(`${'//text'.padEnd(26)} send a message that starts with /`)
        break
      case 'quit':
        result.quit = true
        break
    }
  } catch (err) {
    const code = isBackspaceError(err) ? err.code : undefined
    // A BackspaceError's message starts with its code.
    const text = isBackspaceError(err) ? err.message : `Failed: ${(err as Error)?.message ?? String(err)}`
    error(isMessageCommand(command) ? describeMessageError(err, command.type) : text, code)
  }
  return result
}

type MessageCommand = Extract<Command, { type: 'reply' | 'edit' | 'delete' | 'react' | 'unreact' }>

const MESSAGE_COMMANDS = new Set<string>(['reply', 'edit', 'delete', 'react', 'unreact'])

function isMessageCommand(command: Command): command is MessageCommand {
  return MESSAGE_COMMANDS.has(command.type)
}

/** How many of a room's latest messages references count among when the UI gave none. */
const REF_WINDOW = 200

/**
 * True when `line` is a command that points at a message (`/react`, `/edit`, ...): the moment
 * for a UI to show the messages' references.
 */
export function pointsAtMessage(line: string): boolean {
  const word = /^\s*\/(\S+)(?:\s|$)/.exec(line)?.[1]?.toLowerCase()
  const info = word === undefined ? undefined : BY_WORD.get(word)
  return info !== undefined && MESSAGE_COMMANDS.has(info.name)
}

async function runMessageCommand(
  room: Room,
  command: MessageCommand,
  ctx: CommandContext
): Promise<void> {
  const target = await findTarget(room, command, ctx)
  switch (command.type) {
    case 'reply':
      await room.send(command.text, { replyTo: target })
      return
    case 'edit':
      await room.edit(target, command.text)
      return
    case 'delete':
      await room.delete(target)
      return
    case 'react':
      await room.react(target, command.emoji)
      return
    case 'unreact':
      await room.unreact(target, command.emoji)
  }
}

/** The message a command acts on, in its current state. */
async function findTarget(
  room: Room,
  command: MessageCommand,
  ctx: CommandContext
): Promise<Message> {
  const picked = command.ref === null ? ctx.selected : undefined
  if (picked !== undefined) {
    const found = room.message(typeof picked === 'string' ? picked : picked.id)
    if (found) return found
    if (typeof picked !== 'string') return picked
    throw BackspaceError.MESSAGE_NOT_FOUND()
  }
  if (command.ref?.kind === 'id') {
    const found = room.message(command.ref.id)
    if (found) return found
  }
  const messages = ctx.messages ?? (await room.messages({ limit: REF_WINDOW }))
  let found: Message | undefined
  if (command.ref !== null) found = resolveMessageRef(command.ref, messages)
  else if (command.type === 'edit' || command.type === 'delete') {
    found = lastOwnMessage(messages)
    if (!found) {
      throw BackspaceError.MESSAGE_NOT_FOUND(`You have no message here to ${command.type}`)
    }
  } else if (command.type === 'reply') {
    throw BackspaceError.INVALID_ARGUMENT('Say which message: /reply ^ <text> answers the latest')
  } else {
    found =
      command.type === 'react'
        ? lastMessage(messages)
        : lastReactedMessage(messages, command.emoji)
    if (!found) throw BackspaceError.MESSAGE_NOT_FOUND('There is no message here to react to')
  }
  return room.message(found.id) ?? found
}

/** `/edit [^ref] text` and its kin: an optional reference first, then what the command needs. */
function parseMessageCommand(info: CommandInfo, rest: string): Command {
  const space = rest.search(/\s/)
  const first = space === -1 ? rest : rest.slice(0, space)
  let ref: MessageRef | null = null
  let tail = rest
  if (first !== '' && looksLikeMessageRef(first)) {
    try {
      ref = parseMessageRef(first)
    } catch (err) {
      return usage(describeMessageError(err, 'reply'))
    }
    tail = space === -1 ? '' : rest.slice(space + 1).trim()
  }
  switch (info.name) {
    case 'delete':
      return tail === '' ? { type: 'delete', ref } : usageOf(info)
    case 'edit':
    case 'reply':
      return tail === '' ? usageOf(info) : { type: info.name, ref, text: tail }
    case 'react':
    case 'unreact':
      if (tail === '' || /\s/.test(tail)) return usageOf(info)
      return { type: info.name, ref, emoji: reactionEmoji(tail) }
    default:
      return usageOf(info)
  }
}

function completeMessageCommand(line: string, messages: readonly Message[]): string[] | null {
  const match = /^\/(\S+)\s+/.exec(line)
  const info = match ? BY_WORD.get(match[1]!.toLowerCase()) : undefined
  if (!match || !info || !MESSAGE_COMMANDS.has(info.name)) return null
  const words = line.slice(match[0].length).split(/\s+/)
  const last = words[words.length - 1]!
  const head = line.slice(0, line.length - last.length)
  const refGiven = words.length === 2 && looksLikeMessageRef(words[0]!)
  // A handle being typed: `^kb` becomes `^kbfd`.
  if (words.length === 1 && /^\^[a-z]+$/i.test(last) && messages.length > 0) {
    const typed = last.toLowerCase()
    const out: string[] = []
    const refs = shortRefs(messages)
    for (let i = messages.length - 1; i >= 0 && out.length < 20; i--) {
      const ref = refs.get(messages[i]!.id)!
      if (ref.startsWith(typed)) out.push(`${head}${ref} `)
    }
    return out
  }
  if (info.name === 'edit' && last === '' && (words.length === 1 || refGiven)) {
    let target: Message | undefined
    try {
      target = refGiven
        ? resolveMessageRef(parseMessageRef(words[0]!), messages)
        : lastOwnMessage(messages)
    } catch {
      return []
    }
    return target && target.self && !target.deleted ? [head + target.text] : []
  }
  if ((info.name === 'react' || info.name === 'unreact') && (words.length === 1 || refGiven)) {
    if (last.startsWith('^')) return null
    if (last === '') return QUICK_REACTIONS.map((emoji) => head + emoji)
    const name = last.replace(/^:/, '').toLowerCase()
    const out = new Set<string>()
    for (const [key, emoji] of Object.entries(REACTION_NAMES)) {
      if (key.startsWith(name)) out.add(head + emoji)
    }
    return [...out]
  }
  return null
}

async function runDevice(
  node: Backspace,
  command: Extract<Command, { type: 'device' }>,
  result: CommandResult,
  info: (text: string) => void,
  error: (text: string) => void
): Promise<void> {
  switch (command.action) {
    case 'link': {
      const invite = await node.devices.invite()
      result.deviceInvite = invite
      info(`Device link (works once, until ${clock(invite.expiresAt)}): ${invite.link}`)
      info('On the new device: backspace --link <link>, or "Link to an existing device" when it starts.')
      info('It then asks here to join: compare its fingerprint with the one it shows, and /device approve or /device deny.')
      break
    }
    case 'list': {
      const devices = await node.devices.list()
      result.devices = devices
      info(`${plural(devices.length, 'device')} of this identity:`)
      for (const d of devices) info(`  ${describeDevice(d)}`)
      break
    }
    case 'revoke': {
      await node.devices.revoke(command.key)
      if (node.device.revoked) info('This device is logged out of the identity: it no longer speaks for it.')
      else info(`Revoked ${command.key}. Every room tells its members; what that device writes from now on is refused.`)
      break
    }
    case 'approve':
    case 'deny': {
      const request = node.devices.pending
      if (!request) {
        error('No device is waiting for an answer. /device link makes a link for one.')
        break
      }
      const who = `${request.fingerprint}${request.name ? ` "${request.name}"` : ''}`
      if (command.action === 'deny') {
        await request.deny()
        info(`Denied device ${who}.`)
      } else {
        await request.approve()
        info(`Linked device ${who}: it now speaks for your identity. /device revoke ${request.fingerprint} undoes it.`)
      }
      break
    }
  }
}

/** One device in a list: fingerprint, name, kind, date and flags. */
export function describeDevice(d: DeviceInfo): string {
  const parts = [d.fingerprint, d.name ? `"${d.name}"` : '(no name)', d.primary ? 'primary' : 'linked']
  parts.push(`since ${new Date(d.createdAt).toISOString().slice(0, 10)}`)
  if (d.current) parts.push('(this device)')
  if (d.revoked) parts.push('REVOKED')
  return parts.join('  ')
}

function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 5)
}

/** What `roomLabel` needs of a room: the library's `Room`, or a UI's view of one. */
export interface RoomLabelInput {
  readonly name: string
  readonly kind: RoomKindName
  /** `room.id`; needed to tell same-named rooms apart. */
  readonly id?: string
}

/**
 * `#name` for a named room, `~label` for a private one. When another room of `among` shows
 * the same, the room's short tag follows (`#secret·1a2b`): a wrong password makes a room of
 * the same name, and two identical entries cannot be told apart.
 */
export function roomLabel(room: RoomLabelInput, among: readonly RoomLabelInput[] = []): string {
  const base = (room.kind === 'named' ? '#' : '~') + room.name
  if (room.id === undefined) return base
  const twin = among.some((r) => r.id !== room.id && r.kind === room.kind && r.name === room.name)
  return twin ? `${base}·${roomTag(room.id)}` : base
}

/** A short fingerprint of a room's id, to tell apart rooms that share a name. */
export function roomTag(id: string): string {
  return id.slice(0, 4)
}

/** The notice for a password room in which nobody else has been seen (the `alone` event). */
export function aloneNotice(room: RoomLabelInput): string {
  return (
    `Nobody else has been seen in ${roomLabel(room)} yet. The password is part of the room: ` +
    'another password makes another, empty room with the same name. Check it with whoever invited you.'
  )
}

function findRoom(rooms: readonly Room[], target: string): Room | undefined {
  const t = target.trim()
  if (/^\d+$/.test(t)) return rooms[Number(t) - 1]
  const bare = t.replace(/^[#~]/, '').toLowerCase()
  return (
    rooms.find((r) => r.name.toLowerCase() === bare) ?? rooms.find((r) => r.name.toLowerCase().startsWith(bare))
  )
}

function sortMembers(members: Member[]): Member[] {
  return members.sort(
    (a, b) =>
      Number(b.self) - Number(a.self) ||
      Number(b.online) - Number(a.online) ||
      (a.name || '\uffff').localeCompare(b.name || '\uffff') ||
      a.fingerprint.localeCompare(b.fingerprint)
  )
}

function describeMember(m: Member): string {
  const parts = [`${m.name || '(no name)'} ${m.fingerprint}`]
  if (m.self) parts.push('(you)')
  parts.push(m.online ? (m.away !== null ? 'away' : 'online') : 'offline')
  if (m.away) parts.push(`"${m.away}"`)
  if (m.status) parts.push(`- ${m.status}`)
  return parts.join('  ')
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

function usage(text: string): Command {
  return { type: 'usage', text }
}

function usageOf(info: CommandInfo): Command {
  return usage(`Usage: ${info.usage}`)
}

/**
 * The command a typo away from `word`, or null. Only close matches: one edit for words under
 * six letters, two from six on (a transposition counts one), and a short word must keep its
 * first letter. Short command words a letter apart are other words, not typos: /kick is not
 * /nick and /ban is not /back, and suggesting them would offer a command that does something else.
 */
export function suggest(word: string): string | null {
  const w = word.toLowerCase()
  const short = w.length < 6
  const most = short ? 1 : 2
  let best: string | null = null
  let bestDistance = most + 1
  for (const candidate of BY_WORD.keys()) {
    if (candidate.length < 2 || candidate === w) continue
    if (short && candidate[0] !== w[0]) continue
    const d = editDistance(w, candidate)
    if (d < bestDistance) {
      best = `/${candidate}`
      bestDistance = d
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  const d: number[][] = []
  for (let i = 0; i <= a.length; i++) d.push([i, ...new Array<number>(b.length).fill(0)])
  for (let j = 0; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[a.length]![b.length]!
}

function splitArgs(text: string): string[] {
  const args: string[] = []
  for (const m of text.matchAll(/"([^"]*)"|(\S+)/g)) args.push(m[1] ?? m[2] ?? '')
  return args
}

