import sodium from 'sodium-universal'
import b4a from 'b4a'
import { BackspaceError } from './errors.js'

/** An Ed25519 key pair. `secretKey` is the 64-byte libsodium form (seed || public key). */
export interface KeyPair {
  publicKey: Buffer
  secretKey: Buffer
}

/** The keys of one room, all derived from its 32-byte secret. */
export interface RoomKeys {
  /** Binds signatures to this room, so a message cannot be replayed into another. */
  id: Buffer
  /** The Hyperswarm topic. DHT nodes see it; it reveals nothing of the secret. */
  topic: Buffer
  /** Hypercore block encryption key: members read, relays and disks hold ciphertext. */
  encryptionKey: Buffer
  /** Secretbox key for writer announcements on the room's protomux channel. */
  channelKey: Buffer
  /**
   * Keys the room's protomux channel id on each connection (`connectionChannelId`): unguessable
   * without the relay secret, and different on every connection.
   */
  channelIdKey: Buffer
  /** Proves knowledge of the relay secret when the channel opens (`channelProof`): members and relays. */
  relayProofKey: Buffer
  /** What a relay holds: topic and channel keys derive from it, the content keys do not. */
  relaySecret: Buffer
  /** Seals what only members may read on the channel (live blocks, presence): not relays. */
  memberKey: Buffer
  /** Proves knowledge of the room secret when the channel opens: members only, not relays. */
  memberProofKey: Buffer
  /**
   * Signs the writer cores members admit. Members hold the secret half; relays get only the
   * public half (in the relay link), so they can check that a member made a core without
   * being able to read, or to admit cores of their own.
   */
  admission: KeyPair
}

export const MAX_ROOM_NAME_LENGTH = 64

const NS = {
  roomSalt: b4a.from('backspace/room-salt/v1'),
  roomId: b4a.from('backspace/room-id/v1'),
  topic: b4a.from('backspace/topic/v1'),
  encryption: b4a.from('backspace/block-encryption/v1'),
  channelKey: b4a.from('backspace/channel-key/v1'),
  channelId: b4a.from('backspace/channel-id/v1'),
  connectionChannel: b4a.from('backspace/connection-channel-id/v2'),
  relayProof: b4a.from('backspace/relay-proof-key/v1'),
  memberProof: b4a.from('backspace/member-proof-key/v1'),
  channelProof: b4a.from('backspace/channel-proof/v1'),
  writer: b4a.from('backspace/writer/v1'),
  local: b4a.from('backspace/local-state/v1'),
  message: b4a.from('backspace/message/v1'),
  presence: b4a.from('backspace/presence/v1'),
  relay: b4a.from('backspace/relay/v1'),
  memberKey: b4a.from('backspace/member-key/v1'),
  account: b4a.from('backspace/account-key/v1'),
  devices: b4a.from('backspace/device-registry/v1'),
  admission: b4a.from('backspace/admission-key/v1'),
  admit: b4a.from('backspace/admit/v1'),
  writerClaim: b4a.from('backspace/writer-claim/v1'),
  coreClaim: b4a.from('backspace/core-claim/v1'),
  memberTag: b4a.from('backspace/member-tag/v1'),
  ownedRoom: b4a.from('backspace/owned-room/v1'),
  lockSalt: b4a.from('backspace/lock-salt/v1'),
  access: b4a.from('backspace/lock-access/v1')
}

export function randomBytes(n: number): Buffer {
  const buf = b4a.alloc(n)
  sodium.randombytes_buf(buf)
  return buf
}

/** BLAKE2b over the concatenation of `parts`, optionally keyed. */
export function hash(parts: Buffer[], key?: Buffer, bytes = 32): Buffer {
  const out = b4a.alloc(bytes)
  if (key) sodium.crypto_generichash_batch(out, parts, key)
  else sodium.crypto_generichash_batch(out, parts)
  return out
}

export function keyPairFromSeed(seed: Buffer): KeyPair {
  const publicKey = b4a.alloc(sodium.crypto_sign_PUBLICKEYBYTES)
  const secretKey = b4a.alloc(sodium.crypto_sign_SECRETKEYBYTES)
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)
  return { publicKey, secretKey }
}

