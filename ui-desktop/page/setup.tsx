/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/** @jsxImportSource preact */
// The account screens: new (24 words, three of them confirmed), restore, import, incognito,
// link a device, unlock. The shell enforces the same steps; the page only walks through them.
import { useEffect, useRef, useState } from 'preact/hooks'
import type { JSX } from 'preact'
import { useStore } from './context.js'
import { clock, sentence } from './text.js'

type Step = 'welcome' | 'words' | 'confirm' | 'restore' | 'import' | 'link' | 'password' | 'unlock'

interface Flow {
  source: 'new' | 'phrase' | 'secret-key' | 'link'
  value?: string
  words?: string[]
  fingerprint: string | null
  confirm?: number[]
}

export function Setup(): JSX.Element {
  const [s, store] = useStore()
  const setup = s.setup
  const [step, setStep] = useState<Step>(s.phase === 'unlock' ? 'unlock' : 'welcome')
  const [flow, setFlow] = useState<Flow | null>(null)
  const [unlockAccount, setUnlockAccount] = useState<string | null>(
    s.phase === 'unlock' ? (setup?.account ?? null) : null
  )
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const shownError = useRef<unknown>(null)

  // A failed open comes back as the state's error: shown on the screen it came from.
  useEffect(() => {
    if (s.error && s.error !== shownError.current && s.phase !== 'opening') {
      shownError.current = s.error
      if (flow?.source === 'link' && step === 'password') setStep('link')
      setError(sentence(s.error))
    }
  }, [s.error, s.phase])

  const go = (next: Step) => {
    setError(null)
    setStep(next)
  }
  const back = () => {
    setFlow(null)
    setUnlockAccount(null)
    go('welcome')
  }
  const ask = async (fn: () => Promise<unknown>) => {
    setBusy(true)
    setError(null)
    try {
      await fn()
    } catch (err) {
      setError(sentence(err))
    } finally {
      setBusy(false)
    }
  }

  if (s.phase === 'opening') return <Opening />
  if (!setup) return <div class="setup" />

  const accounts = setup.accounts
  const section = (() => {
    switch (step) {
      case 'welcome':
        return (
          <section id="step-welcome" data-step>
            <h1>Backspace</h1>
            <p class="muted">
              Private peer-to-peer chat. Your identity is a key pair made on this device: no
              server, no phone number. Messages expire after 7 days.
            </p>
            {accounts.length > 0 && (
              <div id="open-accounts">
                <label>Open an account</label>
                <div id="account-list" class="accounts">
                  {accounts.map((a) => (
                    <button
                      key={a.name}
                      type="button"
                      onClick={() => {
                        if (a.encrypted) {
                          setUnlockAccount(a.name)
                          return go('unlock')
                        }
                        void ask(() => store.link.request('setup-open', { account: a.name }))
                      }}
                    >
                      {a.name}
                      {a.encrypted && <span class="tag">password</span>}
                    </button>
                  ))}
                </div>
              </div>
            )}
            <div class="choices">
              <button
                type="button"
                class="primary"
                onClick={() =>
                  ask(async () => {
                    const made = await store.link.request('setup-generate')
                    setFlow({
                      source: 'new',
                      words: made.words,
                      fingerprint: made.fingerprint,
                      // 0-based indexes of the words the shell asks for.
                      confirm: made.positions.map((p) => p - 1)
                    })
                    go('words')
                  })
                }
              >
                Create a new account<small>Shows 24 recovery words to write down</small>
              </button>
              <button type="button" onClick={() => go('restore')}>
                Restore from 24 words<small>The recovery phrase of an identity you have</small>
              </button>
              <button type="button" onClick={() => go('import')}>
                Import a secret key<small>A hex seed or Ed25519 secret key</small>
              </button>
              <button type="button" onClick={() => ask(() => store.link.request('setup-incognito'))}>
                Go incognito<small>An ephemeral Anon identity; nothing is written to disk</small>
              </button>
              <button type="button" onClick={() => go('link')}>
                Link to an existing device
                <small>Approve this one on a device that has your account; no words needed</small>
              </button>
            </div>
            <ErrorLine id="welcome-error" text={error} />
          </section>
        )
      case 'words':
        return (
          <section id="step-words" data-step>
            <h2>Your recovery words</h2>
            <p>
              Write these 24 words down, in order, and keep them somewhere safe. They are the only
              way to restore this account. Nobody else should ever see them.
            </p>
            <ol id="words" class="words" aria-label="Recovery words">
              {flow?.words?.map((w, i) => <li key={i}>{w}</li>)}
            </ol>
            <p class="muted">
              Fingerprint <span id="words-fingerprint" class="mono">{flow?.fingerprint}</span>
            </p>
            <div class="actions">
              <button type="button" data-back onClick={back}>Back</button>
              <button
                type="button"
                class="primary"
                onClick={() => go('confirm')}
              >
                I wrote them down
              </button>
            </div>
          </section>
        )
      case 'confirm':
        return <Confirm flow={flow!} onBack={() => go('words')} onDone={() => go('password')} />
      case 'restore':
      case 'import':
        return (
          <Preview
            kind={step}
            busy={busy}
            error={error}
            onBack={back}
            onSubmit={(value) =>
              ask(async () => {
                const source = step === 'restore' ? 'phrase' : 'secret-key'
                const found = await store.link.request('setup-preview', { source, value })
                setFlow({ source, value, fingerprint: found.fingerprint })
                go('password')
              })
            }
          />
        )
      case 'link':
        return (
          <LinkStep
            error={error}
            onBack={back}
            onSubmit={(value) => {
              if (!value.startsWith('backspace-device:')) {
                return setError('That is not a device link: it starts with backspace-device:')
              }
              setFlow({ source: 'link', value, fingerprint: null })
              go('password')
            }}
          />
        )
      case 'password':
        return <PasswordStep flow={flow!} busy={busy} error={error} onBack={back} ask={ask} setError={setError} />
      case 'unlock':
        return (
          <Unlock
            account={unlockAccount ?? setup.account}
            busy={busy}
            error={error}
            onBack={back}
            onSubmit={(password) =>
              ask(() =>
                store.link.request('setup-open', { account: unlockAccount ?? setup.account, password })
              )
            }
          />
        )
    }
  })()

  return (
    <div
      id="setup"
      class="setup"
      onKeyDown={(e) => {
        // Escape on an account screen goes back, as its Back button does.
        if (e.key === 'Escape' && step !== 'welcome') back()
      }}
    >
      <div class="card">{section}</div>
    </div>
  )
}

