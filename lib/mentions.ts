// Mentions go to a key, not a name: display names are not unique. `@alice` mentions the one
// member named alice; when two members share the name, `@alice#34ab` names one of them by
// the start of its key (hex), and `@alice` alone mentions nobody.
import b4a from 'b4a'

/** Who a mention can point at: a member's display name and identity key. */
export interface MentionTarget {
  readonly name: string
  readonly key: Buffer
}

/** The fewest hex digits of a key a tag has. Longer ones tell apart keys that share these. */
export const MIN_TAG_DIGITS = 4

/**
 * True when `text` mentions the member `name` with key `key`: `@name#tag` where the tag
 * starts the key's hex, or `@name` alone when no member of `others` other than this key has
 * the same name. Case-insensitive, and not as part of a longer word (`@ann` does not mention
 * `anna`). An empty name is never mentioned. Without `key`, any `@name` counts.
 */
export function isMention(
  text: string,
  name: string,
  key?: Buffer | null,
  others?: () => Iterable<MentionTarget>
): boolean {
  if (name === '' || typeof text !== 'string' || text.length === 0) return false
  const lower = text.toLowerCase()
  const needle = '@' + name.toLowerCase()
  let ambiguous: boolean | null = null
  for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, at + 1)) {
    const before = at === 0 ? '' : lower[at - 1]!
    const end = at + needle.length
    if (isWordChar(before)) continue
    const tag = /^#([0-9a-f]+)/.exec(lower.slice(end, end + 65))
    if (tag) {
      const digits = tag[1]!
      const after = lower.slice(end + tag[0].length, end + tag[0].length + 1)
      if (isWordChar(after) || digits.length < MIN_TAG_DIGITS) continue
      if (!key || b4a.toString(key, 'hex').startsWith(digits)) return true
      continue
    }
    if (isWordChar(lower.slice(end, end + 1))) continue
    if (!key || !others) return true
    ambiguous ??= sharesName(name, key, others())
    if (!ambiguous) return true
  }
  return false
}

/**
 * The shortest tag (hex digits of `key`, at least four) that no other key of `among` starts
 * with.
 */
export function mentionTag(key: Buffer, among: Iterable<Buffer>): string {
  const hex = b4a.toString(key, 'hex')
  let digits = MIN_TAG_DIGITS
  for (const other of among) {
    if (b4a.equals(other, key)) continue
    const o = b4a.toString(other, 'hex')
    let same = 0
    while (same < hex.length && hex[same] === o[same]) same++
    digits = Math.max(digits, same + 1)
  }
  return hex.slice(0, Math.min(digits, hex.length))
}

/**
 * How to mention `member` among `members` so that exactly that member is meant: `@alice`,
 * or `@alice#34ab` when another member has the same name. Null for a member with no name,
 * or a name with spaces (it cannot be typed as one word).
 */
export function mentionOf(member: MentionTarget, members: Iterable<MentionTarget>): string | null {
  if (!member.name || /\s/u.test(member.name)) return null
  const same: Buffer[] = []
  for (const m of members) {
    if (m.name.toLowerCase() === member.name.toLowerCase() && !b4a.equals(m.key, member.key)) same.push(m.key)
  }
  if (same.length === 0) return '@' + member.name
  return '@' + member.name + '#' + mentionTag(member.key, same)
}

/** The keys of `members` that `text` mentions, each once, in the order of `members`. */
export function resolveMentions(text: string, members: Iterable<MentionTarget>): Buffer[] {
  const list = [...members]
  return list.filter((m) => isMention(text, m.name, m.key, () => list)).map((m) => m.key)
}

function sharesName(name: string, key: Buffer, others: Iterable<MentionTarget>): boolean {
  const lower = name.toLowerCase()
  for (const m of others) if (m.name.toLowerCase() === lower && !b4a.equals(m.key, key)) return true
  return false
}

function isWordChar(ch: string): boolean {
  return ch !== '' && /[\p{L}\p{N}_-]/u.test(ch)
}
