// Key epochs in rooms made by createRoom(): a kick or a ban starts a new content key sealed to
// the members who stay, so a removed member, still online and replicating, holds ciphertext it
// cannot open; members who join later are given the current key; keys of epochs whose
// messages all expired are deleted.
import test, { type Test } from 'brittle'
import b4a from 'b4a'
import { create, createLocalTestnet, DAY, manualClock, receive, waitForPeers, type Testnet } from './helpers/index.js'
import { expectCode } from './helpers/expect.js'
import { until } from './helpers/governance.js'
import { scan } from './helpers/scan.js'
import type { Backspace, BackspaceOptions, Room } from '../lib/index.js'

async function members(t: Test, testnet: Testnet, count: number, opts: BackspaceOptions = {}) {
  const nodes: Backspace[] = []
  const dirs: string[] = []
  for (let i = 0; i < count; i++) {
    const dir = await t.tmp()
    dirs.push(dir)
    nodes.push(await create(t, testnet, { ...opts, storage: dir }))
  }
  const rooms: Room[] = [await nodes[0]!.createRoom({ name: 'epochs' })]
  for (let i = 1; i < count; i++) rooms.push(await nodes[i]!.join(rooms[0]!.invite))
  for (const r of rooms) await waitForPeers(r, count - 1)
  return { nodes, rooms, dirs, keys: nodes.map((n) => n.identity.publicKey) }
}

const texts = (r: Room) => r.messages({ limit: 100 }).then((ms) => ms.map((m) => m.text))

test('epochs: a kicked member, still online, cannot read what is sent after the kick', async (t) => {
  const testnet = await createLocalTestnet(t)
  const { nodes, rooms, keys, dirs } = await members(t, testnet, 3)
  const [ra, rb, rk] = rooms as [Room, Room, Room]
  const gotBefore = receive(rk, ['before the kick'])
  await ra.send('before the kick')
  await gotBefore
  t.is(ra.keyEpochs!.current, null, 'no epoch before a removal: the room key reads')

  await ra.moderate.kick(keys[2]!)
  await until(() => rooms.every((r) => r.keyEpochs!.current !== null))
  const epoch = ra.keyEpochs!.current!
  await until(() => rb.heldEpochKeys().has(epoch))
  t.ok(b4a.equals(ra.heldEpochKeys().get(epoch)!, rb.heldEpochKeys().get(epoch)!), 'the members who stay share the new key')
  t.is(rk.keyEpochs!.current, epoch, 'the kicked member knows an epoch started')
  t.absent(rk.heldEpochKeys().has(epoch), 'but holds no key for it')

  const unreadable = rk.keyEpochs!.unreadable
  const gotB = receive(rb, ['after the kick'])
  await ra.send('after the kick')
  await gotB
  const gotA = receive(ra, ['b answers'])
  await rb.send('b answers')
  await gotA
  // The kicked member replicates both blocks and can open neither.
  await until(() => rk.keyEpochs!.unreadable >= unreadable + 2)
  const seen = await texts(rk)
  t.ok(seen.includes('before the kick'), 'what was sent before the kick stays readable')
  t.absent(seen.includes('after the kick'), 'what was sent after it is not')
  t.absent(seen.includes('b answers'))
  await expectCode(t, rk.send('let me in'), 'NOT_ALLOWED')

  // The new key is nowhere on the kicked member's disk, nor in clear on a member's.
  const key = ra.heldEpochKeys().get(epoch)!
  const needles = new Map([['epoch key', key]])
  // Closed: everything each node keeps is on its disk now, the member's sealed state included.
  await nodes[2]!.close()
  await nodes[0]!.close()
  t.alike(await scan(dirs[2]!, needles), [], 'the kicked member never holds the key')
  t.alike(await scan(dirs[0]!, needles), [], "a member's disk holds it only sealed")
})

test('epochs: a member who joins after a ban is given the current key; members read it after a restart', async (t) => {
  const testnet = await createLocalTestnet(t)
  const { nodes, rooms, keys, dirs } = await members(t, testnet, 3)
  const [ra, rb] = rooms as [Room, Room, Room]
  await ra.moderate.ban(keys[2]!)
  await until(() => rb.keyEpochs!.current !== null && rb.heldEpochKeys().has(rb.keyEpochs!.current!))
  const epoch = ra.keyEpochs!.current!

  const j = await create(t, testnet)
  const rj = await j.join(ra.invite)
  await waitForPeers(rj)
  // The joiner writes its acknowledgement of the owner; a member then seals the key to it.
  await until(() => rj.heldEpochKeys().has(epoch))
  const gotJ = receive(rj, ['welcome, late joiner'])
  await ra.send('welcome, late joiner')
  await gotJ
  const gotA = receive(ra, ['thanks'])
  await rj.send('thanks')
  await gotA
  t.pass('the late joiner reads and writes in the current epoch')

  // B restarts: the key comes back from its sealed local state, and the old messages open.
  const id = rb.id
  await nodes[1]!.close()
  const b2 = await create(t, testnet, { storage: dirs[1]! })
  const rb2 = b2.rooms.find((r) => r.id === id)!
  t.ok(rb2.heldEpochKeys().has(epoch), 'the epoch key is restored')
  while (!(await texts(rb2)).includes('thanks')) await new Promise((resolve) => setTimeout(resolve, 50))
  t.pass('sealed messages read after the restart')
})

test('epochs: keys of epochs whose messages have all expired are deleted', async (t) => {
  const testnet = await createLocalTestnet(t)
  const clock = manualClock()
  const { nodes, rooms, keys, dirs } = await members(t, testnet, 4, { now: clock.now })
  const [ra, rb] = rooms as [Room, Room, Room, Room]
  await ra.moderate.kick(keys[2]!)
  await until(() => rb.keyEpochs!.current !== null && rb.heldEpochKeys().has(rb.keyEpochs!.current!))
  const first = ra.keyEpochs!.current!
  const got = receive(rb, ['in the first epoch'])
  await ra.send('in the first epoch')
  await got
  await ra.moderate.kick(keys[3]!)
  await until(() => rb.keyEpochs!.current !== first && rb.heldEpochKeys().has(rb.keyEpochs!.current!))
  const second = rb.keyEpochs!.current!
  t.is(rb.heldEpochKeys().size, 2)
  await rb.prune()
  t.is(rb.heldEpochKeys().size, 2, 'nothing is deleted before its messages expire')

  clock.advance(7 * DAY + 60_000)
  await rb.prune()
  t.absent(rb.heldEpochKeys().has(first), 'the first epoch key is deleted')
  t.ok(rb.heldEpochKeys().has(second), 'the current one stays')
  t.is(rb.keyEpochs!.deleted, 1)
  const old = ra.heldEpochKeys().get(first)!
  const id = rb.id
  await nodes[1]!.close()
  const b2 = await create(t, testnet, { storage: dirs[1]!, now: clock.now })
  const rb2 = b2.rooms.find((r) => r.id === id)!
  t.absent(rb2.heldEpochKeys().has(first), 'and stays deleted after a restart')
  t.ok(old.byteLength === 32)
})
