import { useCallback, useEffect, useReducer, useRef, useState } from 'react'
import {
  accountExists,
  accountIsEncrypted,
  Identity,
  listAccounts,
  isBackspaceError,
  isDeviceLink,
  NewPhrase,
  type Backspace,
  type BackspaceError,
  type BackspaceOptions
} from '../lib/index.js'
import { checkStorage, isFatalStartupError, startupError } from '../lib/storage-check.js'

/** The choices of the account selector, in the order shown. */
export const SETUP_CHOICES = [
  { key: 'create', label: 'Create a new account' },
  { key: 'restore', label: 'Restore an account from its 24-word recovery phrase' },
  { key: 'import', label: 'Import a secret key (hex)' },
  { key: 'incognito', label: 'Incognito: an ephemeral Anon identity, nothing saved' },
  { key: 'link', label: 'Link to an existing device: approve this one there, no phrase needed' }
] as const

export type SetupChoice = (typeof SETUP_CHOICES)[number]['key']

export { CONFIRM_WORDS } from '../lib/index.js'

/** What a new account is made from: an identity (new, restored, imported) or a device link. */
export type SetupSource =
  | { readonly kind: 'identity'; readonly identity: Identity }
  | { readonly kind: 'link'; readonly link: string }

/** One screen of the first start. */
export type SetupStep =
  | { readonly name: 'checking' }
  | { readonly name: 'choose'; readonly selected: number }
  /** The library's new phrase: it hands out the identity only once the words are typed back. */
  | { readonly name: 'show-phrase'; readonly phrase: NewPhrase }
  | {
      readonly name: 'confirm-phrase'
      readonly phrase: NewPhrase
      /** How many words were typed correctly so far (a new step object for each). */
      readonly done: number
    }
  | { readonly name: 'restore' }
  | { readonly name: 'import-key' }
  | { readonly name: 'link' }
  | {
      readonly name: 'password'
      readonly source: SetupSource
      /** The first entry, once typed; the second must match it. */
      readonly first: string | null
    }
  | { readonly name: 'no-password'; readonly source: SetupSource }
  | {
      /** A new device waits for the other device to approve it. */
      readonly name: 'linking'
      /** This device's fingerprint, to compare with the one the other device shows. */
      readonly fingerprint: string
      readonly expiresAt: number
    }
  | { readonly name: 'unlock' }
  | { readonly name: 'opening'; readonly what: string }
  | { readonly name: 'failed'; readonly reason: unknown }
  /** A problem no retry or password can fix (the storage is in use or unusable): the app exits. */
  | { readonly name: 'fatal'; readonly reason: BackspaceError }
  | { readonly name: 'open' }

export interface SetupState {
  readonly step: SetupStep
  /** A line explaining what went wrong on this step, until the next key is accepted. */
  readonly error: string | null
}

export type SetupAction =
  { type: 'go'; step: SetupStep; error?: string | null } | { type: 'error'; error: string }

export function setupReducer(state: SetupState, action: SetupAction): SetupState {
  switch (action.type) {
    case 'go':
      return { step: action.step, error: action.error ?? null }
    case 'error':
      return { ...state, error: action.error }
  }
}

export interface SetupOptions {
  /** The storage directory, resolved. Ignored with `incognito`. */
  storage: string | null
  account: string
  /** From --password or BACKSPACE_PASSWORD: unlocks the account, or encrypts a new one. */
  password?: string | undefined
  /** From --restore-phrase: restores instead of asking. */
  phrase?: string | undefined
  incognito?: boolean | undefined
  bootstrap?: BackspaceOptions['bootstrap']
  /** From --link: links this account to an existing device instead of asking. */
  link?: string | undefined
  /** From --device-name: this device's label in device lists. */
  deviceName?: string | undefined
  /**
   * Makes and opens the node. The caller owns it and closes it on exit. `made` is called with
   * the node as soon as it exists, before it is ready: a linking node shows its fingerprint.
   */
  open: (opts: BackspaceOptions, made?: (node: Backspace) => void) => Promise<Backspace>
}

export interface AccountSetup {
  readonly state: SetupState
  readonly node: Backspace | null
  /** The other accounts in the storage, to hint at --account when the one asked for is new. */
  readonly others: readonly string[]
  /** The selector's cursor moves, or a choice is made. */
  move(delta: number): void
  choose(choice: SetupChoice): void
  /** The new phrase was written down. */
  phraseSeen(): void
  confirmWord(word: string): void
  restore(phrase: string): void
  importKey(hex: string): void
  /** A device link was pasted. */
  link(text: string): void
  password(text: string): void
  noPassword(confirmed: boolean): void
  unlock(password: string): void
  /** Esc: one step back, where there is one. */
  back(): void
  /** Enter on a failure: tries the last step again. */
  retry(): void
}