function ErrorLine(props: { id: string; text: string | null }): JSX.Element | null {
  if (!props.text) return null
  return (
    <p id={props.id} class="error" role="alert">
      {props.text}
    </p>
  )
}

/** Focuses the element once it is on screen. */
function useAutofocus<T extends HTMLElement>(): { readonly current: T | null } {
  const ref = useRef<T>(null)
  useEffect(() => ref.current?.focus(), [])
  return ref
}

function Confirm(props: { flow: Flow; onBack(): void; onDone(): void }): JSX.Element {
  const [, store] = useStore()
  const [error, setError] = useState<string | null>(null)
  const form = useRef<HTMLFormElement>(null)
  useEffect(() => form.current?.querySelector('input')?.focus(), [])
  return (
    <form
      id="step-confirm"
      data-step
      autocomplete="off"
      ref={form}
      onSubmit={(e) => {
        e.preventDefault()
        // The shell checks them: the library creates the account only once they match.
        const inputs = [...form.current!.querySelectorAll<HTMLInputElement>('.confirm-word')]
        store.link.request('setup-confirm', { words: inputs.map((input) => input.value) }).then(
          (answer) => {
            if (answer.confirmed) return props.onDone()
            setError(`Word ${answer.wrong} does not match. Check your copy.`)
            inputs.find((input) => Number(input.dataset['index']) + 1 === answer.wrong)?.focus()
          },
          (err) => setError(sentence(err))
        )
      }}
    >
      <h2>Confirm your words</h2>
      <p>Type these words from your copy, to be sure it is right.</p>
      <div id="confirm-fields">
        {props.flow.confirm!.map((i) => (
          <div key={i}>
            <label for={`confirm-${i}`}>Word {i + 1}</label>
            <input
              id={`confirm-${i}`}
              class="mono confirm-word"
              data-index={i}
              spellcheck={false}
              autocapitalize="off"
              required
            />
          </div>
        ))}
      </div>
      <ErrorLine id="confirm-error" text={error} />
      <div class="actions">
        <button type="button" data-back onClick={props.onBack}>Show the words again</button>
        <button class="primary">Continue</button>
      </div>
    </form>
  )
}

