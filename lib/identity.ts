import fs from 'fs/promises'
import { constants as fsConstants } from 'fs'
import path from 'path'
import envPaths from 'env-paths'
import b4a from 'b4a'
import sodium from 'sodium-universal'
import bip39 from 'bip39'
import c from 'compact-encoding'
import { BackspaceError } from './errors.js'
import {
  deriveAccountKey,
  keyPairFromSeed,
  passwordHash,
  PWHASH_INTERACTIVE,
  PWHASH_SALTBYTES,
  randomBytes,
  seal,
  sign,
  unseal,
  verify,
  type KeyPair
} from './crypto.js'
import { accountSecrets, decodeStrict, keyFile, type AccountSecrets, type KeyFile } from './messages.js'
import {
  certifyDevice,
  decodeCertificate,
  encodeCertificate,
  verifyCertificate,
  type DeviceCertificate
} from './identity/device.js'

const SEED_BYTES = 32
const ACCOUNT_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/

/**
 * An Ed25519 identity made from a 32-byte seed. The seed is also the entropy of the 24-word
 * BIP39 recovery phrase, so the phrase turns back into exactly these keys. On a linked device
 * the identity is public only: it has a key and a fingerprint, and signing with it is a coded
 * error (NOT_ALLOWED), because the secret never leaves the device that holds the phrase.
 */
export class Identity {
  /** The public identity key that peers see and verify signatures with. */
  readonly publicKey: Buffer
  // The 64-byte libsodium secret key (seed || public key), or null on a linked device.
  // Never leaves this process.
  readonly #secretKey: Buffer | null

  private constructor(publicKey: Buffer, secretKey: Buffer | null) {
    this.publicKey = publicKey
    this.#secretKey = secretKey
  }

  /** A new identity from fresh randomness. */
  static generate(): Identity {
    return Identity.fromSeed(randomBytes(SEED_BYTES))
  }

  static fromSeed(seed: Buffer): Identity {
    if (!b4a.isBuffer(seed) || seed.byteLength !== SEED_BYTES) {
      throw BackspaceError.INVALID_SECRET_KEY('The seed must be 32 bytes')
    }
    const keyPair = keyPairFromSeed(seed)
    return new Identity(keyPair.publicKey, keyPair.secretKey)
  }

  /** An identity known by its public key only, as a linked device knows its own. */
  static fromPublicKey(publicKey: Buffer): Identity {
    if (!b4a.isBuffer(publicKey) || publicKey.byteLength !== 32) {
      throw BackspaceError.INVALID_ARGUMENT('An identity public key is 32 bytes')
    }
    return new Identity(publicKey, null)
  }

  /** Restores an identity from its 24-word recovery phrase. */
  static fromPhrase(phrase: string): Identity {
    const words = normalizePhrase(phrase)
    if (words.split(' ').length !== 24 || !bip39.validateMnemonic(words)) {
      throw BackspaceError.INVALID_PHRASE()
    }
    return Identity.fromSeed(b4a.from(bip39.mnemonicToEntropy(words), 'hex'))
  }

  /** Restores an identity from a hex seed (64 hex digits) or a hex secret key (128 digits). */
  static fromSecretKey(hex: string): Identity {
    const clean = typeof hex === 'string' ? hex.trim().toLowerCase() : ''
    if (!/^[0-9a-f]+$/.test(clean) || (clean.length !== 64 && clean.length !== 128)) {
      throw BackspaceError.INVALID_SECRET_KEY()
    }
    const bytes = b4a.from(clean, 'hex')
    const identity = Identity.fromSeed(bytes.subarray(0, SEED_BYTES))
    if (bytes.byteLength === 64 && !b4a.equals(bytes.subarray(32), identity.publicKey)) {
      throw BackspaceError.INVALID_SECRET_KEY('The public half does not match the seed')
    }
    return identity
  }

  /** Whether this process holds the identity's secret: false on a linked device. */
  get canSign(): boolean {
    return this.#secretKey !== null
  }

  /** The 24-word recovery phrase. Show it once, to its owner only. */
  get phrase(): string {
    return bip39.entropyToMnemonic(this.seed.toString('hex'))
  }

  /** The seed as hex, for export. Treat it like the phrase. */
  get secretKeyHex(): string {
    return this.seed.toString('hex')
  }

  /** A short fingerprint to show beside display names, which are not unique. */
  get fingerprint(): string {
    return fingerprint(this.publicKey)
  }

