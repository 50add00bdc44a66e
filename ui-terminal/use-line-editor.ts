import { useCallback, useReducer, useRef } from 'react'

/** The line being typed, with its cursor and the lines sent before. */
export interface LineState {
  readonly value: string
  /** Index into `value`, in UTF-16 code units, always on a code point boundary. */
  readonly cursor: number
  /** Lines submitted earlier, oldest first. */
  readonly history: readonly string[]
  /** Which history entry is shown, or null while editing a new line. */
  readonly recall: number | null
  /** The new line put aside while browsing history. */
  readonly draft: string
}

export type LineAction =
  | { type: 'insert'; text: string }
  | { type: 'delete-back' }
  | { type: 'delete-forward' }
  | { type: 'delete-word' }
  | { type: 'left' }
  | { type: 'right' }
  | { type: 'home' }
  | { type: 'end' }
  | { type: 'clear' }
  | { type: 'history-back' }
  | { type: 'history-forward' }
  /** Replaces the whole line, cursor at the end (tab completion). */
  | { type: 'set'; value: string }
  /** Clears the line after Enter; `remember: false` keeps it out of history (passwords). */
  | { type: 'commit'; remember?: boolean }
  /** Lines kept from before (a restart): they go before the ones typed since. */
  | { type: 'history-load'; lines: readonly string[] }

const HISTORY_LIMIT = 100

export const emptyLine: LineState = { value: '', cursor: 0, history: [], recall: null, draft: '' }

export function lineReducer(state: LineState, action: LineAction): LineState {
  const { value, cursor } = state
  switch (action.type) {
    case 'insert': {
      // Control characters would corrupt the terminal; tabs become spaces.
      const text = action.text.replace(/\t/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '')
      if (text.length === 0) return state
      return edit(state, value.slice(0, cursor) + text + value.slice(cursor), cursor + text.length)
    }
    case 'delete-back': {
      if (cursor === 0) return state
      const from = previousBoundary(value, cursor)
      return edit(state, value.slice(0, from) + value.slice(cursor), from)
    }
    case 'delete-forward': {
      if (cursor >= value.length) return state
      return edit(state, value.slice(0, cursor) + value.slice(nextBoundary(value, cursor)), cursor)
    }
    case 'delete-word': {
      const from = value.slice(0, cursor).replace(/\S*\s*$/, '').length
      return edit(state, value.slice(0, from) + value.slice(cursor), from)
    }
    case 'left':
      return { ...state, cursor: previousBoundary(value, cursor) }
    case 'right':
      return { ...state, cursor: nextBoundary(value, cursor) }
    case 'home':
      return { ...state, cursor: 0 }
    case 'end':
      return { ...state, cursor: value.length }
    case 'clear':
      return { ...state, value: '', cursor: 0, recall: null, draft: '' }
    case 'history-back': {
      if (state.history.length === 0 || state.recall === 0) return state
      const recall = state.recall === null ? state.history.length - 1 : state.recall - 1
      const line = state.history[recall] ?? ''
      const draft = state.recall === null ? value : state.draft
      return { ...state, value: line, cursor: line.length, recall, draft }
    }
    case 'history-forward': {
      if (state.recall === null) return state
      const recall = state.recall + 1 < state.history.length ? state.recall + 1 : null
      const line = recall === null ? state.draft : (state.history[recall] ?? '')
      return { ...state, value: line, cursor: line.length, recall }
    }
    case 'set':
      return edit(state, action.value, action.value.length)
    case 'history-load':
      return { ...state, history: [...action.lines, ...state.history].slice(-HISTORY_LIMIT), recall: null }
    case 'commit': {
      const keep =
        action.remember !== false &&
        value.trim().length > 0 &&
        state.history[state.history.length - 1] !== value
      const history = keep ? [...state.history, value].slice(-HISTORY_LIMIT) : state.history
      return { value: '', cursor: 0, history, recall: null, draft: '' }
    }
  }
}

function edit(state: LineState, value: string, cursor: number): LineState {
  return { ...state, value, cursor, recall: null }
}

function previousBoundary(text: string, index: number): number {
  if (index <= 0) return 0
  const low = text.charCodeAt(index - 1)
  return low >= 0xdc00 && low <= 0xdfff && index >= 2 ? index - 2 : index - 1
}

function nextBoundary(text: string, index: number): number {
  if (index >= text.length) return text.length
  const high = text.charCodeAt(index)
  return high >= 0xd800 && high <= 0xdbff && index + 1 < text.length ? index + 2 : index + 1
}

/**
 * The line editor's state. Keys can arrive several per tick, before React renders, so the
 * current state lives in a ref and `apply` returns it synchronously.
 */
export function useLineEditor(): {
  line: LineState
  apply: (action: LineAction) => LineState
  current: () => LineState
} {
  const ref = useRef<LineState>(emptyLine)
  const [, rendered] = useReducer((n: number) => n + 1, 0)
  const apply = useCallback((action: LineAction) => {
    const next = lineReducer(ref.current, action)
    if (next !== ref.current) {
      ref.current = next
      rendered()
    }
    return next
  }, [])
  const current = useCallback(() => ref.current, [])
  return { line: ref.current, apply, current }
}
