// The desktop page: one self-contained document, no build step and no external resources.
// It only renders what the API returns; the order of messages is the library's.
// The script builds every element with the DOM API and sets text with textContent-like
// calls (append of strings), never innerHTML, so no user text is parsed as HTML.

/** The page, with `nonce` on its inline style and script (the server's CSP allows only those). */
export function renderPage(nonce: string): string {
  return String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Backspace</title>
<style nonce="${nonce}">
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --side: #eceef2; --panel: #ffffff; --fg: #1d2026; --muted: #6b7280;
  --line: #d8dce3; --accent: #3b6fd8; --accent-fg: #ffffff; --mine: #eef3ff; --error: #b42318;
  font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #16181d; --side: #1d2027; --panel: #23262e; --fg: #e6e8ec; --muted: #9097a3;
    --line: #30343d; --accent: #6d97ef; --accent-fg: #0d1117; --mine: #1f2a3f; --error: #ff8a80;
  }
}
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { display: grid; grid-template-columns: 270px 1fr; background: var(--bg); color: var(--fg); }
[hidden] { display: none !important; }
button, input, textarea { font: inherit; color: inherit; }
button {
  border: 1px solid var(--line); background: var(--panel); border-radius: 6px; padding: 5px 10px;
  cursor: pointer;
}
button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-fg); }
button:disabled { opacity: 0.6; cursor: default; }
input, textarea {
  width: 100%; border: 1px solid var(--line); background: var(--panel); border-radius: 6px;
  padding: 6px 8px;
}
input:focus, textarea:focus, button:focus-visible {
  outline: 2px solid var(--accent); outline-offset: -1px;
}
.mono { font-family: ui-monospace, 'SF Mono', Menlo, Consolas, monospace; font-size: 12px; }
.muted { color: var(--muted); }
.error { color: var(--error); margin: 6px 0 0; overflow-wrap: anywhere; }

