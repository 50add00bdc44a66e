import test from 'brittle'
import b4a from 'b4a'
import {
  deriveNamedRoomSecret,
  deriveRoomKeys,
  deriveWriterKeyPair,
  normalizeRoomName,
  seal,
  unseal,
  randomBytes,
  channelProof,
  connectionChannelId,
  secretEquals
} from '../lib/crypto.js'
import { Identity } from '../lib/index.js'
import { expectCode } from './helpers/expect.js'

test('room names are normalised before deriving keys', async (t) => {
  t.is(normalizeRoomName('  #General  '), 'general')
  t.is(normalizeRoomName('Coffee   Talk'), 'coffee talk')
  t.is(normalizeRoomName('ｆｕｌｌｗｉｄｔｈ'), 'fullwidth', 'NFKC')
  await expectCode(t, () => normalizeRoomName('   '), 'INVALID_ROOM_NAME')
  await expectCode(t, () => normalizeRoomName('#'), 'INVALID_ROOM_NAME')
  await expectCode(t, () => normalizeRoomName('x'.repeat(65)), 'INVALID_ROOM_NAME')

  const a = await deriveNamedRoomSecret('#General')
  const b = await deriveNamedRoomSecret('general ')
  t.alike(a, b, 'the same room')
})

test('another name or another password is another room', async (t) => {
  const base = deriveRoomKeys(await deriveNamedRoomSecret('general', 'pw'))
  const otherPassword = deriveRoomKeys(await deriveNamedRoomSecret('general', 'pw2'))
  const noPassword = deriveRoomKeys(await deriveNamedRoomSecret('general'))
  const otherName = deriveRoomKeys(await deriveNamedRoomSecret('generals', 'pw'))
  for (const other of [otherPassword, noPassword, otherName]) {
    t.unlike(other.topic, base.topic)
    t.unlike(other.encryptionKey, base.encryptionKey)
    t.unlike(other.channelIdKey, base.channelIdKey)
  }
  const keys = Object.values(base).map((k) => k.toString('hex'))
  t.is(new Set(keys).size, keys.length, 'every derived key is distinct')
})

test('writer cores are unlinkable across rooms and identities', async (t) => {
  const id = Identity.generate()
  const r1 = randomBytes(32)
  const r2 = randomBytes(32)
  const k1 = deriveWriterKeyPair(id.secretKey, r1)
  t.alike(deriveWriterKeyPair(id.secretKey, r1).publicKey, k1.publicKey, 'deterministic')
  t.unlike(deriveWriterKeyPair(id.secretKey, r2).publicKey, k1.publicKey, 'another room')
  t.unlike(deriveWriterKeyPair(Identity.generate().secretKey, r1).publicKey, k1.publicKey)
  t.unlike(k1.publicKey, id.publicKey)
})

test('sealed boxes open only with their key and untampered', async (t) => {
  const key = randomBytes(32)
  const box = seal(b4a.from('secret'), key)
  t.is(unseal(box, key)?.toString(), 'secret')
  t.is(unseal(box, randomBytes(32)), null)
  const tampered = b4a.from(box)
  tampered[tampered.length - 1]! ^= 1
  t.is(unseal(tampered, key), null)
  t.is(unseal(b4a.alloc(3), key), null)
})

test('a room channel id is the same at both ends of a connection and differs on every other', async (t) => {
  const keys = deriveRoomKeys(randomBytes(32))
  const a = randomBytes(32)
  const b = randomBytes(32)
  const handshakeHash = randomBytes(64)
  const atA = { publicKey: a, remotePublicKey: b, handshakeHash }
  const atB = { publicKey: b, remotePublicKey: a, handshakeHash }
  t.alike(connectionChannelId(keys.channelIdKey, atA), connectionChannelId(keys.channelIdKey, atB), 'both ends agree')
  t.unlike(
    connectionChannelId(keys.channelIdKey, atA),
    connectionChannelId(keys.channelIdKey, { ...atA, handshakeHash: randomBytes(64) }),
    'another connection between the same keys'
  )
  // A's proof, as B checks it; the same proof echoed back to A must not pass A's check.
  const fromA = channelProof(keys.relayProofKey, a, b, atA)
  t.alike(fromA, channelProof(keys.relayProofKey, a, b, atB), 'B can check what A sent')
  t.unlike(fromA, channelProof(keys.relayProofKey, b, a, atA), 'an echo is not B\'s proof')
  t.unlike(fromA, channelProof(keys.memberProofKey, a, b, atA), 'relay and member proofs differ')
  t.ok(secretEquals(fromA, Buffer.from(fromA)))
  t.absent(secretEquals(fromA, fromA.subarray(0, 16)))
})
