import {
  aloneNotice,
  displayName,
  HELP_FOOTER,
  noticeLevel,
  ROLE_MARKS,
  roomLabel,
  type Message,
  type NoticeBody,
  type NoticePerson,
  type ReplyPreview,
  type Role,
  type RoomSettings
} from '../lib/index.js'
import type { Entry } from './use-chat.js'

/** Local wall-clock time as `HH:MM`. */
export function clock(ms: number): string {
  const d = new Date(ms)
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
}

/** `Tue 14 May 2024`, for the line that marks a new day. */
export function day(ms: number): string {
  const d = new Date(ms)
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getDay()]
  const month = [
    'Jan',
    'Feb',
    'Mar',
    'Apr',
    'May',
    'Jun',
    'Jul',
    'Aug',
    'Sep',
    'Oct',
    'Nov',
    'Dec'
  ][d.getMonth()]
  return `${weekday} ${d.getDate()} ${month} ${d.getFullYear()}`
}

const AUTHOR_COLORS = [
  'cyan',
  'magenta',
  'yellow',
  'blue',
  'red',
  'greenBright',
  'cyanBright'
] as const

/** A colour that stays the same for one author, to make a busy room easier to scan. */
export function authorColor(publicKey: Buffer): (typeof AUTHOR_COLORS)[number] {
  return AUTHOR_COLORS[(publicKey[0] ?? 0) % AUTHOR_COLORS.length]!
}

/**
 * How a row of the message pane looks:
 * - `text`, `own`, `mention`: a message (own ones after `»`, mentions of you after `!`)
 * - `action`: a /me line, after `*`
 * - `deleted`: the tombstone of a deleted message, after `×`
 * - `quote`: the line a reply quotes, above it; `reactions`: the reactions, under a message
 * - `info`, `error`: the UI's own notices; `day`: the line that marks a new day
 * - `new`: the "new messages" marker above the first message that came unread
 */
export type RowStyle =
  | 'text'
  | 'own'
  | 'mention'
  | 'action'
  | 'deleted'
  | 'quote'
  | 'reactions'
  | 'info'
  | 'error'
  | 'day'
  | 'new'

/** One emoji on a reactions row: `👍 2`. */
export interface ReactionChip {
  readonly text: string
  /** This node's identity reacted with it. */
  readonly self: boolean
}

/** One terminal row of the message pane. Continuation rows of a wrapped line have no time. */
export interface PaneRow {
  readonly key: string
  readonly time: string
  readonly nick: string
  readonly style: RowStyle
  /** A wrapped continuation of the row before. */
  readonly continued: boolean
  readonly text: string
  /** The author, to colour the nick; null for notices. */
  readonly author: Buffer | null
  /** Dim words after the text: ` (edited)`. */
  readonly suffix?: string
  /** On a `reactions` row: its chips (`text` holds them as plain text too). */
  readonly chips?: readonly ReactionChip[]
  /** A row of the message the input line edits or answers. */
  readonly selected?: boolean
}

/** The columns of the message pane for a given width. */
export interface PaneColumns {
  readonly time: number
  readonly nick: number
  readonly text: number
}

export function paneColumns(width: number): PaneColumns {
  // Narrow panes keep a short name and the fingerprint's first group: a bare fingerprint
  // column hid every name at 60 columns.
  const nick = width >= 72 ? 20 : width >= 40 ? 13 : 10
  return { time: 6, nick, text: Math.max(8, width - 6 - nick - 3) }
}

const MARKS: Record<RowStyle, string> = {
  text: '│',
  own: '»',
  mention: '!',
  action: '*',
  deleted: '×',
  quote: '│',
  reactions: '│',
  info: '│',
  error: '│',
  day: ' ',
  new: ' '
}

/** The character between the nick column and the text; wrapped rows only continue the line. */
export function mark(row: Pick<PaneRow, 'style' | 'continued'>): string {
  return row.continued && row.style !== 'day' ? '│' : MARKS[row.style]
}

/**
 * The name and key fingerprint shown for an author, fitted to `width` columns. Names are
 * not unique, so the fingerprint always shows; a long name is cut first.
 */