  /**
   * An `Anon-#####` name for incognito use, stable for this key. A dash, not `#`: a `#` and
   * hex digits read as a mention tag (`@alice#34ab`), which names never carry.
   */
  get anonName(): string {
    return `Anon-${String(this.publicKey.readUInt32BE(0) % 100000).padStart(5, '0')}`
  }

  sign(message: Buffer): Buffer {
    return sign(message, this.secretKey)
  }

  static verify(signature: Buffer, message: Buffer, publicKey: Buffer): boolean {
    return verify(signature, message, publicKey)
  }

  /** @internal Key derivation needs the secret; nothing else in the library reads it. */
  get secretKey(): Buffer {
    if (this.#secretKey === null) {
      throw BackspaceError.NOT_ALLOWED(
        "This is a linked device: it does not hold the identity's secret key, only the device that has the recovery phrase does"
      )
    }
    return this.#secretKey
  }

  private get seed(): Buffer {
    return this.secretKey.subarray(0, SEED_BYTES)
  }
}

/** The first 8 bytes of a public key as 16 hex digits, grouped in fours: `a1b2-c3d4-...`. */
export function fingerprint(publicKey: Buffer): string {
  const hex = publicKey.subarray(0, 8).toString('hex')
  return hex.match(/.{4}/g)!.join('-')
}

function normalizePhrase(phrase: string): string {
  if (typeof phrase !== 'string') throw BackspaceError.INVALID_PHRASE()
  return phrase.normalize('NFKD').trim().toLowerCase().split(/\s+/).join(' ')
}

// ---------------------------------------------------------------------------
// Accounts: named identities under <storage>/accounts/<name>/
// ---------------------------------------------------------------------------

export interface AccountOptions {
  /** Encrypts the secret at rest with Argon2id and secretbox. Without one, the file is 0600. */
  password?: string
}

export interface SaveAccountOptions extends AccountOptions {
  /** A label for this device in device lists ('' for none). */
  deviceName?: string
  /** The clock that stamps the device certificate. */
  now?: () => number
}

/**
 * @internal What an open account holds: its identity (public only on a linked device), this
 * device's key pair and certificate, and the account key that all its devices share.
 */
export interface AccountKeys {
  identity: Identity
  device: KeyPair
  certificate: DeviceCertificate
  accountKey: Buffer
}

/**
 * The storage directory a node opens: `storage` if given, else the platform's data directory
 * for Backspace (`~/.local/share/backspace` on Linux). Absolute either way.
 */
export function resolveStorage(storage?: string): string {
  return path.resolve(storage ?? envPaths('backspace', { suffix: '' }).data)
}

export function assertAccountName(name: string): void {
  if (typeof name !== 'string' || !ACCOUNT_NAME.test(name)) throw BackspaceError.INVALID_ACCOUNT_NAME()
}

export function accountDirectory(storage: string, name: string): string {
  assertAccountName(name)
  return path.join(storage, 'accounts', name)
}

function keyFilePath(storage: string, name: string): string {
  return path.join(accountDirectory(storage, name), 'identity.key')
}

