// Writer claims bind both ways: the device signs the core's key, and the core's own key pair
// signs the device. A member shows a new writer's first live blocks as soon as it admits the
// core, before Hypercore delivered a block, from the device the proof names. Before, any
// member device could claim any core, and could have filled that core's live window with
// blocks of its own; the room also counted the core against that device, opened it on that
// device's connection (lib/room/topology.ts) and listed that device for key epochs. Members
// refuse claims without the core's side from the network.
import test from 'brittle'
import c from 'compact-encoding'
import Hypercore from 'hypercore'
import { MessageType, writerClaim, type WriterProof } from '../../lib/messages.js'
import { makeProof, MemberProofs } from '../../lib/room/admission.js'
import { admissionSignable, coreClaimSignable, keyPairFromSeed, memberTag, randomBytes, seal, sign, writerClaimSignable, type RoomKeys } from '../../lib/crypto.js'
import type { Room } from '../../lib/index.js'
import { create, createLocalTestnet, receive, waitForPeers } from '../helpers/index.js'
import { announceRaw, newDevice, until, writersOf } from './writer-table.js'

function keysOf(room: Room): RoomKeys {
  return (room as unknown as { keys: RoomKeys }).keys
}

// A proof sealed and signed as a member's client would, around whatever claim it likes.
function rawProof(keys: RoomKeys, coreKey: Buffer, identity: Buffer, claim: Parameters<typeof writerClaim.encode>[1]): WriterProof {
  const sealed = seal(c.encode(writerClaim, claim), keys.memberKey)
  const tag = memberTag(keys.id, identity)
  return { tag, sealed, signature: sign(admissionSignable(keys.topic, coreKey, tag, sealed), keys.admission.secretKey) }
}

test('a claim binds the core and the device both ways; one without the core\'s side is refused from the network', async (t) => {
  const testnet = await createLocalTestnet(t)
  const node = await create(t, testnet)
  const room = await node.join('claims')
  const keys = keysOf(room)
  const proofs = new MemberProofs(keys)
  const device = newDevice(node)
  const writer = keyPairFromSeed(randomBytes(32))
  const coreKey = Hypercore.key(writer.publicKey)

  const bound = proofs.check(coreKey, makeProof(keys, coreKey, device, writer))
  t.ok(bound?.bound, 'the device\'s claim and the core\'s: bound')
  t.is(bound?.device, device.certificate.device.toString('hex'), 'to the claiming device')

  const deviceOnly = makeProof(keys, coreKey, device)
  t.is(proofs.check(coreKey, deviceOnly), null, 'the device\'s claim alone, from the network: refused')
  const saved = proofs.check(coreKey, deviceOnly, true)
  t.ok(saved !== null && saved.bound === false, 'saved by this node before claims were bound: admitted, not bound')

  // Another member's core, claimed by signing it with one's own writer key: the core key is not
  // that signer's.
  const victimWriter = keyPairFromSeed(randomBytes(32))
  const victimCore = Hypercore.key(victimWriter.publicKey)
  t.is(proofs.check(victimCore, makeProof(keys, victimCore, device, writer)), null, 'a core whose key is not the signer\'s: refused')

  // The core's own signer, but its signature names another device.
  const other = newDevice(node)
  const misnamed = rawProof(keys, coreKey, node.identity.publicKey, {
    certificate: device.certificate,
    signature: sign(writerClaimSignable(keys.id, coreKey), device.keyPair.secretKey),
    core: { signer: writer.publicKey, signature: sign(coreClaimSignable(keys.id, coreKey, other.certificate.device), writer.secretKey) }
  })
  t.is(proofs.check(coreKey, misnamed), null, 'a core signature naming another device: refused')

  // The core's signature over another room's id.
  const elsewhere = rawProof(keys, coreKey, node.identity.publicKey, {
    certificate: device.certificate,
    signature: sign(writerClaimSignable(keys.id, coreKey), device.keyPair.secretKey),
    core: { signer: writer.publicKey, signature: sign(coreClaimSignable(randomBytes(32), coreKey, device.certificate.device), writer.secretKey) }
  })
  t.is(proofs.check(coreKey, elsewhere), null, 'a core signature for another room: refused')
})

