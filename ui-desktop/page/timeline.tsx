/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/** @jsxImportSource preact */
// The message list of the room shown. Every line is keyed by its id and skips redrawing unless
// its own message (or its own place in the list) changed: a new message adds one line, an edit
// or a reaction redraws one line.
import { Component, type JSX } from 'preact'
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import type { MessageView, ReplyView } from '../protocol.js'
import { useStore } from './context.js'
import type { NoticeLine, PageStore } from './store.js'
import { clock, dayLabel, linkify, sameDay } from './text.js'

// Messages from one author this close together are one group: the name shows once.
const GROUP_MS = 5 * 60 * 1000
const ROLE_TITLES: Record<string, string> = { '~': 'owner', '&': 'admin', '@': 'op' }

type Row =
  | { kind: 'message'; key: string; m: MessageView; grouped: boolean }
  | { kind: 'notice'; key: string; notice: NoticeLine }
  | { kind: 'day'; key: string; label: string }
  | { kind: 'divider'; key: string }

export function Timeline(): JSX.Element {
  const [s, store] = useStore()
  const list = useRef<HTMLDivElement>(null)
  const [atBottom, setAtBottom] = useState(true)
  const snapshot = useRef({ first: '', height: 0, top: 0, bottom: true })
  const room = s.current ?? ''
  const hidden = s.hidden[room]
  const messages = hidden ? s.messages.filter((m) => !hidden.has(m.id)) : s.messages
  const notices = s.notices[room] ?? []

  // Before the DOM changes: where the list was, to keep its place after.
  const el = list.current
  if (el) {
    snapshot.current = {
      first: snapshot.current.first,
      height: el.scrollHeight,
      top: el.scrollTop,
      bottom: el.scrollHeight - el.scrollTop - el.clientHeight < 40
    }
  }

  useLayoutEffect(() => {
    const el = list.current
    if (!el) return
    const before = snapshot.current
    const first = messages[0]?.id ?? ''
    if (before.bottom) el.scrollTop = el.scrollHeight
    else if (before.first && first !== before.first) {
      // Older messages came in above: the ones read stay where they were.
      el.scrollTop = el.scrollHeight - (before.height - before.top)
    }
    snapshot.current.first = first
    // Until the list overflows there is nothing to scroll: load older history now.
    if (s.more && el.scrollHeight <= el.clientHeight) void store.loadOlder()
  })

  // A new room starts at its newest message.
  useEffect(() => {
    snapshot.current.bottom = true
    setAtBottom(true)
  }, [s.current])

  const rows: Row[] = []
  let n = 0
  let previous: MessageView | null = null
  for (const m of messages) {
    while (n < notices.length && notices[n]!.time < m.timestamp) {
      const notice = notices[n++]!
      rows.push({ kind: 'notice', key: `n${notice.key}`, notice })
      previous = null
    }
    if (!previous || !sameDay(previous.timestamp, m.timestamp)) {
      rows.push({ kind: 'day', key: `d${new Date(m.timestamp).toDateString()}`, label: dayLabel(m.timestamp) })
      previous = null
    }
    if (m.id === s.divider) {
      rows.push({ kind: 'divider', key: 'divider' })
      previous = null
    }
    const grouped =
      previous !== null &&
      previous.author === m.author &&
      previous.name === m.name &&
      !previous.deleted &&
      !m.deleted &&
      m.kind === 'text' &&
      previous.kind === 'text' &&
      m.replyTo === null &&
      m.timestamp - previous.timestamp < GROUP_MS
    rows.push({ kind: 'message', key: m.id, m, grouped })
    previous = m
  }
  while (n < notices.length) {
    const notice = notices[n++]!
    rows.push({ kind: 'notice', key: `n${notice.key}`, notice })
  }

  const onScroll = () => {
    const el = list.current!
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40
    if (bottom !== atBottom) setAtBottom(bottom)
    if (el.scrollTop < 60) void store.loadOlder()
  }

  return (
    <div class="timeline">
      <div
        id="messages"
        class="messages"
        role="log"
        aria-label="Messages"
        tabIndex={0}
        ref={list}
        onScroll={onScroll}
        onKeyDown={(e) => onListKey(e, store)}
      >
        <div class="column">
          {!s.current && notices.length === 0 && (
            <p class="placeholder muted">
              Join a room (or /join name), or create a private one and share its invite.
            </p>
          )}
          {s.current && s.more && !hidden && (
            <button type="button" class="older" onClick={() => store.loadOlder()}>
              Load older messages
            </button>
          )}
          {rows.map((row) => {
            switch (row.kind) {
              case 'message':
                return (
                  <MessageLine
                    key={row.key}
                    m={row.m}
                    grouped={row.grouped}
                    answering={s.replyTo?.id === row.m.id}
                    editing={s.editing === row.m.id && !row.m.deleted}
                    picker={s.picker === row.m.id ? s.quickReactions : null}
                    mark={store.mark(row.m.author)}
                    store={store}
                  />
                )
              case 'notice':
                return <Notice key={row.key} notice={row.notice} />
              case 'day':
                return (
                  <div key={row.key} class="day" role="separator">
                    {row.label}
                  </div>
                )
              case 'divider':
                return (
                  <div key={row.key} id="unread-divider" class="unread-divider" role="separator">
                    <span>New messages</span>
                  </div>
                )
            }
          })}
        </div>
      </div>
      {!atBottom && (
        <button
          id="jump-latest"
          type="button"
          class="jump"
          onClick={() => {
            const el = list.current!
            el.scrollTop = el.scrollHeight
            setAtBottom(true)
          }}
        >
          Jump to latest ↓
        </button>
      )}
    </div>
  )
}

