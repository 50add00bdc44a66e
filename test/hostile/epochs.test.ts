// Hostile members against key epochs: a modified client writes epoch records and sealed
// records without the library's checks. Each is refused and counted, and nobody crashes.
import test, { type Test } from 'brittle'
import b4a from 'b4a'
import c from 'compact-encoding'
import { create, createLocalTestnet, receive, waitForPeers } from '../helpers/index.js'
import { until } from '../helpers/governance.js'
import { blank } from '../../lib/governance/governance.js'
import { encodeGovOperation, GovAction } from '../../lib/governance/codec.js'
import { encodeEpochRecord, keyCheck, MAX_EPOCH_RECIPIENTS, newEpochKey, SEALED_KEY_BYTES, sealedRecord } from '../../lib/room/epoch-codec.js'
import { sealTo } from '../../lib/social/keys.js'
import { MessageType } from '../../lib/messages.js'
import { randomBytes } from '../../lib/crypto.js'
import type { Backspace, Room } from '../../lib/index.js'

async function room(t: Test, count: number) {
  const testnet = await createLocalTestnet(t)
  const nodes: Backspace[] = []
  for (let i = 0; i < count; i++) nodes.push(await create(t, testnet))
  const rooms: Room[] = [await nodes[0]!.createRoom({ name: 'hostile epochs' })]
  for (let i = 1; i < count; i++) rooms.push(await nodes[i]!.join(rooms[0]!.invite))
  for (const r of rooms) await waitForPeers(r, count - 1)
  return { nodes, rooms, keys: nodes.map((n) => n.identity.publicKey) }
}

const refused = (r: Room) => r.stats.rejected.governance
const deviceOf = (r: Room) => (r as unknown as { ctx: { device: { keyPair: { publicKey: Buffer } } } }).ctx.device.keyPair.publicKey
const ownCore = (r: Room) => (r as unknown as { outbox: { own: { key: Buffer } } }).outbox.own.key.subarray(0, 16)
const nextSeq = (r: Room) => (r as unknown as { outbox: { next: number } }).outbox.next

// A start record as a modified client writes it: a fresh key sealed to `to`, naming `cause`.
function start(cause: { core: Buffer; seq: number }, to: Buffer[]) {
  const key = newEpochKey()
  const recipients = to.map((device) => ({ device, box: sealTo(key, device)! }))
  return { type: MessageType.EPOCH, text: '', payload: encodeEpochRecord({ cause, check: keyCheck(key), epoch: null, recipients }) }
}

test('hostile epochs: an epoch started by a member without the role, or on another writer\'s operation, is refused and counted everywhere', async (t) => {
  const { rooms, keys } = await room(t, 3)
  const [ra, rb, rm] = rooms as [Room, Room, Room]
  const devices = rooms.map(deviceOf)
  const before = rooms.map(refused)
  // M kicks B without the role, and starts an epoch on it in the same block.
  const kick = { ...blank(GovAction.KICK), target: keys[1]! }
  await rm.appendRecord({ type: MessageType.GOVERN, text: '', payload: encodeGovOperation(kick) }, (seq) =>
    start({ core: ownCore(rm), seq }, [devices[0]!, devices[2]!])
  )
  await until(() => rooms.every((r, i) => refused(r) >= before[i]! + 2))
  for (const r of rooms) {
    t.is(r.keyEpochs!.current, null, 'no epoch starts')
    t.is(r.heldEpochKeys().size, 0, 'and no key from it is held')
  }
  // M starts an epoch on the owner's operation (a topic), and on one of its own that removes nobody.
  await ra.moderate.topic('mine')
  await until(() => rm.settings.topic === 'mine')
  const topicSeq = nextSeq(ra) - 1
  const now = rooms.map(refused)
  await rm.appendRecord(start({ core: ownCore(ra), seq: topicSeq }, devices))
  await rm.appendRecord({ type: MessageType.GOVERN, text: '', payload: encodeGovOperation({ ...blank(GovAction.ACK), target: keys[0]! }) }, (seq) =>
    start({ core: ownCore(rm), seq }, devices)
  )
  await until(() => rooms.every((r, i) => refused(r) >= now[i]! + 2))
  for (const r of rooms) t.is(r.keyEpochs!.current, null)
  // The room goes on in the clear, as before any removal.
  const got = receive(rb, ['still the room key'])
  await ra.send('still the room key')
  await got
})

