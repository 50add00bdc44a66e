// Issue 11: cores of members who never wrote cost nothing. A core announced with no blocks is
// counted and passed on, but not opened nor replicated, until someone announces a block of it.
// In a created room a member writes nothing until it says something: its ack of the owner goes
// with its first record, and a lock or a member limit counts it by the clock instead.
import test from 'brittle'
import type { Room } from '../lib/index.js'
import { create, createLocalTestnet, receive, waitForPeers } from './helpers/index.js'
import { expectCode } from './helpers/expect.js'
import { inject } from './helpers/governance.js'
import { GovAction, GovSetting } from '../lib/governance/codec.js'

interface Internals {
  writers: { size: number; dormantSize: number }
}
const internals = (room: Room) => room as unknown as Internals

async function until(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((resolve) => setTimeout(resolve, 20))
}

test('members who never wrote: counted, not opened, until they write', async (t) => {
  const testnet = await createLocalTestnet(t)
  const SILENT = 4
  const nodes = await Promise.all(Array.from({ length: SILENT + 1 }, () => create(t, testnet)))
  const rooms: Room[] = []
  for (const node of nodes) rooms.push(await node.join('quiet'))
  const [writer, ...silent] = rooms as [Room, ...Room[]]
  await Promise.all(rooms.map((r) => waitForPeers(r, 1)))
  const hello = silent.map((r) => receive(r, ['hello']))
  await writer.send('hello')
  await Promise.all(hello)
  // Every member learns every member's core, directly or passed on.
  await until(() => rooms.every((r) => r.stats.writers === SILENT + 1))
  for (const r of silent) {
    t.is(internals(r).writers.size, 2, 'a silent member opens its own core and the writer\'s only')
    t.is(internals(r).writers.dormantSize, SILENT - 1, 'the other silent members are only noted')
  }
  t.is(internals(writer).writers.size, 1, 'the writer opens no silent member\'s core')
  t.is(internals(writer).writers.dormantSize, SILENT)

  // A silent member speaks: its core is opened everywhere and its message arrives.
  const speaker = silent[0]!
  const spoken = rooms.filter((r) => r !== speaker).map((r) => receive(r, ['now I speak']))
  await speaker.send('now I speak')
  await Promise.all(spoken)
  t.is(internals(writer).writers.size, 2, 'the writer opened the speaker\'s core')
  for (const r of silent.slice(1)) t.is(internals(r).writers.size, 3)
  t.ok(rooms.every((r) => r.stats.writers === SILENT + 1), 'the count of writers did not change')
})

interface Own {
  outbox: { own: { core: { length: number } } }
}
const ownLength = (room: Room) => (room as unknown as Own).outbox.own.core.length

test('a created room: members who only read write nothing, and a lock, a member limit and a new key still count them', async (t) => {
  const testnet = await createLocalTestnet(t)
  const [a, b, c] = await Promise.all([create(t, testnet), create(t, testnet), create(t, testnet)])
  const ra = await a.createRoom({ name: 'readers' })
  const rb = await b.join(ra.invite)
  const rc = await c.join(ra.invite)
  await Promise.all([rb, rc].map((r) => waitForPeers(r, 2)))
  const hello = [rb, rc].map((r) => receive(r, ['hello']))
  await ra.send('hello')
  await Promise.all(hello)
  await until(() => [ra, rb, rc].every((r) => r.stats.writers === 3))
  // Before issue 11's change a member acknowledged the owner as it joined: a block every member
  // had to open, replicate and read, for each member (O(members²) as a room filled up).
  t.is(ownLength(rb) + ownLength(rc), 0, 'a member who only reads has written no block')
  t.is(internals(ra).writers.size, 1, "the owner opens no reader's core")
  t.is(internals(ra).writers.dormantSize, 2, 'it only notes them')

  // A lock names the readers' cores in its clock: they were in the room before it, and are
  // given its new key. A newcomer after it is not.
  await ra.moderate.lock()
  await until(() => [rb, rc].every((r) => r.settings.locked && r.keyEpochs!.current !== null && r.heldEpochKeys().has(r.keyEpochs!.current!)))
  const d = await create(t, testnet)
  const rd = await d.join(ra.invite)
  await waitForPeers(rd, 3)
  await until(() => rd.settings.locked && ra.stats.writers === 4)
  await expectCode(t, rd.send('let me in'), 'NOT_ALLOWED')
  t.absent(rd.heldEpochKeys().has(ra.keyEpochs!.current!), 'the newcomer after the lock gets no key')
  const spoken = [ra, rc].map((r) => receive(r, ['b was here all along']))
  await rb.send('b was here all along')
  await Promise.all(spoken)
  t.pass('a reader from before the lock writes after it, and every member shows it')
  t.is(ownLength(rc), 0, 'the other reader still has written nothing')
  await ra.moderate.unlock()
  await until(() => [rb, rc, rd].every((r) => !r.settings.locked))

  // A member limit of two, set while b has written and c and d have not: a limit keeps no one
  // out who was in before it (its clock names them), and a newcomer after it is past it.
  await ra.moderate.set({ maxUsers: 2 })
  await until(() => [rb, rc, rd].every((r) => r.settings.maxUsers === 2))
  const fromC = [ra, rb].map((r) => receive(r, ['c speaks at last']))
  await rc.send('c speaks at last')
  await Promise.all(fromC)
  const fromD = [ra, rb].map((r) => receive(r, ['d joined before the limit']))
  await rd.send('d joined before the limit')
  await Promise.all(fromD)
  t.pass('readers from before the limit write under it')
  const e = await create(t, testnet)
  const re = await e.join(ra.invite)
  await waitForPeers(re, 4)
  await until(() => re.settings.maxUsers === 2)
  await expectCode(t, re.send('room for one more?'), 'NOT_ALLOWED')
})

