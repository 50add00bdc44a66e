import { Box, Text } from 'ink'
import { ROLE_MARKS, roleOf, type Member } from '../../lib/index.js'
import { textWidth } from '../format.js'
import { label, type RoomView } from '../use-chat.js'

export interface TitleBarProps {
  width: number
  active: RoomView | null
  /** Every joined room, to tell same-named ones apart. */
  rooms?: readonly RoomView[]
}

/**
 * The current room, its topic, and who is in it (online first, with role marks: `~` owner,
 * `&` admin, `@` op). A DM names the friend and says whether they are online.
 */
export function TitleBar({ width, active, rooms = [] }: TitleBarProps) {
  const title = active ? ` ${label(active, rooms)} ` : ' Backspace '
  const topic = active && active.settings.topic ? ` ${oneLine(active.settings.topic)} |` : ''
  const rest = !active
    ? ' no room: /join <room> joins one, /help lists the commands'
    : active.peer
      ? ` DM with ${active.peer.name || active.peer.fingerprint} ${active.peer.fingerprint} (${active.peer.online ? 'online' : 'offline'})`
      : `${topic} ${memberList(active.members, active)}`
  const pad = ' '.repeat(Math.max(0, width - textWidth(title + rest)))
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end" backgroundColor="blue" color="white">
        <Text bold>{title}</Text>
        {rest}
        {pad}
      </Text>
    </Box>
  )
}

// Controls, format characters (bidi overrides and isolates, zero widths), private use, line
// and paragraph separators: none may break the row or reorder what follows it on the bar.
const HIDDEN = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}]+/gu

/**
 * A topic or announcement (anyone with the role writes them) on one row of a bar: line breaks
 * and hidden characters become spaces, so nothing moves the member list that follows.
 */
export function oneLine(text: string): string {
  return text.replace(HIDDEN, ' ').replace(/\s+/gu, ' ').trim()
}

// Higher roles first, as IRC lists ops before voices.
const RANK = ['owner', 'admin', 'op', 'member', 'banned'] as const

function memberList(members: readonly Member[], view: Pick<RoomView, 'roles'>): string {
  if (members.length === 0) return 'waiting for members...'
  const sorted = [...members].sort(
    (a, b) =>
      Number(b.online) - Number(a.online) ||
      RANK.indexOf(roleOf(view, a.key)) - RANK.indexOf(roleOf(view, b.key)) ||
      Number(b.self) - Number(a.self)
  )
  return sorted
    .map((m) => {
      const name = ROLE_MARKS[roleOf(view, m.key)] + (m.name || m.fingerprint)
      const notes = [m.self ? 'you' : '', m.away !== null ? 'away' : '', m.online ? '' : 'offline']
        .filter(Boolean)
        .join(', ')
      return notes ? `${name} (${notes})` : name
    })
    .join(', ')
}
