// The page's script: plain browser JavaScript in a string, so there is no build step. It keeps
// one WebSocket to the shell (protocol.ts), shows the account screens or the chat, and sends
// what the user types as is: slash commands run in the library, as in the terminal.
// Text goes in with textContent and text nodes only; no string is ever parsed as HTML.
export const SCRIPT = String.raw`
'use strict'
const PAGE = 50
const token = new URLSearchParams(location.search).get('token') || ''
const $ = (id) => document.getElementById(id)

const view = {
  phase: null,
  setup: null, // the account screens' data
  step: null, // the account screen shown
  flow: null, // the account being made: { source, value, words, fingerprint }
  unlockAccount: null,
  beforeOpening: null, // the account screen to go back to if opening fails
  me: null,
  rooms: [],
  status: { connections: 0, peers: 0 },
  current: null, // the id of the room shown
  messages: [], // its messages, in the library's order (by their order key)
  more: false, // older messages may exist
  loadingOlder: false,
  refreshing: false,
  again: false,
  during: null, // while a page is fetched: id -> the message's newest state (null: withdrawn)
  quickReactions: [],
  replyTo: null, // the message the composer answers
  editing: null, // { id, editor }: the message edited in place
  picker: null, // the id of the message whose reaction bar is open
  notices: new Map(), // room id ('' for none) -> [{ level, text, time }]
  hidden: new Map(), // room id -> ids of messages /clear hid
  completion: null, // { from, candidates, index }
  maxBytes: 16384 // the library's MAX_TEXT_BYTES, from the chat state
}

// ---------------------------------------------------------------------------
// The WebSocket
// ---------------------------------------------------------------------------

const link = { ws: null, nextId: 1, pending: new Map(), retries: 0, closed: false }

function connect() {
  const ws = new WebSocket('ws://' + location.host + '/ws?token=' + encodeURIComponent(token))
  link.ws = ws
  ws.addEventListener('open', () => {
    link.retries = 0
    setLinkState('Connected', true)
    // After a reconnect anything may have changed: start from the whole state.
    request('state').then(applyState, showGlobalError)
  })
  ws.addEventListener('message', (event) => {
    const frame = JSON.parse(event.data)
    if (frame.event) return onEvent(frame.event, frame.data)
    const waiter = link.pending.get(frame.id)
    if (!waiter) return
    link.pending.delete(frame.id)
    if (frame.error) {
      const err = new Error(frame.error.message)
      err.code = frame.error.code
      waiter.reject(err)
    } else {
      waiter.resolve(frame.result)
    }
  })
  ws.addEventListener('close', (event) => {
    // 1001: the shell said it is closing (Ctrl-C, /quit elsewhere); there is nothing to retry.
    if (event.code === 1001) link.closed = true
    const gone = new Error('The shell is not reachable')
    for (const waiter of link.pending.values()) waiter.reject(gone)
    link.pending.clear()
    if (link.closed) return applyState({ phase: 'closed' })
    setLinkState('Reconnecting', false)
    const delay = Math.min(5000, 250 * 2 ** link.retries++)
    setTimeout(connect, delay)
  })
}

function request(type, args) {
  const ws = link.ws
  if (!ws || ws.readyState !== WebSocket.OPEN) {
    return Promise.reject(new Error('Not connected to the shell'))
  }
  const id = link.nextId++
  return new Promise((resolve, reject) => {
    link.pending.set(id, { resolve, reject })
    ws.send(JSON.stringify(Object.assign({ id, type }, args || {})))
  })
}

function onEvent(name, data) {
  switch (name) {
    case 'state':
      return applyState(data)
    case 'room-add':
      if (!view.rooms.some((r) => r.id === data.id)) view.rooms.push(data)
      return renderChrome()
    case 'room':
      view.rooms = view.rooms.map((r) => (r.id === data.id ? data : r))
      return renderChrome()
    case 'room-remove':
      return removeRoom(data.room)
    case 'message':
      return onMessage(data.room, data.message)
    case 'message-update':
      if (data.room === view.current) updateMessage(data.message)
      return
    case 'unread':
      // The counts are the library's; the room on screen is read as messages arrive in it.
      view.rooms = view.rooms.map((r) =>
        r.id === data.room ? Object.assign({}, r, { unread: data.unread, mentions: data.mentions }) : r
      )
      if (data.room === view.current && data.unread > 0 && !document.hidden) markShown(data.room)
      return renderRooms()
    case 'message-withdrawn':
      if (data.room === view.current) removeMessage(data.id)
      return
    case 'status':
      view.status = data
      return renderStatus()
    case 'identity':
      view.me = data
      return renderChrome()
    case 'device-request':
      return showDeviceRequest(data)
    case 'notice':
      return addNotice(data.room, data.level, data.text)
  }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

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

function showError(id, err) {
  const el = $(id)
  el.textContent = err ? say(err) : ''
  el.hidden = !err
}

// A device link's errors are met in normal use: the sentence, without the code.
function say(err) {
  const prefix = err.code ? err.code + ': ' : ''
  if (/^DEVICE_LINK_/.test(err.code || '') && err.message.startsWith(prefix)) {
    return err.message.slice(prefix.length)
  }
  return err.message
}

function showGlobalError(err) {
  addNotice(view.current || '', 'error', err.message)
}

function pad(n) {
  return String(n).padStart(2, '0')
}

function clock(ms) {
  const d = new Date(ms)
  return pad(d.getHours()) + ':' + pad(d.getMinutes())
}

function plural(n, one, many) {
  return n + ' ' + (n === 1 ? one : many)
}

function roomLabel(room) {
  return (room.kind === 'named' ? '#' : '~') + room.name + (twinOf(room) ? '·' + room.tag : '')
}

// Another joined room shows the same name (a wrong password makes one): the tag tells them apart.
function twinOf(room) {
  return view.rooms.some((r) => r.id !== room.id && r.kind === room.kind && r.name === room.name)
}

function currentRoom() {
  return view.rooms.find((r) => r.id === view.current) || null
}

function busy(form, on) {
  for (const button of form.querySelectorAll('button')) button.disabled = on
}

// ---------------------------------------------------------------------------
// Phases
// ---------------------------------------------------------------------------

function applyState(state) {
  view.phase = state.phase
  $('closed').hidden = state.phase !== 'closed'
  $('setup').hidden = !['setup', 'unlock', 'opening'].includes(state.phase)
  $('chat').hidden = state.phase !== 'chat'
  if (state.phase === 'opening') {
    if (view.step !== 'opening') view.beforeOpening = view.step
    const linking = state.linking
    $('opening-title').textContent = linking ? 'Waiting for approval' : 'Opening'
    $('opening-text').hidden = !!linking
    $('opening-linking').hidden = !linking
    if (linking) {
      $('linking-fingerprint').textContent = linking.fingerprint
      $('linking-expires').textContent = clock(linking.expiresAt)
    }
    return showStep('opening')
  }
  if (state.phase === 'setup' || state.phase === 'unlock') return applySetup(state)
  if (state.phase === 'chat') return applyChat(state.chat)
  if (state.phase === 'closed') {
    link.closed = true
    setLinkState('Closed', false)
  }
}

function applySetup(state) {
  view.setup = state.setup
  renderAccounts()
  if (state.phase === 'unlock' && !view.unlockAccount) view.unlockAccount = state.setup.account
  // A failed attempt goes back to the screen it came from, with the reason.
  const back = view.step === 'opening' ? view.beforeOpening : view.step
  let step = back || (view.unlockAccount ? 'unlock' : 'welcome')
  // A link that failed is not tried again: back to pasting a new one.
  if (view.flow && view.flow.source === 'link' && step === 'password') step = 'link'
  if (step === 'unlock') $('unlock-account').textContent = view.unlockAccount
  showStep(step)
  if (state.error && $(step + '-error')) showError(step + '-error', state.error)
}

function applyChat(chat) {
  const first = view.me === null
  view.me = chat.identity
  view.rooms = chat.rooms
  view.status = chat.status
  view.quickReactions = chat.quickReactions || []
  view.maxBytes = chat.maxMessageBytes || 16384
  view.step = null
  view.flow = null
  // The recovery words have been written down; they leave the page.
  $('words').replaceChildren()
  renderChrome()
  renderStatus()
  if (view.current && !currentRoom()) view.current = null
  if (first || !view.current) {
    // The room on screen survives a reload.
    const wanted = location.hash.slice(1)
    const room = view.rooms.find((r) => r.id === wanted) || view.rooms[0] || null
    select(room ? room.id : null)
    $('text').focus()
  } else {
    refresh()
  }
}

// ---------------------------------------------------------------------------
// Account screens
// ---------------------------------------------------------------------------

function showStep(step) {
  view.step = step
  for (const el of document.querySelectorAll('[data-step]')) el.hidden = el.id !== 'step-' + step
  for (const el of document.querySelectorAll('.setup .error')) el.hidden = true
  const section = $('step-' + step)
  const target = section.querySelector('input:not([type=radio]), textarea, button.primary')
  if (target) target.focus()
}

function renderAccounts() {
  const list = $('account-list')
  list.replaceChildren()
  const accounts = view.setup ? view.setup.accounts : []
  $('open-accounts').hidden = accounts.length === 0
  for (const account of accounts) {
    list.append(
      h(
        'button',
        { type: 'button', onclick: () => openAccount(account) },
        account.name,
        account.encrypted ? h('span', { class: 'tag' }, 'password') : null
      )
    )
  }
}

function openAccount(account) {
  if (account.encrypted) {
    view.unlockAccount = account.name
    $('unlock-account').textContent = account.name
    $('unlock-password').value = ''
    return showStep('unlock')
  }
  request('setup-open', { account: account.name }).catch((err) => showError('welcome-error', err))
}

function back(to) {
  if (to) return showStep(to)
  view.flow = null
  view.unlockAccount = null
  showStep('welcome')
}

function confirmIndexes() {
  // Three different words, picked at random: enough to catch a careless copy.
  const picked = new Set()
  while (picked.size < 3) picked.add(Math.floor(Math.random() * 24))
  return [...picked].sort((a, b) => a - b)
}

$('choose-new').addEventListener('click', async () => {
  try {
    const made = await request('setup-generate')
    view.flow = { source: 'new', words: made.words, fingerprint: made.fingerprint }
    $('words').replaceChildren(...made.words.map((w) => h('li', {}, w)))
    $('words-fingerprint').textContent = made.fingerprint
    showStep('words')
  } catch (err) {
    showError('welcome-error', err)
  }
})

$('words-done').addEventListener('click', () => {
  const fields = $('confirm-fields')
  fields.replaceChildren()
  view.flow.confirm = confirmIndexes()
  for (const i of view.flow.confirm) {
    const id = 'confirm-' + i
    fields.append(
      h('label', { for: id }, 'Word ' + (i + 1)),
      h('input', {
        id,
        class: 'mono confirm-word',
        'data-index': i,
        spellcheck: 'false',
        autocapitalize: 'off',
        required: true
      })
    )
  }
  showStep('confirm')
})

$('step-confirm').addEventListener('submit', (event) => {
  event.preventDefault()
  for (const input of document.querySelectorAll('.confirm-word')) {
    const i = Number(input.dataset.index)
    if (input.value.trim().toLowerCase() !== view.flow.words[i]) {
      showError('confirm-error', new Error('Word ' + (i + 1) + ' does not match. Check your copy.'))
      input.focus()
      return
    }
  }
  toPassword()
})

$('choose-restore').addEventListener('click', () => {
  $('restore-phrase').value = ''
  showStep('restore')
})
$('choose-import').addEventListener('click', () => {
  $('import-key').value = ''
  showStep('import')
})
$('choose-link').addEventListener('click', () => {
  $('link-text').value = ''
  showStep('link')
})

$('step-link').addEventListener('submit', (event) => {
  event.preventDefault()
  const value = $('link-text').value.trim()
  if (!value.startsWith('backspace-device:')) {
    return showError('link-error', new Error('That is not a device link: it starts with backspace-device:'))
  }
  view.flow = { source: 'link', value, fingerprint: null }
  toPassword()
})

$('linking-cancel').addEventListener('click', () => {
  request('setup-cancel').catch(showGlobalError)
})

async function preview(form, source, value, errorId) {
  busy(form, true)
  try {
    const found = await request('setup-preview', { source, value })
    view.flow = { source, value, fingerprint: found.fingerprint }
    toPassword()
  } catch (err) {
    showError(errorId, err)
  } finally {
    busy(form, false)
  }
}

$('restore-phrase').addEventListener('keydown', (event) => {
  // The phrase is one line of words: Enter continues, as in the other steps.
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault()
    $('step-restore').requestSubmit()
  }
})

$('step-restore').addEventListener('submit', (event) => {
  event.preventDefault()
  preview($('step-restore'), 'phrase', $('restore-phrase').value, 'restore-error')
})
$('step-import').addEventListener('submit', (event) => {
  event.preventDefault()
  preview($('step-import'), 'secret-key', $('import-key').value, 'import-error')
})

function toPassword() {
  const setup = view.setup
  $('password-identity').textContent =
    view.flow.source === 'link'
      ? 'This device joins the identity of your other device once it approves.'
      : (view.flow.source === 'new' ? 'New identity ' : 'Restoring identity ') + view.flow.fingerprint
  // A taken name would only fail at the end: offer it only while it is free.
  const taken = setup.accounts.some((a) => a.name === setup.account)
  $('account-name').value = taken && !setup.accountFixed ? '' : setup.account
  $('account-name').disabled = setup.accountFixed
  $('password-given').hidden = !setup.passwordGiven
  $('password-choice').hidden = setup.passwordGiven
  $('password').value = ''
  $('password-repeat').value = ''
  showStep('password')
}

for (const radio of document.querySelectorAll('input[name=protect]')) {
  radio.addEventListener('change', () => {
    $('password-fields').hidden = protection() !== 'password'
  })
}

function protection() {
  return document.querySelector('input[name=protect]:checked').value
}

$('step-password').addEventListener('submit', async (event) => {
  event.preventDefault()
  const form = $('step-password')
  let password = null
  if (!view.setup.passwordGiven && protection() === 'password') {
    password = $('password').value
    if (password === '') {
      $('password').focus()
      return showError('password-error', new Error('Choose a password, or choose no password.'))
    }
    if (password !== $('password-repeat').value) {
      $('password-repeat').focus()
      return showError('password-error', new Error('The two passwords differ.'))
    }
  }
  busy(form, true)
  const linking = view.flow.source === 'link'
  try {
    if (linking) {
      await request('setup-link', { link: view.flow.value, account: $('account-name').value.trim(), password })
    } else {
      await request('setup-create', {
        source: view.flow.source,
        value: view.flow.value,
        account: $('account-name').value.trim(),
        password
      })
    }
  } catch (err) {
    if (linking && view.step !== 'password') showStep('link')
    showError(linking && view.step === 'link' ? 'link-error' : 'password-error', err)
  } finally {
    busy(form, false)
  }
})

$('step-unlock').addEventListener('submit', async (event) => {
  event.preventDefault()
  const form = $('step-unlock')
  busy(form, true)
  try {
    await request('setup-open', {
      account: view.unlockAccount,
      password: $('unlock-password').value
    })
  } catch (err) {
    showError('unlock-error', err)
    $('unlock-password').select()
  } finally {
    busy(form, false)
  }
})

$('choose-incognito').addEventListener('click', () => {
  request('setup-incognito').catch((err) => showError('welcome-error', err))
})

for (const button of document.querySelectorAll('[data-back]')) {
  button.addEventListener('click', () => back(button.dataset.back))
}

// ---------------------------------------------------------------------------
// Device requests: a new device asks to join this identity
// ---------------------------------------------------------------------------

function showDeviceRequest(data) {
  const dialog = $('device-dialog')
  if (!data) {
    if (dialog.open) dialog.close()
    return
  }
  $('device-dialog-fingerprint').textContent = data.fingerprint
  $('device-dialog-name').textContent = data.name ? 'It calls itself "' + data.name + '".' : ''
  showError('device-dialog-error', null)
  for (const b of dialog.querySelectorAll('button')) b.disabled = false
  if (!dialog.open) dialog.showModal()
}

async function answerDevice(approve) {
  const dialog = $('device-dialog')
  for (const b of dialog.querySelectorAll('button')) b.disabled = true
  try {
    const answer = await request('device-answer', { approve })
    if (dialog.open) dialog.close()
    addNotice(
      view.current || '',
      'info',
      answer.device ? 'Linked device ' + answer.device.fingerprint + '.' : 'Denied the device.'
    )
  } catch (err) {
    showError('device-dialog-error', err)
    for (const b of dialog.querySelectorAll('button')) b.disabled = false
  }
}

$('device-approve').addEventListener('click', () => answerDevice(true))
$('device-deny').addEventListener('click', () => answerDevice(false))

// ---------------------------------------------------------------------------
// Chat rendering
// ---------------------------------------------------------------------------

function renderChrome() {
  renderMe()
  renderRooms()
  renderHeader()
  renderStatus()
}

function renderMe() {
  const me = $('me')
  me.replaceChildren()
  $('whoami').textContent = ''
  if (!view.me) return
  if (view.me.name) me.append(h('bdi', { class: 'name' }, h('strong', {}, view.me.name)), ' ')
  me.append(h('span', { class: 'mono', title: 'Your key fingerprint' }, view.me.fingerprint))
  if (view.me.incognito) me.append(h('span', { class: 'tag' }, 'incognito'))
  else me.append(h('span', { class: 'tag', title: 'Account' }, view.me.account))
  $('whoami').textContent = (view.me.name ? view.me.name + ' ' : '') + view.me.fingerprint
}

function renderRooms() {
  const nav = $('rooms')
  nav.replaceChildren()
  if (view.rooms.length === 0) nav.append(h('div', { class: 'muted' }, 'No rooms yet'))
  let unreadTotal = 0
  for (const room of view.rooms) {
    const active = room.id === view.current
    // The room on screen is being read: its count only shows while the page is hidden.
    const shown = active && !document.hidden
    const unread = shown ? 0 : room.unread || 0
    const mention = !shown && room.mentions > 0
    unreadTotal += unread
    const label =
      roomLabel(room) +
      (room.locked ? ', password room' : '') +
      (unread ? ', ' + plural(unread, 'unread message', 'unread messages') : '') +
      (mention ? ', mentions you' : '')
    nav.append(
      h(
        'button',
        {
          type: 'button',
          class: 'room' + (active ? ' active' : '') + (unread ? ' unread' : ''),
          'aria-current': active ? 'true' : null,
          'aria-label': label,
          'data-room': room.id,
          onclick: () => {
            select(room.id)
            closeDrawer()
            $('text').focus()
          }
        },
        room.locked
          ? h('span', { class: 'lock', title: 'Password room: another password makes another room' }, '🔒')
          : null,
        h('span', { class: 'room-name' }, roomLabel(room)),
        room.kind === 'private' ? h('span', { class: 'tag' }, 'private') : null,
        unread > 0
          ? h('span', { class: mention ? 'badge mention' : 'badge' }, (mention ? '@' : '') + unread)
          : null
      )
    )
  }
  $('drawer-toggle').textContent = unreadTotal ? 'Rooms (' + unreadTotal + ')' : 'Rooms'
}

function renderHeader() {
  const room = currentRoom()
  $('room-title').textContent = room ? roomLabel(room) : 'No room open'
  $('room-title').title = room ? roomLabel(room) : ''
  $('room-peers').textContent = room ? plural(room.peers, 'peer', 'peers') + ' here' : ''
  $('leave').hidden = !room
  $('invite').hidden = !room
  if (room && $('invite-text').value !== room.invite) {
    $('invite-text').value = room.invite
    $('invite-copy').textContent = 'Copy'
  }
}

function renderStatus() {
  $('peer-count').textContent = plural(view.status.peers, 'peer', 'peers')
  $('room-count').textContent = plural(view.rooms.length, 'room', 'rooms')
}

function setLinkState(text, up) {
  const el = $('link-state')
  el.textContent = text
  el.className = 'state' + (up ? ' up' : '')
}

function renderMessages() {
  const list = $('messages')
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40
  const focus = focusOf(list)
  list.replaceChildren()
  const key = view.current || ''
  const hidden = view.hidden.get(key)
  const messages = hidden ? view.messages.filter((m) => !hidden.has(m.id)) : view.messages
  const notices = view.notices.get(key) || []
  if (!view.current && notices.length === 0) {
    list.append(
      h(
        'p',
        { class: 'placeholder muted' },
        'Join a room (or /join name), or create a private one and share its invite.'
      )
    )
  }
  if (view.current && view.more && !hidden) {
    list.append(
      h('button', { type: 'button', class: 'older', onclick: loadOlder }, 'Load older messages')
    )
  }
  // Notices are the shell's own lines; they sit between messages by the time they came.
  let n = 0
  let day = null
  const dayOf = (time) => {
    const date = new Date(time)
    if (date.toDateString() === day) return
    day = date.toDateString()
    const label = date.toLocaleDateString(undefined, { dateStyle: 'full' })
    list.append(h('div', { class: 'day' }, label))
  }
  for (const m of messages) {
    while (n < notices.length && notices[n].time < m.timestamp) {
      list.append(noticeLine(notices[n++]))
    }
    dayOf(m.timestamp)
    list.append(messageLine(m))
  }
  while (n < notices.length) list.append(noticeLine(notices[n++]))
  if (atBottom) list.scrollTop = list.scrollHeight
  restoreFocus(focus)
}

// What has the focus inside the message list, to give it back after a redraw.
function focusOf(root) {
  const el = document.activeElement
  if (!el || !root.contains(el) || el === root) return null
  const line = el.closest('.msg')
  if (!line) return null
  return { id: line.dataset.id, action: el.dataset.action || null, editor: el.classList.contains('editor') }
}

function restoreFocus(focus) {
  if (!focus) return
  const line = lineOf(focus.id)
  if (!line) return
  let target = line
  if (focus.editor) target = line.querySelector('.editor') || line
  else if (focus.action) {
    for (const el of line.querySelectorAll('[data-action]')) {
      if (el.dataset.action === focus.action) target = el
    }
  }
  target.focus({ preventScroll: true })
}

function lineOf(id) {
  for (const el of $('messages').children) if (el.dataset && el.dataset.id === id) return el
  return null
}

function messageLine(m) {
  const date = new Date(m.timestamp)
  const who = h(
    'span',
    { class: 'who', title: m.author },
    m.kind === 'action' && !m.deleted ? '* ' : null,
    // The name is isolated (bdi) and the fingerprint is its own element after a space: no name
    // can reorder, hide or run into the fingerprint, for eyes or screen readers.
    m.name ? h('bdi', { class: 'name' }, m.name) : null,
    m.name ? ' ' : null,
    h('span', { class: 'fp mono' }, m.fingerprint)
  )
  const classes = ['msg']
  if (m.self) classes.push('mine')
  if (m.mention && !m.deleted) classes.push('mention')
  if (m.kind === 'action') classes.push('action')
  if (m.deleted) classes.push('deleted')
  if (view.replyTo && view.replyTo.id === m.id) classes.push('answering')
  const editing = view.editing && view.editing.id === m.id && !m.deleted ? view.editing : null
  let text
  if (m.deleted) text = h('span', { class: 'tombstone' }, 'message deleted')
  else if (editing) text = editing.editor
  else text = h('span', { class: 'text' }, m.text)
  return h(
    'div',
    {
      class: classes.join(' '),
      'data-id': m.id,
      tabindex: '-1',
      'aria-label': (m.name || m.fingerprint) + ' at ' + clock(m.timestamp) + (m.deleted ? ', deleted' : '')
    },
    h('time', { datetime: date.toISOString(), title: date.toLocaleString() }, clock(m.timestamp)),
    h(
      'span',
      { class: 'body' },
      m.replyTo && !m.deleted ? quoteLine(m.replyTo) : null,
      who,
      ' ',
      text,
      m.edited && !m.deleted && !editing ? h('span', { class: 'edited muted' }, ' (edited)') : null,
      m.reactions.length && !m.deleted ? reactionChips(m) : null
    ),
    m.deleted ? null : messageActions(m)
  )
}

// The one line a reply shows of the message it answers; a click shows that message.
function quoteLine(reply) {
  const who = reply.name || (reply.fingerprint || '').split('-')[0]
  const body = !reply.loaded ? 'a message not loaded here' : reply.deleted ? 'message deleted' : reply.text
  return h(
    'button',
    {
      type: 'button',
      class: 'quote' + (reply.deleted ? ' gone' : ''),
      tabindex: '-1',
      title: reply.loaded ? 'Show the message answered' : 'Not loaded here',
      onclick: () => {
        const line = lineOf(reply.id)
        if (!line) return
        line.scrollIntoView({ block: 'center' })
        line.focus({ preventScroll: true })
      }
    },
    '↳ ',
    reply.loaded && who ? h('bdi', { class: 'name' }, who) : null,
    reply.loaded && who ? ': ' : null,
    h('span', { class: 'quoted' }, body)
  )
}

function reactionChips(m) {
  return h(
    'span',
    { class: 'reactions', role: 'group', 'aria-label': 'Reactions' },
    ...m.reactions.map((r) =>
      h(
        'button',
        {
          type: 'button',
          class: 'chip' + (r.self ? ' self' : ''),
          'aria-pressed': r.self ? 'true' : 'false',
          title: r.who.join(', ') + (r.count > r.who.length ? ' and ' + (r.count - r.who.length) + ' more' : ''),
          'data-action': 'chip-' + r.emoji,
          onclick: () => toggleReaction(m, r.emoji, r.self)
        },
        r.emoji + ' ' + r.count
      )
    )
  )
}

// Reply and react on every message; edit and delete on your own. Shown on hover and focus.
function messageActions(m) {
  const open = view.picker === m.id
  const bar = h(
    'span',
    { class: 'actions', role: 'toolbar', 'aria-label': 'Message actions' },
    h('span', { class: 'ref mono', title: 'Type this to point at the message: /reply ' + m.ref + ' ...' }, m.ref),
    h('button', { type: 'button', 'data-action': 'reply', title: 'Reply (R)', onclick: () => startReply(m) }, 'Reply'),
    h(
      'button',
      {
        type: 'button',
        'data-action': 'react',
        title: 'React (+)',
        'aria-expanded': open ? 'true' : 'false',
        onclick: () => togglePicker(m.id)
      },
      'React'
    ),
    m.self ? h('button', { type: 'button', 'data-action': 'edit', title: 'Edit (E)', onclick: () => startEdit(m) }, 'Edit') : null,
    m.self
      ? h('button', { type: 'button', 'data-action': 'delete', class: 'danger', title: 'Delete (Del)', onclick: () => deleteMessage(m) }, 'Delete')
      : null
  )
  if (open) {
    bar.append(
      h(
        'span',
        { class: 'picker', role: 'group', 'aria-label': 'Pick a reaction' },
        ...view.quickReactions.map((emoji) => {
          const mine = m.reactions.some((r) => r.emoji === emoji && r.self)
          return h(
            'button',
            {
              type: 'button',
              class: mine ? 'self' : null,
              'aria-pressed': mine ? 'true' : 'false',
              'data-action': 'pick-' + emoji,
              onclick: () => {
                view.picker = null
                toggleReaction(m, emoji, mine)
                replaceLine(m)
              }
            },
            emoji
          )
        })
      )
    )
  }
  return bar
}

function noticeLine(notice) {
  if (notice.table) {
    return h(
      'dl',
      { class: 'notice help' },
      ...notice.table.flatMap((row) => [
        h('dt', { class: 'mono' }, row.usage),
        h('dd', {}, row.description)
      ])
    )
  }
  return h('p', { class: 'notice ' + notice.level }, notice.text)
}

function addNotice(room, level, text, table) {
  const list = view.notices.get(room) || []
  list.push({ level, text, table: table || null, time: Date.now() })
  // Notices are transient; a long session keeps the last two hundred.
  view.notices.set(room, list.slice(-200))
  if (room === (view.current || '')) renderMessages()
}

// ---------------------------------------------------------------------------
// Loading messages
// ---------------------------------------------------------------------------

function select(id) {
  view.current = id
  view.messages = []
  view.more = false
  view.completion = null
  view.editing = null
  view.picker = null
  view.replyTo = null
  renderReplyBar()
  if (id) markShown(id)
  history.replaceState(null, '', location.search + (id ? '#' + id : ''))
  renderChrome()
  renderMessages()
  if (id) refresh()
}

function removeRoom(id) {
  view.rooms = view.rooms.filter((r) => r.id !== id)
  if (view.current === id) {
    const next = view.rooms[0]
    select(next ? next.id : null)
  } else {
    renderChrome()
  }
  renderStatus()
}

// Fetches the latest page of the room shown. Calls during one coalesce into one more.
async function refresh() {
  const id = view.current
  if (!id) return
  if (view.refreshing) {
    view.again = true
    return
  }
  view.refreshing = true
  view.during = new Map()
  try {
    const page = await request('messages', { room: id, limit: PAGE })
    if (view.current === id) merge(page, view.during)
  } catch (err) {
    if (view.current === id) showGlobalError(err)
  } finally {
    view.refreshing = false
    view.during = null
    if (view.again) {
      view.again = false
      refresh()
    }
  }
}

function byOrder(a, b) {
  return a.order < b.order ? -1 : a.order > b.order ? 1 : 0
}

// The latest page replaces everything from its first message on; older pages stay. What
// changed while it was on its way (during) is newer than the page.
function merge(page, during) {
  const first = page.messages[0]
  const kept = first ? view.messages.filter((m) => m.order < first.order) : []
  const ids = new Set(page.messages.map((m) => m.id))
  const fresh = page.messages.map((m) => (during.has(m.id) ? during.get(m.id) : m)).filter(Boolean)
  const arrived = [...during.values()].filter(
    (m) => m && !ids.has(m.id) && (!first || m.order > first.order)
  )
  view.messages = kept.concat(fresh, arrived).sort(byOrder)
  if (kept.length === 0) view.more = page.more
  renderMessages()
  fillScreen()
}

// A new message goes where its order key puts it: nearly always at the end, drawn alone.
function insertMessage(m) {
  if (view.during) view.during.set(m.id, m)
  if (view.messages.some((x) => x.id === m.id)) return updateMessage(m)
  const list = view.messages
  const last = list[list.length - 1]
  if (!last || last.order < m.order) {
    list.push(m)
    return appendLine(m, last)
  }
  // Older than all that is loaded: it comes with the page before, or paging would skip some.
  if (view.more && m.order < list[0].order) return
  list.splice(list.findIndex((x) => m.order < x.order), 0, m)
  renderMessages()
}

function appendLine(m, previous) {
  const list = $('messages')
  const hidden = view.hidden.get(view.current || '')
  if (!list.lastElementChild || !list.lastElementChild.dataset.id || (hidden && hidden.size)) {
    return renderMessages()
  }
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40
  const day = new Date(m.timestamp).toDateString()
  if (previous && new Date(previous.timestamp).toDateString() !== day) {
    list.append(h('div', { class: 'day' }, new Date(m.timestamp).toLocaleDateString(undefined, { dateStyle: 'full' })))
  }
  list.append(messageLine(m))
  if (atBottom) list.scrollTop = list.scrollHeight
}

// A changed message is redrawn alone, keeping the focus and an edit in progress.
function updateMessage(m) {
  if (view.during) view.during.set(m.id, m)
  const at = view.messages.findIndex((x) => x.id === m.id)
  if (at === -1) return
  view.messages[at] = m
  if (view.replyTo && view.replyTo.id === m.id) {
    view.replyTo = m.deleted ? null : m
    renderReplyBar()
  }
  if (m.deleted && view.editing && view.editing.id === m.id) view.editing = null
  replaceLine(m)
}

function replaceLine(m) {
  const old = lineOf(m.id)
  if (!old) return
  const focus = focusOf(old)
  old.replaceWith(messageLine(m))
  restoreFocus(focus)
}

function removeMessage(id) {
  if (view.during) view.during.set(id, null)
  view.messages = view.messages.filter((m) => m.id !== id)
  if (view.replyTo && view.replyTo.id === id) cancelReply()
  if (view.editing && view.editing.id === id) view.editing = null
  const line = lineOf(id)
  if (line) line.remove()
}

function findMessage(id) {
  return view.messages.find((m) => m.id === id) || null
}

// ---------------------------------------------------------------------------
// Acting on one message: reply, react, edit, delete
// ---------------------------------------------------------------------------

function act(type, args) {
  return request(type, Object.assign({ room: view.current }, args)).catch((err) => {
    addNotice(view.current || '', 'error', err.message)
    return null
  })
}

function toggleReaction(m, emoji, mine) {
  act(mine ? 'unreact' : 'react', { message: m.id, emoji })
}

function togglePicker(id) {
  view.picker = view.picker === id ? null : id
  const m = findMessage(id)
  if (m) replaceLine(m)
  const line = lineOf(id)
  const first = line && line.querySelector('.picker button')
  if (first) first.focus()
}

function startReply(m) {
  view.replyTo = m
  renderReplyBar()
  renderMessages()
  $('text').focus()
}

function cancelReply() {
  const id = view.replyTo && view.replyTo.id
  view.replyTo = null
  renderReplyBar()
  const m = id && findMessage(id)
  if (m) replaceLine(m)
}

function renderReplyBar() {
  const m = view.replyTo
  $('reply-bar').hidden = !m
  if (!m) return
  $('reply-who').textContent = m.name || m.fingerprint.split('-')[0]
  $('reply-text').textContent = m.text
}

function startEdit(m) {
  if (!m.self || m.deleted) return
  if (view.editing) stopEdit()
  const editor = h('textarea', {
    class: 'editor',
    rows: String(Math.min(6, m.text.split('\n').length)),
    'aria-label': 'Edit your message; Enter saves, Escape cancels'
  })
  editor.value = m.text
  editor.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault()
      saveEdit()
    } else if (event.key === 'Escape') {
      event.preventDefault()
      event.stopPropagation()
      stopEdit()
      $('text').focus()
    }
  })
  view.editing = { id: m.id, editor }
  replaceLine(m)
  editor.focus()
  editor.setSelectionRange(editor.value.length, editor.value.length)
}

function stopEdit() {
  const editing = view.editing
  view.editing = null
  const m = editing && findMessage(editing.id)
  if (m) replaceLine(m)
}

async function saveEdit() {
  const editing = view.editing
  if (!editing) return
  const m = findMessage(editing.id)
  const text = editing.editor.value
  if (!m || text === m.text || text.trim() === '') {
    stopEdit()
    return $('text').focus()
  }
  editing.editor.disabled = true
  const edited = await act('edit', { message: editing.id, text })
  editing.editor.disabled = false
  if (!edited) return editing.editor.focus()
  if (view.editing === editing) view.editing = null
  updateMessage(edited)
  $('text').focus()
}

async function deleteMessage(m) {
  if (!confirm('Delete this message for everyone?')) return
  await act('delete', { message: m.id })
}

// The message list from the keyboard: Up and Down move between messages; on one, R replies,
// E edits, + reacts and Delete deletes.
$('messages').addEventListener('keydown', (event) => {
  if (event.target.closest('.editor')) return
  const line = event.target.closest('.msg')
  const lines = [...$('messages').querySelectorAll('.msg')]
  if (event.key === 'ArrowUp' || event.key === 'ArrowDown') {
    if (event.altKey || event.ctrlKey || event.metaKey) return
    const at = line ? lines.indexOf(line) : lines.length
    const next = lines[at + (event.key === 'ArrowUp' ? -1 : 1)]
    if (!next) return
    event.preventDefault()
    next.focus()
    return
  }
  if (!line || event.target !== line) return
  const m = findMessage(line.dataset.id)
  if (!m || m.deleted) return
  if (event.key === 'r') startReply(m)
  else if (event.key === 'e' && m.self) startEdit(m)
  else if (event.key === '+') togglePicker(m.id)
  else if (event.key === 'Delete' && m.self) deleteMessage(m)
  else return
  event.preventDefault()
})

// Until the list overflows, there is nothing to scroll: load older history right away.
function fillScreen() {
  const list = $('messages')
  if (view.more && list.scrollHeight <= list.clientHeight) loadOlder()
}

async function loadOlder() {
  const id = view.current
  const first = view.messages[0]
  if (!id || !first || view.loadingOlder || !view.more || view.hidden.has(id)) return
  view.loadingOlder = true
  try {
    const page = await request('messages', { room: id, limit: PAGE, before: first.id })
    if (view.current !== id) return
    const list = $('messages')
    const fromBottom = list.scrollHeight - list.scrollTop
    view.messages = page.messages.concat(view.messages)
    view.more = page.more
    renderMessages()
    list.scrollTop = list.scrollHeight - fromBottom
  } catch (err) {
    showGlobalError(err)
  } finally {
    view.loadingOlder = false
  }
}

$('messages').addEventListener('scroll', () => {
  if ($('messages').scrollTop < 60) loadOlder()
})

function onMessage(room, message) {
  if (room === view.current) insertMessage(message)
}

// The library keeps read positions: tell it the room is on screen.
function markShown(id) {
  request('read', { room: id }).catch(() => {
    // The room was just left, or the shell is gone: there is nothing to mark.
  })
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && view.current) markShown(view.current)
  renderRooms()
})

// ---------------------------------------------------------------------------
// The composer: every line goes to the library's command runner
// ---------------------------------------------------------------------------

// UTF-8 bytes, as the library counts a message against its limit.
const encoder = new TextEncoder()
function byteLength(text) {
  return encoder.encode(text).length
}

// A message (not a command) counts against the limit; /me text too.
function messageBytes(text) {
  if (text.startsWith('/me ')) return byteLength(text.slice(4))
  if (text.startsWith('/') && !text.startsWith('//')) return 0
  return byteLength(text)
}

// The counter shows from 80% of the limit on, and turns red past it.
function renderCount() {
  const bytes = messageBytes($('text').value)
  const el = $('count')
  el.hidden = bytes < view.maxBytes * 0.8
  el.textContent = bytes + ' / ' + view.maxBytes
  el.classList.toggle('over', bytes > view.maxBytes)
  el.title = bytes > view.maxBytes ? 'Too long to send: shorten it or split it' : 'Bytes of the limit'
}

async function submitLine() {
  const input = $('text')
  const text = input.value
  if (text.trim() === '') return
  const room = view.current
  const replyTo = view.replyTo
  hideCompletions()
  const bytes = messageBytes(text)
  if (bytes > view.maxBytes) {
    // Refused here, before it is sent: the text stays to be shortened.
    addNotice(room || '', 'error', 'This message is ' + bytes + ' bytes; the limit is ' + view.maxBytes + '. Shorten it or split it; your text is kept.')
    return renderCount()
  }
  try {
    if (replyTo && !text.startsWith('/')) {
      await request('reply', { room, message: replyTo.id, text })
      if (input.value === text) input.value = ''
    } else {
      // A command while answering acts on the message answered (/react +1).
      const args = replyTo ? { room, text, selected: replyTo.id } : { room, text }
      const result = await request('line', args)
      // A message the library refused keeps its text in the composer.
      if (input.value === text && !result.failed) input.value = ''
      applyLine(room, result)
      if (result.failed) return renderCount()
    }
    if (replyTo && view.replyTo === replyTo) cancelReply()
  } catch (err) {
    addNotice(room || '', 'error', err.message)
  }
  renderCount()
  input.focus()
}

$('text').addEventListener('input', renderCount)

function applyLine(room, result) {
  if (result.clear && room) {
    view.hidden.set(room, new Set(view.messages.map((m) => m.id)))
    view.notices.delete(room)
  }
  let shown = room
  if (result.room && result.room !== room) {
    if (!view.rooms.some((r) => r.id === result.room)) {
      // Its room-add event may still be on its way.
      request('state').then(applyState, showGlobalError)
    }
    shown = result.room
  }
  if (result.left && result.left === view.current) removeRoom(result.left)
  if (shown !== view.current && shown !== result.left) select(shown)
  let notices = result.notices
  if (result.help) {
    // The command table, laid out here; the notices repeat it as text lines.
    addNotice(view.current || '', 'info', '', result.help)
    notices = notices.slice(result.help.length)
  }
  for (const notice of notices) addNotice(view.current || '', notice.level, notice.text)
  if (result.clear) renderMessages()
  if (result.quit) {
    link.closed = true
    applyState({ phase: 'closed' })
  }
}

$('composer').addEventListener('submit', (event) => {
  event.preventDefault()
  submitLine()
})

$('text').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault()
    submitLine()
  } else if (event.key === 'Tab' && !event.shiftKey && !event.ctrlKey && !event.altKey) {
    // Tab completes a non-empty line; with nothing to complete it moves on to Send.
    if ($('text').value.trim() === '') return
    event.preventDefault()
    complete()
  } else if (event.key === 'Escape') {
    if (!$('completions').hidden) hideCompletions()
    else if (view.replyTo) cancelReply()
    else closeDrawer()
  } else if (event.key === 'ArrowUp' && $('text').value === '' && !event.altKey) {
    // As in the terminal: Up on an empty composer edits your last message.
    const own = view.messages.filter((m) => m.self && !m.deleted)
    const last = own[own.length - 1]
    if (!last) return
    event.preventDefault()
    startEdit(last)
    const line = lineOf(last.id)
    if (line) line.scrollIntoView({ block: 'nearest' })
  } else {
    view.completion = null
  }
})

async function complete() {
  const input = $('text')
  const c = view.completion
  if (c && input.value === c.candidates[c.index]) {
    c.index = (c.index + 1) % c.candidates.length
    input.value = c.candidates[c.index]
    return showCompletions()
  }
  try {
    const candidates = await request('complete', { room: view.current, text: input.value })
    const useful = candidates.filter((line) => line !== input.value)
    if (useful.length === 0) {
      hideCompletions()
      return $('send').focus()
    }
    view.completion = { candidates: useful, index: 0 }
    input.value = useful[0]
    showCompletions()
  } catch (err) {
    addNotice(view.current || '', 'error', err.message)
  }
}

function showCompletions() {
  const c = view.completion
  const el = $('completions')
  el.hidden = !c || c.candidates.length < 2
  if (!c) return
  const marked = c.candidates.map((line, i) => (i === c.index ? '[' + line + ']' : line))
  el.textContent = marked.join('  ')
}

function hideCompletions() {
  view.completion = null
  $('completions').hidden = true
}

// ---------------------------------------------------------------------------
// Sidebar actions
// ---------------------------------------------------------------------------

function onSubmit(formId, errorId, action) {
  const form = $(formId)
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    busy(form, true)
    try {
      await action()
      showError(errorId, null)
    } catch (err) {
      showError(errorId, err)
    } finally {
      busy(form, false)
    }
  })
}

function opened(room) {
  if (!view.rooms.some((r) => r.id === room.id)) view.rooms.push(room)
  select(room.id)
  closeDrawer()
  $('text').focus()
}

onSubmit('join-form', 'join-error', async () => {
  const password = $('join-password').value
  const room = await request('join', {
    name: $('join-name').value,
    password: password === '' ? undefined : password
  })
  $('join-name').value = ''
  $('join-password').value = ''
  opened(room)
})

onSubmit('create-form', 'create-error', async () => {
  const name = $('create-name').value
  const room = await request('create', { name: name === '' ? undefined : name })
  $('create-name').value = ''
  opened(room)
})

$('leave').addEventListener('click', async () => {
  const room = currentRoom()
  if (!room) return
  if (!confirm('Leave ' + roomLabel(room) + '? This deletes its history from this device.')) return
  try {
    await request('leave', { room: room.id })
    removeRoom(room.id)
  } catch (err) {
    showGlobalError(err)
  }
})

$('reply-cancel').addEventListener('click', () => {
  cancelReply()
  $('text').focus()
})

$('invite-copy').addEventListener('click', async () => {
  const input = $('invite-text')
  try {
    await navigator.clipboard.writeText(input.value)
    $('invite-copy').textContent = 'Copied'
  } catch {
    // Without clipboard access, select it for Ctrl+C.
    input.focus()
    input.select()
    $('invite-copy').textContent = 'Press Ctrl+C'
  }
})

// ---------------------------------------------------------------------------
// Small windows: the rooms live in a drawer
// ---------------------------------------------------------------------------

function openDrawer() {
  $('chat').classList.add('drawer-open')
  $('drawer-toggle').setAttribute('aria-expanded', 'true')
  const active = document.querySelector('.room.active') || document.querySelector('.room')
  ;(active || $('join-name')).focus()
}

function closeDrawer() {
  if (!$('chat').classList.contains('drawer-open')) return
  $('chat').classList.remove('drawer-open')
  $('drawer-toggle').setAttribute('aria-expanded', 'false')
}

$('drawer-toggle').addEventListener('click', () => {
  if ($('chat').classList.contains('drawer-open')) closeDrawer()
  else openDrawer()
})

document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    if ($('chat').classList.contains('drawer-open')) {
      closeDrawer()
      $('drawer-toggle').focus()
      return
    }
    // Escape on an account screen goes back, as its Back button does.
    if (!$('setup').hidden && view.step) {
      const backButton = $('step-' + view.step).querySelector('[data-back]')
      if (backButton) backButton.click()
    }
  }
  // Alt+1..9 and Alt+Up/Down switch rooms from anywhere, as Alt+1..9 does in the terminal.
  if (!event.altKey || event.ctrlKey || event.metaKey || $('chat').hidden) return
  const count = view.rooms.length
  let next = null
  if (/^[1-9]$/.test(event.key)) {
    next = view.rooms[Number(event.key) - 1]
  } else if ((event.key === 'ArrowUp' || event.key === 'ArrowDown') && count) {
    const i = view.rooms.findIndex((r) => r.id === view.current)
    next = view.rooms[(i + (event.key === 'ArrowUp' ? -1 : 1) + count) % count]
  }
  if (next) {
    event.preventDefault()
    select(next.id)
  }
})

connect()
`