aside {
  display: flex; flex-direction: column; gap: 14px; padding: 14px; overflow-y: auto;
  background: var(--side); border-right: 1px solid var(--line);
}
.brand h1 { font-size: 17px; margin: 0; letter-spacing: 0.02em; }
.me { margin-top: 2px; }
.tag {
  display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 9px;
  border: 1px solid var(--line); color: var(--muted); margin-left: 6px;
}
nav { display: flex; flex-direction: column; gap: 2px; }
.room {
  display: flex; align-items: center; gap: 6px; width: 100%; text-align: left; border: 0;
  background: transparent; padding: 6px 8px;
}
.room:hover { background: var(--panel); }
.room.active { background: var(--accent); color: var(--accent-fg); }
.room.active .muted { color: inherit; opacity: 0.8; }
.room.active .tag { color: inherit; border-color: currentColor; }
.room-name { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.badge {
  background: var(--accent); color: var(--accent-fg); border-radius: 9px; padding: 0 6px;
  font-size: 11px;
}
.room.active .badge { background: var(--accent-fg); color: var(--accent); }
.empty-rooms { padding: 4px 8px; }
form.panel { display: flex; flex-direction: column; gap: 6px; }
form.panel h2 {
  font-size: 11px; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted);
  margin: 0;
}
.status { margin-top: auto; font-size: 12px; }
.status::before { content: '\25CF  '; }
.status.up::before { color: #2f9e44; }
.status.down::before { color: var(--error); }

main { display: flex; flex-direction: column; min-width: 0; min-height: 0; }
.room-header {
  display: flex; align-items: center; gap: 10px; padding: 10px 16px;
  border-bottom: 1px solid var(--line); background: var(--panel); min-height: 50px;
}
.room-header h2 { font-size: 16px; margin: 0; flex: 1; overflow: hidden; text-overflow: ellipsis; }
.invite {
  display: flex; gap: 6px; align-items: center; padding: 8px 16px; background: var(--panel);
  border-bottom: 1px solid var(--line);
}
.invite input { flex: 1; }
.messages { flex: 1; overflow-y: auto; padding: 10px 16px; }
.msg {
  display: grid; grid-template-columns: 3.4em 6.4em 1fr; gap: 8px; padding: 3px 6px;
  border-radius: 4px; align-items: baseline;
}
.msg.mine { background: var(--mine); }
.msg time { color: var(--muted); font-variant-numeric: tabular-nums; }
.msg .text { white-space: pre-wrap; overflow-wrap: anywhere; }
.day {
  text-align: center; color: var(--muted); font-size: 12px; margin: 10px 0 4px;
}
.older { display: block; margin: 0 auto 10px; }
.placeholder { margin: auto; text-align: center; padding: 40px; }
.composer {
  display: flex; gap: 8px; padding: 10px 16px; border-top: 1px solid var(--line);
  background: var(--panel);
}
.composer textarea { resize: none; min-height: 36px; max-height: 30vh; }
.chat-error { padding: 0 16px 8px; background: var(--panel); margin: 0; }
</style>
</head>
<body>
<aside>
  <header class="brand">
    <h1>Backspace</h1>
    <div id="me" class="me muted"></div>
  </header>
  <nav id="rooms" aria-label="Rooms"></nav>
  <form id="join-form" class="panel" autocomplete="off">
    <h2>Join a room</h2>
    <input id="join-name" placeholder="Room name or invite" aria-label="Room name or invite"
      required>
    <input id="join-password" type="password" placeholder="Password (optional)" autocomplete="off"
      aria-label="Room password">
    <button class="primary">Join</button>
    <p id="join-error" class="error" role="alert" hidden></p>
  </form>
  <form id="create-form" class="panel" autocomplete="off">
    <h2>New private room</h2>
    <input id="create-name" placeholder="Name (only invitees see it)"
      aria-label="Private room name">
    <button>Create</button>
    <p id="create-error" class="error" role="alert" hidden></p>
  </form>
  <p id="side-error" class="error" role="alert" hidden></p>
  <footer id="status" class="status muted">Connecting</footer>
</aside>
<main>
  <header id="room-header" class="room-header"></header>
  <div id="invite" class="invite" hidden>
    <span class="muted">Invite</span>
    <input id="invite-text" class="mono" readonly aria-label="Invite">
    <button id="invite-copy" type="button">Copy</button>
  </div>
  <div id="messages" class="messages" role="log" aria-live="polite"></div>
  <p id="chat-error" class="error chat-error" role="alert" hidden></p>
  <form id="composer" class="composer" hidden>
    <textarea id="text" rows="1" aria-label="Message"
      placeholder="Message (Enter sends, Shift+Enter for a new line)"></textarea>
    <button id="send" class="primary">Send</button>
  </form>
</main>
<script nonce="${nonce}">
'use strict'
const PAGE = 50
const token = new URLSearchParams(location.search).get('token') || ''
const $ = (id) => document.getElementById(id)

const view = {
  me: null, // { fingerprint, incognito }
  rooms: [], // rooms as the server lists them
  current: null, // the id of the room on screen
  messages: [], // its messages, in the order the library gave them
  older: false, // whether older messages may exist
  unread: new Map(), // room id -> messages that came while another room was on screen
  refreshing: false,
  again: false
}

// Elements are built here; strings are appended as text nodes, never parsed as HTML.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value)
    else if (key === 'class') el.className = value
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  for (const child of children)
    if (child !== null && child !== undefined && child !== false) el.append(child)
  return el
}

async function api(method, path, body) {
  const init = { method, headers: { 'x-backspace-token': token } }
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  let res
  try {
    res = await fetch(path, init)
  } catch {
    throw new Error('The desktop shell is not running')
  }
  const data = await res.json().catch(() => null)
  if (!res.ok) throw new Error(data && data.error ? data.error.message : 'HTTP ' + res.status)
  return data
}

function query(params) {
  const out = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) if (value !== undefined) out.set(key, value)
  return out.toString()
}

function showError(id, err) {
  const el = $(id)
  const list = $('messages')
  // The error line takes room from the message list; keep its latest message in view.
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40
  el.textContent = err ? err.message : ''
  el.hidden = !err
  if (atBottom) list.scrollTop = list.scrollHeight
}

function pad(n) {
  return String(n).padStart(2, '0')
}

function clock(ms) {
  const d = new Date(ms)
  return pad(d.getHours()) + ':' + pad(d.getMinutes())
}

// The first 4 bytes of the fingerprint: enough to tell authors apart at a glance.
function shortAuthor(fp) {
  return fp.slice(0, 9)
}

function authorColor(fp) {
  const hue = (parseInt(fp.slice(0, 4), 16) || 0) % 360
  return 'hsl(' + hue + ' 55% 48%)'
}

function currentRoom() {
  return view.rooms.find((r) => r.id === view.current) || null
}

function roomLabel(room) {
  return room.kind === 'named' ? '#' + room.name : room.name
}

