/**
 * Every failure Backspace reports is a `BackspaceError` with a stable `code`.
 * The factories are generated from one table so codes and messages cannot drift.
 */
const CODES = {
  INVALID_ARGUMENT: 'An argument has the wrong type or value',
  INVALID_ROOM_NAME: 'The room name is empty or too long',
  INVALID_INVITE: 'The invite is not a valid Backspace invite',
  INVALID_NAME: 'A display name cannot hold invisible or control characters or look like a key fingerprint',
  INVALID_PHRASE: 'The recovery phrase is not a valid 24-word BIP39 phrase',
  INVALID_SECRET_KEY: 'The secret key is not a 32-byte seed or 64-byte Ed25519 secret key in hex',
  INVALID_ACCOUNT_NAME: 'Account names are 1-32 characters of a-z, 0-9, - and _',
  INVALID_BOOTSTRAP: 'A bootstrap node must be host:port',
  ACCOUNT_EXISTS: 'An account with this name already exists',
  ACCOUNT_NOT_FOUND: 'No account with this name exists',
  PASSWORD_REQUIRED: 'This account is encrypted and needs its password',
  WRONG_PASSWORD: 'The password does not decrypt this account',
  CORRUPT_KEY_FILE: 'The key file is damaged or not a Backspace key file',
  CORRUPT_STATE: 'The local state file is damaged or belongs to another identity',
  DECODE_FAILED: 'A record could not be decoded',
  UNSUPPORTED_VERSION: 'A record has a version this build does not understand',
  BAD_SIGNATURE: 'A record has a signature that does not verify',
  MESSAGE_TOO_LARGE: 'The message is larger than the maximum size',
  EMPTY_MESSAGE: 'The message is empty',
  ROOM_CLOSED: 'The room has been left or its node closed',
  NODE_CLOSED: 'The node has been closed',
  NOT_READY: 'The node is not ready yet',
  INCOGNITO: 'This is not available in incognito mode',
  DEVICE_LINK_INVALID: 'The device link is not a valid Backspace device link',
  DEVICE_LINK_EXPIRED: 'The device link has expired or was already used',
  DEVICE_LINK_DENIED: 'The other device denied the link',
  DEVICE_LINK_FAILED: 'The device link could not be completed',
  DEVICE_NOT_FOUND: 'No device with this key belongs to this identity',
  DEVICE_REVOKED: 'This device has been revoked',
  NOT_ALLOWED: 'This action is not allowed',
  MESSAGE_NOT_FOUND: 'No message with this id is loaded in this room',
  INVALID_EMOJI: 'A reaction is one emoji',
  NOT_FRIENDS: 'This identity is not a friend: send a friend request first',
  BLOCKED: 'This identity is blocked: unblock it first',
  RATE_LIMITED: 'Too many messages at once: wait a few seconds',
  STORAGE_IN_USE: 'This storage is open in another backspace',
  STORAGE_UNUSABLE: 'The storage directory cannot be used',
  PHRASE_NOT_CONFIRMED: 'The new recovery phrase was not typed back yet: confirm it before creating the account'
} as const

/** A stable, machine-readable error code. */
export type ErrorCode = keyof typeof CODES

class BackspaceErrorClass extends Error {
  /** The stable error code, for example `WRONG_PASSWORD`. */
  readonly code: ErrorCode

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(`${code}: ${detail ?? CODES[code]}`, options)
    this.name = 'BackspaceError'
    this.code = code
  }
}

type Factories = {
  readonly [K in ErrorCode]: (detail?: string, cause?: unknown) => BackspaceErrorClass
}

const factories = Object.fromEntries(
  (Object.keys(CODES) as ErrorCode[]).map((code) => [
    code,
    (detail?: string, cause?: unknown) =>
      new BackspaceErrorClass(code, detail, cause === undefined ? undefined : { cause })
  ])
) as Factories

/**
 * The one error class of Backspace. `err.code` is stable; `err.message` is `CODE: detail`.
 * Each code has a static factory: `BackspaceError.WRONG_PASSWORD('detail')`.
 */
export const BackspaceError: typeof BackspaceErrorClass & Factories = Object.assign(
  BackspaceErrorClass,
  factories
)
export type BackspaceError = BackspaceErrorClass

/** Every code with its default description, for documentation and UIs. */
export const ERROR_CODES: Readonly<Record<ErrorCode, string>> = CODES

/** True when `err` is a BackspaceError, optionally with the given code. */
export function isBackspaceError(err: unknown, code?: ErrorCode): err is BackspaceError {
  return err instanceof BackspaceError && (code === undefined || err.code === code)
}