/** The list from the keyboard: Up and Down move between messages; on one, R replies, E edits,
 * + reacts and Delete deletes. */
function onListKey(event: KeyboardEvent, store: PageStore): void {
  const target = event.target as HTMLElement
  if (target.closest('.editor')) return
  const line = target.closest<HTMLElement>('.msg')
  const root = event.currentTarget as HTMLElement
  const lines = [...root.querySelectorAll<HTMLElement>('.msg')]
  if (event.key === 'ArrowUp' || event.key === 'ArrowDown') {
    if (event.altKey || event.ctrlKey || event.metaKey) return
    const at = line ? lines.indexOf(line) : lines.length
    const next = lines[at + (event.key === 'ArrowUp' ? -1 : 1)]
    if (!next) return
    event.preventDefault()
    next.focus()
    return
  }
  if (!line || target !== line) return
  const m = store.findMessage(line.dataset['id'] ?? '')
  if (!m || m.deleted) return
  if (event.key === 'r') startReply(store, m)
  else if (event.key === 'e' && m.self) store.set({ editing: m.id })
  else if (event.key === '+') store.set({ picker: store.state.picker === m.id ? null : m.id })
  else if (event.key === 'Delete' && m.self) void deleteMessage(store, m)
  else return
  event.preventDefault()
}

export function startReply(store: PageStore, m: MessageView): void {
  store.set({ replyTo: m })
  document.getElementById('text')?.focus()
}

async function deleteMessage(store: PageStore, m: MessageView): Promise<void> {
  if (!confirm('Delete this message for everyone?')) return
  await act(store, 'delete', { message: m.id })
}

/** One action on a message of the room shown; a failure is a notice, the result or null. */
export async function act<K extends 'edit' | 'delete' | 'react' | 'unreact'>(
  store: PageStore,
  type: K,
  args: Record<string, string>
): Promise<unknown> {
  const room = store.state.current
  if (!room) return null
  try {
    return await store.link.request(type, { room, ...args } as never)
  } catch (err) {
    store.fail(err)
    return null
  }
}

interface LineProps {
  m: MessageView
  grouped: boolean
  answering: boolean
  editing: boolean
  /** The quick reactions while the picker is open on this line. */
  picker: string[] | null
  /** The author's role mark in this room: `~`, `&`, `@` or ''. */
  mark: string
  store: PageStore
}

/** One message. Redraws only when its own props change. */
class MessageLine extends Component<LineProps> {
  override shouldComponentUpdate(next: LineProps): boolean {
    const p = this.props
    return (
      p.m !== next.m ||
      p.grouped !== next.grouped ||
      p.answering !== next.answering ||
      p.editing !== next.editing ||
      p.picker !== next.picker ||
      p.mark !== next.mark
    )
  }

