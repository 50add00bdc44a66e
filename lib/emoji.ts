import b4a from 'b4a'
import { MAX_EMOJI_BYTES } from './messages.js'

// Made on first use: building it loads ICU data, which start-up should not pay for.
let segmenter: Intl.Segmenter | null = null
const PICTOGRAPHIC = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u

/**
 * True for exactly one emoji: one grapheme cluster that is pictographic, within the size
 * cap. Senders are held to it, and readers drop reactions that are not.
 */
export function isEmoji(text: unknown): text is string {
  if (typeof text !== 'string' || text.length === 0 || b4a.byteLength(text) > MAX_EMOJI_BYTES) return false
  let count = 0
  segmenter ??= new Intl.Segmenter('en', { granularity: 'grapheme' })
  for (const _ of segmenter.segment(text)) if (++count > 1) return false
  return PICTOGRAPHIC.test(text)
}
