import { fingerprint } from '../lib/index.js'

/** Width of the `HH:MM  abcd  ` column in front of every timeline line. */
export const GUTTER = 13

/** Local wall-clock time as `HH:MM`. */
export function clock(ms: number): string {
  const d = new Date(ms)
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
}

/** The first group of the library's fingerprint: enough to tell authors apart at a glance. */
export function shortFingerprint(publicKey: Buffer): string {
  return fingerprint(publicKey).slice(0, 4)
}

const AUTHOR_COLORS = [
  'cyan',
  'magenta',
  'yellow',
  'blue',
  'red',
  'greenBright',
  'cyanBright'
] as const

/** A colour that stays the same for one author, to make a busy room easier to scan. */
export function authorColor(publicKey: Buffer): (typeof AUTHOR_COLORS)[number] {
  return AUTHOR_COLORS[(publicKey[0] ?? 0) % AUTHOR_COLORS.length]!
}

/** How many terminal rows `text` takes when wrapped to `width` columns (an estimate). */
export function rowsOf(text: string, width: number): number {
  const usable = Math.max(1, width)
  let rows = 0
  for (const line of text.split('\n')) rows += Math.max(1, Math.ceil([...line].length / usable))
  return rows
}

/** The last items whose rows add up to at most `height`. */
export function lastThatFit<T>(
  items: readonly T[],
  height: number,
  rows: (item: T) => number
): T[] {
  let used = 0
  let from = items.length
  while (from > 0) {
    const needed = rows(items[from - 1]!)
    if (used + needed > height) break
    used += needed
    from--
  }
  return items.slice(from)
}
