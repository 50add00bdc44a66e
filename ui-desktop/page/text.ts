/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Small pure helpers the page formats with. No chat rule lives here: names, mentions, order and
// limits come from the library through the shell.
import type { RoomView } from '../protocol.js'

export function clock(ms: number): string {
  const d = new Date(ms)
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}

export function dayLabel(ms: number): string {
  return new Date(ms).toLocaleDateString(undefined, { dateStyle: 'full' })
}

export function sameDay(a: number, b: number): boolean {
  return new Date(a).toDateString() === new Date(b).toDateString()
}

/** `#name`, `~label`, with the room's tag when another joined room has the same name. */
export function roomLabel(room: RoomView, rooms: readonly RoomView[]): string {
  const twin = rooms.some((r) => r.id !== room.id && r.kind === room.kind && r.name === room.name)
  return (room.kind === 'named' ? '#' : '~') + room.name + (twin ? '·' + room.tag : '')
}

/**
 * What the user reads of a failure: the sentence, never the library's code. Errors carry
 * `CODE: detail`; the code stays for logs (the console), the detail is shown.
 */
export function sentence(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message
  const raw = typeof message === 'string' ? message : String(err)
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && code !== '') console.debug('backspace:', code, raw)
  const text = raw.replace(/^[A-Z][A-Z0-9_]+:\s*/, '').trim()
  if (text === '') return 'Something went wrong.'
  const first = text[0]!.toUpperCase() + text.slice(1)
  return /[.!?)]$/.test(first) ? first : first + '.'
}

/** A piece of message text: plain, or a web link to show as one. */
export type Segment = { text: string; href: string | null }

// http(s) addresses only: no javascript:, data: or file: link can come out of a message.
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+/gi

/** Splits `text` into plain runs and links; a link's trailing punctuation stays text. */
export function linkify(text: string): Segment[] {
  const out: Segment[] = []
  let at = 0
  for (const match of text.matchAll(URL_PATTERN)) {
    let url = match[0]
    const trail = /[.,;:!?)\]'}]+$/.exec(url)
    if (trail) url = url.slice(0, -trail[0].length)
    const start = match.index ?? 0
    let href: string | null = null
    try {
      const parsed = new URL(url)
      if (parsed.protocol === 'http:' || parsed.protocol === 'https:') href = parsed.href
    } catch {}
    if (href === null) continue
    if (start > at) out.push({ text: text.slice(at, start), href: null })
    out.push({ text: url, href })
    at = start + url.length
  }
  if (at < text.length) out.push({ text: text.slice(at), href: null })
  return out
}

const encoder = new TextEncoder()

/** UTF-8 bytes of what a line would send, as the library counts a message; 0 for commands. */
export function messageBytes(text: string): number {
  if (text.startsWith('/me ')) return encoder.encode(text.slice(4)).length
  if (text.startsWith('/') && !text.startsWith('//')) return 0
  return encoder.encode(text).length
}