export function sign(message: Buffer, secretKey: Buffer): Buffer {
  const signature = b4a.alloc(sodium.crypto_sign_BYTES)
  sodium.crypto_sign_detached(signature, message, secretKey)
  return signature
}

export function verify(signature: Buffer, message: Buffer, publicKey: Buffer): boolean {
  if (signature.byteLength !== sodium.crypto_sign_BYTES) return false
  if (publicKey.byteLength !== sodium.crypto_sign_PUBLICKEYBYTES) return false
  return sodium.crypto_sign_verify_detached(signature, message, publicKey)
}

/** XSalsa20-Poly1305 with a random nonce. Returns nonce || ciphertext. */
export function seal(plaintext: Buffer, key: Buffer): Buffer {
  const nonceBytes = sodium.crypto_secretbox_NONCEBYTES
  const out = b4a.alloc(nonceBytes + plaintext.byteLength + sodium.crypto_secretbox_MACBYTES)
  const nonce = out.subarray(0, nonceBytes)
  sodium.randombytes_buf(nonce)
  sodium.crypto_secretbox_easy(out.subarray(nonceBytes), plaintext, nonce, key)
  return out
}

/** Opens a box made by `seal`. Returns null when the key is wrong or the box was tampered with. */
export function unseal(box: Buffer, key: Buffer): Buffer | null {
  const nonceBytes = sodium.crypto_secretbox_NONCEBYTES
  if (box.byteLength < nonceBytes + sodium.crypto_secretbox_MACBYTES) return null
  const nonce = box.subarray(0, nonceBytes)
  const cipher = box.subarray(nonceBytes)
  const out = b4a.alloc(cipher.byteLength - sodium.crypto_secretbox_MACBYTES)
  return sodium.crypto_secretbox_open_easy(out, cipher, nonce, key) ? out : null
}

export interface PasswordHashParams {
  opslimit: number
  memlimit: number
}

/** Argon2id at libsodium's interactive limits: about 64 MiB and a fraction of a second. */
export const PWHASH_INTERACTIVE: PasswordHashParams = {
  opslimit: sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE,
  memlimit: sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE
}

export const PWHASH_SALTBYTES: number = sodium.crypto_pwhash_SALTBYTES

/** Argon2id, run off the main thread so the event loop keeps serving peers. */
export async function passwordHash(
  password: Buffer,
  salt: Buffer,
  params: PasswordHashParams = PWHASH_INTERACTIVE
): Promise<Buffer> {
  const out = b4a.alloc(32)
  await sodium.crypto_pwhash_async(
    out,
    password,
    salt,
    params.opslimit,
    params.memlimit,
    sodium.crypto_pwhash_ALG_ARGON2ID13
  )
  return out
}

/**
 * The canonical form of a room name: Unicode NFKC, trimmed, lower case, inner whitespace
 * collapsed, and without a leading `#`. `#General ` and `general` are the same room.
 */
