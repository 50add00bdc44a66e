// The apply stage: the one place where verified records become room state. Messages,
// edits, deletes, reactions and replies go in, in whatever order they arrive; the
// projections (the timeline of Message views) come out the same on every peer, because
// every decision is made by the room's deterministic order, never by arrival order.
import b4a from 'b4a'
import { MessageType } from '../messages.js'
import { compareMessages, Timeline } from '../timeline.js'
import { isMention, type MentionTarget } from '../mentions.js'
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

/**
 * What a message holds beyond its view, made only once an op or a reply touches it: most
 * messages never get one, and then the view alone is the message's state (one object per
 * message, which the garbage collector scans far less often than three).
 */
interface Extra {
  /** The text as written (the view shows the latest edit). */
  text: string
  /** The latest valid edit, by room order. */
  edit: Op | null
  deleted: boolean
  /** Per author and emoji, the latest react or unreact by room order. */
  reactions: Map<string, Op> | null
  /** Ids of loaded replies to this message, whose previews follow its changes. */
  replies: Set<string> | null
}

export class ApplyStage {
  /** The views, in room order: the projection pages and `get` read. */
  readonly timeline = new Timeline()
  /** Records refused: edits and deletes of another author's message. */
  forbidden = 0
  private readonly extras = new Map<string, Extra>()
  // Ops whose target is not loaded (yet): applied when it is. Insertion-ordered for eviction.
  private readonly pending = new Map<string, Op[]>()
  private pendingCount = 0
  // Replies whose target is not loaded yet, by target id.
  private readonly orphanReplies = new Map<string, Set<string>>()
  private readonly myName: () => string
  // This node's identity: its reactions are `self`.
  private readonly me: Buffer

  // The room's members, to tell whether `@name` without a tag is ambiguous.
  private readonly others: (() => Iterable<MentionTarget>) | undefined

  constructor(me: Buffer, myName: () => string, others?: () => Iterable<MentionTarget>) {
    this.me = me
    this.myName = myName
    this.others = others
  }

  get size(): number {
    return this.timeline.size
  }

  has(id: string): boolean {
    return this.timeline.has(id)
  }

  get(id: string): Message | undefined {
    return this.timeline.get(id)
  }

  /** Whether the message is loaded and deleted. */
  isDeleted(id: string): boolean {
    return this.extras.get(id)?.deleted ?? false
  }

  /**
   * Adds a message. Returns its view, or null if it was already loaded. Ops that arrived
   * before it apply now; `updated` gets the replies whose preview it completes.
   */
  addMessage(input: MessageInput, updated: Message[] = []): Message | null {
    if (this.timeline.has(input.id)) return null
    const id = input.id
    const ops = this.pending.size > 0 ? this.pending.get(id) : undefined
    const replies = this.orphanReplies.size > 0 ? this.orphanReplies.get(id) : undefined
    let extra: Extra | null = null
    if (ops || replies) {
      extra = { text: input.text, edit: null, deleted: false, reactions: null, replies: replies ?? null }
      this.extras.set(id, extra)
      if (replies) this.orphanReplies.delete(id)
      if (ops) {
        this.pending.delete(id)
        this.pendingCount -= ops.length
        for (const op of ops) this.fold(extra, input.author, op)
      }
    }
    if (input.replyTo !== null) {
      const target = this.extraOf(input.replyTo)
      if (target) (target.replies ??= new Set()).add(id)
      else this.orphan(input.replyTo, id)
    }
    const view = this.project(input, input.text, extra, input.replyTo)
    this.timeline.insert(view)
    if (extra?.replies) for (const reply of extra.replies) this.refresh(reply, updated)
    return view
  }

  /** Applies an op. Its target's new view, and its replies', are in `updated`. */
  addOp(input: OpInput): OpResult {
    const op: Op = { ...input, authorHex: input.author.toString('hex') }
    const view = this.timeline.get(op.target)
    if (!view) {
      this.hold(op)
      return { updated: [], forbidden: false }
    }
    const before = this.forbidden
    if (!this.fold(this.extraOf(op.target)!, view.author, op)) return { updated: [], forbidden: this.forbidden > before }
    const updated: Message[] = []
    this.refresh(op.target, updated)
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
      this.extras.delete(m.id)
      if (m.replyTo) this.extras.get(m.replyTo.id)?.replies?.delete(m.id)
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
    for (const m of this.timeline.page(this.timeline.size, null, () => true)) this.refresh(m.id, updated)
    return updated
  }