export function nickOf(
  message: Pick<Message, 'name' | 'fingerprint'>,
  width: number,
  role: Role = 'member'
): string {
  const groups = message.fingerprint.split('-')
  const fp = groups.slice(0, width >= 16 ? 2 : 1).join('-')
  // The library cleans names on ingest; this is the last line before the terminal, so nothing
  // that moves the cursor or reverses text ever reaches it, whatever the source.
  const shown = ROLE_MARKS[role] + displayName(message.name)
  if (!shown) return fit(fp, width)
  const room = width - fp.length - 1
  if (room < 3) return fit(fp, width)
  const chars = [...shown]
  const name = chars.length > room ? chars.slice(0, room - 1).join('') + '~' : shown
  return `${name} ${fp}`
}

function fit(text: string, width: number): string {
  return [...text].length > width ? [...text].slice(0, width).join('') : text
}

export interface LayoutOptions {
  /** Message references by id (`^kbfd`), shown instead of the time while a command wants one. */
  refs?: ReadonlyMap<string, string> | null
  /** The id of the message the input line works on, to highlight. */
  selected?: string | null
  /** Roles by identity key in hex (`RoomView.roles`): a mark goes before the name. */
  roles?: Readonly<Record<string, Role>>
}

const EDITED = '(edited)'

/** Lays the entries out as terminal rows for a pane `width` columns wide. */
export function layoutRows(
  entries: readonly Entry[],
  width: number,
  opts: LayoutOptions = {}
): PaneRow[] {
  const cols = paneColumns(width)
  const rows: PaneRow[] = []
  const roleOf = (m: Message): Role => opts.roles?.[m.author.toString('hex')] ?? 'member'
  let lastDay: string | null = null
  for (const entry of entries) {
    const time = entry.kind === 'message' ? entry.message.timestamp : entry.kind === 'notice' ? entry.notice.time : entry.time
    if (entry.kind === 'new-marker') {
      rows.push({ key: entry.key, time: '', nick: '--', style: 'new', continued: false, text: NEW_MARKER, author: null })
      continue
    }
    const today = day(time)
    if (lastDay !== null && today !== lastDay) {
      rows.push({
        key: `day-${entry.key}`,
        time: '',
        nick: '--',
        style: 'day',
        continued: false,
        text: `Day changed to ${today}`,
        author: null
      })
    }
    lastDay = today
    let style: RowStyle
    let nick: string
    let text: string
    let author: Buffer | null = null
    const m = entry.kind === 'message' ? entry.message : null
    const selected = m !== null && m.id === opts.selected
    if (m && m.replyTo && !m.deleted) {
      rows.push({
        key: `${entry.key}:quote`,
        time: '',
        nick: '',
        style: 'quote',
        continued: false,
        text: quoteLine(m.replyTo, cols.text),
        author: null,
        selected
      })
    }
    if (entry.kind === 'message') {
      const m = entry.message
      author = m.author
      if (m.deleted) {
        style = 'deleted'
        nick = nickOf(m, cols.nick, roleOf(m))
        text = 'message deleted'
      } else if (m.kind === 'action') {
        style = 'action'
        nick = ''
        text = `${nickOf(m, cols.nick, roleOf(m))} ${m.text}`
      } else {
        style = m.self ? 'own' : m.mention ? 'mention' : 'text'
        nick = nickOf(m, cols.nick, roleOf(m))
        text = m.text
      }
    } else {
      style = noticeLevel(entry.notice)
      nick = style === 'error' ? '!!' : '--'
      text = ''
    }
    const lines =
      entry.kind === 'notice' ? noticeText(entry.notice).flatMap((l) => wrapText(l, cols.text)) : wrapText(text, cols.text)
    const edited = m !== null && m.edited && !m.deleted
    // "(edited)" follows the text, on a row of its own if the last one is full.
    if (edited && textWidth(lines[lines.length - 1]!) + 1 + EDITED.length > cols.text)
      lines.push('')
    const stamp = (m && opts.refs?.get(m.id)) || clock(time)
    lines.forEach((line, i) => {
      const last = i === lines.length - 1
      rows.push({
        key: `${entry.key}:${i}`,
        time: i === 0 ? stamp : '',
        nick: i === 0 ? nick : '',
        style,
        continued: i > 0,
        text: line,
        author,
        ...(edited && last ? { suffix: line === '' ? EDITED : ` ${EDITED}` } : {}),
        ...(selected ? { selected } : {})
      })
    })
    if (m && !m.deleted && m.reactions.length > 0) {
      reactionRows(m, cols.text).forEach((chips, i) => {
        rows.push({
          key: `${entry.key}:reactions:${i}`,
          time: '',
          nick: '',
          style: 'reactions',
          continued: true,
          text: chips.map((c) => c.text).join(CHIP_GAP),
          author: null,
          chips,
          ...(selected ? { selected } : {})
        })
      })
    }
  }
  return rows
}

