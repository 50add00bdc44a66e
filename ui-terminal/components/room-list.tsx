import { Box, Text } from 'ink'
import { roomOrder } from '../../lib/index.js'
import { cut, textWidth } from '../format.js'
import { label, LOCK, type RoomView } from '../use-chat.js'

export interface RoomListProps {
  rooms: readonly RoomView[]
  active: string | null
  width: number
  height: number
}

/** A friend online in a DM; offline is the hollow dot. */
export const ONLINE = '●'
export const OFFLINE = '○'

type Line =
  | { kind: 'heading'; text: string }
  | { kind: 'room'; room: RoomView; index: number }

/**
 * The joined rooms, then the DMs (the latest conversation first), numbered for Alt+1..9 in
 * that order. Unread counts on the right; `@n` counts messages that mention you (in a DM,
 * every message), and the entry turns yellow. A lock marks a password room; rooms that share
 * a name show their tag (`#secret·1a2b`); a dot says whether a DM's friend is online.
 */
export function RoomList({ rooms, active, width, height }: RoomListProps) {
  // The border takes one column, and one more keeps the counts off it.
  const inner = Math.max(4, width - 2)
  const order = roomOrder({ rooms })
  const lines: Line[] = [{ kind: 'heading', text: order.rooms.length === 0 && order.dms.length === 0 ? 'no rooms' : 'Rooms' }]
  order.rooms.forEach((room, i) => lines.push({ kind: 'room', room, index: i + 1 }))
  if (order.dms.length > 0) {
    lines.push({ kind: 'heading', text: 'DMs' })
    order.dms.forEach((room, i) => lines.push({ kind: 'room', room, index: order.rooms.length + i + 1 }))
  }
  // The active entry stays in view when the list is longer than the pane.
  const max = Math.max(1, height)
  const at = lines.findIndex((l) => l.kind === 'room' && l.room.key === active)
  const start = at >= max ? at - max + 1 : 0
  const visible = lines.slice(start, start + max)
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
      {visible.map((line) => {
        if (line.kind === 'heading') {
          return (
            <Text key={`h-${line.text}`} dimColor wrap="truncate-end">
              {line.text}
            </Text>
          )
        }
        const r = line.room
        const counts =
          (r.mentions > 0 && r.kind !== 'dm' ? `@${r.mentions} ` : '') + (r.unread > 0 ? `${r.unread}` : '')
        const dot = r.peer ? `${r.peer.online ? ONLINE : OFFLINE} ` : ''
        const title = r.peer ? r.peer.name || r.peer.fingerprint : `${r.locked ? LOCK : ''}${label(r, rooms)}`
        const name = cut(`${line.index} ${dot}${title}`, inner - counts.length - (counts ? 1 : 0))
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
            {dot && name.includes(dot) && !isActive ? (
              <>
                {name.slice(0, name.indexOf(dot))}
                <Text color={r.peer?.online ? 'green' : undefined} dimColor={!r.peer?.online}>
                  {dot}
                </Text>
                {name.slice(name.indexOf(dot) + dot.length)}
              </>
            ) : (
              name
            )}
            {gap}
            {counts}
          </Text>
        )
      })}
    </Box>
  )
}
