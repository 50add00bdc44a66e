// The keys of the social layer: X25519 keys converted from the Ed25519 identities, requests
// sealed to a recipient, the secret of a DM that both sides derive and that never travels,
// and the rotating inbox in which requests wait.
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { hash, keyPairFromSeed, type KeyPair } from '../crypto.js'

const NS = {
  dm: b4a.from('backspace/dm-secret/v1'),
  inbox: b4a.from('backspace/inbox/v1'),
  inboxWriter: b4a.from('backspace/inbox-writer/v1')
}

/**
 * How long one inbox topic lasts. A recipient listens on the current and the previous one, so
 * a request written in either is found; a request lives at most the TTL (7 days) anyway.
 */
export const INBOX_EPOCH = 7 * 24 * 60 * 60 * 1000

/** The X25519 public key of an Ed25519 public key, or null if it is not a valid point. */
export function x25519PublicKey(ed25519PublicKey: Buffer): Buffer | null {
  if (!b4a.isBuffer(ed25519PublicKey) || ed25519PublicKey.byteLength !== 32) return null
  const out = b4a.alloc(sodium.crypto_box_PUBLICKEYBYTES)
  try {
    sodium.crypto_sign_ed25519_pk_to_curve25519(out, ed25519PublicKey)
  } catch {
    return null
  }
  return out
}

function x25519SecretKey(ed25519SecretKey: Buffer): Buffer {
  const out = b4a.alloc(sodium.crypto_box_SECRETKEYBYTES)
  sodium.crypto_sign_ed25519_sk_to_curve25519(out, ed25519SecretKey)
  return out
}

/** Seals `plaintext` so that only the holder of the secret key of `ed25519PublicKey` opens it. */
export function sealTo(plaintext: Buffer, ed25519PublicKey: Buffer): Buffer | null {
  const pk = x25519PublicKey(ed25519PublicKey)
  if (!pk) return null
  const out = b4a.alloc(plaintext.byteLength + sodium.crypto_box_SEALBYTES)
  sodium.crypto_box_seal(out, plaintext, pk)
  return out
}

/** Opens a box sealed to this identity; null when it was sealed to someone else or tampered with. */
export function openSealed(box: Buffer, identity: KeyPair): Buffer | null {
  if (!b4a.isBuffer(box) || box.byteLength < sodium.crypto_box_SEALBYTES) return null
  const pk = x25519PublicKey(identity.publicKey)
  if (!pk) return null
  const sk = x25519SecretKey(identity.secretKey)
  const out = b4a.alloc(box.byteLength - sodium.crypto_box_SEALBYTES)
  try {
    return sodium.crypto_box_seal_open(out, box, pk, sk) ? out : null
  } finally {
    sodium.sodium_memzero(sk)
  }
}

/**
 * The room secret of the DM between two identities: their X25519 shared secret, both keys
 * (in order, so both sides get the same) and the per-DM salt of the accepted request. Each
 * side computes it with its own secret key; it is never sent. Null for a key that is no point.
 */
export function deriveDmSecret(own: KeyPair, other: Buffer, salt: Buffer): Buffer | null {
  const pk = x25519PublicKey(other)
  if (!pk) return null
  const sk = x25519SecretKey(own.secretKey)
  const shared = b4a.alloc(sodium.crypto_scalarmult_BYTES)
  try {
    sodium.crypto_scalarmult(shared, sk, pk)
  } catch {
    return null
  } finally {
    sodium.sodium_memzero(sk)
  }
  // An all-zero result means a low-order point: no secret at all.
  if (shared.every((b) => b === 0)) return null
  const [a, b] = b4a.compare(own.publicKey, other) < 0 ? [own.publicKey, other] : [other, own.publicKey]
  const secret = hash([NS.dm, shared, a, b, salt])
  sodium.sodium_memzero(shared)
  return secret
}

/** The epoch of an inbox at time `now`. */
export function inboxEpoch(now: number): number {
  return Math.floor(now / INBOX_EPOCH)
}

/**
 * The room secret of an identity's inbox in one epoch. Anyone who knows the public key derives
 * it (that is how strangers reach you); a DHT node that does not know the key sees a topic
 * that changes every epoch and cannot be linked to the last one.
 */
export function inboxSecret(identityKey: Buffer, epoch: number): Buffer {
  const e = b4a.alloc(8)
  e.writeUInt32BE(Math.floor(epoch / 2 ** 32), 0)
  e.writeUInt32BE(epoch >>> 0, 4)
  return hash([NS.inbox, identityKey, e])
}

/**
 * The key pair of the anonymous writer a device uses in someone's inbox (or its own): derived
 * from the device's secret key, so the same core is reopened after a restart, and unlinkable
 * to the device or identity by anyone else.
 */
export function inboxWriterSeed(deviceSecretKey: Buffer, inbox: Buffer, salt: Buffer): Buffer {
  return hash([NS.inboxWriter, inbox, salt], deviceSecretKey.subarray(0, 32))
}

/** A key pair from a seed and a label: the anonymous writer's device key. */
export function labelledKeyPair(seed: Buffer, label: string): KeyPair {
  return keyPairFromSeed(hash([b4a.from(label), seed]))
}
