/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/** @jsxImportSource preact */
// The chat screen: rooms on the side (a drawer in narrow windows), the room shown with its
// header, messages and composer, the member list, and the status bar.
import type { JSX } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import type { DeviceView, MemberView, ModerationAction, RoomSettingsPatch, RoomSettingsView, RoomView } from '../protocol.js'
import { useStore } from './context.js'
import type { PageStore } from './store.js'
import { ACTION_LABELS, actionDone, messageBytes, plural, roleMark, sentence } from './text.js'
import { Timeline } from './timeline.js'

export function Chat(): JSX.Element {
  const [s, store] = useStore()
  const [drawer, setDrawer] = useState(false)
  const [settings, setSettings] = useState(false)
  const room = store.currentRoom()
  const offline = s.link !== 'up'

  const closeDrawer = () => setDrawer(false)
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && drawer) {
        setDrawer(false)
        document.getElementById('drawer-toggle')?.focus()
        return
      }
      // Alt+1..9 and Alt+Up/Down switch rooms from anywhere, as Alt+1..9 does in the terminal.
      if (!event.altKey || event.ctrlKey || event.metaKey) return
      const rooms = store.state.rooms
      let next: RoomView | undefined
      if (/^[1-9]$/.test(event.key)) next = rooms[Number(event.key) - 1]
      else if ((event.key === 'ArrowUp' || event.key === 'ArrowDown') && rooms.length) {
        const i = rooms.findIndex((r) => r.id === store.state.current)
        next = rooms[(i + (event.key === 'ArrowUp' ? -1 : 1) + rooms.length) % rooms.length]
      }
      if (next) {
        event.preventDefault()
        store.select(next.id)
      }
    }
    document.addEventListener('keydown', onKey)
    return () => document.removeEventListener('keydown', onKey)
  }, [drawer])

  useEffect(() => {
    if (drawer) {
      const active = document.querySelector<HTMLElement>('.room.active') ?? document.querySelector<HTMLElement>('.room')
      ;(active ?? document.getElementById('join-name'))?.focus()
    }
  }, [drawer])

  const unreadTotal = totalUnread(s.rooms, s.current, s.visible)
  return (
    <div id="chat" class={drawer ? 'chat drawer-open' : 'chat'} inert={offline}>
      <Sidebar onPicked={closeDrawer} onSettings={() => setSettings(true)} />
      <main>
        <header class="room-header">
          <button
            id="drawer-toggle"
            class="drawer-toggle"
            type="button"
            aria-controls="sidebar"
            aria-expanded={drawer ? 'true' : 'false'}
            onClick={() => setDrawer(!drawer)}
          >
            {unreadTotal ? `Rooms (${unreadTotal})` : 'Rooms'}
          </button>
          <div class="title-block">
            <h2 id="room-title" title={room ? store.label(room) : ''}>
              {room ? store.label(room) : 'No room open'}
            </h2>
            {room?.topic && (
              <p id="room-topic" class="topic muted" title={room.topic}>
                {room.topic}
              </p>
            )}
          </div>
          <span id="room-peers" class="muted">
            {room ? `${plural(room.peers, 'peer', 'peers')} here` : ''}
          </span>
          {room && (
            <button
              id="members-toggle"
              type="button"
              aria-expanded={s.members ? 'true' : 'false'}
              aria-controls="members"
              onClick={() => (s.members ? store.set({ members: null, profile: null }) : store.loadMembers())}
            >
              Members
            </button>
          )}
          {room?.canEditSettings && (
            <button id="room-settings-open" type="button" onClick={() => store.openRoomSettings()}>
              Room settings
            </button>
          )}
          {room && <LeaveButton room={room} />}
        </header>
        {room?.announcement && (
          <p id="room-announcement" class="announcement" role="note">
            <span class="visually-hidden">Announcement: </span>
            {room.announcement}
          </p>
        )}
        {room && room.kind !== 'dm' && <Invite invite={room.invite} />}
        <div class="room-body">
          <Timeline />
          {s.members && <Members members={s.members} />}
        </div>
        <ReplyBar />
        <Composer disabled={offline} />
      </main>
      <div id="statusbar" class="statusbar" role="status">
        <span id="link-state" class={s.link === 'up' ? 'state up' : 'state'}>
          {s.link === 'up' ? 'Connected' : s.link === 'reconnecting' || s.link === 'connecting' ? 'Reconnecting' : 'Closed'}
        </span>
        <span id="peer-count">{plural(s.status.peers, 'peer', 'peers')}</span>
        <span id="room-count">{plural(s.rooms.filter((r) => r.kind !== 'dm').length, 'room', 'rooms')}</span>
        <span id="whoami" class="right mono">
          {s.me ? (s.me.name ? `${s.me.name} ` : '') + s.me.fingerprint : ''}
        </span>
      </div>
      {s.profile && <Profile member={s.profile} />}
      {settings && <Settings onClose={() => setSettings(false)} />}
      {s.roomSettings && <RoomSettingsPanel view={s.roomSettings} />}
    </div>
  )
}