export function normalizeRoomName(name: string): string {
  if (typeof name !== 'string') throw BackspaceError.INVALID_ROOM_NAME('The room name must be a string')
  const normalized = name.normalize('NFKC').trim().replace(/^#+/, '').trim().toLowerCase().replace(/\s+/g, ' ')
  if (normalized.length === 0) throw BackspaceError.INVALID_ROOM_NAME('The room name is empty')
  if ([...normalized].length > MAX_ROOM_NAME_LENGTH) {
    throw BackspaceError.INVALID_ROOM_NAME(`Room names have at most ${MAX_ROOM_NAME_LENGTH} characters`)
  }
  return normalized
}

/**
 * The secret of a named room: Argon2id over the normalised name and the password, salted by
 * the name. Anyone who knows both derives the same secret; a DHT node that sees the topic has
 * to pay Argon2id for every name and password it guesses.
 */
export async function deriveNamedRoomSecret(name: string, password = ''): Promise<Buffer> {
  const normalized = normalizeRoomName(name)
  const nameBuf = b4a.from(normalized)
  const input = b4a.concat([nameBuf, b4a.from([0]), b4a.from(password.normalize('NFKC'))])
  const salt = hash([NS.roomSalt, nameBuf], undefined, PWHASH_SALTBYTES)
  return passwordHash(input, salt)
}

export function deriveRoomKeys(secret: Buffer): RoomKeys {
  const relaySecret = deriveRelaySecret(secret)
  return {
    id: hash([NS.roomId], secret),
    encryptionKey: hash([NS.encryption], secret),
    memberKey: hash([NS.memberKey], secret),
    memberProofKey: hash([NS.memberProof], secret),
    relaySecret,
    admission: deriveAdmissionKeyPair(secret),
    ...deriveRelayKeys(relaySecret)
  }
}

/**
 * The secret of a room made by `createRoom()`: a hash of its owner's identity key and a random
 * nonce. An invite carries the owner and the nonce, never the secret alone, so whoever joins
 * derives the secret from the owner it names: an invite that names another owner opens
 * another room, and nobody can claim the room ahead of its creator.
 */
export function ownedRoomSecret(owner: Buffer, nonce: Buffer): Buffer {
  return hash([NS.ownedRoom, owner, nonce])
}

/**
 * The key pair of a room lock's password: Argon2id over the password, salted by the room id,
 * seeds it. The lock operation carries the public half; a newcomer who knows the password
 * signs its access with the secret half. Whoever reads the log can only guess passwords at
 * the cost of Argon2id each.
 */
export async function lockKeyPair(password: string, roomId: Buffer): Promise<KeyPair> {
  const salt = hash([NS.lockSalt, roomId], undefined, PWHASH_SALTBYTES)
  return keyPairFromSeed(await passwordHash(b4a.from(password.normalize('NFKC')), salt))
}

/** What a newcomer's access proof signs: the lock it answers (its record id) and the identity. */
export function accessSignable(lockId: string, identity: Buffer): Buffer {
  return b4a.concat([NS.access, b4a.from(lockId), identity])
}

/**
 * The room's admission key pair: its secret half signs the writer cores members admit. It
 * comes from the room secret, so no holder of the relay secret can derive it.
 */
export function deriveAdmissionKeyPair(secret: Buffer): KeyPair {
  return keyPairFromSeed(hash([NS.admission], secret))
}

/**
 * What the admission key signs for a writer core: the room (its topic, which relays know),
 * the core, the member tag it counts against, and the sealed claim that names its device.
 */
export function admissionSignable(topic: Buffer, coreKey: Buffer, tag: Buffer, sealedClaim: Buffer): Buffer {
  return b4a.concat([NS.admit, topic, coreKey, tag, hash([sealedClaim])])
}

/** What a device signs to claim a writer core in a room: only members can check it. */
export function writerClaimSignable(roomId: Buffer, coreKey: Buffer): Buffer {
  return b4a.concat([NS.writerClaim, roomId, coreKey])
}

/**
 * What a writer core's own key pair signs to name the device that writes it, in a room: with
 * the device's claim on the core, the core and the device each vouch for the other.
 */
export function coreClaimSignable(roomId: Buffer, coreKey: Buffer, device: Buffer): Buffer {
  return b4a.concat([NS.coreClaim, roomId, coreKey, device])
}

/**
 * An identity's tag in one room: relays count cores per tag without learning the identity
 * (the room id it is keyed by is for members only), and tags do not link across rooms.
 */
export function memberTag(roomId: Buffer, identity: Buffer): Buffer {
  return hash([NS.memberTag, identity], roomId)
}

/**
 * The part of a room's secret a relay gets: enough to find the room and learn its writer
 * cores, not enough to read a block or verify who wrote it.
 */
export function deriveRelaySecret(secret: Buffer): Buffer {
  return hash([NS.relay], secret)
}

/** The keys a relay derives from the relay secret: topic and channel, no content key. */
export function deriveRelayKeys(
  relaySecret: Buffer
): Pick<RoomKeys, 'topic' | 'channelKey' | 'channelIdKey' | 'relayProofKey'> {
  return {
    topic: hash([NS.topic], relaySecret),
    channelKey: hash([NS.channelKey], relaySecret),
    channelIdKey: hash([NS.channelId], relaySecret),
    relayProofKey: hash([NS.relayProof], relaySecret)
  }
}

/** The two ends of a connection: the Noise keys and the handshake hash both ends share. */
export interface ConnectionKeys {
  publicKey: Buffer
  remotePublicKey: Buffer
  /** The Noise handshake hash, the same on both ends and new on every connection. */
  handshakeHash?: Buffer | null
}

function handshakeOf(conn: ConnectionKeys): Buffer {
  const h = conn.handshakeHash
  return b4a.isBuffer(h) ? h : b4a.alloc(0)
}

/**
 * A room's channel id on one connection: a keyed hash of the handshake hash and both Noise
 * keys, sorted, so both ends compute the same id. Without the relay secret it cannot be
 * computed, and an id seen on one connection says nothing about the room on another.
 */
export function connectionChannelId(channelIdKey: Buffer, conn: ConnectionKeys): Buffer {
  const [lo, hi] =
    b4a.compare(conn.publicKey, conn.remotePublicKey) <= 0
      ? [conn.publicKey, conn.remotePublicKey]
      : [conn.remotePublicKey, conn.publicKey]
  return hash([NS.connectionChannel, handshakeOf(conn), lo, hi], channelIdKey)
}

/**
 * What one end sends when it opens a room's channel, to prove it holds `key` (the relay or
 * the member proof key): a MAC over the sender's Noise key, then the receiver's, and the
 * handshake hash. Direction is in the order of the keys, so a proof echoed back to its
 * sender does not verify, and it is worth nothing on any other connection.
 */
export function channelProof(key: Buffer, from: Buffer, to: Buffer, conn: ConnectionKeys): Buffer {
  return hash([NS.channelProof, from, to, handshakeOf(conn)], key)
}

/** Constant-time comparison of two equal-length secrets; false when the lengths differ. */
export function secretEquals(a: Buffer, b: Buffer): boolean {
  return a.byteLength === b.byteLength && sodium.sodium_memcmp(a, b)
}

/**
 * The key pair of an identity's writer core in one room. It depends on the identity's secret
 * and the room secret, so nobody else can link one identity's cores across rooms.
 */
export function deriveWriterKeyPair(identitySecretKey: Buffer, roomSecret: Buffer): KeyPair {
  return keyPairFromSeed(hash([NS.writer, roomSecret], identitySecretKey.subarray(0, 32)))
}

/** The key that encrypts this identity's local state (joined rooms, known writers). */
export function deriveLocalKey(identitySecretKey: Buffer): Buffer {
  return hash([NS.local], identitySecretKey.subarray(0, 32))
}

/**
 * The account key of an identity: what every device of the account shares besides the
 * identity's public key. A primary device derives it from the identity seed, so restoring
 * from the phrase gives the same key; a linked device receives it when it is approved.
 */
export function deriveAccountKey(identitySecretKey: Buffer): Buffer {
  return hash([NS.account], identitySecretKey.subarray(0, 32))
}

/** The key that seals the account's device list on disk. */
export function deriveDeviceRegistryKey(accountKey: Buffer): Buffer {
  return hash([NS.devices], accountKey)
}

/** The bytes an author signs for one message: the room, the core, the index and the body. */
export function messageSignable(roomId: Buffer, coreKey: Buffer, seq: number, body: Buffer): Buffer {
  const buf = b4a.allocUnsafe(NS.message.byteLength + 64 + 8 + body.byteLength)
  let o = 0
  buf.set(NS.message, o)
  o += NS.message.byteLength
  buf.set(roomId, o)
  o += 32
  buf.set(coreKey, o)
  o += 32
  writeUint64LE(buf, seq, o)
  o += 8
  buf.set(body, o)
  return buf
}

// What `buf.writeBigUInt64LE(BigInt(n), o)` writes, without a BigInt for each block signed or
// verified (docs/PERFORMANCE.md); anything but a safe non-negative integer takes that way and
// throws as it did.
function writeUint64LE(buf: Buffer, n: number, o: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    buf.writeBigUInt64LE(BigInt(n), o)
    return
  }
  let lo = n % 0x100000000
  let hi = (n - lo) / 0x100000000
  for (let i = 0; i < 4; i++, lo >>>= 8) buf[o + i] = lo & 0xff
  for (let i = 4; i < 8; i++, hi >>>= 8) buf[o + i] = hi & 0xff
}

/** What a presence message signs: the room, the sender's Noise key on the connection, the profile. */
export function presenceSignable(roomId: Buffer, connectionKey: Buffer, profile: Buffer): Buffer {
  return b4a.concat([NS.presence, roomId, connectionKey, profile])
}
