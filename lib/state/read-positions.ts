import type { Message } from '../types.js'
import { MAX_RECENT, type ReadPosition, type ReadState, type UnreadCounts } from './codecs.js'

export type { ReadPosition, UnreadCounts } from './codecs.js'

const NONE: ReadState = Object.freeze({
  unread: 0,
  mentions: 0,
  position: null,
  recent: Object.freeze([])
})

// A room's state as held in memory: changed in place, since it changes with every message.
interface RoomReads {
  unread: number
  mentions: number
  position: ReadPosition | null
  /** The ids counted last, oldest first, at most MAX_RECENT: saved, for after a restart. */
  recent: string[]
  /**
   * The ids counted before this session's start. A room delivers each message once per
   * session, so only these can come again and be counted twice.
   */
  restored: Set<string> | null
}

function fromStored(state: ReadState): RoomReads {
  return {
    unread: state.unread,
    mentions: state.mentions,
    position: state.position,
    recent: [...state.recent],
    restored: state.recent.length > 0 ? new Set(state.recent) : null
  }
}

function toStored(r: RoomReads): ReadState {
  return { unread: r.unread, mentions: r.mentions, position: r.position, recent: r.recent.slice() }
}

/**
 * Orders read positions and messages by timestamp, then by id: the writer core, then the
 * sequence number as a number. Timelines order ties by author instead, which a position
 * does not record; the two differ only for messages of one millisecond from two members.
 */
