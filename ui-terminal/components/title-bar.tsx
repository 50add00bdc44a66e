import { Box, Text } from 'ink'
import type { Member } from '../../lib/index.js'
import { textWidth } from '../format.js'
import { label, type RoomView } from '../use-chat.js'

export interface TitleBarProps {
  width: number
  active: RoomView | null
  /** Every joined room, to tell same-named ones apart. */
  rooms?: readonly RoomView[]
}

/** The current room and who is in it, online first; the room's topic goes here once rooms have one. */
export function TitleBar({ width, active, rooms = [] }: TitleBarProps) {
  const title = active ? ` ${label(active, rooms)} ` : ' Backspace '
  const rest = active
    ? ` ${memberList(active.members)}`
    : ' no room: /join <room> joins one, /help lists the commands'
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

function memberList(members: readonly Member[]): string {
  if (members.length === 0) return 'waiting for members...'
  const sorted = [...members].sort(
    (a, b) => Number(b.online) - Number(a.online) || Number(b.self) - Number(a.self)
  )
  return sorted
    .map((m) => {
      const name = m.name || m.fingerprint
      const notes = [m.self ? 'you' : '', m.away !== null ? 'away' : '', m.online ? '' : 'offline']
        .filter(Boolean)
        .join(', ')
      return notes ? `${name} (${notes})` : name
    })
    .join(', ')
}
