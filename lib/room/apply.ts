// The apply stage: the one place where verified records become room state. Messages,
// edits, deletes, reactions and replies go in, in whatever order they arrive; the
// projections (the timeline of Message views) come out the same on every peer, because
// every decision is made by the room's deterministic order, never by arrival order.
import b4a from 'b4a'
import { MessageType } from '../messages.js'
import { compareMessages, Timeline } from '../timeline.js'
import { isMention } from '../mentions.js'
import type { Message, MessageKind, Reaction, ReplyPreview } from '../types.js'

/** Operations on one message at most: beyond it, new (author, emoji) pairs are ignored. */
export const MAX_OPS_PER_MESSAGE = 1024
/** Operations held for messages not loaded yet, per room; the oldest go first. */
export const MAX_PENDING_OPS = 8192

/** A verified message record, ready to show. */
export interface MessageInput {
  id: string
  author: Buffer
  device: Buffer
  text: string
  timestamp: number
  seq: number
  kind: MessageKind
  name: string
  fingerprint: string
  self: boolean
  /** The message this one answers. */
  replyTo: string | null
}

export type OpKind = 'edit' | 'delete' | 'react' | 'unreact'

/** A verified record that changes another message. */
export interface OpInput {
  /** The op record's own id (its writer core and seq), for the tie-break. */
  id: string
  kind: OpKind
  target: string
  author: Buffer
  timestamp: number
  seq: number
  /** The new text of an edit, or the emoji of a reaction. */
  text: string
}

/** What an op did: changed messages to show, or why it was refused. */
export interface OpResult {
  updated: Message[]
  /** An edit or delete by someone other than the target's author. */
  forbidden: boolean
}

interface Op extends OpInput {
  authorHex: string
}

interface Entry {
  input: MessageInput
  view: Message
  /** The latest valid edit, by room order. */
  edit: Op | null
  deleted: boolean
  /** Per author and emoji, the latest react or unreact by room order. */
  reactions: Map<string, Op>
  /** Ids of loaded replies to this message, whose previews follow its changes. */
  replies: Set<string>
}

export class ApplyStage {
  readonly timeline = new Timeline()
  /** Records refused: edits and deletes of another author's message. */
  forbidden = 0
  private readonly entries = new Map<string, Entry>()
  // Ops whose target is not loaded (yet): applied when it is. Insertion-ordered for eviction.
  private readonly pending = new Map<string, Op[]>()
  private pendingCount = 0
  // Replies whose target is not loaded yet, by target id.
  private readonly orphanReplies = new Map<string, Set<string>>()
  private readonly myName: () => string
  // This node's identity: its reactions are `self`.
  private readonly me: Buffer

  constructor(me: Buffer, myName: () => string) {
    this.me = me
    this.myName = myName
  }

  get size(): number {
    return this.timeline.size
  }

  has(id: string): boolean {
    return this.entries.has(id)
  }

  get(id: string): Message | undefined {
    return this.entries.get(id)?.view
  }

  /** Whether the message is loaded and deleted. */
  isDeleted(id: string): boolean {
    return this.entries.get(id)?.deleted ?? false
  }

  /**
   * Adds a message. Returns its view, or null if it was already loaded. Ops that arrived
   * before it apply now; `updated` gets the replies whose preview it completes.
   */
  addMessage(input: MessageInput, updated: Message[] = []): Message | null {
    if (this.entries.has(input.id)) return null
    const entry: Entry = {
      input,
      view: null as unknown as Message,
      edit: null,
      deleted: false,
      reactions: new Map(),
      replies: this.orphanReplies.get(input.id) ?? new Set()
    }
    this.orphanReplies.delete(input.id)
    this.entries.set(input.id, entry)
    const ops = this.pending.get(input.id)
    if (ops) {
      this.pending.delete(input.id)
      this.pendingCount -= ops.length
      for (const op of ops) this.fold(entry, op)
    }
    if (input.replyTo !== null) {
      const target = this.entries.get(input.replyTo)
      if (target) target.replies.add(input.id)
      else this.orphan(input.replyTo, input.id)
    }
    entry.view = this.project(entry)
    this.timeline.insert(entry.view)
    for (const id of entry.replies) this.refresh(id, updated)
    return entry.view
  }

  /** Applies an op. Its target's new view, and its replies', are in `updated`. */
  addOp(input: OpInput): OpResult {
    const op: Op = { ...input, authorHex: input.author.toString('hex') }
    const entry = this.entries.get(op.target)
    if (!entry) {
      this.hold(op)
      return { updated: [], forbidden: false }
    }
    const before = this.forbidden
    if (!this.fold(entry, op)) return { updated: [], forbidden: this.forbidden > before }
    const updated: Message[] = []
    this.refresh(entry.input.id, updated)
    return { updated, forbidden: false }
  }

  /** Removes the messages `drop` selects, with everything held for them. Returns them. */
  removeWhere(drop: (m: Message) => boolean): Message[] {
    const removed: Message[] = []
    this.timeline.removeWhere((m) => {
      if (!drop(m)) return false
      removed.push(m)
      return true
    })
    for (const m of removed) {
      const entry = this.entries.get(m.id)
      this.entries.delete(m.id)
      if (entry?.input.replyTo) {
        const target = this.entries.get(entry.input.replyTo)
        target?.replies.delete(m.id)
      }
    }
    return removed
  }