/** The names of the accounts in `storage`, sorted. */
export async function listAccounts(storage: string): Promise<string[]> {
  let entries: string[]
  try {
    entries = await fs.readdir(path.join(storage, 'accounts'))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const names: string[] = []
  for (const name of entries) {
    if (!ACCOUNT_NAME.test(name)) continue
    if (await exists(keyFilePath(storage, name))) names.push(name)
  }
  return names.sort()
}

export async function accountExists(storage: string, name: string): Promise<boolean> {
  return exists(keyFilePath(storage, name))
}

/** Whether the account's secret is encrypted, so a UI knows to ask for the password. */
export async function accountIsEncrypted(storage: string, name: string): Promise<boolean> {
  return (await readKeyFile(storage, name)).encrypted !== null
}

/** The account's public key, which the key file keeps readable: showing it needs no password. */
export async function accountPublicKey(storage: string, name: string): Promise<Buffer> {
  return (await readKeyFile(storage, name)).publicKey
}

/** Whether the account is a linked device: it has no recovery phrase or identity secret here. */
export async function accountIsLinked(storage: string, name: string): Promise<boolean> {
  return (await readKeyFile(storage, name)).linked
}

/**
 * Writes `identity` as a new account, on a new primary device of that identity. Fails with
 * ACCOUNT_EXISTS rather than overwrite.
 */
export async function saveAccount(
  storage: string,
  name: string,
  identity: Identity,
  opts: SaveAccountOptions = {}
): Promise<void> {
  await createAccount(storage, name, primaryKeys(identity, opts), opts)
}

/** @internal A new primary device of `identity`: a fresh device key, certified by the identity. */
export function primaryKeys(identity: Identity, opts: SaveAccountOptions = {}): AccountKeys {
  const device = keyPairFromSeed(randomBytes(SEED_BYTES))
  const createdAt = (opts.now ?? Date.now)()
  const certificate = certifyDevice(identity, device.publicKey, { createdAt, primary: true, name: opts.deviceName ?? '' })
  return { identity, device, certificate, accountKey: deriveAccountKey(identity.secretKey) }
}

/**
 * @internal Writes an account from its keys: a primary device when the identity can sign, a
 * linked device otherwise. Fails with ACCOUNT_EXISTS rather than overwrite.
 */
export async function createAccount(
  storage: string,
  name: string,
  keys: AccountKeys,
  opts: AccountOptions = {}
): Promise<void> {
  const dir = accountDirectory(storage, name)
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  const password = await passwordKey(opts.password)
  let record: KeyFile
  try {
    record = await sealKeyFile(keys, keys.certificate.createdAt, password)
  } finally {
    if (password) sodium.sodium_memzero(password.key)
  }
  const file = keyFilePath(storage, name)
  const tmp = await writeTemp(file, c.encode(keyFile, record))
  try {
    // A hard link fails on an existing file: no account is ever replaced, and the file appears
    // whole or not at all. Where links are not supported, an exclusive copy still never replaces.
    await fs.link(tmp, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') throw err
      return fs.copyFile(tmp, file, fsConstants.COPYFILE_EXCL)
    })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw BackspaceError.ACCOUNT_EXISTS(name)
    throw err
  } finally {
    await fs.rm(tmp, { force: true })
  }
}

/** Reads and unlocks an account. Encrypted accounts need their password. */
export async function loadAccount(
  storage: string,
  name: string,
  opts: AccountOptions = {}
): Promise<Identity> {
  return (await loadAccountKeys(storage, name, opts)).identity
}

/**
 * @internal Reads and unlocks an account with its device keys. A key file from before
 * devices (v1) becomes a primary device here: a device key is made and certified, and the
 * file is rewritten as v2 under the same password, atomically.
 */
export async function loadAccountKeys(
  storage: string,
  name: string,
  opts: SaveAccountOptions = {}
): Promise<AccountKeys> {
  const record = await readKeyFile(storage, name)
  let secret: Buffer
  // The password-derived key, kept to re-encrypt an upgraded file without a second Argon2id.
  let key: PasswordKey | null = null
  if (record.encrypted) {
    if (!opts.password) throw BackspaceError.PASSWORD_REQUIRED(`Account "${name}" is encrypted`)
    const { salt, opslimit, memlimit, box } = record.encrypted
    const derived = await passwordHash(b4a.from(opts.password.normalize('NFKC')), salt, { opslimit, memlimit })
    const opened = unseal(box, derived)
    if (!opened) {
      sodium.sodium_memzero(derived)
      throw BackspaceError.WRONG_PASSWORD()
    }
    key = { key: derived, salt, opslimit, memlimit }
    secret = opened
  } else {
    secret = record.secret!
  }
  try {
    if (record.version === 1) {
      if (secret.byteLength !== SEED_BYTES) throw BackspaceError.CORRUPT_KEY_FILE(`Account "${name}": bad seed`)
      const identity = Identity.fromSeed(secret)
      if (!b4a.equals(identity.publicKey, record.publicKey)) throw BackspaceError.CORRUPT_KEY_FILE()
      const keys = primaryKeys(identity, opts)
      const upgraded = await sealKeyFile(keys, record.createdAt, key)
      await replaceAtomic(keyFilePath(storage, name), c.encode(keyFile, upgraded))
      return keys
    }
    return openSecrets(name, record, secret)
  } finally {
    if (key) sodium.sodium_memzero(key.key)
  }
}

/**
 * Seals an account's key file under a new password (`next` undefined or '': none), after
 * unlocking it with the current one. The file is replaced atomically; a wrong `current`
 * (WRONG_PASSWORD, PASSWORD_REQUIRED) leaves it as it was.
 */
