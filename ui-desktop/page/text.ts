/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Small pure helpers the page formats with. No chat rule lives here: names, mentions, order and
// limits come from the library through the shell.
import type { ActorView, GovernanceView, MemberLineView, ModerationAction, RoomView } from '../protocol.js'

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

/** The mark beside a name for a role: `~` owner, `&` admin, `@` op. */
export function roleMark(role: string): string {
  return role === 'owner' ? '~' : role === 'admin' ? '&' : role === 'op' ? '@' : ''
}

const SETTING_NAMES: Record<string, string> = {
  slowMode: 'slow mode',
  maxUsers: 'the member limit',
  ttl: 'the message lifetime',
  allowAnonymous: 'anonymous members',
  allowFiles: 'files',
  locked: 'the lock',
  private: 'privacy'
}

/** A governance operation as one sentence: who did what to whom. */
export function governanceLine(e: GovernanceView): string {
  const who = (a: ActorView | null) => (a ? (a.name ? `${a.name} (${a.fingerprint})` : a.fingerprint) : 'someone')
  const actor = who(e.actor)
  const target = e.self ? 'you' : who(e.target)
  const reason = e.text ? `: ${e.text}` : ''
  switch (e.action) {
    case 'claim':
      return `${actor} owns this room`
    case 'topic':
      return e.text ? `${actor} set the topic: ${e.text}` : `${actor} cleared the topic`
    case 'announce':
      return e.text ? `${actor} announced: ${e.text}` : `${actor} removed the announcement`
    case 'welcome':
      return e.text ? `${actor} set the welcome: ${e.text}` : `${actor} removed the welcome`
    case 'op':
      return `${actor} made ${target} an op`
    case 'deop':
      return `${target} is no longer an op (by ${actor})`
    case 'admin':
      return `${actor} made ${target} an admin`
    case 'unadmin':
      return `${target} is no longer an admin (by ${actor})`
    case 'kick':
      return `${target} was kicked by ${actor}${reason}`
    case 'ban':
      return `${target} was banned by ${actor}${reason}`
    case 'unban':
      return `${target} was unbanned by ${actor}`
    case 'delete':
      return `${actor} deleted a message`
    case 'wipe':
      return `${actor} wiped the room's history`
    case 'set': {
      const name = e.setting ? (SETTING_NAMES[e.setting] ?? e.setting) : 'a setting'
      return `${actor} set ${name} to ${settingValue(e.setting, e.value)}`
    }
  }
}

/** A member coming, going or taking another name, as one line of its room (as the terminal says it). */
export function memberLine(v: MemberLineView): string {
  const who = `${v.name || 'someone'} (${v.fingerprint})`
  if (v.kind === 'rename') return `${v.from || 'someone'} (${v.fingerprint}) is now known as ${v.name}`
  return v.kind === 'join' ? `${who} is here` : `${who} left`
}

/** The label of a moderation button on a profile card. */
export const ACTION_LABELS: Record<ModerationAction, string> = {
  kick: 'Kick',
  ban: 'Ban',
  unban: 'Unban',
  op: 'Make op',
  deop: 'Remove op',
  admin: 'Make admin',
  unadmin: 'Remove admin'
}

/** What the card says once a moderation action went through. */
export function actionDone(action: ModerationAction, who: string): string {
  switch (action) {
    case 'kick':
      return `${who} was kicked.`
    case 'ban':
      return `${who} is banned.`
    case 'unban':
      return `${who} is no longer banned.`
    case 'op':
      return `${who} is now an op.`
    case 'deop':
      return `${who} is no longer an op.`
    case 'admin':
      return `${who} is now an admin.`
    case 'unadmin':
      return `${who} is no longer an admin.`
  }
}

function settingValue(setting: string | null, value: GovernanceView['value']): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off'
  if (typeof value !== 'number') return String(value)
  if (setting === 'slowMode') return value === 0 ? 'off' : `${value} s`
  if (setting === 'maxUsers') return value === 0 ? 'none' : String(value)
  if (setting === 'ttl') return value === 0 ? 'the default' : `${Math.round(value / 3600000)} h`
  return String(value)
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
