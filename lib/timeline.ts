import b4a from 'b4a'
import type { Message } from './types.js'

/**
 * The total order every peer agrees on: timestamp, then author, then sequence, then id
 * (which only breaks ties between two cores signed by one hostile identity).
 */
export function compareMessages(a: Message, b: Message): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1
  const byAuthor = b4a.compare(a.author, b.author)
  if (byAuthor !== 0) return byAuthor
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** The loaded messages of one room, kept sorted. New messages nearly always go at the end. */
export class Timeline {
  private readonly list: Message[] = []
  private readonly byId = new Map<string, Message>()

  get size(): number {
    return this.list.length
  }

  has(id: string): boolean {
    return this.byId.has(id)
  }

  get(id: string): Message | undefined {
    return this.byId.get(id)
  }

  /** Adds a message. Returns false when it was already there. */
  insert(message: Message): boolean {
    if (this.byId.has(message.id)) return false
    this.byId.set(message.id, message)
    const list = this.list
    let i = list.length
    // Fast path: appending in order.
    if (i === 0 || compareMessages(list[i - 1]!, message) < 0) {
      list.push(message)
      return true
    }
    let lo = 0
    let hi = i
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareMessages(list[mid]!, message) < 0) lo = mid + 1
      else hi = mid
    }
    list.splice(lo, 0, message)
    return true
  }

  /** Puts a new state of a loaded message in its place. False if it is not loaded. */
  replace(message: Message): boolean {
    if (!this.byId.has(message.id)) return false
    const i = this.endBefore(message)
    if (this.list[i]?.id !== message.id) return false
    this.list[i] = message
    this.byId.set(message.id, message)
    return true
  }

  /** Removes every message for which `drop` is true. */
  removeWhere(drop: (m: Message) => boolean): number {
    let kept = 0
    const list = this.list
    for (let i = 0; i < list.length; i++) {
      const m = list[i]!
      if (drop(m)) this.byId.delete(m.id)
      else list[kept++] = m
    }
    const removed = list.length - kept
    list.length = kept
    return removed
  }

  /** The last `limit` messages strictly before `before` (or the latest) that pass `keep`. */
  page(limit: number, before: Message | null, keep: (m: Message) => boolean): Message[] {
    const list = this.list
    const out: Message[] = []
    for (let i = this.endBefore(before) - 1; i >= 0 && out.length < limit; i--) {
      const m = list[i]!
      if (keep(m)) out.push(m)
    }
    return out.reverse()
  }

  /**
   * How many messages strictly before `before` satisfy `match`, counting back from `before`
   * and stopping at `cap`: paging only needs to know whether a page is full.
   */
  countBefore(before: Message | null, match: (m: Message) => boolean, cap: number): number {
    const list = this.list
    let n = 0
    for (let i = this.endBefore(before) - 1; i >= 0 && n < cap; i--) {
      if (match(list[i]!)) n++
    }
    return n
  }

  // The index of the first message not before `before`; the length when there is none.
  private endBefore(before: Message | null): number {
    const list = this.list
    if (!before) return list.length
    let lo = 0
    let hi = list.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareMessages(list[mid]!, before) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