function peersLabel(n) {
  return n === 1 ? '1 peer' : n + ' peers'
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

function renderIdentity() {
  const me = $('me')
  me.replaceChildren()
  if (!view.me) return
  me.append(
    'You are ',
    h('span', { class: 'mono', title: view.me.fingerprint }, view.me.fingerprint)
  )
  if (view.me.incognito) me.append(h('span', { class: 'tag' }, 'incognito'))
}

function renderRooms() {
  const nav = $('rooms')
  nav.replaceChildren()
  if (view.rooms.length === 0) nav.append(h('div', { class: 'empty-rooms muted' }, 'No rooms yet'))
  for (const room of view.rooms) {
    const unread = view.unread.get(room.id) || 0
    nav.append(
      h(
        'button',
        {
          type: 'button',
          class: 'room' + (room.id === view.current ? ' active' : ''),
          'aria-current': room.id === view.current ? 'true' : null,
          onclick: () => select(room.id)
        },
        h('span', { class: 'room-name', title: roomLabel(room) }, roomLabel(room)),
        room.kind === 'private' ? h('span', { class: 'tag' }, 'private') : null,
        unread > 0 ? h('span', { class: 'badge', title: 'unread' }, String(unread)) : null,
        h('span', { class: 'muted', title: peersLabel(room.peers) + ' online' }, String(room.peers))
      )
    )
  }
}

function renderHeader() {
  const header = $('room-header')
  const room = currentRoom()
  header.replaceChildren()
  $('composer').hidden = !room
  $('invite').hidden = !(room && room.invite)
  if (!room) {
    header.append(h('h2', {}, 'No room open'))
    return
  }
  header.append(
    h('h2', { title: roomLabel(room) }, roomLabel(room)),
    h('span', { class: 'muted' }, peersLabel(room.peers) + ' online'),
    h('button', { type: 'button', onclick: () => leave(room) }, 'Leave')
  )
  if (room.invite && $('invite-text').value !== room.invite) {
    $('invite-text').value = room.invite
    $('invite-copy').textContent = 'Copy'
  }
}

function renderMessages() {
  const list = $('messages')
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40
  list.replaceChildren()
  if (!view.current) {
    list.append(
      h(
        'div',
        { class: 'placeholder muted' },
        'Join a room, or create a private one and share its invite.'
      )
    )
    return
  }
  if (view.older)
    list.append(
      h('button', { type: 'button', class: 'older', onclick: loadOlder }, 'Load older messages')
    )
  if (view.messages.length === 0)
    list.append(h('div', { class: 'placeholder muted' }, 'No messages yet'))
  let day = null
  for (const m of view.messages) {
    const date = new Date(m.timestamp)
    if (date.toDateString() !== day) {
      day = date.toDateString()
      list.append(
        h('div', { class: 'day' }, date.toLocaleDateString(undefined, { dateStyle: 'full' }))
      )
    }
    const author = h('span', { class: 'mono', title: m.author }, shortAuthor(m.author))
    author.style.color = authorColor(m.author)
    list.append(
      h(
        'div',
        { class: 'msg' + (view.me && m.author === view.me.fingerprint ? ' mine' : '') },
        h(
          'time',
          { datetime: date.toISOString(), title: date.toLocaleString() },
          clock(m.timestamp)
        ),
        author,
        h('span', { class: 'text' }, m.text)
      )
    )
  }
  if (atBottom) list.scrollTop = list.scrollHeight
}

function setStatus(text, up) {
  const el = $('status')
  el.textContent = text
  el.className = 'status muted ' + (up ? 'up' : 'down')
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

async function loadState() {
  const state = await api('GET', '/api/state')
  view.me = state.identity
  view.rooms = state.rooms
  if (view.current && !currentRoom()) select(null)
  renderIdentity()
  renderRooms()
  renderHeader()
  showError('side-error', null)
}

function select(id) {
  view.current = id
  view.messages = []
  view.older = false
  if (id) view.unread.delete(id)
  // The room on screen survives a reload.
  history.replaceState(null, '', location.search + (id ? '#' + id : ''))
  showError('chat-error', null)
  renderRooms()
  renderHeader()
  renderMessages()
  if (id) {
    refresh()
    $('text').focus()
  }
}

// Fetches the latest page of the room on screen. Calls made while one runs coalesce into one more.
async function refresh() {
  const id = view.current
  if (!id) return
  if (view.refreshing) {
    view.again = true
    return
  }
  view.refreshing = true
  try {
    const page = await api('GET', '/api/messages?' + query({ room: id, limit: PAGE }))
    if (view.current === id) merge(page.messages)
  } catch (err) {
    if (view.current === id) showError('chat-error', err)
  } finally {
    view.refreshing = false
    if (view.again) {
      view.again = false
      refresh()
    }
  }
}

// Keeps older pages already on screen: the latest page replaces everything from its first
// message on.
function merge(page) {
  const first = page[0]
  const at = first ? view.messages.findIndex((m) => m.id === first.id) : -1
  if (at >= 0) {
    view.messages = view.messages.slice(0, at).concat(page)
  } else {
    view.messages = page
    view.older = page.length === PAGE
  }
  renderMessages()
}

async function loadOlder(event) {
  const id = view.current
  const first = view.messages[0]
  if (!id || !first) return
  event.target.disabled = true
  try {
    const page = await api(
      'GET',
      '/api/messages?' + query({ room: id, limit: PAGE, before: first.id })
    )
    if (view.current !== id) return
    const list = $('messages')
    const fromBottom = list.scrollHeight - list.scrollTop
    view.messages = page.messages.concat(view.messages)
    view.older = page.messages.length === PAGE
    renderMessages()
    list.scrollTop = list.scrollHeight - fromBottom
  } catch (err) {
    showError('chat-error', err)
    event.target.disabled = false
  }
}

// ---------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------

async function leave(room) {
  if (!confirm('Leave ' + roomLabel(room) + '? This deletes its history from this device.')) return
  try {
    await api('POST', '/api/leave', { room: room.id })
    await loadState()
  } catch (err) {
    showError('chat-error', err)
  }
}

function onSubmit(formId, errorId, action) {
  const form = $(formId)
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const button = form.querySelector('button')
    button.disabled = true
    try {
      await action()
      showError(errorId, null)
    } catch (err) {
      showError(errorId, err)
    } finally {
      button.disabled = false
    }
  })
}

