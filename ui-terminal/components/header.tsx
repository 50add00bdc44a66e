import { Box, Text } from 'ink'
import type { RoomView } from '../use-chat.js'
import { label } from '../use-chat.js'

export interface HeaderProps {
  /** This node's full fingerprint. */
  fingerprint: string
  /** The Anon##### name in incognito mode. */
  anonName: string | null
  active: RoomView | null
  rooms: readonly RoomView[]
  /** Rooms being joined right now. */
  joining: readonly string[]
}

/** The current room, its peers and who you are; below it, every joined room. */
export function Header({ fingerprint, anonName, active, rooms, joining }: HeaderProps) {
  return (
    <Box flexDirection="column">
      <Box>
        <Box flexGrow={1}>
          <Text wrap="truncate-end">
            <Text bold color="green">
              Backspace
            </Text>
            {active ? (
              <Text>
                {'  '}
                <Text bold>{label(active)}</Text>
                {'  '}
                <Text dimColor>{active.peers === 1 ? '1 peer' : `${active.peers} peers`}</Text>
              </Text>
            ) : (
              <Text dimColor>{'  no room'}</Text>
            )}
          </Text>
        </Box>
        <Text wrap="truncate-start">
          <Text dimColor>you </Text>
          {anonName ? <Text>{anonName} </Text> : null}
          <Text color="green">{fingerprint}</Text>
        </Text>
      </Box>
      <Text wrap="truncate-end" dimColor={rooms.length === 0}>
        {rooms.length === 0 ? 'rooms: none' : null}
        {rooms.map((r, i) => (
          <Text key={r.key}>
            {i > 0 ? '  ' : ''}
            <Text inverse={r.key === active?.key}>{` ${i + 1} ${label(r)} `}</Text>
            {r.unread > 0 ? <Text color="yellow">({r.unread})</Text> : null}
          </Text>
        ))}
        {joining.length > 0 ? (
          <Text color="yellow">{`  joining ${joining.join(', ')}...`}</Text>
        ) : null}
      </Text>
    </Box>
  )
}
