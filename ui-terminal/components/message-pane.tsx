import { Box, Text } from 'ink'
import { authorColor, mark, paneColumns, type PaneRow } from '../format.js'

export interface MessagePaneProps {
  /** Every row of the room, oldest first, already wrapped to `width`. */
  rows: readonly PaneRow[]
  height: number
  width: number
  /** Rows scrolled up from the newest; 0 shows the newest at the bottom. */
  scroll: number
}

/** The message pane: `HH:MM  name fingerprint │ text`, bottom-aligned, scrolled by rows. */
export function MessagePane({ rows, height, width, scroll }: MessagePaneProps) {
  const cols = paneColumns(width)
  const end = Math.max(0, rows.length - scroll)
  const shown = rows.slice(Math.max(0, end - height), end)
  return (
    <Box flexDirection="column" height={height} width={width} justifyContent="flex-end">
      {shown.map((row) => (
        <Box key={row.key} height={1} width={width}>
          <Text wrap="truncate-end">
            <Text dimColor>{row.time.padEnd(cols.time)}</Text>
            <Nick row={row} width={cols.nick} />
            {row.selected ? (
              <Text color="cyan" bold>{` ${mark(row) === '│' ? '┃' : mark(row)} `}</Text>
            ) : (
              <Text
                dimColor={row.style !== 'mention' && row.style !== 'own'}
              >{` ${mark(row)} `}</Text>
            )}
            <Body row={row} />
            {row.suffix ? <Text dimColor>{row.suffix}</Text> : null}
          </Text>
        </Box>
      ))}
    </Box>
  )
}

function Nick({ row, width }: { row: PaneRow; width: number }) {
  const text = row.nick.padStart(width)
  switch (row.style) {
    case 'own':
      return (
        <Text color="green" bold>
          {text}
        </Text>
      )
    case 'mention':
      return (
        <Text color="yellow" bold inverse={row.nick !== ''}>
          {text}
        </Text>
      )
    case 'text':
      return <Text color={row.author ? authorColor(row.author) : undefined}>{text}</Text>
    case 'action':
      return <Text color="magenta">{text}</Text>
    case 'error':
      return <Text color="red">{text}</Text>
    case 'deleted':
      return (
        <Text dimColor color={row.author ? authorColor(row.author) : undefined}>
          {text}
        </Text>
      )
    default:
      return <Text dimColor>{text}</Text>
  }
}

function Body({ row }: { row: PaneRow }) {
  switch (row.style) {
    case 'mention':
      return (
        <Text color="yellow" bold>
          {row.text}
        </Text>
      )
    case 'action':
      return <Text color="magenta">{row.text}</Text>
    case 'info':
      return <Text color="gray">{row.text}</Text>
    case 'error':
      return <Text color="red">{row.text}</Text>
    case 'day':
      return <Text dimColor>{row.text}</Text>
    case 'new':
      return <Text color="red">{row.text}</Text>
    case 'deleted':
      return (
        <Text dimColor italic>
          {row.text}
        </Text>
      )
    case 'quote':
      return <Text dimColor>{row.text}</Text>
    case 'reactions':
      return (
        <Text>
          {(row.chips ?? []).map((chip, i) => (
            <Text key={i}>
              {i > 0 ? '  ' : ''}
              {chip.self ? (
                <Text color="cyan" bold inverse>
                  {chip.text}
                </Text>
              ) : (
                <Text>{chip.text}</Text>
              )}
            </Text>
          ))}
        </Text>
      )
    default:
      return <Text>{row.text}</Text>
  }
}
