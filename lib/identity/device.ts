// Devices: each install of an account has its own Ed25519 key pair, and the identity vouches
// for it with a signed certificate. Writer cores are derived per device, blocks are signed by
// the device key, and readers follow the chain device → identity before they show a message
// as the identity's. A revocation, signed by the identity or by a device allowed to, ends a
// device's authority from a moment on.
import c from 'compact-encoding'
import b4a from 'b4a'
import { BackspaceError } from '../errors.js'
import { hash, keyPairFromSeed, randomBytes, sign, verify, type KeyPair } from '../crypto.js'
import { decodeStrict, type Encoding } from '../messages.js'

const NS = {
  certificate: b4a.from('backspace/device-certificate/v1'),
  revocation: b4a.from('backspace/device-revocation/v1')
}

export const MAX_DEVICE_NAME_BYTES = 64

/** The identity's word that a device key speaks for it. */
export interface DeviceCertificate {
  /** The identity public key that signed this certificate. */
  identity: Buffer
  /** The device's own public key: it signs the blocks the device writes. */
  device: Buffer
  /** When the identity approved the device, ms since the epoch (as the approver stamped it). */
  createdAt: number
  /** The device holds the identity's secret (it was made from the phrase or the hex key). */
  primary: boolean
  /** A label the owner gave the device, for device lists. Not shown to other members. */
  name: string
  /** The identity's signature over everything above. */
  signature: Buffer
}

/** A device's authority ends: blocks it writes from `revokedAt` on are rejected everywhere. */
export interface DeviceRevocation {
  identity: Buffer
  /** The revoked device key. */
  device: Buffer
  revokedAt: number
  /**
   * The certificate of the device that signed this revocation, or null when the identity key
   * signed it directly. A linked (not primary) device cannot revoke a primary one.
   */
  by: DeviceCertificate | null
  signature: Buffer
}

const CERT_VERSION = 1
const CERT_FLAG_PRIMARY = 1
const CERT_FLAG_NAME = 2

const certFields: Encoding<Omit<DeviceCertificate, 'signature'>> = {
  preencode(state, d) {
    c.uint.preencode(state, CERT_VERSION)
    c.uint.preencode(state, certFlags(d))
    c.fixed32.preencode(state, d.identity)
    c.fixed32.preencode(state, d.device)
    c.uint.preencode(state, d.createdAt)
    if (d.name) c.string.preencode(state, d.name)
  },
  encode(state, d) {
    c.uint.encode(state, CERT_VERSION)
    c.uint.encode(state, certFlags(d))
    c.fixed32.encode(state, d.identity)
    c.fixed32.encode(state, d.device)
    c.uint.encode(state, d.createdAt)
    if (d.name) c.string.encode(state, d.name)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== CERT_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`device certificate v${version}`)
    const flags = c.uint.decode(state)
    const identity = c.fixed32.decode(state)
    const device = c.fixed32.decode(state)
    const createdAt = c.uint.decode(state)
    const name = flags & CERT_FLAG_NAME ? c.string.decode(state) : ''
    if (b4a.byteLength(name) > MAX_DEVICE_NAME_BYTES) throw BackspaceError.DECODE_FAILED('device name too long')
    return { identity, device, createdAt, primary: (flags & CERT_FLAG_PRIMARY) !== 0, name }
  }
}

function certFlags(d: Omit<DeviceCertificate, 'signature'>): number {
  return (d.primary ? CERT_FLAG_PRIMARY : 0) | (d.name ? CERT_FLAG_NAME : 0)
}

/** A certificate: its signed fields, then a 64-byte signature. Nothing may follow. */
export const deviceCertificate: Encoding<DeviceCertificate> = {
  preencode(state, d) {
    certFields.preencode(state, d)
    c.fixed64.preencode(state, d.signature)
  },
  encode(state, d) {
    certFields.encode(state, d)
    c.fixed64.encode(state, d.signature)
  },
  decode(state) {
    // One object of one shape: every block carries a certificate, so no spread here.
    const f = certFields.decode(state)
    const signature = c.fixed64.decode(state)
    return { identity: f.identity, device: f.device, createdAt: f.createdAt, primary: f.primary, name: f.name, signature }
  }
}

const REVOCATION_VERSION = 1
const REVOCATION_FLAG_BY = 1