/** Unread messages in rooms not being read now: the title and the drawer button show it. */
export function totalUnread(rooms: readonly RoomView[], current: string | null, visible: boolean): number {
  let total = 0
  for (const r of rooms) if (!(r.id === current && visible)) total += r.unread
  return total
}

function Sidebar(props: { onPicked(): void; onSettings(): void }): JSX.Element {
  const [s, store] = useStore()
  const me = s.me
  return (
    <aside id="sidebar" class="sidebar">
      <header class="brand">
        <h1>Backspace</h1>
        <div id="me" class="me muted">
          {me?.name && (
            <>
              <bdi class="name">
                <strong>{me.name}</strong>
              </bdi>{' '}
            </>
          )}
          {me && (
            <span class="mono" title="Your key fingerprint">
              {me.fingerprint}
            </span>
          )}
          {me && (me.incognito ? <span class="tag">incognito</span> : <span class="tag" title="Account">{me.account}</span>)}
        </div>
        <button id="settings-open" type="button" class="link" onClick={props.onSettings}>
          Settings
        </button>
      </header>
      <nav id="rooms" aria-label="Rooms">
        {s.rooms.length === 0 && <div class="muted">No rooms yet</div>}
        {s.rooms.filter((room) => room.kind !== 'dm').map((room) => {
          const active = room.id === s.current
          // The room on screen is being read: its count only shows while the page is hidden.
          const shown = active && s.visible
          const unread = shown ? 0 : room.unread
          const mention = !shown && room.mentions > 0
          const label = store.label(room)
          const aria =
            label +
            (room.locked ? ', password room' : '') +
            (unread ? ', ' + plural(unread, 'unread message', 'unread messages') : '') +
            (mention ? ', mentions you' : '')
          return (
            <button
              key={room.id}
              type="button"
              class={'room' + (active ? ' active' : '') + (unread ? ' unread' : '')}
              aria-current={active ? 'true' : undefined}
              aria-label={aria}
              data-room={room.id}
              onClick={() => {
                store.select(room.id)
                props.onPicked()
                document.getElementById('text')?.focus()
              }}
            >
              {room.locked && (
                <span class="lock" title="Password room: another password makes another room">
                  🔒
                </span>
              )}
              <span class="room-name">{label}</span>
              {room.kind === 'private' && <span class="tag">private</span>}
              {unread > 0 && <span class={mention ? 'badge mention' : 'badge'}>{(mention ? '@' : '') + unread}</span>}
            </button>
          )
        })}
      </nav>
      <Social onPicked={props.onPicked} />
      <JoinForm onDone={props.onPicked} />
      <CreateForm onDone={props.onPicked} />
    </aside>
  )
}

function useFormAction(action: () => Promise<void>): [boolean, string | null, (e: Event) => void] {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const submit = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    try {
      await action()
      setError(null)
    } catch (err) {
      setError(sentence(err))
    } finally {
      setBusy(false)
    }
  }
  return [busy, error, (e) => void submit(e)]
}

function opened(store: PageStore, room: RoomView, onDone: () => void): void {
  if (!store.state.rooms.some((r) => r.id === room.id)) store.set({ rooms: [...store.state.rooms, room] })
  store.select(room.id)
  onDone()
  document.getElementById('text')?.focus()
}

function JoinForm(props: { onDone(): void }): JSX.Element {
  const [, store] = useStore()
  const name = useRef<HTMLInputElement>(null)
  const password = useRef<HTMLInputElement>(null)
  const [busy, error, submit] = useFormAction(async () => {
    const pw = password.current!.value
    const room = await store.link.request('join', {
      name: name.current!.value,
      password: pw === '' ? undefined : pw
    })
    name.current!.value = ''
    password.current!.value = ''
    opened(store, room, props.onDone)
  })
  return (
    <form id="join-form" class="panel" autocomplete="off" onSubmit={submit}>
      <h2>Join a room</h2>
      <input id="join-name" placeholder="Room name or invite" aria-label="Room name or invite" required ref={name} />
      <input
        id="join-password"
        type="password"
        placeholder="Password (optional)"
        autocomplete="off"
        aria-label="Room password"
        ref={password}
      />
      <button class="primary" disabled={busy}>Join</button>
      {error && <p id="join-error" class="error" role="alert">{error}</p>}
    </form>
  )
}

function CreateForm(props: { onDone(): void }): JSX.Element {
  const [, store] = useStore()
  const name = useRef<HTMLInputElement>(null)
  const [busy, error, submit] = useFormAction(async () => {
    const value = name.current!.value
    const room = await store.link.request('create', { name: value === '' ? undefined : value })
    name.current!.value = ''
    opened(store, room, props.onDone)
  })
  return (
    <form id="create-form" class="panel" autocomplete="off" onSubmit={submit}>
      <h2>New private room</h2>
      <input id="create-name" placeholder="Label (only invitees see it)" aria-label="Private room label" ref={name} />
      <button disabled={busy}>Create</button>
      {error && <p id="create-error" class="error" role="alert">{error}</p>}
    </form>
  )
}