export function comparePositions(a: ReadPosition, b: ReadPosition): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1
  // Same writer core (the part before the last dash): by seq, as a number. No regex: this
  // runs for every message of a burst stamped in one millisecond.
  const i = a.id.lastIndexOf('-')
  if (i > 0 && i === b.id.lastIndexOf('-') && a.id.startsWith(b.id.slice(0, i + 1))) {
    const x = Number(a.id.slice(i + 1))
    const y = Number(b.id.slice(i + 1))
    if (Number.isFinite(x) && Number.isFinite(y)) return Math.sign(x - y)
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/**
 * How far this identity has read each room, and how many messages from others arrived after
 * that. The node feeds it every message its rooms deliver; it persists as `read/<room id>`.
 */
export class ReadPositions {
  private readonly states = new Map<string, RoomReads>()
  // The newest message delivered per room this session, own ones included: "read everything"
  // covers at least these, even if they arrived while the latest page was being read.
  private readonly newest = new Map<string, { timestamp: number; id: string }>()
  private readonly onChange: (roomId: string, counts: UnreadCounts) => void
  // Rooms whose counts grew since the last notice: a burst of messages is one notice per
  // room, sent once the loop turn that delivered them is done.
  private readonly grown = new Set<string>()
  private noticeQueued = false
  // Messages delivered this loop turn, counted once it is done: the node's listener runs before
  // the app's, so counting is kept off the path of every message shown (docs/PERFORMANCE.md).
  // Every read of the counts counts them first.
  private pending: Array<{ roomId: string; m: Message }> = []

  constructor(onChange: (roomId: string, counts: UnreadCounts) => void) {
    this.onChange = onChange
  }

  /** Replaces the states with the stored ones, without change events. */
  load(stored: ReadonlyMap<string, ReadState>): void {
    this.settle()
    this.states.clear()
    for (const [id, state] of stored) this.states.set(id, fromStored(state))
  }

  get(roomId: string): UnreadCounts {
    this.settle()
    return counts(this.states.get(roomId) ?? NONE)
  }

  /** The state of every room that has one, for saving. */
  entries(): ReadonlyMap<string, ReadState> {
    this.settle()
    const out = new Map<string, ReadState>()
    for (const [id, r] of this.states) out.set(id, toStored(r))
    return out
  }

  /** A room delivered a message: one more unread if it is from someone else and not yet read. */
  message(roomId: string, m: Message): void {
    this.pending.push({ roomId, m })
    if (this.noticeQueued) return
    this.noticeQueued = true
    setImmediate(() => this.notice())
  }

  private settle(): void {
    if (this.pending.length === 0) return
    const pending = this.pending
    this.pending = []
    for (const { roomId, m } of pending) this.count(roomId, m)
  }

  private count(roomId: string, m: Message): void {
    // Called for every message: the common cases (a later timestamp) skip the id parsing.
    const newest = this.newest.get(roomId)
    if (!newest) this.newest.set(roomId, { timestamp: m.timestamp, id: m.id })
    else if (m.timestamp > newest.timestamp || (m.timestamp === newest.timestamp && comparePositions(m, newest) > 0)) {
      newest.timestamp = m.timestamp
      newest.id = m.id
    }
    if (m.self) return
    let cur = this.states.get(roomId)
    const position = cur?.position ?? null
    if (position && m.timestamp <= position.timestamp && comparePositions(m, position) <= 0) return
    if (!cur) this.states.set(roomId, (cur = fromStored(NONE)))
    // Delivered again after a restart that came before its writer's progress was saved.
    if (cur.restored !== null && cur.restored.has(m.id)) return
    if (cur.recent.length >= MAX_RECENT) cur.recent.shift()
    cur.recent.push(m.id)
    cur.unread++
    if (m.mention) cur.mentions++
    this.grown.add(roomId)
  }

  private notice(): void {
    this.noticeQueued = false
    this.settle()
    const rooms = [...this.grown]
    this.grown.clear()
    for (const roomId of rooms) {
      const state = this.states.get(roomId)
      if (state) this.onChange(roomId, counts(state))
    }
  }

  /** A message shown live was never stored: if it was counted, it no longer is. */
  withdrawn(roomId: string, m: Message): void {
    this.settle()
    const cur = this.states.get(roomId)
    if (!cur || m.self || cur.unread === 0 || (cur.position && comparePositions(m, cur.position) <= 0))
      return
    cur.unread--
    cur.mentions = Math.min(cur.unread, cur.mentions - (m.mention && cur.mentions > 0 ? 1 : 0))
    cur.recent = cur.recent.filter((id) => id !== m.id)
    this.onChange(roomId, counts(cur))
  }

  /**
   * Marks a room read up to `upTo`, or everything when it is null. `latest` is the room's
   * latest page, oldest first: it gives the newest message, and counts what stays unread
   * after `upTo` when the page reaches back to it.
   */
  markRead(roomId: string, upTo: ReadPosition | null, latest: readonly Message[]): UnreadCounts {
    this.settle()
    const cur = this.states.get(roomId) ?? NONE
    let target: ReadPosition | null = upTo
    if (upTo === null) {
      for (const m of [latest[latest.length - 1], this.newest.get(roomId)]) {
        if (m && (!target || comparePositions(m, target) > 0)) target = m
      }
    }
    const moves =
      target !== null && (cur.position === null || comparePositions(target, cur.position) > 0)
    const position = moves ? { timestamp: target!.timestamp, id: target!.id } : cur.position
    let unread = 0
    let mentions = 0
    if (upTo !== null) {
      if (!moves) return counts(cur)
      const first = latest[0]
      if (first && comparePositions(first, position!) <= 0) {
        const after = latest.filter((m) => !m.self && comparePositions(m, position!) > 0)
        unread = Math.min(cur.unread, after.length)
        mentions = Math.min(cur.mentions, after.filter((m) => m.mention).length, unread)
      } else {
        // The page does not reach back to `upTo`: what is unread after it cannot be told.
        unread = cur.unread
        mentions = cur.mentions
      }
    }
    if (unread === cur.unread && mentions === cur.mentions && position === cur.position)
      return counts(cur)
    // Ids at or before the position can no longer be counted: the position covers them.
    const recent = upTo === null ? [] : [...cur.recent]
    const next: RoomReads = { unread, mentions, position, recent, restored: upTo === null ? null : (this.states.get(roomId)?.restored ?? null) }
    this.states.set(roomId, next)
    this.onChange(roomId, counts(next))
    return counts(next)
  }

  /** The room was left: its state goes. */
  delete(roomId: string): void {
    this.settle()
    this.states.delete(roomId)
    this.newest.delete(roomId)
    this.grown.delete(roomId)
  }
}

function counts(state: { unread: number; mentions: number; position: ReadPosition | null }): UnreadCounts {
  return { unread: state.unread, mentions: state.mentions, position: state.position }
}