const CHIP_GAP = '  '

/** The reactions of a message as chips, `👍 2`, in rows that fit `width` columns. */
function reactionRows(m: Message, width: number): ReactionChip[][] {
  const rows: ReactionChip[][] = [[]]
  let used = 0
  for (const r of m.reactions) {
    const chip = { text: `${r.emoji} ${r.count}`, self: r.self }
    const w = textWidth(chip.text)
    const row = rows[rows.length - 1]!
    if (row.length > 0 && used + CHIP_GAP.length + w > width) {
      rows.push([chip])
      used = w
    } else {
      used += (row.length > 0 ? CHIP_GAP.length : 0) + w
      row.push(chip)
    }
  }
  return rows
}

/** `↳ name: the start of the message answered…`, on one row. */
function quoteLine(reply: ReplyPreview, width: number): string {
  if (!reply.loaded) return cut('↳ a message not loaded here', width)
  const who = displayName(reply.name) || reply.fingerprint.split('-')[0] || ''
  const body = reply.deleted ? 'message deleted' : reply.text.replace(/\s+/g, ' ').trim()
  return cut(`↳ ${who}: ${body}`, width)
}

/** `text` cut to `width` columns, with `…` where it was cut. Control characters are dropped. */
export function cut(text: string, width: number): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '')
  if (textWidth(clean) <= width) return clean
  let out = ''
  let used = 0
  for (const ch of clean) {
    const w = charWidth(ch)
    if (used + w > width - 1) break
    out += ch
    used += w
  }
  return out + '…'
}

/** Terminal columns a character takes: 2 for wide (CJK, most emoji), 0 for combining marks. */
function charWidth(ch: string): number {
  const code = ch.codePointAt(0) ?? 0
  if (code < 0x20) return 0
  if (/\p{Mn}/u.test(ch)) return 0
  if (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1faff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  ) {
    return 2
  }
  return 1
}

/** The columns `text` takes on a terminal. */
export function textWidth(text: string): number {
  let w = 0
  for (const ch of text) w += charWidth(ch)
  return w
}

/**
 * Word-wraps `text` to `width` columns: breaks at spaces, splits words longer than a line,
 * and keeps the line breaks the text has. Control characters are dropped.
 */
export function wrapText(text: string, width: number): string[] {
  const max = Math.max(1, width)
  const out: string[] = []
  for (const paragraph of text.replace(/\t/g, '  ').split('\n')) {
    const clean = paragraph.replace(/[\u0000-\u001f\u007f]/g, '')
    let line = ''
    let used = 0
    for (const word of clean.split(/(\s+)/)) {
      if (word === '') continue
      const w = textWidth(word)
      if (used + w <= max) {
        line += word
        used += w
        continue
      }
      if (/^\s+$/.test(word)) {
        // A break falls here: the spaces go with it.
        out.push(line)
        line = ''
        used = 0
        continue
      }
      if (used > 0 && w <= max) {
        out.push(line.trimEnd())
        line = word
        used = w
        continue
      }
      // A word longer than a line is cut where the line ends.
      for (const ch of word) {
        const cw = charWidth(ch)
        if (used + cw > max && used > 0) {
          out.push(line)
          line = ''
          used = 0
        }
        line += ch
        used += cw
      }
    }
    out.push(line.trimEnd())
  }
  return out
}

/** The marker above the first unread message. */
export const NEW_MARKER = '─── new messages ───'

/** The keys, for /help: they belong to this screen, not to the library. */
export const KEYS_HELP =
  'Keys: Enter sends, Tab completes, PgUp/PgDn scroll, Alt+1..9 or Ctrl+N/Ctrl+P switch ' +
  'rooms, Ctrl+C quits. Up on an empty line edits your last message (Esc cancels); ' +
  'Alt+Up/Down picks a message to answer or act on; Ctrl+Up/Down recall lines.'