function LeaveButton(props: { room: RoomView }): JSX.Element {
  const [, store] = useStore()
  return (
    <button
      id="leave"
      type="button"
      onClick={async () => {
        const label = store.label(props.room)
        if (!confirm(`Leave ${label}? This deletes its history from this device.`)) return
        try {
          await store.link.request('leave', { room: props.room.id })
          store.removeRoom(props.room.id)
        } catch (err) {
          store.fail(err)
        }
      }}
    >
      Leave
    </button>
  )
}

/**
 * A Copy button for a read-only field's text: its label, its click handler, and the field's
 * ref. Without clipboard access the field is selected for Ctrl+C. A new text resets the label.
 */
function useCopy(text: string) {
  const [label, setLabel] = useState<string>('Copy')
  const input = useRef<HTMLInputElement>(null)
  useEffect(() => setLabel('Copy'), [text])
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text)
      setLabel('Copied')
    } catch {
      input.current!.focus()
      input.current!.select()
      setLabel('Press Ctrl+C')
    }
  }
  return { label, copy, input }
}

function Invite(props: { invite: string }): JSX.Element {
  const { label, copy, input } = useCopy(props.invite)
  return (
    <div id="invite" class="invite">
      <span class="muted">Invite</span>
      <input id="invite-text" class="mono" readOnly aria-label="Invite link" value={props.invite} ref={input} />
      <button id="invite-copy" type="button" onClick={copy}>
        {label}
      </button>
    </div>
  )
}

function ReplyBar(): JSX.Element | null {
  const [s, store] = useStore()
  const m = s.replyTo
  if (!m) return null
  return (
    <div id="reply-bar" class="reply-bar">
      <span class="muted">Replying to</span> <strong id="reply-who">{m.name || m.fingerprint.split('-')[0]}</strong>
      <span id="reply-text" class="reply-text muted">{m.text}</span>
      <button
        id="reply-cancel"
        type="button"
        class="link"
        aria-label="Cancel the reply"
        onClick={() => {
          store.set({ replyTo: null })
          document.getElementById('text')?.focus()
        }}
      >
        Cancel
      </button>
    </div>
  )
}

interface Completion {
  candidates: string[]
  index: number
}

function Composer(props: { disabled: boolean }): JSX.Element {
  const [s, store] = useStore()
  const input = useRef<HTMLTextAreaElement>(null)
  const [bytes, setBytes] = useState(0)
  const [completion, setCompletion] = useState<Completion | null>(null)
  const max = s.maxBytes

  // The composer grows with its text, up to a third of the window (the CSS max-height).
  const grow = () => {
    const el = input.current!
    el.style.height = 'auto'
    el.style.height = `${el.scrollHeight + 2}px`
  }
  const changed = () => {
    setBytes(messageBytes(input.current!.value))
    grow()
  }
  useEffect(() => {
    input.current?.focus()
  }, [])

  const submit = async () => {
    const el = input.current!
    const text = el.value
    if (text.trim() === '') return
    const room = store.state.current
    const replyTo = store.state.replyTo
    setCompletion(null)
    const size = messageBytes(text)
    if (size > max) {
      // Refused here, before it is sent: the text stays to be shortened.
      store.addNotice(
        room ?? '',
        'error',
        `This message is ${size} bytes; the limit is ${max}. Shorten it or split it; your text is kept.`
      )
      return changed()
    }
    try {
      // A command while answering acts on the message answered (/react +1); a plain line answers it.
      const args = replyTo ? { room, text, selected: replyTo.id } : { room, text }
      const result = await store.link.request('line', args)
      // A message the library refused keeps its text in the composer.
      if (el.value === text && !result.failed) el.value = ''
      store.applyLine(room, result)
      if (!result.failed && replyTo && store.state.replyTo === replyTo) store.set({ replyTo: null })
    } catch (err) {
      store.addNotice(room ?? '', 'error', sentence(err))
    }
    changed()
    el.focus()
  }

  const complete = async () => {
    const el = input.current!
    const c = completion
    if (c && el.value === c.candidates[c.index]) {
      const index = (c.index + 1) % c.candidates.length
      el.value = c.candidates[index]!
      return setCompletion({ ...c, index })
    }
    try {
      const candidates = await store.link.request('complete', { room: store.state.current, text: el.value })
      const useful = candidates.filter((line) => line !== el.value)
      if (useful.length === 0) {
        setCompletion(null)
        return document.getElementById('send')?.focus()
      }
      el.value = useful[0]!
      setCompletion({ candidates: useful, index: 0 })
    } catch (err) {
      store.fail(err)
    }
  }

  const onKey = (event: KeyboardEvent) => {
    const el = input.current!
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault()
      void submit()
    } else if (event.key === 'Tab' && !event.shiftKey && !event.ctrlKey && !event.altKey) {
      // Tab completes a non-empty line; with nothing to complete it moves on to Send.
      if (el.value.trim() === '') return
      event.preventDefault()
      void complete()
    } else if (event.key === 'Escape') {
      if (completion) setCompletion(null)
      else if (store.state.replyTo) store.set({ replyTo: null })
    } else if (event.key === 'ArrowUp' && el.value === '' && !event.altKey) {
      // As in the terminal: Up on an empty composer edits your last message.
      const own = store.state.messages.filter((m) => m.self && !m.deleted)
      const last = own[own.length - 1]
      if (!last) return
      event.preventDefault()
      store.set({ editing: last.id })
    } else if (completion) {
      setCompletion(null)
    }
  }

  const over = bytes > max
  return (
    <>
      {completion && completion.candidates.length > 1 && (
        <p id="completions" class="completions muted mono" aria-live="polite">
          {completion.candidates.map((line, i) => (i === completion.index ? `[${line}]` : line)).join('  ')}
        </p>
      )}
      <form
        id="composer"
        class="composer"
        onSubmit={(e) => {
          e.preventDefault()
          void submit()
        }}
      >
        <textarea
          id="text"
          rows={1}
          ref={input}
          disabled={props.disabled}
          aria-label="Message"
          aria-describedby="composer-hint"
          placeholder="Message, or /help"
          onInput={changed}
          onKeyDown={onKey}
        />
        <span id="composer-hint" hidden>
          Enter sends, Shift+Enter adds a line, Tab completes
        </span>
        {bytes >= max * 0.8 && (
          <span
            id="count"
            class={over ? 'count mono over' : 'count mono'}
            aria-live="polite"
            title={over ? 'Too long to send: shorten it or split it' : 'Bytes of the limit'}
          >
            {`${bytes} / ${max}`}
          </span>
        )}
        <button id="send" class="primary" disabled={props.disabled}>
          Send
        </button>
      </form>
    </>
  )
}

