import b4a from 'b4a'
import { hash } from './crypto.js'
import { BackspaceError, ERROR_CODES, isBackspaceError } from './errors.js'
import type { Message } from './types.js'

/**
 * How a person points at a message in a typed command. Every reference starts with `^`, so
 * a command can tell it from the text that follows:
 *
 * - `^` is the latest message, `^2` the one before it, `^N` the N-th latest (tombstones
 *   count: they are on screen too). Quick, but it moves when a message arrives.
 * - `^kbfd` is the message's handle: letters derived from its id, the same on every peer and
 *   for as long as the message lives. UIs show it on demand. Four letters are shown, more
 *   only when two loaded messages share the first four; any longer prefix of the full handle
 *   works too.
 *
 * A full message id (`<32 hex>-<seq>`, no `^`) is accepted as well, for scripts.
 */
export type MessageRef =
  | { readonly kind: 'latest'; readonly back: number }
  | { readonly kind: 'handle'; readonly handle: string }
  | { readonly kind: 'id'; readonly id: string }

/** The letters of handles: no digits (`^2` counts back), no `l` or `o` (they read as 1, 0). */
const HANDLE_ALPHABET = 'abcdefghijkmnpqrstuvwxyz'
const HANDLE_LENGTH = 8
/** The letters shown of a handle when they are enough to tell loaded messages apart. */
export const SHORT_HANDLE = 4
const ID_PATTERN = /^[0-9a-f]{32}-\d+$/

/** The full handle of the message with this id: eight letters (`kbfdxnaw`), no `^`. */
export function messageHandle(id: string): string {
  let out = handleCache.get(id)
  if (out !== undefined) return out
  const digest = hash([b4a.from(id)], undefined, 16)
  out = ''
  for (let i = 0; i < HANDLE_LENGTH; i++)
    out += HANDLE_ALPHABET[digest[i]! % HANDLE_ALPHABET.length]
  if (handleCache.size >= HANDLE_CACHE) handleCache.delete(handleCache.keys().next().value!)
  handleCache.set(id, out)
  return out
}
// UIs ask for the handles of the same few hundred messages on every render.
const HANDLE_CACHE = 4096
const handleCache = new Map<string, string>()

/** The reference to show for one message: `^` and the first four letters of its handle. */
export function messageRef(id: string): string {
  return '^' + messageHandle(id).slice(0, SHORT_HANDLE)
}

/**
 * The references to show for `messages`, by id: `^` and the shortest prefix of each handle,
 * at least four letters, that no other message of the list shares.
 */
export function shortRefs(messages: readonly Pick<Message, 'id'>[]): Map<string, string> {
  const sorted = messages.map((m) => ({ id: m.id, handle: messageHandle(m.id) }))
  sorted.sort((a, b) => (a.handle < b.handle ? -1 : a.handle > b.handle ? 1 : 0))
  const refs = new Map<string, string>()
  for (let i = 0; i < sorted.length; i++) {
    const { id, handle } = sorted[i]!
    const shared = Math.max(
      common(handle, sorted[i - 1]?.handle),
      common(handle, sorted[i + 1]?.handle)
    )
    refs.set(id, '^' + handle.slice(0, Math.min(HANDLE_LENGTH, Math.max(SHORT_HANDLE, shared + 1))))
  }
  return refs
}

function common(a: string, b: string | undefined): number {
  if (b === undefined) return 0
  let n = 0
  while (n < a.length && a[n] === b[n]) n++
  return n
}

/** True when `word` is meant as a message reference: it starts with `^`, or is a message id. */
export function looksLikeMessageRef(word: string): boolean {
  return word.startsWith('^') || ID_PATTERN.test(word)
}

/**
 * Reads a reference (see {@link MessageRef}). Throws `INVALID_ARGUMENT` with a sentence for
 * a word that starts with `^` but is neither a count nor a handle.
 */
export function parseMessageRef(word: string): MessageRef {
  if (ID_PATTERN.test(word)) return { kind: 'id', id: word }
  const body = word.startsWith('^') ? word.slice(1).toLowerCase() : null
  if (body === '') return { kind: 'latest', back: 1 }
  if (body !== null && /^[1-9]\d{0,5}$/.test(body)) return { kind: 'latest', back: Number(body) }
  if (body !== null && body.length >= SHORT_HANDLE && body.length <= HANDLE_LENGTH) {
    if ([...body].every((c) => HANDLE_ALPHABET.includes(c))) return { kind: 'handle', handle: body }
  }
  throw BackspaceError.INVALID_ARGUMENT(
    `${word} is not a message reference: use ^ (the latest message), ^2 (the one before) or a handle like ^kbfd`
  )
}

/** A reference as the user would type it again. */
export function formatMessageRef(ref: MessageRef): string {
  if (ref.kind === 'id') return ref.id
  if (ref.kind === 'handle') return '^' + ref.handle
  return ref.back === 1 ? '^' : `^${ref.back}`
}

/**
 * The message `ref` points at among `messages` (oldest first, as the library orders them).
 * Throws `MESSAGE_NOT_FOUND` with a sentence when none or several fit.
 */