  override render(): JSX.Element {
    const { m, grouped, answering, editing, picker, mark, store } = this.props
    const date = new Date(m.timestamp)
    const classes = ['msg']
    if (m.self) classes.push('mine')
    if (m.mention && !m.deleted) classes.push('mention')
    if (m.kind === 'action') classes.push('action')
    if (m.deleted) classes.push('deleted')
    if (answering) classes.push('answering')
    if (grouped) classes.push('grouped')
    const who = m.name || m.fingerprint
    return (
      <div
        class={classes.join(' ')}
        data-id={m.id}
        tabIndex={-1}
        aria-label={`${who} at ${clock(m.timestamp)}${m.deleted ? ', deleted' : ''}`}
      >
        <time dateTime={date.toISOString()} title={date.toLocaleString()}>
          {clock(m.timestamp)}
        </time>
        <span class="body">
          {m.replyTo && !m.deleted && <Quote reply={m.replyTo} />}
          {/* The name is isolated (bdi) and the fingerprint is its own element, with words
              between them for screen readers: no name can reorder, hide or run into it. */}
          <span class={grouped ? 'who visually-hidden' : 'who'} title={m.author}>
            {m.kind === 'action' && !m.deleted && '* '}
            {mark && (
              <span class="role" title={ROLE_TITLES[mark]}>
                {mark}
              </span>
            )}
            {/* A click opens the author's profile: fingerprint, DM, friend, block. */}
            <button
              type="button"
              class="who-link"
              tabIndex={grouped ? -1 : 0}
              onClick={() => store.openProfile(m.author, m.name)}
            >
              {m.name && <bdi class="name">{m.name}</bdi>}
              {m.name && <span class="visually-hidden">, key</span>}
              {m.name && ' '}
              <span class="fp mono">{m.fingerprint}</span>
            </button>
            <span class="visually-hidden">:</span>
          </span>{' '}
          {m.deleted ? (
            <span class="tombstone">message deleted</span>
          ) : editing ? (
            <Editor m={m} store={store} />
          ) : (
            <MessageText text={m.text} />
          )}
          {m.edited && !m.deleted && !editing && <span class="edited muted"> (edited)</span>}
          {m.reactions.length > 0 && !m.deleted && (
            <span class="reactions" role="group" aria-label="Reactions">
              {m.reactions.map((r) => (
                <button
                  key={r.emoji}
                  type="button"
                  class={r.self ? 'chip self' : 'chip'}
                  aria-pressed={r.self ? 'true' : 'false'}
                  title={r.who.join(', ') + (r.count > r.who.length ? ` and ${r.count - r.who.length} more` : '')}
                  data-action={`chip-${r.emoji}`}
                  onClick={() => act(store, r.self ? 'unreact' : 'react', { message: m.id, emoji: r.emoji })}
                >
                  {`${r.emoji} ${r.count}`}
                </button>
              ))}
            </span>
          )}
        </span>
        {!m.deleted && <Actions m={m} picker={picker} store={store} />}
      </div>
    )
  }
}

/** Text with its web links clickable; they open outside the app, with no opener. */
function MessageText(props: { text: string }): JSX.Element {
  return (
    <span class="text">
      {linkify(props.text).map((seg, i) =>
        seg.href ? (
          <a key={i} href={seg.href} target="_blank" rel="noopener noreferrer">
            {seg.text}
          </a>
        ) : (
          seg.text
        )
      )}
    </span>
  )
}

/** The one line a reply shows of the message it answers; a click shows that message. */
function Quote(props: { reply: ReplyView }): JSX.Element {
  const reply = props.reply
  const who = reply.name || (reply.fingerprint || '').split('-')[0]
  const body = !reply.loaded ? 'a message not loaded here' : reply.deleted ? 'message deleted' : reply.text
  return (
    <button
      type="button"
      class={reply.deleted ? 'quote gone' : 'quote'}
      tabIndex={-1}
      title={reply.loaded ? 'Show the message answered' : 'Not loaded here'}
      onClick={(e) => {
        const list = (e.currentTarget as HTMLElement).closest('.messages')
        const line = list?.querySelector<HTMLElement>(`.msg[data-id="${CSS.escape(reply.id)}"]`)
        if (!line) return
        line.scrollIntoView({ block: 'center' })
        line.focus({ preventScroll: true })
      }}
    >
      {'↳ '}
      {reply.loaded && who && <bdi class="name">{who}</bdi>}
      {reply.loaded && who && ': '}
      <span class="quoted">{body}</span>
    </button>
  )
}