test('a member who claims another member\'s empty core is refused, cannot wake it, and cannot show blocks in it; the real writer\'s first message is shown live', async (t) => {
  const testnet = await createLocalTestnet(t)
  const reader = await create(t, testnet)
  const victim = await create(t, testnet)
  const hostile = await create(t, testnet)
  const rr = await reader.join('claimed')
  const rv = await victim.join('claimed')
  const rx = await hostile.join('claimed')
  await waitForPeers(rr, 2)
  const victimKey = rv.writerKey
  const victimHex = victimKey.toString('hex')
  const hostileHex = rx.writerKey.toString('hex')
  // Both cores are empty: the reader knows them, and holds them without opening them.
  await until(() => writersOf(rr).known(victimHex) && writersOf(rr).known(hostileHex))
  t.is(writersOf(rr).get(victimHex), undefined, 'the victim\'s empty core is not opened at the reader')

  // The hostile member claims the victim's core, with its device's claim alone and with a core
  // signature of its own writer key, announces blocks in it, and sends blocks of its own live.
  const hostileDevice = hostile.deviceKeys
  const keys = keysOf(rx)
  const refused = rr.stats.admission.refused
  announceRaw(rx, [
    { key: victimKey, length: 5, start: 0, proof: makeProof(keys, victimKey, hostileDevice) },
    { key: victimKey, length: 5, start: 0, proof: makeProof(keys, victimKey, hostileDevice, keyPairFromSeed(randomBytes(32))) }
  ])
  await until(() => rr.stats.admission.refused >= refused + 2)
  t.pass('both claims are refused')
  t.is(writersOf(rr).get(victimHex), undefined, 'and the victim\'s core is not opened on them')

  const signBlock = (rx as unknown as { outbox: { signBlock(index: number, seq: number, records: unknown[]): Buffer } }).outbox.signBlock.bind(
    (rx as unknown as { outbox: unknown }).outbox
  )
  let forged = 0
  rr.on('message', (m) => {
    if (m.text.startsWith('forged')) forged++
  })
  const sendForged = (): void => {
    for (let i = 0; i < 4; i++) {
      const block = signBlock(i, 5e5 + i, [{ type: MessageType.TEXT, timestamp: Date.now(), text: `forged ${i}` }])
      for (const channel of (rx as unknown as { channels: Iterable<{ sendLive(l: unknown): void }> }).channels) channel.sendLive({ key: victimKey, index: i, block })
    }
  }
  sendForged()

  // The victim writes its first message: announced ahead of its live frame, so the reader
  // opens the core, owned by the victim's device as its proof says both ways, and shows the
  // frame before Hypercore has delivered a block of it.
  let shownLive: boolean | null = null
  rr.once('message', () => {
    // Had Hypercore delivered it, the block would be stored by now.
    const feed = writersOf(rr).get(victimHex)
    shownLive = feed !== undefined && feed.core.contiguousLength === 0
  })
  const first = receive(rr, ['victim first'])
  await rv.send('victim first')
  await first
  t.is(shownLive, true, 'the victim\'s first message was shown from its live frame')
  const admission = (writersOf(rr).get(victimHex) as unknown as { admission: { device: string; bound: boolean } }).admission
  t.is(admission.device, victim.deviceKeys.certificate.device.toString('hex'), 'the core is admitted as the victim device\'s')
  t.is(admission.bound, true, 'bound by the core\'s own signature')

  // Now the core is open and bound: the hostile member's blocks in it are still never shown.
  const bad = rr.stats.badAnnouncements
  sendForged()
  const second = receive(rr, ['victim second'])
  await rv.send('victim second')
  await second
  t.is(forged, 0, 'no block the hostile member signed was shown in the victim\'s core')
  await until(() => rr.stats.badAnnouncements >= bad + 3)
  t.pass('its frames past the victim\'s were refused and counted')
})