function Members(props: { members: MemberView[] }): JSX.Element {
  const [, store] = useStore()
  return (
    <aside id="members" class="members" aria-label="Members">
      <h3>Members</h3>
      <ul>
        {props.members.map((m) => (
          <li key={m.key}>
            <button
              type="button"
              class={m.online ? 'member online' : 'member'}
              onClick={() => store.set({ profile: m })}
            >
              <span class="presence" aria-hidden="true" />
              {roleMark(m.role) && (
                <span class="role" title={m.role}>
                  {roleMark(m.role)}
                </span>
              )}
              {m.name ? <bdi class="name">{m.name}</bdi> : <span class="mono">{m.fingerprint}</span>}
              {m.self && <span class="muted"> (you)</span>}
              <span class="visually-hidden">{m.online ? ', online' : ', offline'}</span>
            </button>
          </li>
        ))}
      </ul>
    </aside>
  )
}

/** A dialog shown modally while mounted; Escape and its close button call onClose. */
function Modal(props: { id: string; title: string; onClose(): void; children: preact.ComponentChildren }): JSX.Element {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const dialog = ref.current!
    if (!dialog.open) dialog.showModal()
    const onCancel = (e: Event) => {
      e.preventDefault()
      props.onClose()
    }
    dialog.addEventListener('cancel', onCancel)
    return () => dialog.removeEventListener('cancel', onCancel)
  }, [])
  return (
    <dialog id={props.id} ref={ref} aria-labelledby={`${props.id}-title`}>
      <h2 id={`${props.id}-title`}>{props.title}</h2>
      {props.children}
      <div class="actions">
        <button type="button" class="primary" onClick={props.onClose}>
          Close
        </button>
      </div>
    </dialog>
  )
}

