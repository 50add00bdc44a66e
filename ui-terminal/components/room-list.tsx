import { Box, Text } from 'ink'
import { cut, textWidth } from '../format.js'
import { label, LOCK, type RoomView } from '../use-chat.js'

export interface RoomListProps {
  rooms: readonly RoomView[]
  active: string | null
  width: number
  height: number
}

/**
 * The joined rooms, numbered for Alt+1..9. Unread counts on the right; `@n` counts messages
 * that mention you, and the room turns yellow. A lock marks a password room; rooms that share
 * a name show their tag (`#secret·1a2b`).
 */
export function RoomList({ rooms, active, width, height }: RoomListProps) {
  // The border takes one column, and one more keeps the counts off it.
  const inner = Math.max(4, width - 2)
  const visible = rooms.slice(0, Math.max(0, height - 1))
  return (
    <Box
      flexDirection="column"
      width={width}
      height={height}
      flexShrink={0}
      borderStyle="single"
      borderTop={false}
      borderBottom={false}
      borderLeft={false}
      borderDimColor
    >
      <Text dimColor wrap="truncate-end">
        {rooms.length === 0 ? 'no rooms' : 'Rooms'}
      </Text>
      {visible.map((r, i) => {
        const counts =
          (r.mentions > 0 ? `@${r.mentions} ` : '') + (r.unread > 0 ? `${r.unread}` : '')
        const name = fitTo(`${i + 1} ${r.locked ? LOCK : ''}${label(r, rooms)}`, inner - counts.length - (counts ? 1 : 0))
        const gap = ' '.repeat(Math.max(counts ? 1 : 0, inner - textWidth(name) - counts.length))
        const isActive = r.key === active
        return (
          <Text
            key={r.key}
            inverse={isActive}
            bold={!isActive && r.unread > 0}
            color={r.mentions > 0 ? 'yellow' : undefined}
            wrap="truncate-end"
          >
            {name}
            {gap}
            {counts}
          </Text>
        )
      })}
    </Box>
  )
}

/**
 * Cuts a room's entry to `width` cells with `…`: never `~`, which starts the name of a private
 * room, so a cut named room does not look private.
 */
function fitTo(text: string, width: number): string {
  return cut(text, width)
}
