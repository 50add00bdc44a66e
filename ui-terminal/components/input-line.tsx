import { useEffect, useRef } from 'react'
import { Box, Text, useInput } from 'ink'
import stringWidth from 'string-width'
import { useLineEditor } from '../use-line-editor.js'

export interface InputLineProps {
  prompt: string
  width: number
  /**
   * Called with each line when Enter is pressed. Returning false (or a promise of false) puts
   * the line back, unless something was typed since: the send failed, the text is not lost.
   */
  onSubmit: (line: string) => unknown
  /** The most UTF-8 bytes a line may have: a counter shows from 80% of it on. */
  limit?: number
  isActive?: boolean
  /** Shows one `*` per character instead of the text: for passwords and secret keys. */
  masked?: boolean
  /** Tab completion: full-line candidates for the line; Tab again cycles through them. */
  complete?: (line: string) => readonly string[]
  /** Whether sent lines go into the Up/Down history. Default true; never for masked input. */
  remember?: boolean
  /** Also sends empty lines (a prompt where Enter alone means "none"). */
  submitEmpty?: boolean
  /**
   * A paste of several lines is sent as one message with its line breaks (the chat line).
   * Without it, each line break in a paste submits the line before it (a phrase, a password).
   */
  multiline?: boolean
  /** Lines typed before this screen (kept across restarts); null until they are known. */
  history?: readonly string[] | null
  /** Called with each line kept for recall, to keep it across restarts. */
  onRemember?: (line: string) => void
  /**
   * Up, Down and Esc go here first. Return the line's new text to take the key, null to take
   * it and leave the line as it is, or undefined to let the line handle it (history, clear).
   * `browsing` is true while Up/Down walk through the lines sent.
   */
  onKey?: (
    key: 'up' | 'down' | 'escape',
    line: { value: string; browsing: boolean }
  ) => string | null | undefined
  /** Called with the text whenever it changes. */
  onChange?: (value: string) => void
}

interface TabCycle {
  candidates: readonly string[]
  index: number
}