function Preview(props: {
  kind: 'restore' | 'import'
  busy: boolean
  error: string | null
  onBack(): void
  onSubmit(value: string): void
}): JSX.Element {
  const phrase = props.kind === 'restore'
  const field = useAutofocus<HTMLTextAreaElement & HTMLInputElement>()
  const form = useRef<HTMLFormElement>(null)
  const submit = (e: Event) => {
    e.preventDefault()
    props.onSubmit(field.current!.value)
  }
  return (
    <form id={`step-${props.kind}`} data-step autocomplete="off" ref={form} onSubmit={submit}>
      <h2>{phrase ? 'Restore from 24 words' : 'Import a secret key'}</h2>
      {phrase ? (
        <>
          <label for="restore-phrase">Recovery phrase</label>
          <textarea
            id="restore-phrase"
            rows={4}
            spellcheck={false}
            autocapitalize="off"
            required
            ref={field}
            onKeyDown={(e) => {
              // The phrase is one line of words: Enter continues, as in the other steps.
              if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
                e.preventDefault()
                form.current!.requestSubmit()
              }
            }}
          />
        </>
      ) : (
        <>
          <label for="import-key">Secret key (hex)</label>
          <input id="import-key" class="mono" spellcheck={false} autocapitalize="off" required ref={field} />
        </>
      )}
      <ErrorLine id={`${props.kind}-error`} text={props.error} />
      <div class="actions">
        <button type="button" data-back onClick={props.onBack}>Back</button>
        <button class="primary" disabled={props.busy}>Continue</button>
      </div>
    </form>
  )
}

function LinkStep(props: { error: string | null; onBack(): void; onSubmit(value: string): void }): JSX.Element {
  const field = useAutofocus<HTMLTextAreaElement>()
  return (
    <form
      id="step-link"
      data-step
      autocomplete="off"
      onSubmit={(e) => {
        e.preventDefault()
        props.onSubmit(field.current!.value.trim())
      }}
    >
      <h2>Link to an existing device</h2>
      <p>
        On a device that already has your account, run <span class="mono">/device link</span> (or{' '}
        <span class="mono">backspace device link</span>) and paste the link it shows here. That
        device approves this one; your recovery words stay there.
      </p>
      <label for="link-text">Device link</label>
      <textarea id="link-text" class="mono" rows={3} spellcheck={false} autocapitalize="off" required ref={field} />
      <ErrorLine id="link-error" text={props.error} />
      <div class="actions">
        <button type="button" data-back onClick={props.onBack}>Back</button>
        <button class="primary">Continue</button>
      </div>
    </form>
  )
}

