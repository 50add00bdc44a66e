// The devices of one identity, as this node knows them: its own certificate, those it
// approved or was told about, and the revocations it has seen. Every entry is verified
// before it counts; the list is kept sealed in the account directory.
import fs from 'fs/promises'
import path from 'path'
import c from 'compact-encoding'
import b4a from 'b4a'
import { BackspaceError } from '../errors.js'
import { deriveDeviceRegistryKey, seal, unseal, type KeyPair } from '../crypto.js'
import { accountDirectory, fingerprint, loadAccountKeys, replaceAtomic, type AccountOptions } from '../identity.js'
import { decodeStrict, sealedFile, type Encoding } from '../messages.js'
import type { DeviceInfo } from '../types.js'
import {
  decodeCertificate,
  decodeRevocation,
  encodeCertificate,
  encodeRevocation,
  verifyCertificate,
  verifyRevocation,
  type DeviceCertificate,
  type DeviceRevocation
} from './device.js'

/**
 * @internal What the room needs to write as this device: the device's key pair and the
 * certificate that binds it to the identity, and the account key all devices share.
 */
export interface DeviceKeys {
  keyPair: KeyPair
  certificate: DeviceCertificate
  /** `certificate` encoded, to carry in blocks as it is. */
  certificateBytes: Buffer
  /** The identity public key that signed the certificate. */
  identityKey: Buffer
  accountKey: Buffer
}

/** Devices one identity may have in the list; certificates beyond it are ignored. */
export const MAX_DEVICES = 256

const REGISTRY_VERSION = 1

interface RegistryRecord {
  certificates: Buffer[]
  revocations: Buffer[]
}

const bufferList = c.array(c.buffer)

const registryRecord: Encoding<RegistryRecord> = {
  preencode(state, r) {
    c.uint.preencode(state, REGISTRY_VERSION)
    bufferList.preencode(state, r.certificates)
    bufferList.preencode(state, r.revocations)
  },
  encode(state, r) {
    c.uint.encode(state, REGISTRY_VERSION)
    bufferList.encode(state, r.certificates)
    bufferList.encode(state, r.revocations)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== REGISTRY_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`device list v${version}`)
    const certificates = bufferList.decode(state).filter((b): b is Buffer => b !== null)
    const revocations = bufferList.decode(state).filter((b): b is Buffer => b !== null)
    state.start = state.end
    return { certificates, revocations }
  }
}

export interface DeviceRegistryOptions {
  /** This device's own certificate; the registry belongs to its identity. */
  own: DeviceCertificate
  /** Where the list is kept, or null to keep it in memory (incognito). */
  file: string | null
  /** Seals the file: derived from the account key. */
  key: Buffer
  /** Runs after every change that was accepted. */
  onchange?: () => void
}

/**
 * The identity's devices. `add` and `revoke` accept only what verifies and belongs to this
 * identity, so whatever feeds them (pairing, rooms, the account log) cannot plant a device.
 */
export class DeviceRegistry {
  readonly identityKey: Buffer
  readonly own: DeviceCertificate
  private readonly file: string | null
  private readonly key: Buffer
  private readonly onchange: () => void
  private readonly certificates = new Map<string, DeviceCertificate>()
  private readonly revocations = new Map<string, DeviceRevocation>()
  // Saves run one at a time, in order.
  private writing: Promise<void> = Promise.resolve()

  constructor(opts: DeviceRegistryOptions) {
    this.own = opts.own
    this.identityKey = opts.own.identity
    this.file = opts.file
    this.key = opts.key
    this.onchange = opts.onchange ?? (() => {})
    this.certificates.set(hex(opts.own.device), opts.own)
  }