/** How this screen words a notice: the library gives it as data. One string per line. */
export function noticeText(n: NoticeBody): string[] {
  switch (n.kind) {
    case 'text':
      return [n.text]
    case 'help':
      return [...[...n.commands, HELP_FOOTER].map((c) => `${c.usage.padEnd(26)} ${c.description}`), KEYS_HELP]
    case 'alone':
      return [aloneNotice(n.about)]
    case 'member-join':
      return [`${n.name || '(no name)'} ${n.fingerprint} is here`]
    case 'member-leave':
      return [`${n.name || '(no name)'} ${n.fingerprint} left`]
    case 'member-rename':
      return [`${n.from} ${n.fingerprint} is now known as ${n.to}`]
    case 'device-request':
      return [
        `A new device asks to join your identity: ${n.fingerprint}${n.name ? ` "${n.name}"` : ''}. ` +
          'If the new device shows this same fingerprint, /device approve; otherwise /device deny.'
      ]
    case 'friend-request':
      return [
        `${n.name || 'Someone'} (${n.fingerprint}) asks to be your friend: "${n.text}". ` +
          `/accept ${n.fingerprint}, or /decline ${n.fingerprint} (they cannot tell).`
      ]
    case 'device-revoked':
      return ['This device was revoked: it no longer speaks for your identity.']
    case 'confirm-leave':
      return [
        `Leaving ${roomLabel(n.about)} deletes its history on this device. ` +
          'Type /leave again to leave, or anything else to stay.'
      ]
    case 'welcome':
      return ['Type /join <room> to join a room, or /help for the commands.']
    case 'governance':
      return [governanceText(n)]
    case 'room-welcome':
      return [`Welcome to ${roomLabel(n.about)}: ${n.text}`]
    case 'network':
      return [
        n.reachable
          ? 'The network can be reached again.'
          : 'The network cannot be reached: the bootstrap nodes do not answer. Check the connection; Backspace keeps trying.'
      ]
  }
}

/** `ann 19a8-fd32`, or `you`: names are not unique, so the fingerprint's start goes along. */
function who(p: NoticePerson): string {
  if (p.self) return 'you'
  const fp = p.fingerprint.split('-').slice(0, 2).join('-')
  const name = displayName(p.name)
  return name ? `${name} ${fp}` : fp
}

/** A governance line: "bob was kicked by alice (spam)", "alice set the topic to ...". */
function governanceText(n: Extract<NoticeBody, { kind: 'governance' }>): string {
  const actor = who(n.actor)
  const target = n.target ? who(n.target) : 'someone'
  const reason = n.text ? ` (${n.text})` : ''
  switch (n.action) {
    case 'kick':
      return `${target} ${n.target?.self ? 'were' : 'was'} kicked by ${actor}${reason}`
    case 'ban':
      return `${target} ${n.target?.self ? 'were' : 'was'} banned by ${actor}${reason}`
    case 'unban':
      return `${actor} lifted the ban on ${target}`
    case 'op':
      return `${actor} made ${target} an operator (@)`
    case 'deop':
      return `${actor} took operator status from ${target}`
    case 'admin':
      return `${actor} made ${target} an admin (&)`
    case 'unadmin':
      return `${actor} took admin status from ${target}`
    case 'topic':
      return n.text ? `${actor} set the topic to: ${n.text}` : `${actor} cleared the topic`
    case 'announce':
      return n.text ? `${actor} set the announcement: ${n.text}` : `${actor} cleared the announcement`
    case 'welcome':
      return n.text ? `${actor} set the welcome message: ${n.text}` : `${actor} cleared the welcome message`
    case 'delete':
      return `${actor} deleted a message`
    case 'wipe':
      return `${actor} wiped the room: every message before this is gone, for everyone`
    case 'set':
      return `${actor} ${settingText(n.setting, n.value)}`
  }
}

function settingText(setting: keyof RoomSettings | null, value: RoomSettings[keyof RoomSettings] | null): string {
  const on = value === true
  const n = typeof value === 'number' ? value : 0
  switch (setting) {
    case 'slowMode':
      return n > 0 ? `set slow mode: one message per ${n} s` : 'turned slow mode off'
    case 'maxUsers':
      return n > 0 ? `limited the room to ${n} members` : 'lifted the member limit'
    case 'ttl':
      return n > 0 ? `set messages to last ${Math.round(n / 3_600_000)} hours` : 'set messages to last the default time'
    case 'allowAnonymous':
      return on ? 'allowed anonymous members' : 'stopped allowing anonymous members'
    case 'allowFiles':
      return on ? 'allowed files' : 'stopped allowing files'
    case 'locked':
      return on ? 'locked the room: nobody new may join' : 'unlocked the room'
    case 'private':
      return on ? 'made the room private' : 'listed the room'
    default:
      return 'changed a setting'
  }
}