test('hostile epochs: junk keys, junk sealed records and huge recipient lists are refused and counted', async (t) => {
  const { rooms, keys } = await room(t, 4)
  const [ra, rb, rm, rk] = rooms as [Room, Room, Room, Room]
  await ra.moderate.kick(keys[3]!)
  await until(() => [ra, rb, rm].every((r) => r.keyEpochs!.current !== null && r.heldEpochKeys().has(r.keyEpochs!.current!)))
  const epoch = ra.keyEpochs!.current!
  const [core, seq] = epoch.split('-') as [string, string]
  const target = { core: b4a.from(core, 'hex'), seq: Number(seq) }

  // A grant of junk to the kicked member's device: it opens nothing, counted by its recipient.
  let before = refused(rk)
  const junk = [{ device: deviceOf(rk), box: randomBytes(SEALED_KEY_BYTES) }]
  await rm.appendRecord({ type: MessageType.EPOCH, text: '', payload: encodeEpochRecord({ cause: null, check: null, epoch: target, recipients: junk }) })
  await until(() => refused(rk) > before)
  t.absent(rk.heldEpochKeys().has(epoch), 'the kicked member still holds no key')

  // A grant of a real box, but of another key: the epoch's commitment tells it apart.
  before = refused(rk)
  const wrong = [{ device: deviceOf(rk), box: sealTo(newEpochKey(), deviceOf(rk))! }]
  await rm.appendRecord({ type: MessageType.EPOCH, text: '', payload: encodeEpochRecord({ cause: null, check: null, epoch: target, recipients: wrong }) })
  await until(() => refused(rk) > before)
  t.absent(rk.heldEpochKeys().has(epoch))

  // A sealed record that does not open under its epoch's key: counted by every key holder.
  const holders = [ra, rb]
  const counts = holders.map(refused)
  const box = randomBytes(64)
  await rm.appendRecord({ type: MessageType.SEALED, text: '', payload: c.encode(sealedRecord, { epoch: target, box }) })
  await until(() => holders.every((r, i) => refused(r) > counts[i]!))

  // Recipient lists past the bound, or whose count claims more than the bytes hold.
  const malformed = holders.map((r) => r.stats.rejected.governance + r.stats.rejected.malformed)
  const many = Array.from({ length: MAX_EPOCH_RECIPIENTS + 1 }, () => ({ device: randomBytes(32), box: randomBytes(SEALED_KEY_BYTES) }))
  const huge = b4a.concat([b4a.from([1, 2]), b4a.from(target.core), c.encode(c.uint, target.seq), c.encode(c.uint, many.length)])
  const body = b4a.concat(many.flatMap((r) => [r.device, r.box]))
  await rm.appendRecord({ type: MessageType.EPOCH, text: '', payload: b4a.concat([huge, body]) })
  const lying = b4a.concat([b4a.from([1, 2]), b4a.from(target.core), c.encode(c.uint, target.seq), c.encode(c.uint, 1_000_000_000)])
  await rm.appendRecord({ type: MessageType.EPOCH, text: '', payload: lying })
  await until(() => holders.every((r, i) => r.stats.rejected.governance + r.stats.rejected.malformed >= malformed[i]! + 2))

  // Nobody crashed, and the members who stay still talk under the epoch.
  const got = receive(rb, ['still here'])
  await ra.send('still here')
  await got
  t.is(ra.keyEpochs!.current, epoch)
})
