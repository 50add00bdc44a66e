import { Box, Text } from 'ink'
import type { Entry } from '../use-chat.js'
import { authorColor, clock, GUTTER, lastThatFit, rowsOf, shortFingerprint } from '../format.js'

export interface TimelineProps {
  entries: readonly Entry[]
  /** Rows available; the newest entries that fit are shown, bottom-aligned. */
  height: number
  width: number
}

/** Messages as `HH:MM  abcd  text`, with the UI's own notices between them. */
export function Timeline({ entries, height, width }: TimelineProps) {
  const textWidth = width - GUTTER
  const shown = lastThatFit(entries, height, (e) => rowsOf(entryText(e), textWidth))
  return (
    <Box flexDirection="column" height={height} justifyContent="flex-end" overflowY="hidden">
      {shown.map((entry) => (
        <Box key={entry.key}>
          <Box width={GUTTER} flexShrink={0}>
            {entry.kind === 'message' ? (
              <Text>
                <Text dimColor>{clock(entry.message.timestamp)}</Text>
                {'  '}
                <Text
                  color={entry.own ? 'green' : authorColor(entry.message.author)}
                  bold={entry.own}
                >
                  {shortFingerprint(entry.message.author)}
                </Text>
              </Text>
            ) : (
              <Text
                dimColor
              >{`${clock(entry.notice.time)}  ${entry.notice.level === 'error' ? '!!' : '--'}`}</Text>
            )}
          </Box>
          <Box flexGrow={1}>
            {entry.kind === 'message' ? (
              <Text>{entry.message.text}</Text>
            ) : (
              <Text color={entry.notice.level === 'error' ? 'red' : 'gray'}>
                {entry.notice.text}
              </Text>
            )}
          </Box>
        </Box>
      ))}
    </Box>
  )
}

function entryText(entry: Entry): string {
  return entry.kind === 'message' ? entry.message.text : entry.notice.text
}