  /** Reads the saved list. Entries that no longer verify are dropped, never trusted. */
  async load(): Promise<void> {
    if (this.file === null) return
    let buf: Buffer
    try {
      buf = await fs.readFile(this.file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw err
    }
    let record: RegistryRecord
    try {
      const plain = unseal(decodeStrict(sealedFile, buf, 'device list'), this.key)
      if (!plain) throw BackspaceError.CORRUPT_STATE('The device list does not open with this account')
      record = decodeStrict(registryRecord, plain, 'device list')
    } catch (err) {
      if ((err as { code?: string }).code === 'CORRUPT_STATE') throw err
      throw BackspaceError.CORRUPT_STATE((err as Error).message, err)
    }
    for (const bytes of record.certificates) {
      const cert = tryDecode(decodeCertificate, bytes)
      if (cert) this.accept(cert)
    }
    for (const bytes of record.revocations) {
      const rev = tryDecode(decodeRevocation, bytes)
      if (rev) this.acceptRevocation(rev)
    }
  }

  /**
   * Adds a certificate of this identity. Returns true when it is new; false when it does not
   * verify, belongs to another identity, is known already, or the list is full.
   */
  add(cert: DeviceCertificate): boolean {
    if (!this.accept(cert)) return false
    this.changed()
    return true
  }

  /**
   * Records a revocation of one of this identity's devices. Returns true when it changed the
   * list; false when it does not verify, is not this identity's, or is known already.
   */
  revoke(revocation: DeviceRevocation): boolean {
    if (!this.acceptRevocation(revocation)) return false
    this.changed()
    return true
  }

  /** The revocation of `device`, or null while it is not revoked. */
  /** Every revocation this device knows, to carry to rooms. */
  allRevocations(): DeviceRevocation[] {
    return [...this.revocations.values()]
  }

  isRevoked(device: Buffer): DeviceRevocation | null {
    return this.revocations.get(hex(device)) ?? null
  }

  /** The certificate of `device`, if this identity certified it and this node has seen it. */
  certificate(device: Buffer): DeviceCertificate | null {
    return this.certificates.get(hex(device)) ?? null
  }

  /** The devices, oldest first. */
  list(): DeviceInfo[] {
    return [...this.certificates.values()]
      .sort((a, b) => a.createdAt - b.createdAt || b4a.compare(a.device, b.device))
      .map((cert) => this.view(cert))
  }

  /** One device as the API shows it, or null if unknown. */
  info(device: Buffer): DeviceInfo | null {
    const cert = this.certificate(device)
    return cert ? this.view(cert) : null
  }

  /** Writes the list, sealed, atomically. Nothing to do in memory only. */
  save(): Promise<void> {
    const file = this.file
    if (file === null) return Promise.resolve()
    const record: RegistryRecord = {
      certificates: [...this.certificates.values()].map(encodeCertificate),
      revocations: [...this.revocations.values()].map(encodeRevocation)
    }
    const bytes = c.encode(sealedFile, seal(c.encode(registryRecord, record), this.key))
    // Write then rename: a crash leaves either the old list or the new one.
    // A failed save was reported to its caller; the next one still runs.
    this.writing = this.writing.catch(() => {}).then(() => replaceAtomic(file, bytes))
    return this.writing
  }

  /** Resolves once every save asked for so far is on disk (or failed). */
  async flush(): Promise<void> {
    await this.writing.catch(() => {})
  }

  private view(cert: DeviceCertificate): DeviceInfo {
    return Object.freeze({
      key: cert.device,
      fingerprint: fingerprint(cert.device),
      name: cert.name,
      createdAt: cert.createdAt,
      primary: cert.primary,
      current: b4a.equals(cert.device, this.own.device),
      revoked: this.revocations.has(hex(cert.device))
    })
  }

  private accept(cert: DeviceCertificate): boolean {
    if (!b4a.equals(cert.identity, this.identityKey)) return false
    const id = hex(cert.device)
    if (this.certificates.has(id) || this.certificates.size >= MAX_DEVICES) return false
    if (!verifyCertificate(cert)) return false
    this.certificates.set(id, cert)
    // A linked device's revocation of a device not known then is void if that device is primary.
    const rev = this.revocations.get(id)
    if (rev && !verifyRevocation(rev, cert)) this.revocations.delete(id)
    return true
  }

  private acceptRevocation(rev: DeviceRevocation): boolean {
    if (!b4a.equals(rev.identity, this.identityKey)) return false
    const id = hex(rev.device)
    const known = this.revocations.get(id)
    // The earliest revocation of a device is the one that holds.
    if (known && known.revokedAt <= rev.revokedAt) return false
    if (!verifyRevocation(rev, this.certificate(rev.device))) return false
    if (rev.by !== null) {
      // A device revoked before it signed this cannot revoke anymore.
      const signer = this.revocations.get(hex(rev.by.device))
      if (signer && signer.revokedAt <= rev.revokedAt) return false
      if (!this.certificates.has(hex(rev.by.device))) this.accept(rev.by)
    }
    if (!known && this.revocations.size >= MAX_DEVICES) return false
    this.revocations.set(id, rev)
    return true
  }

  private changed(): void {
    this.onchange()
  }
}

function hex(key: Buffer): string {
  return key.toString('hex')
}

function tryDecode<T>(decode: (buf: Buffer) => T, buf: Buffer): T | null {
  try {
    return decode(buf)
  } catch {
    return null
  }
}

/**
 * The devices an account knows, read from its storage without opening a node (so it works
 * while the account is open elsewhere). Encrypted accounts need their password.
 */
export async function accountDevices(storage: string, name: string, opts: AccountOptions = {}): Promise<DeviceInfo[]> {
  const keys = await loadAccountKeys(storage, name, opts)
  const registry = new DeviceRegistry({
    own: keys.certificate,
    file: path.join(accountDirectory(storage, name), 'devices'),
    key: deriveDeviceRegistryKey(keys.accountKey)
  })
  await registry.load()
  return registry.list()
}
