import { Box, Text, useInput } from 'ink'
import { useLineEditor } from '../use-line-editor.js'

export interface InputLineProps {
  prompt: string
  width: number
  /** Called with each line when Enter is pressed. */
  onSubmit: (line: string) => unknown
  isActive?: boolean
}

/** The line being typed. Enter sends, arrows move and recall, Esc clears. */
export function InputLine({ prompt, width, onSubmit, isActive = true }: InputLineProps) {
  const { line, apply, current } = useLineEditor()

  useInput(
    (input, key) => {
      if (key.return) return submit()
      if (key.backspace || key.delete) return void apply({ type: 'delete-back' })
      if (key.leftArrow) return void apply({ type: 'left' })
      if (key.rightArrow) return void apply({ type: 'right' })
      if (key.upArrow) return void apply({ type: 'history-back' })
      if (key.downArrow) return void apply({ type: 'history-forward' })
      if (key.home || (key.ctrl && input === 'a')) return void apply({ type: 'home' })
      if (key.end || (key.ctrl && input === 'e')) return void apply({ type: 'end' })
      if (key.ctrl && input === 'w') return void apply({ type: 'delete-word' })
      if (key.ctrl && input === 'u') return void apply({ type: 'clear' })
      if (key.ctrl && input === 'd') return void apply({ type: 'delete-forward' })
      if (key.escape) return void apply({ type: 'clear' })
      if (key.ctrl || key.meta || key.tab) return
      // A paste arrives as one string; each line break in it sends the line before it.
      const parts = input.split(/\r\n|\r|\n/)
      parts.forEach((part, i) => {
        if (i > 0) submit()
        apply({ type: 'insert', text: part })
      })
    },
    { isActive }
  )

  // Reads the editor's current state, not this render's: keys of one tick come before a render.
  function submit() {
    const text = current().value
    apply({ type: 'commit' })
    if (text.trim().length > 0) void onSubmit(text)
  }

  const room = Math.max(1, width - prompt.length - 1)
  const start = Math.max(0, line.cursor - room + 1)
  const visible = line.value.slice(start, start + room)
  const at = line.cursor - start
  return (
    <Box>
      <Text color="green">{prompt}</Text>
      <Text>
        {visible.slice(0, at)}
        {isActive ? <Text inverse>{visible[at] ?? ' '}</Text> : (visible[at] ?? '')}
        {visible.slice(at + 1)}
      </Text>
    </Box>
  )
}