  // ---------------------------------------------------------------------------

  // The extra state of a loaded message, made on first use; undefined if it is not loaded.
  private extraOf(id: string): Extra | undefined {
    let extra = this.extras.get(id)
    if (extra) return extra
    const view = this.timeline.get(id)
    if (!view) return undefined
    extra = { text: view.text, edit: null, deleted: false, reactions: null, replies: null }
    this.extras.set(id, extra)
    return extra
  }

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

  // Folds one op into a message by `author`. False when it changes nothing (or is refused).
  private fold(extra: Extra, author: Buffer, op: Op): boolean {
    if ((op.kind === 'edit' || op.kind === 'delete') && !b4a.equals(op.author, author)) {
      this.forbidden++
      return false
    }
    switch (op.kind) {
      case 'delete':
        if (extra.deleted) return false
        extra.deleted = true
        extra.edit = null
        extra.reactions = null
        // Deleted text leaves memory: only the tombstone stays.
        extra.text = ''
        return true
      case 'edit':
        if (extra.deleted) return false
        if (extra.edit && compareOps(extra.edit, op) >= 0) return false
        extra.edit = op
        return true
      case 'react':
      case 'unreact': {
        if (extra.deleted) return false
        const key = `${op.authorHex}:${op.text}`
        const reactions = (extra.reactions ??= new Map())
        const current = reactions.get(key)
        if (current && compareOps(current, op) >= 0) return false
        if (!current && reactions.size >= MAX_OPS_PER_MESSAGE) return false
        reactions.set(key, op)
        return true
      }
    }
  }

  // Replaces the view of message `id` in the timeline and adds it to `updated`.
  private refresh(id: string, updated: Message[]): void {
    const old = this.timeline.get(id)
    if (!old) return
    const extra = this.extras.get(id) ?? null
    const view = this.project(old, extra ? extra.text : old.text, extra, old.replyTo?.id ?? null)
    if (!this.timeline.replace(view)) return
    updated.push(view)
    // A reply shows its target: a change of the target is a change of each reply.
    if (!extra?.replies) return
    for (const reply of extra.replies) {
      const r = this.timeline.get(reply)
      if (!r) continue
      const rv = this.project(r, this.extras.get(reply)?.text ?? r.text, this.extras.get(reply) ?? null, r.replyTo?.id ?? null)
      if (this.timeline.replace(rv)) updated.push(rv)
    }
  }

  // A message's view: its fixed fields from `base` (the input, or the previous view), its
  // original text, and what ops did to it.
  private project(base: Omit<MessageInput, 'text' | 'replyTo'>, original: string, extra: Extra | null, replyTo: string | null): Message {
    const deleted = extra !== null && extra.deleted
    const text = deleted ? '' : (extra?.edit?.text ?? original)
    return {
      id: base.id,
      author: base.author,
      device: base.device,
      text,
      timestamp: base.timestamp,
      seq: base.seq,
      kind: base.kind,
      name: base.name,
      fingerprint: base.fingerprint,
      self: base.self,
      mention: !base.self && !deleted && isMention(text, this.myName(), this.me, this.others),
      edited: extra !== null && extra.edit !== null,
      deleted,
      replyTo: replyTo === null ? null : this.preview(replyTo),
      reactions: extra === null || deleted || extra.reactions === null || extra.reactions.size === 0 ? NO_REACTIONS : reactionsOf(extra.reactions, this.me)
    }
  }

  private preview(id: string): ReplyPreview {
    const target = this.timeline.get(id)
    if (!target) return { id, loaded: false, author: null, name: '', fingerprint: '', text: '', deleted: false }
    const extra = this.extras.get(id)
    return {
      id,
      loaded: true,
      author: target.author,
      name: target.name,
      fingerprint: target.fingerprint,
      text: target.text,
      deleted: extra?.deleted ?? false
    }
  }
}

// Most messages have none: one shared, frozen empty list instead of one per view.
const NO_REACTIONS: readonly Reaction[] = Object.freeze([])

function reactionsOf(reactions: Map<string, Op>, me: Buffer): Reaction[] {
  const present = [...reactions.values()].filter((op) => op.kind === 'react').sort(compareOps)
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

/** The record kinds that become a message, and its kind. */
export function messageKindOf(type: number): MessageKind | null {
  switch (type) {
    case MessageType.TEXT:
    case MessageType.REPLY:
      return 'text'
    case MessageType.ACTION:
      return 'action'
    default:
      return null
  }
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