function Profile(props: { member: MemberView }): JSX.Element {
  const [s, store] = useStore()
  const m = props.member
  const social = s.social
  const friend = social?.friends.some((f) => f.key === m.key) ?? false
  const asked = social?.sent.some((r) => r.key === m.key) ?? false
  const blocked = social?.blocked.some((b) => b.key === m.key) ?? false
  const [note, setNote] = useState<string | null>(null)
  const run = async (fn: () => Promise<void>) => {
    try {
      await fn()
    } catch (err) {
      setNote(sentence(err))
    }
  }
  const where = m.self ? 'This is you.' : m.online ? 'Online now.' : 'Not online here now.'
  const mark = roleMark(m.role)
  return (
    <Modal id="profile" title={m.name || 'No name'} onClose={() => store.set({ profile: null })}>
      <p class="muted">
        {where}
        {mark && ` Role here: ${m.role} (${mark}).`}
      </p>
      <p>Key fingerprint</p>
      <p id="profile-fingerprint" class="mono fingerprint">
        {m.fingerprint}
      </p>
      <p class="muted">
        Names are not unique: compare this fingerprint with the one they tell you in person to be
        sure who this is.
      </p>
      {!m.self && social?.available && (
        <div class="profile-actions">
          <button
            id="profile-dm"
            type="button"
            class="primary"
            disabled={!friend || blocked}
            title={friend ? '' : 'Direct messages open once they accept a friend request'}
            onClick={() =>
              run(async () => {
                const room = await store.link.request('dm', { key: m.key })
                store.set({ profile: null })
                opened(store, room, () => {})
              })
            }
          >
            Message
          </button>
          {!friend && (
            <button
              id="profile-friend"
              type="button"
              disabled={asked || blocked}
              onClick={() =>
                run(async () => {
                  store.set({ social: await store.link.request('friend-request', { key: m.key, text: '' }) })
                  setNote('Friend request sent.')
                })
              }
            >
              {asked ? 'Request sent' : 'Add friend'}
            </button>
          )}
          {friend && (
            <button
              id="profile-unfriend"
              type="button"
              onClick={() =>
                run(async () => {
                  if (!confirm(`Remove ${m.name || m.fingerprint} from your friends? Your DM with them closes.`)) return
                  store.set({ social: await store.link.request('friend-remove', { key: m.key }) })
                  setNote('No longer friends.')
                })
              }
            >
              Remove friend
            </button>
          )}
          <button
            id="profile-block"
            type="button"
            class={blocked ? '' : 'danger'}
            onClick={() =>
              run(async () => {
                if (!blocked && !confirm(`Block ${m.name || m.fingerprint}? You will not see their requests, DMs or messages.`)) return
                store.set({ social: await store.link.request('block', { key: m.key, blocked: !blocked }) })
                setNote(blocked ? 'Unblocked.' : 'Blocked.')
              })
            }
          >
            {blocked ? 'Unblock' : 'Block'}
          </button>
        </div>
      )}
      {m.actions.length > 0 && s.current && (
        <Moderation member={m} room={s.current} named={store.currentRoom()?.kind === 'named'} onNote={setNote} />
      )}
      {note && (
        <p id="profile-note" class="muted" role="status">
          {note}
        </p>
      )}
    </Modal>
  )
}

/**
 * The moderation buttons of a profile card: only what the shell says this identity may do to
 * the member here. Kick and ban ask first and take an optional reason.
 */
function Moderation(props: { member: MemberView; room: string; named: boolean; onNote(text: string): void }): JSX.Element {
  const [, store] = useStore()
  const m = props.member
  const reason = useRef<HTMLInputElement>(null)
  const [busy, setBusy] = useState(false)
  const who = m.name ? `${m.name} (${m.fingerprint})` : m.fingerprint
  const removes = m.actions.includes('kick') || m.actions.includes('ban')
  const act = async (action: ModerationAction) => {
    if ((action === 'kick' || action === 'ban') && !confirm(`${action === 'kick' ? 'Kick' : 'Ban'} ${who}?`)) return
    setBusy(true)
    try {
      const text = reason.current?.value ?? ''
      const args = action === 'kick' || action === 'ban' ? { room: props.room, key: m.key, action, reason: text } : { room: props.room, key: m.key, action }
      const card = await store.link.request('moderate', args)
      if (reason.current) reason.current.value = ''
      // The room shown may have changed meanwhile: the card follows only its own room.
      if (store.state.profile?.key === m.key) store.set({ profile: card })
      props.onNote(actionDone(action, who))
    } catch (err) {
      props.onNote(sentence(err))
    } finally {
      setBusy(false)
    }
  }
  return (
    <section id="profile-moderation" class="moderation" aria-label="Moderation">
      <h3>Moderation</h3>
      {removes && props.named && (
        <p id="profile-named-limit" class="muted">
          In a room opened by name and password, anyone who knows them can still read it: a kicked
          member can come back, and a ban only stops their messages from being shown.
        </p>
      )}
      {removes && (
        <>
          <label for="profile-reason">Reason (optional, everyone in the room sees it)</label>
          <input id="profile-reason" ref={reason} maxLength={500} autocomplete="off" />
        </>
      )}
      <div class="profile-actions">
        {m.actions.map((action) => (
          <button
            key={action}
            type="button"
            data-action={action}
            class={action === 'kick' || action === 'ban' ? 'danger' : ''}
            disabled={busy}
            onClick={() => void act(action)}
          >
            {ACTION_LABELS[action]}
          </button>
        ))}
      </div>
    </section>
  )
}