test('a created room: the owner keeps its readers across a restart, and a lock right after it lets them in', async (t) => {
  const testnet = await createLocalTestnet(t)
  const dirs = [await t.tmp(), await t.tmp(), await t.tmp()]
  const [a, b, c] = await Promise.all(dirs.map((storage) => create(t, testnet, { storage })))
  const ra = await a!.createRoom({ name: 'kept readers' })
  const rb = await b!.join(ra.invite)
  const rc = await c!.join(ra.invite)
  await until(() => ra.stats.writers === 3 && internals(ra).writers.dormantSize === 2)
  const id = ra.id
  await Promise.all([a!.close(), b!.close(), c!.close()])

  // The owner comes back alone: nobody can tell it of the readers, so what it knows of them
  // it kept, without opening their cores.
  const a2 = await create(t, testnet, { storage: dirs[0] })
  const ra2 = a2.rooms.find((r) => r.id === id)!
  await ra2.ready()
  t.is(internals(ra2).writers.dormantSize, 2, 'both readers are restored, unopened')
  t.is(ra2.stats.writers, 3)
  await ra2.moderate.lock()

  // A reader comes back after the lock: it was in before it, so it writes.
  const b2 = await create(t, testnet, { storage: dirs[1] })
  const rb2 = b2.rooms.find((r) => r.id === id)!
  await until(() => rb2.settings.locked && rb2.keyEpochs!.current !== null && rb2.heldEpochKeys().has(rb2.keyEpochs!.current!))
  const got = receive(ra2, ['back, and still in'])
  await rb2.send('back, and still in')
  await got
  t.pass('the reader the owner knew of before its restart is in after a lock made right after it')
  void rb
  void rc
})

interface Placing {
  topology: { counts: { opened: number } }
}
const opened = (room: Room) => (room as unknown as Placing).topology.counts.opened

test('members who never wrote: an idle room opens no replication sessions, and a first message still reaches everyone', async (t) => {
  const testnet = await createLocalTestnet(t)
  const nodes = await Promise.all(Array.from({ length: 4 }, () => create(t, testnet)))
  const ra = await nodes[0]!.createRoom({ name: 'quiet room' })
  const rooms = [ra, ...(await Promise.all(nodes.slice(1).map((n) => n.join(ra.invite))))]
  await Promise.all(rooms.map((r) => waitForPeers(r, 3)))
  await until(() => rooms.every((r) => r.stats.writers === 4))
  // Every core is empty and held unopened by the others: a session of one would be refused.
  // Before, each node opened its own empty core on every channel again once a second.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const before = rooms.map(opened)
  await new Promise((resolve) => setTimeout(resolve, 3000))
  t.alike(rooms.map(opened), before, 'no session opened over 3 s of quiet')
  const got = rooms.slice(1).map((r) => receive(r, ['first words in a quiet room']))
  await ra.send('first words in a quiet room')
  await Promise.all(got)
  const back = [ra, ...rooms.slice(2)].map((r) => receive(r, ['and a reply']))
  await rooms[1]!.send('and a reply')
  await Promise.all(back)
  t.pass('the first messages of two writers reach every member')
})

test('hostile: a newcomer after a lock cannot write itself into it, by a back-dated ack or a lock of its own', async (t) => {
  const testnet = await createLocalTestnet(t)
  const [a, b, d] = await Promise.all([create(t, testnet), create(t, testnet), create(t, testnet)])
  const ra = await a.createRoom({ name: 'no way in' })
  const rb = await b.join(ra.invite)
  await waitForPeers(rb)
  await until(() => ra.stats.writers === 2)
  await ra.moderate.lock()
  await until(() => rb.settings.locked && rb.heldEpochKeys().has(rb.keyEpochs!.current!))
  const epoch = ra.keyEpochs!.current!

  const rd = await d.join(ra.invite)
  await waitForPeers(rd, 2)
  await until(() => rd.settings.locked && ra.stats.writers === 3 && rb.stats.writers === 3)
  const own = (rd as unknown as { outbox: { own: { key: Buffer } } }).outbox.own.key.subarray(0, 16)
  const refused = () => [ra, rb].map((r) => r.stats.rejected.governance)
  const before = refused()
  // A modified client: an ack naming no state (back-dated before the lock), and a lock of its
  // own whose clock names its core, as an admin's lock names the members it knew of.
  await inject(rd, GovAction.ACK, { target: a.identity.publicKey }, [])
  await inject(rd, GovAction.SET, { setting: GovSetting.LOCKED, value: 1 }, [{ core: own, length: 0 }])
  await until(() => refused().every((n, i) => n > before[i]!))
  t.pass('the lock it wrote itself is refused and counted by every member')
  // Members grant the lock's key only to those it lets in, and it is not one of them.
  const grants = (ra as unknown as { epochs: { granted: Set<string> } }).epochs.granted
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.absent([...grants].some((g) => g.endsWith(d.device.key.toString('hex'))), 'no member grants it the key')
  t.absent(rd.heldEpochKeys().has(epoch), 'it holds no key of the lock')
  await expectCode(t, rd.send('let me in'), 'NOT_ALLOWED')
})