/** Reply and react on every message; edit and delete on your own. Shown on hover and focus. */
function Actions(props: { m: MessageView; picker: string[] | null; store: PageStore }): JSX.Element {
  const { m, picker, store } = props
  const pickerRef = useRef<HTMLSpanElement>(null)
  useEffect(() => {
    if (picker) pickerRef.current?.querySelector('button')?.focus()
  }, [picker !== null])
  return (
    <span class="actions" role="toolbar" aria-label="Message actions">
      <span class="ref mono" title={`Type this to point at the message: /reply ${m.ref} ...`}>
        {m.ref}
      </span>
      <button type="button" data-action="reply" title="Reply (R)" onClick={() => startReply(store, m)}>
        Reply
      </button>
      <button
        type="button"
        data-action="react"
        title="React (+)"
        aria-expanded={picker ? 'true' : 'false'}
        onClick={() => store.set({ picker: picker ? null : m.id })}
      >
        React
      </button>
      {m.self && (
        <button type="button" data-action="edit" title="Edit (E)" onClick={() => store.set({ editing: m.id })}>
          Edit
        </button>
      )}
      {m.self && (
        <button
          type="button"
          data-action="delete"
          class="danger"
          title="Delete (Del)"
          onClick={() => deleteMessage(store, m)}
        >
          Delete
        </button>
      )}
      {picker && (
        <span class="picker" role="group" aria-label="Pick a reaction" ref={pickerRef}>
          {picker.map((emoji) => {
            const mine = m.reactions.some((r) => r.emoji === emoji && r.self)
            return (
              <button
                key={emoji}
                type="button"
                class={mine ? 'self' : undefined}
                aria-pressed={mine ? 'true' : 'false'}
                data-action={`pick-${emoji}`}
                onClick={() => {
                  store.set({ picker: null })
                  void act(store, mine ? 'unreact' : 'react', { message: m.id, emoji })
                }}
              >
                {emoji}
              </button>
            )
          })}
        </span>
      )}
    </span>
  )
}

/** Edits one of your messages in place: Enter saves, Escape cancels. */
function Editor(props: { m: MessageView; store: PageStore }): JSX.Element {
  const { m, store } = props
  const ref = useRef<HTMLTextAreaElement>(null)
  const [busy, setBusy] = useState(false)
  useEffect(() => {
    const el = ref.current!
    el.value = m.text
    el.focus()
    el.setSelectionRange(el.value.length, el.value.length)
  }, [])
  const done = () => {
    store.set({ editing: null })
    document.getElementById('text')?.focus()
  }
  const save = async () => {
    const text = ref.current!.value
    if (text === m.text || text.trim() === '') return done()
    setBusy(true)
    const edited = await act(store, 'edit', { message: m.id, text })
    setBusy(false)
    if (!edited) return ref.current?.focus()
    done()
  }
  return (
    <textarea
      class="editor"
      ref={ref}
      disabled={busy}
      rows={Math.min(6, m.text.split('\n').length)}
      aria-label="Edit your message; Enter saves, Escape cancels"
      onKeyDown={(e) => {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
          e.preventDefault()
          void save()
        } else if (e.key === 'Escape') {
          e.preventDefault()
          e.stopPropagation()
          done()
        }
      }}
    />
  )
}

function Notice(props: { notice: NoticeLine }): JSX.Element {
  const n = props.notice
  if (n.table) {
    return (
      <dl class="notice help">
        {n.table.map((row) => [
          <dt key={`t${row.usage}`} class="mono">{row.usage}</dt>,
          <dd key={`d${row.usage}`}>{row.description}</dd>
        ])}
      </dl>
    )
  }
  const cls = `notice ${n.level}` + (n.kind === 'member' ? ' member-line' : '')
  return <p class={cls} role={n.level === 'error' ? 'alert' : undefined}>{n.text}</p>
}

