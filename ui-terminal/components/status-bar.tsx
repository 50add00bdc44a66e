import { Box, Text } from 'ink'
import type { Member, Profile } from '../../lib/index.js'
import { clock, textWidth } from '../format.js'
import { label, type RoomView } from '../use-chat.js'

export interface StatusBarProps {
  width: number
  now: number
  profile: Profile
  fingerprint: string
  /** The Anon-##### name in incognito mode. */
  anonName: string | null
  connections: number
  /** False when the DHT network cannot be reached (see `Backspace.reachable`). Default true. */
  reachable?: boolean
  active: RoomView | null
  joining: readonly string[]
  /** Rows scrolled up from the newest line of the active room. */
  scroll: number
  /** Other rooms with news, shown when the room list is hidden (small terminals). */
  activity: readonly { index: number; mention: boolean }[] | null
}

/** `[12:30] [alice 19a8-fd32] [2 peers] [#general 3 members] ...`, above the input line. */
export function StatusBar(props: StatusBarProps) {
  const { profile, active, connections } = props
  const parts: { text: string; color?: string }[] = [{ text: clock(props.now) }]
  // What needs attention comes first: on a narrow terminal the end of the bar is cut off.
  if (props.activity && props.activity.length > 0) {
    const act = props.activity.map((a) => `${a.index}${a.mention ? '@' : ''}`).join(',')
    parts.push({
      text: `act ${act}`,
      color: props.activity.some((a) => a.mention) ? 'yellow' : undefined
    })
  }
  if (props.scroll > 0) parts.push({ text: `more below (${props.scroll}) PgDn`, color: 'yellow' })
  const who = profile.name || props.anonName
  parts.push({ text: who ? `${who} ${props.fingerprint}` : props.fingerprint })
  if (profile.away !== null)
    parts.push({ text: profile.away ? `away: ${profile.away}` : 'away', color: 'yellow' })
  parts.push(
    connections > 0
      ? {
          text: connections === 1 ? 'online, 1 peer' : `online, ${connections} peers`,
          color: 'green'
        }
      : props.reachable === false
        ? { text: 'network unreachable', color: 'red' }
        : { text: 'no peers yet', color: 'yellow' }
  )
  if (active) parts.push({ text: `${label(active)} ${membersText(active.members)}` })
  if (props.joining.length > 0)
    parts.push({ text: `joining ${props.joining.join(', ')}...`, color: 'yellow' })
  return (
    <Box width={props.width} height={1}>
      <Text wrap="truncate-end" backgroundColor="blue" color="white">
        {parts.map((p, i) => (
          <Text key={i}>
            {'['}
            <Text color={p.color ?? 'white'}>{p.text}</Text>
            {'] '}
          </Text>
        ))}
        {' '.repeat(
          Math.max(0, props.width - textWidth(parts.map((p) => `[${p.text}] `).join('')))
        )}
      </Text>
    </Box>
  )
}

/** `2/3 online`: members online now, of the members known. */
export function membersText(members: readonly Member[]): string {
  if (members.length === 0) return 'no members yet'
  return `${members.filter((m) => m.online).length}/${members.length} online`
}
