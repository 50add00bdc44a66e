// Writer admission (issue 10, finding 3): a relay-link holder who floods the writer table
// with cores of its own, or a member who floods it with cores of its own identity, can never
// shut a new member out; nothing unproven is saved or passed on.
import test from 'brittle'
import { randomBytes } from 'crypto'
import type { RelayedRoom, Room } from '../../lib/index.js'
import { MAX_CORES_PER_DEVICE, MAX_CORES_PER_IDENTITY } from '../../lib/room/admission.js'
import { MAX_UNPROVEN } from '../../lib/room/writers.js'
import { create, createLocalTestnet, receive, waitForPeers, waitForWriters } from '../helpers/index.js'
import { announceRaw, claimedCore, newDevice, randomWriter, until, writersOf } from './writer-table.js'

const FLOOD = 2000

// Garbage after the flood, on the same channels: once a room has counted it, it has read
// everything the attacker sent before.
async function flushed(attacker: Room | RelayedRoom, victims: Array<Room | RelayedRoom>): Promise<void> {
  const before = victims.map((v) => v.stats.badAnnouncements)
  for (const channel of (attacker as unknown as { channels: Iterable<{ message: { send(b: Buffer): void } }> }).channels) {
    channel.message.send(randomBytes(64))
  }
  await until(() => victims.every((v, i) => v.stats.badAnnouncements > before[i]!))
}

test('2,000 unproven cores from a relay-link holder hide no member who joins later, and none is saved or passed on', async (t) => {
  const testnet = await createLocalTestnet(t)
  const aStorage = await t.tmp()
  const relayStorage = await t.tmp()
  const a = await create(t, testnet, { storage: aStorage })
  const relay = await create(t, testnet, { relay: true, storage: relayStorage })
  const ra = await a.createRoom({ name: 'flooded' })
  const kept = await relay.keep(ra.relayLink)
  await ra.send('a before')
  await waitForPeers(ra)

  // The relay-link holder: a relay node of its own, with a modified client.
  const hostile = await create(t, testnet, { relay: true })
  const xr = await hostile.keep(ra.relayLink)
  await until(() => xr.stats.peers >= 2 && kept.stats.peers >= 2 && ra.stats.peers >= 2)

  const flood = Array.from({ length: FLOOD }, randomWriter)
  // Some with a proof the holder made up: it has no admission key to sign with.
  const forged = Array.from({ length: 200 }, () => ({
    ...randomWriter(),
    proof: { tag: randomBytes(32), sealed: randomBytes(300), signature: randomBytes(64) }
  }))
  announceRaw(xr, [...flood, ...forged])
  await flushed(xr, [ra, kept])

  t.is(ra.stats.writers, 1, 'the member admitted none of them')
  t.ok(ra.stats.admission.unproven <= MAX_UNPROVEN, `at most ${MAX_UNPROVEN} on trial (${ra.stats.admission.unproven})`)
  t.ok(writersOf(ra).size <= 1 + MAX_UNPROVEN, 'the table holds no more')
  t.ok(ra.stats.admission.refused >= forged.length, 'the forged proofs were refused')
  t.is(kept.stats.writers, 1, 'the relay admitted none of them')
  t.is(writersOf(kept).size, 1, 'and opened none')

  // The attacker leaves; a member joins, and everyone sees everyone.
  await hostile.close()
  const b = await create(t, testnet)
  const rb = await b.join(ra.invite)
  await receive(rb, ['a before'])
  const atA = receive(ra, ['b joined'])
  await rb.send('b joined')
  await atA
  t.pass('the member who joined after the flood is read by the first one')
  await waitForWriters(rb, 2)
  await until(() => kept.stats.writers === 2)
  t.pass('and the relay keeps its core')
  t.is(rb.stats.admission.unproven, 0, 'nothing of the flood was passed on to the joiner')
  t.is(writersOf(rb).size, 2)

  // After a restart, only what was proven is there.
  await a.close()
  await relay.close()
  const a2 = await create(t, testnet, { storage: aStorage })
  const relay2 = await create(t, testnet, { relay: true, storage: relayStorage })
  const ra2 = a2.rooms[0]!
  const kept2 = relay2.relayedRooms[0]!
  t.is(writersOf(ra2).size, 2, 'the member restored its own core and the joiner\'s, nothing else')
  t.is(ra2.stats.admission.unproven, 0)
  t.is(writersOf(kept2).size, 2, 'the relay restored the two members\' cores, nothing else')
  t.ok(kept2.stats.checked, 'the relay checks proofs: its link carried the admission key')
  const later = receive(rb, ['a after restart'])
  await ra2.send('a after restart')
  await later
})

test('a member flooding cores under its own identity is held to its limits, and others are admitted', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const relay = await create(t, testnet, { relay: true })
  const ra = await a.createRoom({ name: 'capped' })
  const kept = await relay.keep(ra.relayLink)
  const m = await create(t, testnet)
  const rm = await m.join(ra.invite)
  await waitForWriters(ra, 2)
  await until(() => kept.stats.writers === 2 && rm.stats.peers >= 2)

  // Cores claimed by 40 new devices of m's identity, and 5 more by m's own device.
  const byDevices = Array.from({ length: 40 }, () => ({ ...claimedCore(rm, newDevice(m)), length: 0, start: 0 }))
  const own = (m as unknown as { deviceKeys: { keyPair: never; certificate: never } }).deviceKeys
  const byOwnDevice = Array.from({ length: 5 }, () => ({ ...claimedCore(rm, own), length: 0, start: 0 }))
  announceRaw(rm, [...byOwnDevice, ...byDevices])
  await flushed(rm, [ra, kept])

  const ownHex = rm.writerKey.toString('hex')
  const fromOwnDevice = byOwnDevice.filter((w) => writersOf(ra).known(w.key.toString('hex'))).length
  t.is(fromOwnDevice, MAX_CORES_PER_DEVICE - 1, 'one device: its own core and one more')
  t.ok(writersOf(ra).known(ownHex), 'm\'s real core stays admitted')
  t.is(ra.stats.writers, 1 + MAX_CORES_PER_IDENTITY, `m's identity holds ${MAX_CORES_PER_IDENTITY} cores at the member`)
  t.ok(ra.stats.admission.refused >= 45 - MAX_CORES_PER_IDENTITY, 'the rest were refused')
  t.is(kept.stats.writers, 1 + MAX_CORES_PER_IDENTITY, 'and at the relay, by its member tag')

  // Another member joins and is admitted everywhere.
  const c = await create(t, testnet)
  const rc = await c.join(ra.invite)
  const atA = receive(ra, ['c here'])
  await rc.send('c here')
  await atA
  t.pass('a member who joins after the flood is read')
  await until(() => kept.stats.writers === 2 + MAX_CORES_PER_IDENTITY)
  t.pass('and kept by the relay')
})
