// Display names are not unique and come from anyone: before one reaches a screen it is made
// to read as a name and nothing else. Decoders already refuse profiles with controls or a
// fingerprint in ASCII hex (profileTextProblem in messages.ts); this is the display rule on top,
// applied where a profile becomes a member or a message's author, and to this node's own name.
import { profileTextProblem } from './messages.js'

/** The most characters (code points) of a display name any screen shows. */
export const MAX_DISPLAY_NAME_CHARS = 32

// Anything that draws nothing or moves what follows: controls, format characters (bidi
// overrides and isolates, zero widths, tags), private use, surrogates, unassigned, line and
// paragraph separators, and the blank letters that render as space (Hangul fillers, braille
// blank).
const HIDDEN = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Cn}\p{Zl}\p{Zp}\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5]/gu
// Sixteen hex digits in fours, the shape of a key fingerprint, with any dash, dot or space
// between; matched after NFKC, so full-width and other compatibility digits count as well.
const FINGERPRINT_RUN = /[0-9a-f]{4}(?:[\s\p{Pd}.·:_]*[0-9a-f]{4}){2,}/giu
// Four hex digits after `#` look like a mention tag (`@alice#34ab`): a name must not carry one.
const TAG_LIKE = /#[0-9a-f]{4,}/giu
// The fast path: printable ASCII, short, nothing that could look like hex runs or tags.
const PLAIN = /^[\x20-\x7e]{0,32}$/

/**
 * The name as screens show it: hidden characters removed, runs of space made one, anything
 * shaped like a key fingerprint or a mention tag removed, no leading `@`, and at most
 * `MAX_DISPLAY_NAME_CHARS` characters (cut with `…`). '' when nothing is left.
 */
export function displayName(raw: string): string {
  if (typeof raw !== 'string' || raw === '') return ''
  if (PLAIN.test(raw) && !/[0-9a-f]{4}/i.test(raw) && !/^\s|\s$|\s\s|^@/.test(raw)) return raw
  let name = raw.normalize('NFC').replace(HIDDEN, '').replace(/\s+/gu, ' ')
  const folded = name.normalize('NFKC')
  // Compatibility forms (full-width digits) fold to ASCII; where the folded name shows a
  // fingerprint, the folded form is kept so the run can be removed where it stands.
  if (hasFingerprint(folded) || TAG_LIKE.test(folded)) name = folded
  TAG_LIKE.lastIndex = 0
  name = name.replace(FINGERPRINT_RUN, ' ').replace(TAG_LIKE, ' ').replace(/\s+/gu, ' ').trim()
  name = name.replace(/^@+/u, '').trim()
  const chars = [...name]
  if (chars.length > MAX_DISPLAY_NAME_CHARS) name = chars.slice(0, MAX_DISPLAY_NAME_CHARS - 1).join('').trimEnd() + '…'
  return name
}

function hasFingerprint(text: string): boolean {
  FINGERPRINT_RUN.lastIndex = 0
  const found = FINGERPRINT_RUN.test(text)
  FINGERPRINT_RUN.lastIndex = 0
  return found
}

/**
 * Why this node may not take `name` as its display name, or null. The rule is the decoders'
 * (profileTextProblem) and the display rule: a name is taken only if screens would show it
 * exactly as typed.
 */
export function nameProblem(name: string): string | null {
  const wire = profileTextProblem('name', name)
  if (wire) return wire
  if (name === '') return null
  if ([...name].length > MAX_DISPLAY_NAME_CHARS) {
    return `a name has at most ${MAX_DISPLAY_NAME_CHARS} characters`
  }
  const shown = displayName(name)
  if (shown === name) return null
  if (hasFingerprint(name.normalize('NFKC'))) return 'a name cannot look like a key fingerprint'
  if (/#[0-9a-f]{4,}/iu.test(name.normalize('NFKC'))) return 'a name cannot end in a # tag, which mentions use'
  if (name.startsWith('@')) return 'a name cannot start with @'
  if (/\s\s/u.test(name)) return 'a name cannot hold runs of spaces'
  return 'a name cannot hold invisible, direction-changing or control characters'
}

