/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/** @jsxImportSource preact */
// The desktop page: typed code compiled by the build, rendered with Preact. It keeps one
// WebSocket to the shell (link.ts), shows the account screens or the chat, and sends what the
// user types as is: slash commands run in the library, as in the terminal. Text is only ever
// set as text (Preact creates text nodes); nothing is parsed as HTML.
import { render, type JSX } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { applyTheme, Chat, savedTheme, totalUnread } from './chat.js'
import { StoreContext, useStore } from './context.js'
import { ShellLink } from './link.js'
import { Setup } from './setup.js'
import { PageStore } from './store.js'
import { sentence } from './text.js'

function App(): JSX.Element {
  const [s] = useStore()
  const unread = s.phase === 'chat' ? totalUnread(s.rooms, s.current, s.visible) : 0
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Backspace` : 'Backspace'
  }, [unread])
  return (
    <>
      {s.phase === 'chat' && <Chat />}
      {(s.phase === 'setup' || s.phase === 'unlock' || s.phase === 'opening') && <Setup />}
      {s.phase === 'closed' || s.link === 'closed' ? <Closed /> : <Offline />}
      <DeviceDialog />
    </>
  )
}

function Closed(): JSX.Element {
  return (
    <div id="closed" class="overlay" role="alertdialog" aria-labelledby="closed-title">
      <div class="card">
        <h1 id="closed-title">Backspace was closed</h1>
        <p class="muted">
          Start <span class="mono">backspace desktop</span> again to chat.
        </p>
      </div>
    </div>
  )
}

/** While the shell cannot be reached: a clear overlay over a page that takes no input. */
function Offline(): JSX.Element | null {
  const [s] = useStore()
  if (s.link === 'up' || (s.link === 'connecting' && s.phase === null)) return null
  const expired = s.link === 'expired'
  return (
    <div id="offline" class="overlay" role="alertdialog" aria-labelledby="offline-title" aria-describedby="offline-text">
      <div class="card">
        <h1 id="offline-title">{expired ? 'This window is out of date' : 'Backspace is not responding'}</h1>
        <p id="offline-text" class="muted">
          {expired
            ? 'Backspace was restarted, and this window belongs to the old one. Close it and use the window the new one opened.'
            : 'The Backspace process behind this window stopped or cannot be reached. Trying again; nothing you typed is lost.'}
        </p>
      </div>
    </div>
  )
}

function DeviceDialog(): JSX.Element {
  const [s, store] = useStore()
  const request = s.deviceRequest
  const ref = useRef<HTMLDialogElement>(null)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    const dialog = ref.current!
    if (request && !dialog.open) {
      setError(null)
      setBusy(false)
      dialog.showModal()
    } else if (!request && dialog.open) dialog.close()
  }, [request])
  const answer = async (approve: boolean) => {
    setBusy(true)
    try {
      const done = await store.link.request('device-answer', { approve })
      ref.current!.close()
      store.addNotice(
        store.state.current ?? '',
        'info',
        done.device ? `Linked device ${done.device.fingerprint}.` : 'Denied the device.'
      )
    } catch (err) {
      setError(sentence(err))
      setBusy(false)
    }
  }
  return (
    <dialog id="device-dialog" aria-labelledby="device-dialog-title" ref={ref}>
      <form method="dialog">
        <h2 id="device-dialog-title">A new device asks to join</h2>
        <p>It wants to speak for your identity. Approve only if it shows this fingerprint:</p>
        <p id="device-dialog-fingerprint" class="mono fingerprint">{request?.fingerprint}</p>
        <p id="device-dialog-name" class="muted">{request?.name ? `It calls itself "${request.name}".` : ''}</p>
        {error && <p id="device-dialog-error" class="error" role="alert">{error}</p>}
        <div class="actions">
          <button id="device-deny" type="button" disabled={busy} onClick={() => answer(false)}>Deny</button>
          <button id="device-approve" type="button" class="primary" disabled={busy} onClick={() => answer(true)}>
            Approve
          </button>
        </div>
      </form>
    </dialog>
  )
}

applyTheme(savedTheme())
const link = new ShellLink(new URLSearchParams(location.search).get('token') ?? '')
const store = new PageStore(link)
render(
  <StoreContext.Provider value={store}>
    <App />
  </StoreContext.Provider>,
  document.getElementById('app')!
)
link.connect()
