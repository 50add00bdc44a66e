import { BackspaceError, isBackspaceError } from '../errors.js'
import {
  describeMessageError,
  lastMessage,
  lastOwnMessage,
  lastReactedMessage,
  looksLikeMessageRef,
  parseMessageRef,
  QUICK_REACTIONS,
  REACTION_NAMES,
  resolveMessageRef,
  shortRefs,
  type MessageRef
} from '../message-refs.js'
import type { Room } from '../room/room.js'
import type { Message } from '../types.js'
import { defineCommand, type CommandContext, type CommandScope, type CompletionInput } from './types.js'

declare module './types.js' {
  interface CommandMap {
    me: { text: string }
    /** Without `ref`: the message picked in the UI, if any. */
    reply: { ref: MessageRef | null; text: string }
    /** Without `ref`: the picked message, else this identity's last one. */
    edit: { ref: MessageRef | null; text: string }
    delete: { ref: MessageRef | null }
    /** Without `ref`: the picked message, else the latest one. */
    react: { ref: MessageRef | null; emoji: string }
    /** Without `ref`: the picked message, else the latest one with this reaction of yours. */
    unreact: { ref: MessageRef | null; emoji: string }
  }
}

/** How many of a room's latest messages references count among when the UI gave none. */
const REF_WINDOW = 200

type Action = 'reply' | 'edit' | 'delete' | 'react' | 'unreact'

export const me = defineCommand({
  name: 'me',
  usage: '/me <action>',
  description: 'say what you are doing',
  args: [{ name: 'text', kind: 'text' }],
  async run({ needRoom }, command) {
    const r = needRoom()
    if (r) await r.send(command.text, { action: true })
  }
})

export const reply = defineCommand({
  name: 'reply',
  usage: '/reply <^ref> <text>',
  description: 'answer a message: ^ is the latest, ^2 the one before, ^kbfd its handle',
  args: [
    { name: 'ref', kind: 'ref' },
    { name: 'text', kind: 'text' }
  ],
  targetsMessage: true,
  complete: (input) => completeMessageArgs('reply', input),
  async run(scope, command) {
    await onTarget(scope, command, (room, target) => room.send(command.text, { replyTo: target }))
  }
})

export const edit = defineCommand({
  name: 'edit',
  usage: '/edit [^ref] <text>',
  description: 'change the text of your message (default: your last)',
  args: [
    { name: 'ref', kind: 'ref' },
    { name: 'text', kind: 'text' }
  ],
  targetsMessage: true,
  complete: (input) => completeMessageArgs('edit', input),
  async run(scope, command) {
    await onTarget(scope, command, (room, target) => room.edit(target, command.text))
  }
})

export const del = defineCommand({
  name: 'delete',
  aliases: ['del'],
  usage: '/delete [^ref]',
  description: 'delete your message for everyone (default: your last)',
  args: [{ name: 'ref', kind: 'ref' }],
  targetsMessage: true,
  complete: (input) => completeMessageArgs('delete', input),
  async run(scope, command) {
    await onTarget(scope, command, (room, target) => room.delete(target))
  }
})

export const react = defineCommand({
  name: 'react',
  usage: '/react [^ref] <emoji>',
  description: 'react to a message (default: the latest); +1 or :tada: work too',
  args: [
    { name: 'ref', kind: 'ref' },
    { name: 'emoji', kind: 'emoji' }
  ],
  targetsMessage: true,
  complete: (input) => completeMessageArgs('react', input),
  async run(scope, command) {
    await onTarget(scope, command, (room, target) => room.react(target, command.emoji))
  }
})

export const unreact = defineCommand({
  name: 'unreact',
  usage: '/unreact [^ref] <emoji>',
  description: 'take your reaction back',
  args: [
    { name: 'ref', kind: 'ref' },
    { name: 'emoji', kind: 'emoji' }
  ],
  targetsMessage: true,
  complete: (input) => completeMessageArgs('unreact', input),
  async run(scope, command) {
    await onTarget(scope, command, (room, target) => room.unreact(target, command.emoji))
  }
})

type Targeted = { type: Action; ref: MessageRef | null; emoji?: string }

/** Finds the message `command` points at and acts on it; a failure becomes a sentence. */
async function onTarget(
  { needRoom, ctx, error }: CommandScope,
  command: Targeted,
  act: (room: Room, target: Message) => Promise<unknown>
): Promise<void> {
  const room = needRoom()
  if (!room) return
  try {
    await act(room, await findTarget(room, command, ctx))
  } catch (err) {
    error(describeMessageError(err, command.type), isBackspaceError(err) ? err.code : undefined)
  }
}

/** The message a command acts on, in its current state. */
async function findTarget(room: Room, command: Targeted, ctx: CommandContext): Promise<Message> {
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
    found = command.type === 'react' ? lastMessage(messages) : lastReactedMessage(messages, command.emoji ?? '')
    if (!found) throw BackspaceError.MESSAGE_NOT_FOUND('There is no message here to react to')
  }
  return room.message(found.id) ?? found
}

/** Tab after a message command: handles (`^kb`), the text to edit, and emoji. */
function completeMessageArgs(name: Action, { line, rest, messages }: CompletionInput): string[] | null {
  const words = rest.split(/\s+/)
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
  if (name === 'edit' && last === '' && (words.length === 1 || refGiven)) {
    let target: Message | undefined
    try {
      target = refGiven ? resolveMessageRef(parseMessageRef(words[0]!), messages) : lastOwnMessage(messages)
    } catch {
      return []
    }
    return target && target.self && !target.deleted ? [head + target.text] : []
  }
  if ((name === 'react' || name === 'unreact') && (words.length === 1 || refGiven)) {
    if (last.startsWith('^')) return null
    if (last === '') return QUICK_REACTIONS.map((emoji) => head + emoji)
    const typed = last.replace(/^:/, '').toLowerCase()
    const out = new Set<string>()
    for (const [key, emoji] of Object.entries(REACTION_NAMES)) {
      if (key.startsWith(typed)) out.add(head + emoji)
    }
    return [...out]
  }
  return null
}