/** Direct messages with unread counts, friends with their presence, and requests to answer. */
function Social(props: { onPicked(): void }): JSX.Element | null {
  const [s, store] = useStore()
  const social = s.social
  if (!social || !social.available) return null
  const dms = s.rooms.filter((r) => r.kind === 'dm')
  const online = (room: RoomView) => social.dms.find((d) => d.room === room.id)?.online ?? false
  return (
    <section id="social" class="social" aria-label="Friends and direct messages">
      <h2>Direct messages</h2>
      <nav id="dms" aria-label="Direct messages">
        {dms.length === 0 && <div class="muted">None yet</div>}
        {dms.map((room) => {
          const active = room.id === s.current
          const unread = active && s.visible ? 0 : room.unread
          const label = store.label(room)
          return (
            <button
              key={room.id}
              type="button"
              class={'room dm' + (active ? ' active' : '') + (unread ? ' unread' : '') + (online(room) ? ' online' : '')}
              aria-current={active ? 'true' : undefined}
              aria-label={label + (online(room) ? ', online' : '') + (unread ? ', ' + plural(unread, 'unread message', 'unread messages') : '')}
              data-room={room.id}
              onClick={() => {
                store.select(room.id)
                props.onPicked()
                document.getElementById('text')?.focus()
              }}
            >
              <span class="presence" aria-hidden="true" />
              <bdi class="room-name">{label}</bdi>
              {unread > 0 && <span class="badge">{unread}</span>}
            </button>
          )
        })}
      </nav>
      {social.requests.length > 0 && (
        <>
          <h2>Friend requests</h2>
          <ul id="friend-requests" class="requests">
            {social.requests.map((r) => (
              <li key={r.key} class="request" data-key={r.key}>
                <div>
                  {r.name && <bdi class="name">{r.name}</bdi>} <span class="mono fp">{r.fingerprint}</span>
                </div>
                {r.text && <p class="request-text">{r.text}</p>}
                <div class="request-actions">
                  {(['accept', 'decline', 'block'] as const).map((answer) => (
                    <button
                      key={answer}
                      type="button"
                      class={answer === 'accept' ? 'primary' : answer === 'block' ? 'danger' : ''}
                      data-answer={answer}
                      onClick={async () => {
                        try {
                          const result = await store.link.request('friend-answer', { key: r.key, answer })
                          store.set({ social: result.social })
                          if (result.room) opened(store, result.room, props.onPicked)
                        } catch (err) {
                          store.fail(err)
                        }
                      }}
                    >
                      {answer === 'accept' ? 'Accept' : answer === 'decline' ? 'Decline' : 'Block'}
                    </button>
                  ))}
                </div>
              </li>
            ))}
          </ul>
        </>
      )}
      <h2>Friends</h2>
      <ul id="friends" class="friends">
        {social.friends.length === 0 && <li class="muted">No friends yet: open a member's profile, or add one below</li>}
        {social.friends.map((f) => (
          <li key={f.key}>
            <button
              type="button"
              class={f.online ? 'member online' : 'member'}
              data-key={f.key}
              onClick={() => store.openProfile(f.key, f.name)}
            >
              <span class="presence" aria-hidden="true" />
              {f.name ? <bdi class="name">{f.name}</bdi> : <span class="mono">{f.fingerprint}</span>}
              <span class="visually-hidden">{f.online ? ', online' : ', offline'}</span>
            </button>
          </li>
        ))}
      </ul>
      <AddFriend />
      {social.contactLink && <ContactLink link={social.contactLink} />}
    </section>
  )
}

/** A friend request to a key or a contact link pasted in, as `/friend KEY-or-link text` does. */
function AddFriend(): JSX.Element {
  const [, store] = useStore()
  const who = useRef<HTMLInputElement>(null)
  const text = useRef<HTMLInputElement>(null)
  const [done, setDone] = useState<string | null>(null)
  const [busy, error, submit] = useFormAction(async () => {
    setDone(null)
    const social = await store.link.request('friend-request', { who: who.current!.value, text: text.current!.value })
    store.set({ social })
    who.current!.value = ''
    text.current!.value = ''
    setDone('Friend request sent. They see only your note until they accept.')
  })
  return (
    <form id="friend-add" class="panel" autocomplete="off" onSubmit={submit}>
      <h2>Add a friend</h2>
      <input id="friend-add-who" placeholder="Contact link or key" aria-label="Their contact link or key" required ref={who} />
      <input id="friend-add-text" placeholder="A short note (optional)" aria-label="A note with the request" maxLength={500} ref={text} />
      <button disabled={busy}>Send request</button>
      {error && <p id="friend-add-error" class="error" role="alert">{error}</p>}
      {done && !error && <p id="friend-add-done" class="muted" role="status">{done}</p>}
    </form>
  )
}

/** This identity's contact link, for others to paste into their Add a friend. */
function ContactLink(props: { link: string }): JSX.Element {
  const { label, copy, input } = useCopy(props.link)
  return (
    <div class="panel">
      <h2 id="contact-link-title">Your contact link</h2>
      <div class="contact-link">
        <input id="contact-link" class="mono" readOnly aria-labelledby="contact-link-title" value={props.link} ref={input} />
        <button id="contact-link-copy" type="button" onClick={copy}>
          {label}
        </button>
      </div>
    </div>
  )
}

/** A room's settings for its owner and admins, through `room.moderate`. */
function RoomSettingsPanel(props: { view: RoomSettingsView }): JSX.Element {
  const [, store] = useStore()
  const v = props.view
  const st = v.settings
  const [error, setError] = useState<string | null>(null)
  const [saved, setSaved] = useState(false)
  const [busy, setBusy] = useState(false)
  const form = useRef<HTMLFormElement>(null)
  const save = async (e: Event) => {
    e.preventDefault()
    const f = form.current!
    const value = (name: string) => (f.elements.namedItem(name) as HTMLInputElement).value
    const checked = (name: string) => (f.elements.namedItem(name) as HTMLInputElement).checked
    const count = (name: string) => {
      const n = Number(value(name))
      if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: a whole number, 0 or more`)
      return n
    }
    setBusy(true)
    setSaved(false)
    try {
      const patch: RoomSettingsPatch = {
        topic: value('topic'),
        announcement: value('announcement'),
        welcome: value('welcome'),
        slowMode: count('slowMode'),
        maxUsers: count('maxUsers'),
        ttl: count('ttlHours') * 3600000,
        allowAnonymous: checked('allowAnonymous'),
        locked: checked('locked')
      }
      const next = await store.link.request('room-settings-set', { room: v.room, patch })
      store.set({ roomSettings: next })
      setError(null)
      setSaved(true)
    } catch (err) {
      setError(sentence(err))
    } finally {
      setBusy(false)
    }
  }
  return (
    <Modal id="room-settings" title="Room settings" onClose={() => store.set({ roomSettings: null })}>
      <p class="muted">
        {`Your role: ${v.role}.`} {v.owner ? `Owner: ${v.owner}.` : 'No owner known yet.'}
      </p>
      <form id="room-settings-form" ref={form} onSubmit={(e) => void save(e)} autocomplete="off">
        <fieldset disabled={!v.canEdit || busy}>
          <label>
            Topic <input name="topic" value={st.topic} maxLength={1024} />
          </label>
          <label>
            Announcement (a banner for everyone) <input name="announcement" value={st.announcement} maxLength={1024} />
          </label>
          <label>
            Welcome (shown to each new member) <input name="welcome" value={st.welcome} maxLength={1024} />
          </label>
          <label>
            Slow mode, seconds between messages (0: off) <input name="slowMode" type="number" min="0" value={st.slowMode} />
          </label>
          <label>
            Member limit (0: none) <input name="maxUsers" type="number" min="0" value={st.maxUsers} />
          </label>
          <label>
            Message lifetime in hours (0: default, at most 168) <input name="ttlHours" type="number" min="0" max="168" value={Math.round(st.ttl / 3600000)} />
          </label>
          <label class="check">
            <input name="allowAnonymous" type="checkbox" checked={st.allowAnonymous} /> Allow incognito members
          </label>
          <label class="check">
            <input name="locked" type="checkbox" checked={st.locked} /> Locked: nobody new may join
          </label>
          <button id="room-settings-save" class="primary">
            Save
          </button>
        </fieldset>
      </form>
      {error && (
        <p id="room-settings-error" class="error" role="alert">
          {error}
        </p>
      )}
      {saved && !error && (
        <p id="room-settings-saved" class="muted" role="status">
          Saved.
        </p>
      )}
    </Modal>
  )
}

type Theme = 'system' | 'light' | 'dark'

export function applyTheme(theme: Theme): void {
  if (theme === 'system') delete document.documentElement.dataset['theme']
  else document.documentElement.dataset['theme'] = theme
}

export function savedTheme(): Theme {
  const value = localStorage.getItem('backspace-theme')
  return value === 'light' || value === 'dark' ? value : 'system'
}

function Settings(props: { onClose(): void }): JSX.Element {
  const [s, store] = useStore()
  const [theme, setTheme] = useState<Theme>(savedTheme())
  const [devices, setDevices] = useState<DeviceView[] | null>(null)
  const [note, setNote] = useState<string | null>(null)
  const name = useRef<HTMLInputElement>(null)
  useEffect(() => {
    if (s.me && !s.me.incognito) store.link.request('devices').then(setDevices, () => setDevices([]))
  }, [])
  const pick = (value: Theme) => {
    setTheme(value)
    localStorage.setItem('backspace-theme', value)
    applyTheme(value)
  }
  return (
    <Modal id="settings" title="Settings" onClose={props.onClose}>
      <form
        class="panel"
        onSubmit={async (e) => {
          e.preventDefault()
          try {
            await store.link.request('profile', { name: name.current!.value })
            setNote('Your name is saved.')
          } catch (err) {
            setNote(sentence(err))
          }
        }}
      >
        <label for="settings-name">Display name</label>
        <input id="settings-name" ref={name} value={s.me?.name ?? ''} maxLength={64} />
        <button>Save the name</button>
        {note && <p class="muted" role="status">{note}</p>}
      </form>
      <fieldset class="plain">
        <legend>Theme</legend>
        {(['system', 'light', 'dark'] as const).map((value) => (
          <label class="radio" key={value}>
            <input type="radio" name="theme" value={value} checked={theme === value} onChange={() => pick(value)} />
            <span>{value === 'system' ? 'As the system' : value === 'light' ? 'Light' : 'Dark'}</span>
          </label>
        ))}
      </fieldset>
      {devices && (
        <>
          <h3>Devices</h3>
          <ul class="devices">
            {devices.map((d) => (
              <li key={d.key}>
                <span class="mono">{d.fingerprint}</span> {d.name && <bdi>{d.name}</bdi>}
                {d.current && <span class="tag">this device</span>}
                {d.primary && <span class="tag">primary</span>}
                {d.revoked && <span class="tag">revoked</span>}
              </li>
            ))}
          </ul>
          <p class="muted">
            Link another device with <span class="mono">/device link</span> in the composer.
          </p>
        </>
      )}
      {s.account?.saved && <PasswordSettings encrypted={s.account.encrypted} />}
      {s.account?.saved && <PhraseSettings encrypted={s.account.encrypted} />}
      {s.account?.canSwitch && (
        <>
          <h3>Account</h3>
          <button
            id="switch-account"
            type="button"
            onClick={() => {
              props.onClose()
              store.link.request('account-switch').catch((err) => store.fail(err))
            }}
          >
            Switch account
          </button>
        </>
      )}
    </Modal>
  )
}

function PasswordSettings(props: { encrypted: boolean }): JSX.Element {
  const [, store] = useStore()
  const current = useRef<HTMLInputElement>(null)
  const next = useRef<HTMLInputElement>(null)
  const repeat = useRef<HTMLInputElement>(null)
  const [note, setNote] = useState<string | null>(null)
  const submit = async (e: Event, remove: boolean) => {
    e.preventDefault()
    const value = remove ? null : next.current!.value
    if (value !== null && value === '') return setNote('Type the new password, or remove the password.')
    if (value !== null && value !== repeat.current!.value) return setNote('The two new passwords differ.')
    try {
      const account = await store.link.request('account-password', {
        current: current.current?.value || undefined,
        next: value
      })
      store.set({ account })
      setNote(value === null ? 'The password is removed.' : 'The new password is saved.')
      for (const el of [current.current, next.current, repeat.current]) if (el) el.value = ''
    } catch (err) {
      setNote(sentence(err))
    }
  }
  return (
    <form id="password-settings" class="panel" autocomplete="off" onSubmit={(e) => submit(e, false)}>
      <h3>{props.encrypted ? 'Change the password' : 'Set a password'}</h3>
      {props.encrypted && (
        <>
          <label for="settings-current">Current password</label>
          <input id="settings-current" type="password" autocomplete="current-password" ref={current} />
        </>
      )}
      <label for="settings-new">New password</label>
      <input id="settings-new" type="password" autocomplete="new-password" ref={next} />
      <label for="settings-repeat">Repeat the new password</label>
      <input id="settings-repeat" type="password" autocomplete="new-password" ref={repeat} />
      <div class="actions">
        {props.encrypted && (
          <button type="button" onClick={(e) => submit(e, true)}>
            Remove the password
          </button>
        )}
        <button class="primary">Save the password</button>
      </div>
      {note && <p id="password-note" class="muted" role="status">{note}</p>}
    </form>
  )
}

function PhraseSettings(props: { encrypted: boolean }): JSX.Element {
  const [, store] = useStore()
  const password = useRef<HTMLInputElement>(null)
  const [words, setWords] = useState<string[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  if (words) {
    return (
      <div class="panel">
        <h3>Your recovery words</h3>
        <p class="muted">Nobody else should ever see them.</p>
        <ol id="settings-words" class="words" aria-label="Recovery words">
          {words.map((w, i) => <li key={i}>{w}</li>)}
        </ol>
        <button type="button" onClick={() => setWords(null)}>Hide the words</button>
      </div>
    )
  }
  return (
    <form
      id="phrase-settings"
      class="panel"
      autocomplete="off"
      onSubmit={async (e) => {
        e.preventDefault()
        try {
          const shown = await store.link.request('account-phrase', { password: password.current?.value || undefined })
          setError(null)
          setWords(shown.words)
        } catch (err) {
          setError(sentence(err))
        }
      }}
    >
      <h3>Recovery words</h3>
      {props.encrypted && (
        <>
          <label for="settings-phrase-password">Password</label>
          <input id="settings-phrase-password" type="password" autocomplete="current-password" ref={password} />
        </>
      )}
      <button>Show the 24 words</button>
      {error && <p id="phrase-error" class="error" role="alert">{error}</p>}
    </form>
  )
}