  /** Drops held ops and orphan links older than `floor` (they expired with their targets). */
  expireHeld(floor: number): void {
    for (const [target, ops] of this.pending) {
      const kept = ops.filter((op) => op.timestamp >= floor)
      this.pendingCount -= ops.length - kept.length
      if (kept.length === 0) this.pending.delete(target)
      else this.pending.set(target, kept)
    }
  }

  /** Recomputes every view, for a change that touches them all (this node's name). */
  refreshAll(): Message[] {
    const updated: Message[] = []
    for (const id of this.entries.keys()) this.refresh(id, updated)
    return updated
  }

  // ---------------------------------------------------------------------------

  private orphan(target: string, reply: string): void {
    let set = this.orphanReplies.get(target)
    if (!set) {
      if (this.orphanReplies.size >= MAX_PENDING_OPS) {
        this.orphanReplies.delete(this.orphanReplies.keys().next().value!)
      }
      this.orphanReplies.set(target, (set = new Set()))
    }
    set.add(reply)
  }

  private hold(op: Op): void {
    let ops = this.pending.get(op.target)
    if (!ops) this.pending.set(op.target, (ops = []))
    if (ops.length >= MAX_OPS_PER_MESSAGE) return
    ops.push(op)
    this.pendingCount++
    while (this.pendingCount > MAX_PENDING_OPS) {
      const [oldest, list] = this.pending.entries().next().value as [string, Op[]]
      this.pendingCount -= list.length
      this.pending.delete(oldest)
    }
  }

  private isForbidden(entry: Entry, op: Op): boolean {
    if ((op.kind === 'edit' || op.kind === 'delete') && !b4a.equals(op.author, entry.input.author)) {
      this.forbidden++
      return true
    }
    return false
  }

  // Folds one op into an entry. False when it changes nothing (or is refused).
  private fold(entry: Entry, op: Op): boolean {
    if (this.isForbidden(entry, op)) return false
    switch (op.kind) {
      case 'delete':
        if (entry.deleted) return false
        entry.deleted = true
        entry.edit = null
        entry.reactions.clear()
        return true
      case 'edit':
        if (entry.deleted) return false
        if (entry.edit && compareOps(entry.edit, op) >= 0) return false
        entry.edit = op
        return true
      case 'react':
      case 'unreact': {
        if (entry.deleted) return false
        const key = `${op.authorHex}:${op.text}`
        const current = entry.reactions.get(key)
        if (current && compareOps(current, op) >= 0) return false
        if (!current && entry.reactions.size >= MAX_OPS_PER_MESSAGE) return false
        entry.reactions.set(key, op)
        return true
      }
    }
  }

  // Replaces the view of message `id` in the timeline and adds it to `updated`.
  private refresh(id: string, updated: Message[]): void {
    const entry = this.entries.get(id)
    if (!entry) return
    const view = this.project(entry)
    if (!this.timeline.replace(view)) return
    entry.view = view
    updated.push(view)
    // A reply shows its target: a change of the target is a change of each reply.
    for (const reply of entry.replies) {
      const r = this.entries.get(reply)
      if (!r) continue
      const rv = this.project(r)
      if (this.timeline.replace(rv)) {
        r.view = rv
        updated.push(rv)
      }
    }
  }

  private project(entry: Entry): Message {
    const input = entry.input
    const text = entry.deleted ? '' : (entry.edit?.text ?? input.text)
    if (entry.deleted) {
      // Deleted text leaves memory: only the tombstone stays.
      input.text = ''
    }
    return {
      id: input.id,
      author: input.author,
      device: input.device,
      text,
      timestamp: input.timestamp,
      seq: input.seq,
      kind: input.kind,
      name: input.name,
      fingerprint: input.fingerprint,
      self: input.self,
      mention: !input.self && !entry.deleted && isMention(text, this.myName()),
      edited: entry.edit !== null,
      deleted: entry.deleted,
      replyTo: input.replyTo === null ? null : this.preview(input.replyTo),
      reactions: entry.deleted ? [] : reactionsOf(entry, this.me)
    }
  }

  private preview(id: string): ReplyPreview {
    const target = this.entries.get(id)
    if (!target) return { id, loaded: false, author: null, name: '', fingerprint: '', text: '', deleted: false }
    return {
      id,
      loaded: true,
      author: target.input.author,
      name: target.input.name,
      fingerprint: target.input.fingerprint,
      text: target.deleted ? '' : (target.edit?.text ?? target.input.text),
      deleted: target.deleted
    }
  }
}

function reactionsOf(entry: Entry, me: Buffer): Reaction[] {
  const present = [...entry.reactions.values()].filter((op) => op.kind === 'react').sort(compareOps)
  const byEmoji = new Map<string, Op[]>()
  for (const op of present) {
    let list = byEmoji.get(op.text)
    if (!list) byEmoji.set(op.text, (list = []))
    list.push(op)
  }
  return [...byEmoji].map(([emoji, ops]) => ({
    emoji,
    count: ops.length,
    self: ops.some((op) => b4a.equals(op.author, me)),
    authors: ops.map((op) => op.author)
  }))
}

/** The room order for ops: timestamp, then author, then seq, then id. */
function compareOps(a: OpInput, b: OpInput): number {
  return compareMessages(a as unknown as Message, b as unknown as Message)
}

/** The record kinds that change another message, and the op they make. */
export function opKindOf(type: number): OpKind | null {
  switch (type) {
    case MessageType.EDIT:
      return 'edit'
    case MessageType.DELETE:
      return 'delete'
    case MessageType.REACT:
      return 'react'
    case MessageType.UNREACT:
      return 'unreact'
    default:
      return null
  }
}