const revocationFields: Encoding<Omit<DeviceRevocation, 'signature'>> = {
  preencode(state, r) {
    c.uint.preencode(state, REVOCATION_VERSION)
    c.uint.preencode(state, r.by ? REVOCATION_FLAG_BY : 0)
    c.fixed32.preencode(state, r.identity)
    c.fixed32.preencode(state, r.device)
    c.uint.preencode(state, r.revokedAt)
    if (r.by) deviceCertificate.preencode(state, r.by)
  },
  encode(state, r) {
    c.uint.encode(state, REVOCATION_VERSION)
    c.uint.encode(state, r.by ? REVOCATION_FLAG_BY : 0)
    c.fixed32.encode(state, r.identity)
    c.fixed32.encode(state, r.device)
    c.uint.encode(state, r.revokedAt)
    if (r.by) deviceCertificate.encode(state, r.by)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== REVOCATION_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`device revocation v${version}`)
    const flags = c.uint.decode(state)
    const identity = c.fixed32.decode(state)
    const device = c.fixed32.decode(state)
    const revokedAt = c.uint.decode(state)
    const by = flags & REVOCATION_FLAG_BY ? deviceCertificate.decode(state) : null
    return { identity, device, revokedAt, by }
  }
}

export const deviceRevocation: Encoding<DeviceRevocation> = {
  preencode(state, r) {
    revocationFields.preencode(state, r)
    c.fixed64.preencode(state, r.signature)
  },
  encode(state, r) {
    revocationFields.encode(state, r)
    c.fixed64.encode(state, r.signature)
  },
  decode(state) {
    const fields = revocationFields.decode(state)
    return { ...fields, signature: c.fixed64.decode(state) }
  }
}

function certificateSignable(d: Omit<DeviceCertificate, 'signature'>): Buffer {
  return b4a.concat([NS.certificate, c.encode(certFields, d)])
}

function revocationSignable(r: Omit<DeviceRevocation, 'signature'>): Buffer {
  return b4a.concat([NS.revocation, c.encode(revocationFields, r)])
}

/** Something that can sign as the identity: `Identity` is one. */
export interface IdentitySigner {
  readonly publicKey: Buffer
  sign(message: Buffer): Buffer
}

/** The identity vouches for `device`. Only a holder of the identity's secret can do this. */
export function certifyDevice(
  identity: IdentitySigner,
  device: Buffer,
  opts: { createdAt: number; primary: boolean; name?: string }
): DeviceCertificate {
  const name = opts.name ?? ''
  if (b4a.byteLength(name) > MAX_DEVICE_NAME_BYTES) {
    throw BackspaceError.INVALID_ARGUMENT(`a device name has at most ${MAX_DEVICE_NAME_BYTES} bytes`)
  }
  const fields = { identity: identity.publicKey, device, createdAt: opts.createdAt, primary: opts.primary, name }
  return { ...fields, signature: identity.sign(certificateSignable(fields)) }
}

/** True when the identity named in `cert` signed it. */
export function verifyCertificate(cert: DeviceCertificate): boolean {
  return verify(cert.signature, certificateSignable(cert), cert.identity)
}

/**
 * Revokes `device`. With `identity`, the identity signs; with a device's key pair and
 * certificate, the device signs (allowed only against a device that is not primary).
 */
export function revokeDevice(
  signer: { identity: IdentitySigner } | { device: KeyPair; certificate: DeviceCertificate },
  device: Buffer,
  revokedAt: number
): DeviceRevocation {
  if ('identity' in signer) {
    const fields = { identity: signer.identity.publicKey, device, revokedAt, by: null }
    return { ...fields, signature: signer.identity.sign(revocationSignable(fields)) }
  }
  const fields = { identity: signer.certificate.identity, device, revokedAt, by: signer.certificate }
  return { ...fields, signature: sign(revocationSignable(fields), signer.device.secretKey) }
}

/**
 * Checks a revocation's signature chain. `target` is the revoked device's certificate when
 * known: a linked device's revocation of a primary device is void.
 */
export function verifyRevocation(r: DeviceRevocation, target: DeviceCertificate | null): boolean {
  const signable = revocationSignable(r)
  if (r.by === null) return verify(r.signature, signable, r.identity)
  if (!b4a.equals(r.by.identity, r.identity) || !verifyCertificate(r.by)) return false
  if (!r.by.primary && target !== null && target.primary) return false
  // A device cannot revoke itself into a primary's place, but it may revoke itself.
  return verify(r.signature, signable, r.by.device)
}

export function encodeCertificate(cert: DeviceCertificate): Buffer {
  return c.encode(deviceCertificate, cert)
}

export function decodeCertificate(buf: Buffer): DeviceCertificate {
  return decodeStrict(deviceCertificate, buf, 'device certificate')
}

export function encodeRevocation(r: DeviceRevocation): Buffer {
  return c.encode(deviceRevocation, r)
}

export function decodeRevocation(buf: Buffer): DeviceRevocation {
  return decodeStrict(deviceRevocation, buf, 'device revocation')
}

/** A fresh device key pair. */
export function generateDeviceKeyPair(): KeyPair {
  return keyPairFromSeed(randomBytes(32))
}

/** A short id of a certificate, to cache its verification. */
export function certificateId(cert: Buffer): string {
  return hash([cert], undefined, 16).toString('hex')
}