export async function changeAccountPassword(
  storage: string,
  name: string,
  current: string | undefined,
  next: string | undefined
): Promise<void> {
  const keys = await loadAccountKeys(storage, name, { password: current })
  const { createdAt } = await readKeyFile(storage, name)
  const password = await passwordKey(next)
  try {
    const record = await sealKeyFile(keys, createdAt, password)
    await replaceAtomic(keyFilePath(storage, name), c.encode(keyFile, record))
  } finally {
    if (password) sodium.sodium_memzero(password.key)
  }
}

function openSecrets(name: string, record: KeyFile, secret: Buffer): AccountKeys {
  const corrupt = (detail: string, cause?: unknown) =>
    BackspaceError.CORRUPT_KEY_FILE(`Account "${name}": ${detail}`, cause)
  let secrets: AccountSecrets
  let certificate: DeviceCertificate
  try {
    secrets = decodeStrict(accountSecrets, secret, 'account secrets')
    certificate = decodeCertificate(secrets.certificate)
  } catch (err) {
    throw corrupt((err as Error).message, err)
  }
  const identity = secrets.identitySeed ? Identity.fromSeed(secrets.identitySeed) : Identity.fromPublicKey(record.publicKey)
  const device = keyPairFromSeed(secrets.deviceSeed)
  if (!b4a.equals(identity.publicKey, record.publicKey)) throw corrupt('the identity does not match its public key')
  if (record.linked === identity.canSign) throw corrupt('the device kind does not match its secrets')
  if (
    !b4a.equals(certificate.identity, identity.publicKey) ||
    !b4a.equals(certificate.device, device.publicKey) ||
    !verifyCertificate(certificate)
  ) {
    throw corrupt('the device certificate does not belong to this device')
  }
  return { identity, device, certificate, accountKey: secrets.accountKey }
}

interface PasswordKey {
  key: Buffer
  salt: Buffer
  opslimit: number
  memlimit: number
}

async function passwordKey(password: string | undefined): Promise<PasswordKey | null> {
  if (!password) return null
  const salt = randomBytes(PWHASH_SALTBYTES)
  const params = PWHASH_INTERACTIVE
  const key = await passwordHash(b4a.from(password.normalize('NFKC')), salt, params)
  return { key, salt, ...params }
}

/** A v2 key file for `keys`: the secrets sealed with the password key, or in the clear. */
async function sealKeyFile(keys: AccountKeys, createdAt: number, password: PasswordKey | null): Promise<KeyFile> {
  const secrets = c.encode(accountSecrets, {
    identitySeed: keys.identity.canSign ? keys.identity.secretKey.subarray(0, SEED_BYTES) : null,
    deviceSeed: keys.device.secretKey.subarray(0, SEED_BYTES),
    accountKey: keys.accountKey,
    certificate: encodeCertificate(keys.certificate)
  })
  const record: KeyFile = {
    version: 2,
    publicKey: keys.identity.publicKey,
    createdAt,
    linked: !keys.identity.canSign,
    encrypted: null,
    secret: null
  }
  if (password) {
    const { key, salt, opslimit, memlimit } = password
    record.encrypted = { salt, opslimit, memlimit, box: seal(secrets, key) }
    sodium.sodium_memzero(secrets)
  } else {
    record.secret = secrets
  }
  return record
}

async function readKeyFile(storage: string, name: string): Promise<KeyFile> {
  let buf: Buffer
  try {
    buf = await fs.readFile(keyFilePath(storage, name))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw BackspaceError.ACCOUNT_NOT_FOUND(name)
    throw err
  }
  try {
    return decodeStrict(keyFile, buf, 'key file')
  } catch (err) {
    throw BackspaceError.CORRUPT_KEY_FILE(`Account "${name}": ${(err as Error).message}`, err)
  }
}

/** Writes `bytes` to a new temporary file next to `file`, synced to disk, mode 0600. */
async function writeTemp(file: string, bytes: Buffer): Promise<string> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await fs.open(tmp, 'wx', 0o600)
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } catch (err) {
    await handle.close()
    await fs.rm(tmp, { force: true })
    throw err
  }
  await handle.close()
  return tmp
}

/** @internal Replaces `file` with `bytes`: a crash leaves the old file or the new one, whole. */
export async function replaceAtomic(file: string, bytes: Buffer): Promise<void> {
  const tmp = await writeTemp(file, bytes)
  try {
    await fs.rename(tmp, file)
  } catch (err) {
    await fs.rm(tmp, { force: true })
    throw err
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file)
    return true
  } catch {
    return false
  }
}
