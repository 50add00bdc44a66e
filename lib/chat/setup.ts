import { BackspaceError } from '../errors.js'
import { Identity } from '../identity.js'

/** How many words of a new phrase the user types back to show it was written down. */
export const CONFIRM_WORDS = 3

/**
 * The new-account step the library enforces: a fresh identity whose phrase must be shown and
 * then typed back (`CONFIRM_WORDS` words at random positions) before `identity()` hands it
 * out to create the account. A UI cannot skip the confirmation: there is no other way to the
 * identity.
 */
export class NewPhrase {
  /** The 24 words, to show once. */
  readonly words: readonly string[]
  readonly fingerprint: string
  /** 1-based positions to ask for, in order. */
  readonly positions: readonly number[]
  private readonly identity_: Identity
  // How many of `positions` were typed back right so far.
  private done_ = 0

  constructor(identity: Identity = Identity.generate(), positions: readonly number[] = pickPositions(CONFIRM_WORDS, 24)) {
    this.identity_ = identity
    this.words = Object.freeze(identity.phrase.split(' '))
    this.fingerprint = identity.fingerprint
    if (positions.length === 0 || positions.some((p) => !Number.isInteger(p) || p < 1 || p > this.words.length)) {
      throw BackspaceError.INVALID_ARGUMENT('positions must be word numbers of the phrase')
    }
    this.positions = Object.freeze([...positions])
  }

  /** How many words were confirmed so far. */
  get done(): number {
    return this.done_
  }

  /** The word number to ask for next, or null once all are confirmed. */
  get next(): number | null {
    return this.positions[this.done_] ?? null
  }

  get confirmed(): boolean {
    return this.done_ >= this.positions.length
  }

  /** Checks the word typed for `next` (case and outer spaces ignored); true moves on. */
  confirm(word: string): boolean {
    const at = this.next
    if (at === null) return true
    if (typeof word !== 'string' || word.trim().toLowerCase() !== this.words[at - 1]) return false
    this.done_++
    return true
  }

  /** Shows the phrase again: the words typed back so far no longer count. */
  restart(): void {
    this.done_ = 0
  }

  /** The identity to create the account from. PHRASE_NOT_CONFIRMED until every word was typed back. */
  identity(): Identity {
    if (!this.confirmed) throw BackspaceError.PHRASE_NOT_CONFIRMED()
    return this.identity_
  }
}

/** `count` distinct positions from 1 to `of`, in ascending order. */
function pickPositions(count: number, of: number): number[] {
  const picked = new Set<number>()
  while (picked.size < count) picked.add(1 + Math.floor(Math.random() * of))
  return [...picked].sort((a, b) => a - b)
}
