import test from 'brittle'
import b4a from 'b4a'
import { create, createLocalTestnet, once, receive, waitForPeers } from './helpers/index.js'
import { Backspace, Identity, type Message, type Room } from '../lib/index.js'
import { MessageType, type MessageRecord } from '../lib/messages.js'
import { expectCode } from './helpers/expect.js'

async function until(room: Room, ok: () => boolean): Promise<void> {
  while (!ok()) await Promise.race([once(room, 'message'), once(room, 'writer-add'), new Promise((r) => setTimeout(r, 200))])
}

test('two devices of one identity and a third member: everyone sees every message from both, in one order, across restarts', async (t) => {
  const testnet = await createLocalTestnet(t)
  const phrase = Identity.generate().phrase
  const storages = [await t.tmp(), await t.tmp(), await t.tmp()]
  let nodes = [
    await create(t, testnet, { storage: storages[0], phrase }),
    await create(t, testnet, { storage: storages[1], phrase }),
    await create(t, testnet, { storage: storages[2] })
  ]
  const [a1, a2, c] = nodes as [Backspace, Backspace, Backspace]
  t.alike(a1.publicKey, a2.publicKey, 'one identity')
  t.unlike(a1.device.key, a2.device.key, 'two devices')
  await a1.setProfile({ name: 'alice' })
  let rooms = await Promise.all(nodes.map((n) => n.join('family')))
  await Promise.all(rooms.map((r) => waitForPeers(r, 2)))

  const texts = ['from laptop 1', 'from phone 1', 'from laptop 2', 'from phone 2', 'from carol']
  const everyone = rooms.map((r) => receive(r, texts))
  // Both devices write at the same moments: their cores must never collide.
  await Promise.all([rooms[0]!.send(texts[0]!), rooms[1]!.send(texts[1]!)])
  await Promise.all([rooms[0]!.send(texts[2]!), rooms[1]!.send(texts[3]!)])
  await rooms[2]!.send(texts[4]!)
  await Promise.all(everyone)

  const pages = await Promise.all(rooms.map((r) => r.messages({ limit: 100 })))
  for (const page of pages) t.alike(page.map((m) => m.text).sort(), [...texts].sort())
  t.alike(pages[1]!.map((m) => m.id), pages[0]!.map((m) => m.id), 'the second device shows the same order')
  t.alike(pages[2]!.map((m) => m.id), pages[0]!.map((m) => m.id), 'the third member too')
  const atCarol = pages[2]!.filter((m) => m.text.startsWith('from laptop') || m.text.startsWith('from phone'))
  t.ok(atCarol.every((m) => b4a.equals(m.author, a1.publicKey)), 'attributed to one identity')
  t.is(new Set(atCarol.map((m) => m.fingerprint)).size, 1, 'with one fingerprint')
  const devices = new Set(atCarol.map((m) => m.device.toString('hex')))
  t.alike(devices, new Set([a1.device.key.toString('hex'), a2.device.key.toString('hex')]), 'message.device tells the devices apart')
  t.ok(pages[1]!.filter((m) => m.text.startsWith('from laptop')).every((m) => m.self), "the laptop's lines are the phone's own too")

  const before = pages[0]!.map((m) => m.id)
  // Shown live, and stored once Hypercore confirms them: all three close together, and a
  // close waits only a bounded time for that (LivePath.storeShown), which a loaded machine
  // may need more of. This test is about order across restarts, so it lets them settle.
  type Pending = { writers: { values(): Iterable<{ unconfirmed: Map<number, unknown> }> } }
  const settled = (r: Room) => [...(r as unknown as Pending).writers.values()].every((f) => f.unconfirmed.size === 0)
  while (!rooms.every(settled)) await new Promise((resolve) => setTimeout(resolve, 20))
  await Promise.all(nodes.map((n) => n.close()))

  // Everyone comes back: nothing lost, same order, and both devices go on writing.
  nodes = [
    await create(t, testnet, { storage: storages[0] }),
    await create(t, testnet, { storage: storages[1] }),
    await create(t, testnet, { storage: storages[2] })
  ]
  rooms = nodes.map((n) => n.rooms.find((r) => r.name === 'family')!)
  for (const r of rooms) t.alike((await r.messages({ limit: 100 })).map((m) => m.id), before, 'history intact after a restart')
  const more = ['laptop after restart', 'phone after restart']
  const again = rooms.map((r) => receive(r, more))
  await rooms[0]!.send(more[0]!)
  await rooms[1]!.send(more[1]!)
  await Promise.all(again)
  const after = await Promise.all(rooms.map(async (r) => (await r.messages({ limit: 100 })).map((m) => m.id)))
  t.is(after[0]!.length, 7)
  t.alike(after[1], after[0])
  t.alike(after[2], after[0])
})

test("a revoked device's later blocks are rejected by the room's other members", async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const carol = await create(t, testnet)
  const { link } = await a.devices.invite()
  a.once('device-request', (req) => {
    req.approve().catch(() => {})
  })
  const b = new Backspace({ storage: await t.tmp(), bootstrap: testnet.bootstrap, link, deviceName: 'stolen phone' })
  t.teardown(() => b.close())
  await b.ready()

  const [ra, rb, rc] = await Promise.all([a.join('revoke'), b.join('revoke'), carol.join('revoke')])
  await Promise.all([ra, rb, rc].map((r) => waitForPeers(r, 2)))
  const early = receive(rc, ['before the theft'])
  const sent = await rb.send('before the theft')
  t.alike(sent.author, a.publicKey, 'a linked device writes as the identity')
  await early

  // The phone is stolen: the primary revokes it, and the room carries the revocation.
  const withdrawn: Message[] = []
  rc.on('message-withdrawn', (m) => withdrawn.push(m))
  await a.devices.revoke(b.device.key)
  await until(rc, () => (rc as unknown as { signers: { revoked: Map<string, unknown> } }).signers.revoked.size > 0)

  // The thief's client ignores the revocation and writes anyway.
  const outbox = (rb as unknown as {
    outbox: {
      own: { core: { length: number; append(b: Buffer[], o: object): Promise<unknown> } }
      nextSeq: number
      writerKeyPair: object
      signBlock(index: number, seq: number, records: MessageRecord[]): Buffer
    }
  }).outbox
  const rejected = once(rc, 'reject', (e: { reason: string }) => e.reason === 'unauthorized-device')
  // What was sent is stored first: the block goes right after it.
  await rb.flush()
  const block = outbox.signBlock(outbox.own.core.length, outbox.nextSeq++, [{ type: MessageType.TEXT, timestamp: Date.now(), text: 'send me money' }])
  await outbox.own.core.append([block], { keyPair: outbox.writerKeyPair })
  await rejected
  t.pass('the block is rejected as from an unauthorized device')
  const real = receive(rc, ['the real alice'])
  await ra.send('the real alice')
  await real
  const texts = (await rc.messages()).map((m) => m.text)
  t.absent(texts.includes('send me money'), 'never shown')
  t.ok(texts.includes('before the theft'), 'what it wrote before the revocation stays')
  t.is(withdrawn.length, 0, 'nothing earlier was withdrawn')

  // An honest client learns of its revocation through the account log and stops writing.
  while (!b.device.revoked) await once(b as never, 'device-update')
  await expectCode(t, rb.send('still here?'), 'DEVICE_REVOKED')
})