function PasswordStep(props: {
  flow: Flow
  busy: boolean
  error: string | null
  onBack(): void
  ask(fn: () => Promise<unknown>): Promise<void>
  setError(text: string | null): void
}): JSX.Element {
  const [s, store] = useStore()
  const setup = s.setup!
  const { flow } = props
  // A taken name would only fail at the end: offer it only while it is free.
  const taken = setup.accounts.some((a) => a.name === setup.account)
  const [account, setAccount] = useState(taken && !setup.accountFixed ? '' : setup.account)
  const [protect, setProtect] = useState<'password' | 'none'>('password')
  const [name, setName] = useState('')
  const first = useAutofocus<HTMLInputElement>()
  const password = useRef<HTMLInputElement>(null)
  const repeat = useRef<HTMLInputElement>(null)

  const submit = (e: Event) => {
    e.preventDefault()
    let chosen: string | null = null
    if (!setup.passwordGiven && protect === 'password') {
      chosen = password.current!.value
      if (chosen === '') {
        password.current!.focus()
        return props.setError('Choose a password, or choose no password.')
      }
      if (chosen !== repeat.current!.value) {
        repeat.current!.focus()
        return props.setError('The two passwords differ.')
      }
    }
    void props.ask(async () => {
      if (flow.source === 'link') {
        await store.link.request('setup-link', { link: flow.value!, account: account.trim(), password: chosen })
      } else {
        await store.link.request('setup-create', {
          source: flow.source,
          value: flow.value,
          account: account.trim(),
          password: chosen
        })
      }
      // The display name is the last step: a new user is not a bare fingerprint to others.
      if (name.trim() !== '') await store.link.request('profile', { name: name.trim() })
    })
  }

  return (
    <form id="step-password" data-step autocomplete="off" onSubmit={submit}>
      <h2>Protect your account</h2>
      <p id="password-identity" class="muted">
        {flow.source === 'link'
          ? 'This device joins the identity of your other device once it approves.'
          : `${flow.source === 'new' ? 'New identity ' : 'Restoring identity '}${flow.fingerprint}`}
      </p>
      <label for="account-name">Account name</label>
      <input
        id="account-name"
        spellcheck={false}
        autocapitalize="off"
        required
        ref={first}
        value={account}
        disabled={setup.accountFixed}
        onInput={(e) => setAccount(e.currentTarget.value)}
      />
      {flow.source !== 'link' && (
        <>
          <label for="display-name">Your name (what others see; you can change it later)</label>
          <input
            id="display-name"
            autocomplete="nickname"
            maxLength={64}
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </>
      )}
      {setup.passwordGiven ? (
        <div id="password-given">
          <p>
            The password given with <span class="mono">--password</span> will encrypt it.
          </p>
        </div>
      ) : (
        <fieldset id="password-choice" class="plain">
          <legend class="muted">The secret key is stored on this device.</legend>
          <label class="radio">
            <input
              type="radio"
              name="protect"
              value="password"
              checked={protect === 'password'}
              onChange={() => setProtect('password')}
            />
            <span>Encrypt it with a password (asked each time you open Backspace)</span>
          </label>
          {protect === 'password' && (
            <div id="password-fields">
              <label for="password">Password</label>
              <input id="password" type="password" autocomplete="new-password" ref={password} />
              <label for="password-repeat">Repeat the password</label>
              <input id="password-repeat" type="password" autocomplete="new-password" ref={repeat} />
            </div>
          )}
          <label class="radio">
            <input
              type="radio"
              name="protect"
              value="none"
              checked={protect === 'none'}
              onChange={() => setProtect('none')}
            />
            <span>No password: anyone who can read this computer's files can use the account</span>
          </label>
        </fieldset>
      )}
      <ErrorLine id="password-error" text={props.error} />
      <div class="actions">
        <button type="button" data-back onClick={props.onBack}>Back</button>
        <button id="create-account" class="primary" disabled={props.busy}>Create account</button>
      </div>
    </form>
  )
}

function Unlock(props: {
  account: string
  busy: boolean
  error: string | null
  onBack(): void
  onSubmit(password: string): void
}): JSX.Element {
  const field = useAutofocus<HTMLInputElement>()
  // After a refusal the password is selected, to type it again.
  useEffect(() => {
    if (props.error && field.current) {
      field.current.focus()
      field.current.select()
    }
  }, [props.error])
  return (
    <form
      id="step-unlock"
      data-step
      autocomplete="off"
      onSubmit={(e) => {
        e.preventDefault()
        props.onSubmit(field.current!.value)
      }}
    >
      <h2>
        Unlock <span id="unlock-account">{props.account}</span>
      </h2>
      <label for="unlock-password">Password</label>
      <input id="unlock-password" type="password" autocomplete="current-password" required ref={field} />
      <ErrorLine id="unlock-error" text={props.error} />
      <div class="actions">
        <button type="button" data-back onClick={props.onBack}>Another account</button>
        <button class="primary" disabled={props.busy}>Unlock</button>
      </div>
    </form>
  )
}

function Opening(): JSX.Element {
  const [s, store] = useStore()
  const linking = s.linking
  return (
    <div id="setup" class="setup">
      <div class="card">
        <section id="step-opening" data-step class="opening" role="status">
          <h2 id="opening-title">{linking ? 'Waiting for approval' : 'Opening'}</h2>
          {linking ? (
            <div id="opening-linking">
              <p>This device's fingerprint</p>
              <p id="linking-fingerprint" class="mono fingerprint">{linking.fingerprint}</p>
              <p class="muted">
                Approve it on your other device only if it shows this same fingerprint. The link
                works until <span id="linking-expires">{clock(linking.expiresAt)}</span>.
              </p>
              <div class="actions">
                <button
                  id="linking-cancel"
                  type="button"
                  onClick={() => store.link.request('setup-cancel').catch((e) => store.fail(e))}
                >
                  Cancel
                </button>
              </div>
            </div>
          ) : (
            <p id="opening-text" class="muted">Unlocking the key and opening your rooms.</p>
          )}
        </section>
      </div>
    </div>
  )
}
