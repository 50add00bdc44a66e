import fs from 'fs/promises'
import path from 'path'
import b4a from 'b4a'
import sodium from 'sodium-universal'
import bip39 from 'bip39'
import c from 'compact-encoding'
import { BackspaceError } from './errors.js'
import {
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
import { decodeStrict, keyFile, type KeyFile } from './messages.js'

const SEED_BYTES = 32
const ACCOUNT_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/

/**
 * An Ed25519 identity made from a 32-byte seed. The seed is also the entropy of the 24-word
 * BIP39 recovery phrase, so the phrase turns back into exactly these keys.
 */
export class Identity {
  /** The public identity key that peers see and verify signatures with. */
  readonly publicKey: Buffer
  // The 64-byte libsodium secret key (seed || public key). Never leaves this process.
  readonly #secretKey: Buffer

  private constructor(keyPair: KeyPair) {
    this.publicKey = keyPair.publicKey
    this.#secretKey = keyPair.secretKey
  }

  /** A new identity from fresh randomness. */
  static generate(): Identity {
    return Identity.fromSeed(randomBytes(SEED_BYTES))
  }

  static fromSeed(seed: Buffer): Identity {
    if (!b4a.isBuffer(seed) || seed.byteLength !== SEED_BYTES) {
      throw BackspaceError.INVALID_SECRET_KEY('The seed must be 32 bytes')
    }
    return new Identity(keyPairFromSeed(seed))
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

  /** An `Anon#####` name for incognito use, stable for this key. */
  get anonName(): string {
    return `Anon#${String(this.publicKey.readUInt32BE(0) % 100000).padStart(5, '0')}`
  }

  sign(message: Buffer): Buffer {
    return sign(message, this.#secretKey)
  }

  static verify(signature: Buffer, message: Buffer, publicKey: Buffer): boolean {
    return verify(signature, message, publicKey)
  }

  /** @internal Key derivation needs the secret; nothing else in the library reads it. */
  get secretKey(): Buffer {
    return this.#secretKey
  }

  private get seed(): Buffer {
    return this.#secretKey.subarray(0, SEED_BYTES)
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

/** Writes `identity` as a new account. Fails with ACCOUNT_EXISTS rather than overwrite. */
export async function saveAccount(
  storage: string,
  name: string,
  identity: Identity,
  opts: AccountOptions = {}
): Promise<void> {
  const dir = accountDirectory(storage, name)
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  const record: KeyFile = {
    publicKey: identity.publicKey,
    createdAt: Date.now(),
    encrypted: null,
    seed: null
  }
  const seed = identity.secretKey.subarray(0, SEED_BYTES)
  if (opts.password) {
    const salt = randomBytes(PWHASH_SALTBYTES)
    const params = PWHASH_INTERACTIVE
    const key = await passwordHash(b4a.from(opts.password.normalize('NFKC')), salt, params)
    record.encrypted = { salt, ...params, box: seal(seed, key) }
    sodium.sodium_memzero(key)
  } else {
    record.seed = seed
  }
  try {
    // 'wx' refuses to replace an existing account.
    await fs.writeFile(keyFilePath(storage, name), c.encode(keyFile, record), { flag: 'wx', mode: 0o600 })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw BackspaceError.ACCOUNT_EXISTS(name)
    throw err
  }
}

/** Reads and unlocks an account. Encrypted accounts need their password. */
export async function loadAccount(
  storage: string,
  name: string,
  opts: AccountOptions = {}
): Promise<Identity> {
  const record = await readKeyFile(storage, name)
  let seed: Buffer
  if (record.encrypted) {
    if (!opts.password) throw BackspaceError.PASSWORD_REQUIRED(`Account "${name}" is encrypted`)
    const { salt, opslimit, memlimit, box } = record.encrypted
    const key = await passwordHash(b4a.from(opts.password.normalize('NFKC')), salt, { opslimit, memlimit })
    const opened = unseal(box, key)
    sodium.sodium_memzero(key)
    if (!opened || opened.byteLength !== SEED_BYTES) throw BackspaceError.WRONG_PASSWORD()
    seed = opened
  } else {
    seed = record.seed!
  }
  const identity = Identity.fromSeed(seed)
  if (!b4a.equals(identity.publicKey, record.publicKey)) throw BackspaceError.CORRUPT_KEY_FILE()
  return identity
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

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file)
    return true
  } catch {
    return false
  }
}