async function opened(room) {
  await loadState()
  select(room.id)
}

onSubmit('join-form', 'join-error', async () => {
  const password = $('join-password').value
  const room = await api('POST', '/api/join', {
    name: $('join-name').value,
    password: password === '' ? undefined : password
  })
  $('join-name').value = ''
  $('join-password').value = ''
  await opened(room)
})

onSubmit('create-form', 'create-error', async () => {
  const name = $('create-name').value
  const room = await api('POST', '/api/create', { name: name === '' ? undefined : name })
  $('create-name').value = ''
  await opened(room)
})

onSubmit('composer', 'chat-error', async () => {
  const text = $('text').value
  if (!view.current || text === '') return
  await api('POST', '/api/send', { room: view.current, text })
  $('text').value = ''
  $('text').focus()
})

$('text').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault()
    $('composer').requestSubmit()
  }
})

$('invite-copy').addEventListener('click', async () => {
  const input = $('invite-text')
  try {
    await navigator.clipboard.writeText(input.value)
    $('invite-copy').textContent = 'Copied'
  } catch {
    input.select()
  }
})

// ---------------------------------------------------------------------------
// Live events
// ---------------------------------------------------------------------------

function data(event) {
  return JSON.parse(event.data)
}

function connect() {
  const events = new EventSource('/api/events?' + query({ token }))
  events.addEventListener('open', () => {
    // After a reconnect, anything may have changed.
    loadState().then(
      () => {
        setStatus('Connected', true)
        refresh()
      },
      (err) => showError('side-error', err)
    )
  })
  events.addEventListener('error', () => {
    if (events.readyState === EventSource.CLOSED) {
      setStatus('Disconnected: restart the shell and open its new address', false)
    } else {
      setStatus('Reconnecting', false)
    }
  })
  events.addEventListener('message', (event) => {
    const m = data(event)
    if (m.room === view.current) {
      refresh()
    } else {
      view.unread.set(m.room, (view.unread.get(m.room) || 0) + 1)
      renderRooms()
    }
  })
  events.addEventListener('message-withdrawn', (event) => {
    if (data(event).room === view.current) refresh()
  })
  events.addEventListener('room-add', () =>
    loadState().catch((err) => showError('side-error', err))
  )
  events.addEventListener('room-remove', (event) => {
    view.unread.delete(data(event).room)
    loadState().catch((err) => showError('side-error', err))
  })
  events.addEventListener('peers', (event) => {
    const { room, peers } = data(event)
    const known = view.rooms.find((r) => r.id === room)
    if (!known) return
    known.peers = peers
    renderRooms()
    if (room === view.current) renderHeader()
  })
}

renderHeader()
renderMessages()
loadState().then(
  () => {
    const id = location.hash.slice(1)
    if (view.rooms.some((r) => r.id === id)) select(id)
  },
  (err) => showError('side-error', err)
)
connect()
</script>
</body>
</html>
`
}