/** The line being typed. Enter sends, arrows move and recall, Tab completes, Esc clears. */
export function InputLine({
  prompt,
  width,
  onSubmit,
  isActive = true,
  masked = false,
  complete,
  remember = !masked,
  submitEmpty = false,
  onKey,
  onChange,
  limit,
  multiline = false,
  history = null,
  onRemember
}: InputLineProps) {
  const { line, apply, current } = useLineEditor()
  // The kept lines are loaded once, when they become known.
  const historyLoaded = useRef(false)
  useEffect(() => {
    if (history === null || historyLoaded.current) return
    historyLoaded.current = true
    if (history.length > 0) apply({ type: 'history-load', lines: history })
  }, [history, apply])
  // The candidates of the last Tab, while the line still shows one of them.
  const cycle = useRef<TabCycle | null>(null)
  useEffect(() => onChange?.(line.value), [line.value, onChange])

  // Offers a key to `onKey`; true when it took it.
  function offer(key: 'up' | 'down' | 'escape'): boolean {
    const { value, recall } = current()
    const next = onKey?.(key, { value, browsing: recall !== null })
    if (next === undefined) return false
    if (next !== null) apply({ type: 'set', value: next })
    cycle.current = null
    return true
  }

  useInput(
    (input, key) => {
      if (key.tab) return tab(key.shift ? -1 : 1)
      if (key.return) return submit()
      if (key.backspace || key.delete) return void apply({ type: 'delete-back' })
      if (key.escape) return void (offer('escape') || apply({ type: 'clear' }))
      // Alt with an arrow is the app's (picking a message), not the line's.
      if (key.meta && (key.upArrow || key.downArrow)) return
      if (key.leftArrow) return void apply({ type: 'left' })
      if (key.rightArrow) return void apply({ type: 'right' })
      if (key.upArrow) return void ((!key.ctrl && offer('up')) || apply({ type: 'history-back' }))
      if (key.downArrow) {
        return void ((!key.ctrl && offer('down')) || apply({ type: 'history-forward' }))
      }
      if (key.home || (key.ctrl && input === 'a')) return void apply({ type: 'home' })
      if (key.end || (key.ctrl && input === 'e')) return void apply({ type: 'end' })
      if (key.ctrl && input === 'w') return void apply({ type: 'delete-word' })
      if (key.ctrl && input === 'u') return void apply({ type: 'clear' })
      if (key.ctrl && input === 'd') return void apply({ type: 'delete-forward' })
      if (key.ctrl || key.meta) return
      // A paste arrives as one string; each line break in it sends the line before it.
      const parts = input.split(/\r\n|\r|\n/)
      if (multiline && parts.filter((p, i) => i < parts.length - 1 || p !== '').length > 1) {
        // Several lines pasted at once: one message with its line breaks, not one per line.
        const { value, cursor } = current()
        const pasted = parts.join('\n').replace(/\n+$/, '')
        return submitText(value.slice(0, cursor) + pasted + value.slice(cursor))
      }
      parts.forEach((part, i) => {
        if (i > 0) submit()
        apply({ type: 'insert', text: part })
      })
    },
    { isActive }
  )

  function tab(step: 1 | -1) {
    if (!complete) return
    const value = current().value
    const c = cycle.current
    if (c && c.candidates[c.index] === value) {
      c.index = (c.index + step + c.candidates.length) % c.candidates.length
      apply({ type: 'set', value: c.candidates[c.index]! })
      return
    }
    const candidates = complete(value)
    if (candidates.length === 0) {
      cycle.current = null
      return
    }
    cycle.current = { candidates, index: 0 }
    apply({ type: 'set', value: candidates[0]! })
  }

  // Reads the editor's current state, not this render's: keys of one tick come before a render.
  function submit() {
    submitText(current().value)
  }

  function submitText(text: string) {
    if (current().value !== text) apply({ type: 'set', value: text })
    const before = current().history
    const after = apply({ type: 'commit', remember }).history
    if (after !== before) onRemember?.(after[after.length - 1]!)
    cycle.current = null
    if (!submitEmpty && text.trim().length === 0) return
    const restore = (ok: unknown) => {
      if (ok === false && current().value === '') apply({ type: 'set', value: text })
    }
    const outcome = onSubmit(text)
    if (outcome instanceof Promise) outcome.then(restore, () => restore(false))
    else restore(outcome)
  }

  const bytes = limit === undefined || masked ? 0 : Buffer.byteLength(line.value)
  const counter = limit !== undefined && bytes >= limit * 0.8 ? ` ${bytes}/${limit}` : ''

  const shown = masked ? '*'.repeat([...line.value].length) : line.value
  const cursor = masked ? [...line.value.slice(0, line.cursor)].length : line.cursor
  // Widths are terminal cells, not UTF-16 units: CJK and most emoji take two.
  const room = Math.max(1, width - stringWidth(prompt) - 1 - counter.length)
  const { before, under, after } = fitLine(shown, cursor, room)
  return (
    <Box>
      <Text color="green" wrap="truncate-end">
        {prompt}
      </Text>
      <Text wrap="truncate-end">
        {before}
        {isActive ? <Text inverse>{under || ' '}</Text> : under}
        {after}
      </Text>
      {counter ? (
        <Box flexGrow={1} justifyContent="flex-end">
          <Text color={bytes > limit! ? 'red' : 'yellow'}>{counter}</Text>
        </Box>
      ) : null}
    </Box>
  )
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' })

/**
 * The part of `text` shown in `room` terminal cells with the cursor (a UTF-16 index) in view:
 * the text before the cursor, the character under it ('' at the end) and the text after.
 * Whole characters only: a wide one that does not fit is left out, never cut in half.
 */
export function fitLine(
  text: string,
  cursor: number,
  room: number
): { before: string; under: string; after: string } {
  const chars = [...graphemes.segment(text)].map((g) => ({
    text: g.segment,
    at: g.index,
    width: Math.max(1, stringWidth(g.segment))
  }))
  // The character the cursor is on; a cursor inside a cluster shows on the cluster.
  let at = chars.findIndex((c) => c.at + c.text.length > cursor)
  if (at === -1) at = chars.length
  const cursorWidth = chars[at]?.width ?? 1
  // Start as far left as lets the cursor fit.
  let start = at
  let used = cursorWidth
  while (start > 0 && used + chars[start - 1]!.width <= room) used += chars[--start]!.width
  let end = at + 1
  while (end < chars.length && used + chars[end]!.width <= room) used += chars[end++]!.width
  const join = (from: number, to: number) =>
    chars
      .slice(from, to)
      .map((c) => c.text)
      .join('')
  return { before: join(start, at), under: chars[at]?.text ?? '', after: join(at + 1, end) }
}