export function resolveMessageRef(ref: MessageRef, messages: readonly Message[]): Message {
  const shown = formatMessageRef(ref)
  if (ref.kind === 'latest') {
    const found = messages[messages.length - ref.back]
    if (found) return found
    throw BackspaceError.MESSAGE_NOT_FOUND(
      `There is no message ${shown} here: only ${messages.length} are loaded`
    )
  }
  if (ref.kind === 'id') {
    const found = messages.find((m) => m.id === ref.id)
    if (found) return found
    throw BackspaceError.MESSAGE_NOT_FOUND(`No message ${shown} is loaded here`)
  }
  const fits = messages.filter((m) => messageHandle(m.id).startsWith(ref.handle))
  if (fits.length === 1) return fits[0]!
  if (fits.length === 0)
    throw BackspaceError.MESSAGE_NOT_FOUND(`No message ${shown} is loaded here`)
  throw BackspaceError.MESSAGE_NOT_FOUND(
    `${shown} fits ${fits.length} messages: type more of its handle`
  )
}

/**
 * A string that sorts as the library orders messages (timestamp, author, sequence, id), for
 * a UI that keeps a list in plain code: compare two keys with `<`.
 */
export function messageOrderKey(m: Pick<Message, 'timestamp' | 'author' | 'seq' | 'id'>): string {
  const pad = (n: number) => String(Math.max(0, Math.floor(n))).padStart(16, '0')
  return `${pad(m.timestamp)}.${m.author.toString('hex')}.${pad(m.seq)}.${m.id}`
}

/** This identity's latest message that is not deleted: what `/edit` and `/delete` act on. */
export function lastOwnMessage(messages: readonly Message[]): Message | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!
    if (m.self && !m.deleted) return m
  }
  return undefined
}

/** The latest message that is not deleted: what `/react` and `/reply` act on by default. */
export function lastMessage(messages: readonly Message[]): Message | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!
    if (!m.deleted) return m
  }
  return undefined
}

/**
 * The latest message that carries this identity's `emoji`: what `/unreact` acts on by
 * default. Falls back to the latest message.
 */
export function lastReactedMessage(
  messages: readonly Message[],
  emoji: string
): Message | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!
    if (m.reactions.some((r) => r.self && r.emoji === emoji)) return m
  }
  return lastMessage(messages)
}

/** The reactions a UI offers in one click or keypress. */
export const QUICK_REACTIONS: readonly string[] = Object.freeze([
  '👍',
  '❤️',
  '😂',
  '🎉',
  '😮',
  '😢'
])

/** Names that stand for an emoji where typing one is hard (`/react +1`, `/react :tada:`). */
export const REACTION_NAMES: Readonly<Record<string, string>> = Object.freeze({
  '+1': '👍',
  thumbsup: '👍',
  '-1': '👎',
  thumbsdown: '👎',
  heart: '❤️',
  joy: '😂',
  laugh: '😆',
  smile: '😄',
  tada: '🎉',
  wow: '😮',
  cry: '😢',
  sob: '😭',
  eyes: '👀',
  fire: '🔥',
  thinking: '🤔',
  pray: '🙏',
  clap: '👏',
  rocket: '🚀',
  check: '✅',
  x: '❌',
  '100': '💯',
  ok: '👌',
  wave: '👋'
})

/** The emoji a typed reaction stands for: `:tada:` and `tada` are 🎉; an emoji stays itself. */
export function reactionEmoji(typed: string): string {
  const name = /^:([^:\s]+):$/.exec(typed)?.[1] ?? typed
  return Object.hasOwn(REACTION_NAMES, name.toLowerCase())
    ? REACTION_NAMES[name.toLowerCase()]!
    : typed
}

export type MessageAction = 'edit' | 'delete' | 'react' | 'unreact' | 'reply'

/**
 * One sentence for a failed edit, delete, reaction or reply, for both UIs. Library errors
 * other than the expected ones keep their `CODE: detail` message.
 */
export function describeMessageError(err: unknown, action: MessageAction): string {
  if (!isBackspaceError(err)) return `Failed: ${(err as Error)?.message ?? String(err)}`
  const detail = err.message.slice(err.code.length + 2)
  switch (err.code) {
    case 'NOT_ALLOWED':
      if (/deleted/.test(detail)) return 'That message was deleted.'
      return action === 'delete'
        ? 'You can only delete your own messages.'
        : action === 'edit'
          ? 'You can only edit your own messages.'
          : `That message cannot be ${action === 'reply' ? 'answered' : 'reacted to'}.`
    case 'MESSAGE_NOT_FOUND':
      // The references above explain themselves; the room's detail is the default or an id.
      return detail === ERROR_CODES.MESSAGE_NOT_FOUND || !/\s/.test(detail)
        ? 'That message is not loaded here (it may have expired).'
        : sentence(detail)
    case 'INVALID_EMOJI':
      return 'A reaction is one emoji, like 👍 or :tada:.'
    case 'EMPTY_MESSAGE':
      return action === 'edit'
        ? 'The new text is empty: /delete removes a message.'
        : 'The message is empty.'
    case 'INVALID_ARGUMENT':
      return sentence(detail)
    default:
      return err.message
  }
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : text + '.'
}
