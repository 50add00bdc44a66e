/**
 * True when `text` mentions `name` as `@name`: case-insensitive, and not as part of a longer
 * word (`@ann` does not mention `anna`). An empty name is never mentioned.
 */
export function isMention(text: string, name: string): boolean {
  if (name === '' || text.length === 0) return false
  const lower = text.toLowerCase()
  const needle = '@' + name.toLowerCase()
  for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, at + 1)) {
    const before = at === 0 ? '' : lower[at - 1]!
    const after = lower.slice(at + needle.length, at + needle.length + 1)
    if (!isWordChar(before) && !isWordChar(after)) return true
  }
  return false
}

function isWordChar(ch: string): boolean {
  return ch !== '' && /[\p{L}\p{N}_-]/u.test(ch)
}
