// Rate limiting by log order. A writer may write at most `count` messages in any `window` ms,
// counted along its own log: record `seq` of a writer is dropped when the record `count` places
// before it in the same log is less than `window` older (by the authors' own stamps). Senders
// are held to it before appending (RATE_LIMITED); every reader applies the same rule to what it
// shows, so a modified client that floods is cut by its readers. Log order, not the reader's
// wall clock: a member who reconnects after a while does not trip it (SimpleX, member send
// limits). Room slow mode (issue 12) is a second rule on top, enforced by the room's
// governance (lib/governance/governance.ts, `refuses`), in the same log order.
import { MessageType } from '../messages.js'

export interface RateRule {
  /** Messages a writer may write in one window. */
  count: number
  /** The window, in ms. */
  window: number
}

/** About 15 messages in 10 s, as Backspace.me and SimpleX. */
export const DEFAULT_RATE: Readonly<RateRule> = Object.freeze({ count: 15, window: 10_000 })

// Stamps remembered per writer beyond the rule's count, so records loaded a little out of
// order still find the one they are judged by.
const SLACK = 64

/** The record kinds a rate limit counts: what members see, not profiles, revocations or logs. */
export function isRateLimited(type: number): boolean {
  return (
    type === MessageType.TEXT ||
    type === MessageType.ACTION ||
    type === MessageType.REPLY ||
    type === MessageType.EDIT ||
    type === MessageType.DELETE ||
    type === MessageType.REACT ||
    type === MessageType.UNREACT
  )
}

/**
 * One room's limiter: the stamps of each writer's recent records by seq. Bounded: at most
 * `count + SLACK` stamps per writer, and the room bounds its writers.
 */
export class RateLimit {
  /** Records dropped by readers because they broke the rule. */
  dropped = 0
  private rule: RateRule | null
  private readonly stamps = new Map<string, Map<number, number>>()

  /** `null`: no limit (a node made with `rateLimit: false`). */
  constructor(rule: RateRule | null = DEFAULT_RATE) {
    this.rule = rule === null ? null : checkRule(rule)
  }

  /** The rule in force, or null for none. */
  get current(): Readonly<RateRule> | null {
    return this.rule
  }

  /** The hook for slow mode: a new rule for this room, applied to records checked from now on. */
  setRule(rule: RateRule | null): void {
    this.rule = rule === null ? null : checkRule(rule)
  }

  /** True if `writer`'s record at `seq`, stamped `timestamp`, keeps to the rule. */
  allows(writer: string, seq: number, timestamp: number, type: number): boolean {
    if (this.rule === null || !isRateLimited(type)) return true
    const before = this.stamps.get(writer)?.get(seq - this.rule.count)
    return before === undefined || timestamp - before >= this.rule.window
  }

  /** Remembers a record's stamp (every kind: the rule counts places in the log). */
  note(writer: string, seq: number, timestamp: number): void {
    let m = this.stamps.get(writer)
    if (!m) this.stamps.set(writer, (m = new Map()))
    m.set(seq, timestamp)
    const keep = (this.rule?.count ?? 0) + SLACK
    if (m.size > keep) {
      const floor = Math.max(...m.keys()) - keep
      for (const s of m.keys()) if (s < floor) m.delete(s)
    }
  }

  /** A reader's check: notes the record, and counts it dropped if it breaks the rule. */
  admit(writer: string, seq: number, timestamp: number, type: number): boolean {
    const ok = this.allows(writer, seq, timestamp, type)
    this.note(writer, seq, timestamp)
    if (!ok) this.dropped++
    return ok
  }

  /** Forgets a writer (dropped or expired). */
  forget(writer: string): void {
    this.stamps.delete(writer)
  }
}

export function checkRule(rule: RateRule): RateRule {
  if (rule === null || typeof rule !== 'object') throw new RangeError('a rate rule is { count, window }')
  if (!Number.isInteger(rule.count) || rule.count < 1 || !Number.isFinite(rule.window) || rule.window < 0) {
    throw new RangeError('a rate rule is a positive count and a window of 0 ms or more')
  }
  return { count: rule.count, window: rule.window }
}
