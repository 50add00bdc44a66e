import {
  describeMessageError,
  looksLikeMessageRef,
  parseMessageRef,
  reactionEmoji
} from '../message-refs.js'
import type { ArgValues, Command, CommandSpec } from './types.js'

export function usage(text: string): Command {
  return { type: 'usage', text }
}

export function usageText(spec: Pick<CommandSpec, 'usage'>): string {
  return `Usage: ${spec.usage}`
}

// One word at the cursor: a quoted run keeps its spaces.
const WORD = /\s*(?:"([^"]*)"|(\S+))/y

/**
 * Reads `rest` (what follows the command word) by `spec.args`. Returns the values by name,
 * or a usage error as text.
 */
export function parseArgs(spec: CommandSpec, rest: string): ArgValues | string {
  const values: ArgValues = {}
  let at = 0
  const remaining = () => rest.slice(at).trim()
  for (const arg of spec.args) {
    switch (arg.kind) {
      case 'ref': {
        const first = /^\s*(\S+)/.exec(rest.slice(at))
        values[arg.name] = null
        if (first && looksLikeMessageRef(first[1]!)) {
          try {
            values[arg.name] = parseMessageRef(first[1]!)
          } catch (err) {
            return describeMessageError(err, 'reply')
          }
          at += first[0].length
        }
        break
      }
      case 'word': {
        WORD.lastIndex = at
        const m = WORD.exec(rest)
        if (!m) {
          if (arg.optional) break
          return usageText(spec)
        }
        values[arg.name] = m[1] ?? m[2] ?? ''
        at = WORD.lastIndex
        break
      }
      case 'words': {
        const words: string[] = []
        WORD.lastIndex = at
        for (let m = WORD.exec(rest); m; m = WORD.exec(rest)) words.push(m[1] ?? m[2] ?? '')
        at = rest.length
        if (words.length === 0 && !arg.optional) return usageText(spec)
        if (words.length > 0) values[arg.name] = words.join(' ')
        break
      }
      case 'text': {
        const text = remaining()
        at = rest.length
        if (text === '') {
          if (!arg.optional) return usageText(spec)
          if (arg.default !== undefined) values[arg.name] = arg.default
        } else values[arg.name] = text
        break
      }
      case 'emoji': {
        const text = remaining()
        at = rest.length
        if (text === '' || /\s/.test(text)) return usageText(spec)
        values[arg.name] = reactionEmoji(text)
        break
      }
    }
  }
  if (remaining() !== '') return spec.args.length === 0 ? `/${spec.name} takes no arguments` : usageText(spec)
  return values
}

/**
 * The command a typo away from `word` among `words`, or null. Only close matches: one edit for
 * words under six letters, two from six on (a transposition counts one), and a short word must
 * keep its first letter. Short command words a letter apart are other words, not typos: /kick
 * is not /nick and /ban is not /back, and suggesting them would offer a command that does
 * something else.
 */
export function closestWord(word: string, words: Iterable<string>): string | null {
  const w = word.toLowerCase()
  const short = w.length < 6
  const most = short ? 1 : 2
  let best: string | null = null
  let bestDistance = most + 1
  for (const candidate of words) {
    if (candidate.length < 2 || candidate === w) continue
    if (short && candidate[0] !== w[0]) continue
    const d = editDistance(w, candidate)
    if (d < bestDistance) {
      best = `/${candidate}`
      bestDistance = d
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  const d: number[][] = []
  for (let i = 0; i <= a.length; i++) d.push([i, ...new Array<number>(b.length).fill(0)])
  for (let j = 0; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[a.length]![b.length]!
}