/**
 * The first start, before there is a node: choose, create or unlock an account, then open
 * the node. Every rule about accounts stays in the library; this only sequences screens.
 */
export function useAccountSetup(opts: SetupOptions): AccountSetup {
  const [state, dispatch] = useReducer(setupReducer, { step: { name: 'checking' }, error: null })
  const [node, setNode] = useReducer((_: Backspace | null, n: Backspace | null) => n, null)
  const [others, setOthers] = useState<readonly string[]>([])
  const optsRef = useRef(opts)
  optsRef.current = opts
  // What to run again after a failure.
  const lastAttempt = useRef<() => void>(() => {})
  const mounted = useRef(true)
  useEffect(
    () => () => {
      mounted.current = false
    },
    []
  )

  const go = useCallback((step: SetupStep, error: string | null = null) => {
    if (mounted.current) dispatch({ type: 'go', step, error })
  }, [])

  // The node being made, until it is ready: Esc closes a link that waits for approval.
  const opening = useRef<Backspace | null>(null)

  const openNode = useCallback(
    (what: string, extra: BackspaceOptions, onError?: (err: unknown) => boolean) => {
      const attempt = () => {
        const { storage, account, bootstrap, open, deviceName } = optsRef.current
        go({ name: 'opening', what })
        const base: BackspaceOptions = extra.incognito
          ? { incognito: true }
          : { storage: storage ?? undefined, account, ...(deviceName ? { deviceName } : {}) }
        const made = (n: Backspace) => {
          opening.current = n
          const linking = n.linking
          if (linking) go({ name: 'linking', fingerprint: linking.fingerprint, expiresAt: linking.expiresAt })
        }
        open({ ...base, ...(bootstrap ? { bootstrap } : {}), ...extra }, made).then(
          (n) => {
            opening.current = null
            if (!mounted.current) return
            setNode(n)
            go({ name: 'open' })
          },
          (raw: unknown) => {
            opening.current = null
            const err = startupError(raw, storage, account)
            if (isFatalStartupError(err)) return go({ name: 'fatal', reason: err })
            if (onError?.(err)) return
            go({ name: 'failed', reason: err }, describe(err))
          }
        )
      }
      lastAttempt.current = attempt
      attempt()
    },
    [go]
  )

  // Saves the account from its source and opens it. A failed link goes back to the link
  // screen with the reason as a sentence: the same link will not work twice.
  const create = useCallback(
    (source: SetupSource, password: string | undefined) => {
      const { account } = optsRef.current
      const secret = password ? { password } : {}
      if (source.kind === 'identity') {
        return openNode(`Creating account "${account}"`, { secretKey: source.identity.secretKeyHex, ...secret })
      }
      openNode(`Linking account "${account}" to your other device`, { link: source.link, ...secret }, (err) => {
        if (isBackspaceError(err, 'NODE_CLOSED')) {
          go({ name: 'link' }, 'Linking cancelled.')
          return true
        }
        if (!isBackspaceError(err) || !err.code.startsWith('DEVICE_LINK_')) return false
        go({ name: 'link' }, sentence(err))
        return true
      })
    },
    [go, openNode]
  )

  // A new identity or link is ready to be saved: ask for a password unless the command line gave one.
  const afterSource = useCallback(
    (source: SetupSource) => {
      const { password } = optsRef.current
      if (password) return create(source, password)
      go({ name: 'password', source, first: null })
    },
    [go, create]
  )
  const afterIdentity = useCallback(
    (identity: Identity) => afterSource({ kind: 'identity', identity }),
    [afterSource]
  )

  const check = useCallback(() => {
    lastAttempt.current = check
    const { storage, account, password, phrase, incognito, link } = optsRef.current
    if (incognito || storage === null) return openNode('Starting incognito', { incognito: true })
    go({ name: 'checking' })
    void (async () => {
      try {
        // Before any password is asked for: a storage in use or unusable cannot be fixed by one.
        await checkStorage(storage, account)
        // The library says why an existing account cannot take a link.
        if (link !== undefined) return afterSource({ kind: 'link', link })
        if (await accountExists(storage, account)) {
          if (!password && (await accountIsEncrypted(storage, account))) {
            return go({ name: 'unlock' })
          }
          // A wrong password from --password-file or BACKSPACE_PASSWORD falls back to the prompt.
          return openNode(`Opening account "${account}"`, { password, phrase }, (err) => {
            if (!password || !isBackspaceError(err, 'WRONG_PASSWORD')) return false
            go({ name: 'unlock' }, 'The password given (--password-file or BACKSPACE_PASSWORD) is wrong. Type it.')
            return true
          })
        }
        if (phrase !== undefined) return afterIdentity(Identity.fromPhrase(phrase))
        const accounts = await listAccounts(storage)
        if (mounted.current) setOthers(accounts.filter((a) => a !== account))
        go({ name: 'choose', selected: 0 })
      } catch (raw) {
        const err = startupError(raw, storage, account)
        if (isFatalStartupError(err)) return go({ name: 'fatal', reason: err })
        go({ name: 'failed', reason: err }, describe(err))
      }
    })()
  }, [go, openNode, afterIdentity, afterSource])

  const started = useRef(false)
  useEffect(() => {
    if (started.current) return
    started.current = true
    check()
  }, [check])

  const step = state.step
  return {
    state,
    node,
    others,
    move(delta) {
      if (step.name !== 'choose') return
      const n = SETUP_CHOICES.length
      go({ name: 'choose', selected: (step.selected + delta + n) % n })
    },
    choose(choice) {
      if (step.name !== 'choose') return
      switch (choice) {
        case 'create':
          return go({ name: 'show-phrase', phrase: new NewPhrase() })
        case 'restore':
          return go({ name: 'restore' })
        case 'import':
          return go({ name: 'import-key' })
        case 'incognito':
          return openNode('Starting incognito', { incognito: true })
        case 'link':
          return go({ name: 'link' })
      }
    },
    phraseSeen() {
      if (step.name !== 'show-phrase') return
      step.phrase.restart()
      go({ name: 'confirm-phrase', phrase: step.phrase, done: 0 })
    },
    confirmWord(word) {
      if (step.name !== 'confirm-phrase') return
      const at = step.phrase.next
      if (!step.phrase.confirm(word)) {
        return dispatch({
          type: 'error',
          error: `That is not word ${at}. Check what you wrote down (Esc shows the phrase again).`
        })
      }
      if (!step.phrase.confirmed) return go({ ...step, done: step.phrase.done })
      afterIdentity(step.phrase.identity())
    },
    restore(phrase) {
      if (step.name !== 'restore') return
      try {
        afterIdentity(Identity.fromPhrase(phrase))
      } catch (err) {
        dispatch({ type: 'error', error: describe(err) })
      }
    },
    importKey(hex) {
      if (step.name !== 'import-key') return
      try {
        afterIdentity(Identity.fromSecretKey(hex))
      } catch (err) {
        dispatch({ type: 'error', error: describe(err) })
      }
    },
    link(text) {
      if (step.name !== 'link') return
      const link = text.trim()
      if (!isDeviceLink(link)) {
        return dispatch({ type: 'error', error: 'That is not a device link: it starts with backspace-device:' })
      }
      afterSource({ kind: 'link', link })
    },
    password(text) {
      if (step.name !== 'password') return
      if (step.first === null) {
        if (text.length === 0) return go({ name: 'no-password', source: step.source })
        return go({ ...step, first: text })
      }
      if (text !== step.first) {
        return go({ ...step, first: null }, 'The two passwords differ. Choose one again.')
      }
      create(step.source, text)
    },
    noPassword(confirmed) {
      if (step.name !== 'no-password') return
      if (!confirmed) return go({ name: 'password', source: step.source, first: null })
      create(step.source, undefined)
    },
    unlock(password) {
      if (step.name !== 'unlock') return
      if (password.length === 0) return dispatch({ type: 'error', error: 'Type the password.' })
      openNode(`Unlocking account "${optsRef.current.account}"`, { password }, (err) => {
        if (!isBackspaceError(err, 'WRONG_PASSWORD')) return false
        go({ name: 'unlock' }, 'Wrong password. Try again.')
        return true
      })
    },
    back() {
      switch (step.name) {
        case 'confirm-phrase':
          return go({ name: 'show-phrase', phrase: step.phrase })
        case 'show-phrase':
        case 'restore':
        case 'import-key':
        case 'link':
          return go({ name: 'choose', selected: 0 })
        case 'password':
        case 'no-password':
          return go({ name: 'password', source: step.source, first: null })
        case 'linking':
          // Gives the link up; the open fails with NODE_CLOSED and lands on 'failed'.
          void opening.current?.close()
          return
      }
    },
    retry() {
      if (step.name === 'failed') lastAttempt.current()
    }
  }
}

/** An error as a sentence for the screen: a coded error without its code. */
function describe(err: unknown): string {
  if (isBackspaceError(err)) return sentence(err)
  return err instanceof Error ? err.message : String(err)
}

/** A coded error as the sentence after its code, for errors a user meets in normal use. */
export function sentence(err: BackspaceError): string {
  const detail = err.message.slice(err.code.length + 2)
  return detail.endsWith('.') ? detail : `${detail}.`
}
