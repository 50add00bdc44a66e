import test, { type Test } from 'brittle'
import c from 'compact-encoding'
import fs from 'fs/promises'
import path from 'path'
import { fileURLToPath } from 'url'
import Corestore from 'corestore'
import Hyperbee from 'hyperbee'
import { create, createLocalTestnet, once, receive, waitForPeers } from './helpers/index.js'
import { expectCode } from './helpers/expect.js'
import { scan } from './helpers/scan.js'
import { Backspace, type Message, type UnreadCounts } from '../lib/index.js'
import { deriveLocalKey, deriveNamedRoomSecret, randomBytes } from '../lib/crypto.js'
import { Identity } from '../lib/identity.js'
import { RoomKind, type RoomState } from '../lib/messages.js'
import { LocalState, STATE_CORE_NAMES } from '../lib/state/local-state.js'
import { decodeEntry, metaEntry, readEntry, roomEntry } from '../lib/state/codecs.js'

const FIXTURE = fileURLToPath(new URL('../../test/fixtures/state-eccd2e9', import.meta.url))
const FIXTURE_SEED = '5eed'.repeat(16)
// The topics the fixture's rooms had when eccd2e9 made them (make-state-eccd2e9.ts prints them).
const FIXTURE_TOPICS = {
  general: '5722c6ba8bf3f98ccb701e3ad152fca94065102b88f6cabd87d26f78ed177eb3',
  'secret-plans': 'fd6995f3ce767a338c84f3402e8abe81a4159dc40b186f6c6a5484b402a01dc4',
  'fixture-feeds': 'f52148b271d8eadd2670d135ae1069eaa0946ad23d3c190f64e954c1b695bcee',
  'fixture-relayed': '876b794eec4fb53e627fb8095e6adc185567c038cdd49791850faa7283364b83'
}

const roomState = (name: string, feeds: RoomState['feeds'] = []): RoomState => ({
  kind: RoomKind.NAMED,
  secret: randomBytes(32),
  name,
  joinedAt: 1_700_000_000_000,
  ttl: 1000,
  feeds
})
const profile = { name: 'ann', status: '', away: null }

/** A LocalState on its own Corestore, both closed after the test. */
async function openState(
  t: Test,
  dir: string,
  key: Buffer
): Promise<{ state: LocalState; store: Corestore }> {
  const store = new Corestore(dir)
  await store.ready()
  const state = new LocalState({ store, key })
  t.teardown(async () => {
    await state.close()
    await store.close()
  })
  await state.ready()
  return { state, store }
}

test('state codecs: versions first, newer trailing fields skipped, bad bytes a coded error', async (t) => {
  const room = roomState('x', [
    { key: randomBytes(32), start: 1, storedFrom: 2, seen: 3, marks: [{ time: 5, length: 3 }] },
    // A member who has written nothing, held unopened (issue 11).
    { key: randomBytes(32), start: 0, storedFrom: 0, seen: 0, admitted: true, dormant: true }
  ])
  const bytes = c.encode(roomEntry, room)
  t.alike(decodeEntry(roomEntry, bytes, 'room'), room, 'a room round-trips, length marks and dormant cores included')
  const newer = Buffer.concat([bytes, Buffer.from([1, 2, 3])])
  t.alike(decodeEntry(roomEntry, newer, 'room'), room, 'fields a newer build appends are skipped')
  const read = {
    unread: 4,
    mentions: 1,
    position: { timestamp: 9, id: 'ab-1' },
    recent: ['ab-2', 'cd-7']
  }
  t.alike(decodeEntry(readEntry, c.encode(readEntry, read), 'read'), read)
  const none = { unread: 0, mentions: 0, position: null, recent: [] }
  t.alike(decodeEntry(readEntry, c.encode(readEntry, none), 'read'), none)
  await expectCode(t, () => decodeEntry(roomEntry, bytes.subarray(0, 20), 'room'), 'DECODE_FAILED')
  await expectCode(
    t,
    () => decodeEntry(readEntry, Buffer.from([2, 0, 0, 0]), 'read'),
    'UNSUPPORTED_VERSION'
  )
})

test('local state: saves only what changed, and entries this build cannot read are kept and skipped', async (t) => {
  const dir = await t.tmp()
  const key = randomBytes(32)
  const first = await openState(t, dir, key)
  const a = roomState('a')
  const b = roomState('b', [{ key: randomBytes(32), start: 0, storedFrom: 0, seen: 1 }])
  await first.state.save({ rooms: [a, b], profile })
  const length = first.state.stats.length
  await first.state.save({ rooms: [a, b], profile })
  t.is(first.state.stats.length, length, 'an unchanged save writes nothing')
  b.feeds[0]!.seen = 2
  await first.state.save({ rooms: [a, b], profile })
  t.is(first.state.stats.length, length + 1, 'a changed room is one block')

  // A future build's entries: a kind this build does not know, and a room of a newer version.
  const future = new Hyperbee(first.state.core!.session(), {
    keyEncoding: 'binary',
    valueEncoding: 'binary',
    extension: false
  })
  const futureRoom = Buffer.concat([Buffer.from([9]), randomBytes(40)])
  const futureKind = Buffer.from('a value in a format from the future')
  await future.put(Buffer.from(`room/${'ee'.repeat(32)}`), futureRoom)
  await future.put(Buffer.from('calendar/2031'), futureKind)
  await future.close()
  await first.state.close()
  await first.store.close()

  const second = await openState(t, dir, key)
  t.is(second.state.stats.skipped, 2, 'both future entries are skipped')
  t.alike(
    second.state
      .rooms()
      .map((r) => r.name)
      .sort(),
    ['a', 'b'],
    'the rooms this build reads load'
  )
  t.is(second.state.rooms().find((r) => r.name === 'b')!.feeds[0]!.seen, 2)
  // Leaving every room deletes their entries, which compacts the state into a fresh core.
  await second.state.save({ rooms: [], profile })
  t.is(second.state.stats.compactions, 1, 'a deletion compacts')
  await second.state.close()
  await second.store.close()

  const third = await openState(t, dir, key)
  t.is(third.state.rooms().length, 0)
  t.is(third.state.stats.skipped, 2, 'the future entries survived the deletion and the compaction')
  const kept = new Hyperbee(third.state.core!.session(), {
    keyEncoding: 'binary',
    valueEncoding: 'binary',
    extension: false
  })
  t.alike(
    (await kept.get(Buffer.from(`room/${'ee'.repeat(32)}`)))?.value,
    futureRoom,
    'the newer room entry is untouched'
  )
  t.alike(
    (await kept.get(Buffer.from('calendar/2031')))?.value,
    futureKind,
    'the unknown kind is untouched'
  )
  await kept.close()
})

test('local state: opaque entries, a wrong key, and memory only without a store', async (t) => {
  const dir = await t.tmp()
  const key = randomBytes(32)
  const { state, store } = await openState(t, dir, key)
  await state.putEntry('device', 'ab12', Buffer.from('certificate'))
  t.alike(await state.getEntry('device', 'ab12'), Buffer.from('certificate'))
  await state.deleteEntry('device', 'ab12')
  t.is(await state.getEntry('device', 'ab12'), null)
  await expectCode(
    t,
    () => state.putEntry('room' as 'device', 'x', Buffer.alloc(1)),
    'INVALID_ARGUMENT'
  )
  await state.putEntry('setting', 'theme', Buffer.from('dark'))
  await state.close()
  await store.close()

  const other = new Corestore(dir)
  t.teardown(() => other.close())
  await expectCode(
    t,
    new LocalState({ store: other, key: randomBytes(32) }).ready(),
    'CORRUPT_STATE'
  )

  const memory = new LocalState({ store: null, key })
  await memory.ready()
  await memory.save({ rooms: [roomState('m')], profile })
  await memory.putEntry('setting', 'x', Buffer.from('y'))
  t.is(memory.persistent, false)
  t.alike(
    memory.rooms().map((r) => r.name),
    ['m']
  )
  t.alike(await memory.getEntry('setting', 'x'), Buffer.from('y'))
  await memory.close()
})

test('local state: a new key takes over cores written under the legacy key', async (t) => {
  const dir = await t.tmp()
  const oldKey = randomBytes(32)
  const newKey = randomBytes(32)
  const before = await openState(t, dir, oldKey)
  await before.state.save({ rooms: [roomState('kept')], profile })
  await before.state.close()
  await before.store.close()

  const store = new Corestore(dir)
  t.teardown(() => store.close())
  const rekeyed = new LocalState({ store, key: newKey, legacyKey: oldKey })
  await rekeyed.ready()
  t.alike(
    rekeyed.rooms().map((r) => r.name),
    ['kept'],
    'read with the legacy key'
  )
  t.is(rekeyed.stats.compactions, 1, 'and written again under the new key')
  await rekeyed.close()
  await expectCode(t, new LocalState({ store, key: oldKey }).ready(), 'CORRUPT_STATE')
  const after = new LocalState({ store, key: newKey })
  await after.ready()
  t.alike(
    after.rooms().map((r) => r.name),
    ['kept'],
    'the new key alone opens it'
  )
  await after.close()
})

test('local state: a compaction cut short leaves the last complete core in charge', async (t) => {
  const dir = await t.tmp()
  const key = randomBytes(32)
  const first = await openState(t, dir, key)
  await first.state.save({ rooms: [roomState('old')], profile })
  t.is(first.state.stats.generation, 0)
  await first.state.close()
  await first.store.close()

  // As if a compaction wrote the next generation and crashed before emptying the old core.
  const store = new Corestore(dir)
  const core = store.get({ name: STATE_CORE_NAMES[1], encryption: { key }, active: false })
  const bee = new Hyperbee(core, { keyEncoding: 'binary', valueEncoding: 'binary' })
  const batch = bee.batch()
  await batch.put(Buffer.from('meta'), c.encode(metaEntry, { generation: 1 }))
  await batch.put(Buffer.from('room/' + '01'.repeat(32)), c.encode(roomEntry, roomState('new')))
  await batch.flush()
  await bee.close()
  await store.close()

  const second = await openState(t, dir, key)
  t.alike(
    second.state.rooms().map((r) => r.name),
    ['new'],
    'the newer complete generation wins'
  )
  t.is(second.state.stats.generation, 1)
  await second.state.save({ rooms: second.state.rooms(), profile: { ...profile, name: 'x' } })
  t.is(second.state.stats.compactions, 1, 'the interrupted erase is finished at the next write')
  await second.state.close()
  await second.store.close()

  // A core that got its header but not its batch has no meta entry: it is ignored.
  const store2 = new Corestore(dir)
  // The compaction above moved the state to core 0; core 1 is empty again.
  const strayCore = store2.get({ name: STATE_CORE_NAMES[1], encryption: { key }, active: false })
  const stray = new Hyperbee(strayCore, { keyEncoding: 'binary', valueEncoding: 'binary' })
  await stray.put(Buffer.from('room/' + '02'.repeat(32)), c.encode(roomEntry, roomState('stray')))
  await stray.close()
  await store2.close()
  const third = await openState(t, dir, key)
  t.alike(
    third.state.rooms().map((r) => r.name),
    ['new'],
    'a core without a meta entry is not read'
  )
  await third.state.close()
  await third.store.close()
  const store3 = new Corestore(dir)
  t.teardown(() => store3.close())
  const emptied = store3.get({ name: STATE_CORE_NAMES[1], encryption: { key }, active: false })
  await emptied.ready()
  t.is(emptied.length, 0, 'and it is emptied')
})

test('migration: the sealed state file of eccd2e9 moves into the local state, then is removed', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  await fs.cp(FIXTURE, storage, { recursive: true })
  const file = path.join(storage, 'accounts', 'default', 'state')
  t.ok(await exists(file), 'the fixture has the old file')

  const check = (node: Backspace, when: string) => {
    t.is(node.identity.secretKeyHex, FIXTURE_SEED, `${when}: the fixture identity`)
    t.alike(
      node.profile,
      { name: 'fixture-alice', status: 'hi', away: null },
      `${when}: the profile`
    )
    const rooms = node.rooms.map((r) => [r.id, r.name, r.kind])
    t.alike(
      rooms,
      [
        [FIXTURE_TOPICS.general, 'general', 'named'],
        [FIXTURE_TOPICS['secret-plans'], 'secret-plans', 'private'],
        [FIXTURE_TOPICS['fixture-feeds'], 'fixture-feeds', 'named']
      ],
      `${when}: the named room, the private room with its label, and the room with writers`
    )
  }

  const first = await create(t, testnet, { storage })
  check(first, 'migrated')
  t.absent(await exists(file), 'the old state file is gone')
  await first.close()

  const again = await create(t, testnet, { storage })
  check(again, 'reopened')
  // The state is this device's now: sealed with a key from the device seed, which the v1
  // key file became on first open; the identity-derived key opened it once.
  const deviceKey = deriveLocalKey(again.deviceKeys.keyPair.secretKey)
  await again.close()

  // The invented writers had no proof that a member made them and none of their blocks was
  // ever verified (no length marks): they were on trial, and are not saved again (issue 10,
  // finding 3). The relayed room a member node keeps parked is kept as it was.
  const { state } = await openState(t, path.join(storage, 'accounts', 'default', 'cores'), deviceKey)
  const feeds = state
    .rooms()
    .find((r) => r.name === 'fixture-feeds')!
    .feeds.map((f) => f.key.toString('hex'))
  t.ok(
    !feeds.includes('11'.repeat(32)) && !feeds.includes('22'.repeat(32)),
    'the unproven invented writers are not saved again'
  )
  const relayed = state.rooms().find((r) => r.kind === RoomKind.RELAYED)
  t.is(relayed?.name, '#fixture-relayed', 'the parked relayed room is kept')
  t.alike(
    relayed?.feeds[0]?.marks,
    [{ time: 1_700_000_000_200, length: 7 }],
    'with its length marks'
  )
  t.is(state.stats.skipped, 0)
})

test('a left room is erased from disk: no entry, and none of its old state blocks', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const secretKey = randomBytes(32).toString('hex')
  const name = `gone-${randomBytes(6).toString('hex')}`
  const password = 'pw'
  const secret = await deriveNamedRoomSecret(name, password)
  const cores = path.join(storage, 'accounts', 'default', 'cores')

  const a = await create(t, testnet, { storage, secretKey })
  await a.join('kept')
  const gone = await a.join(name, { password })
  const goneId = gone.id
  // The local state is sealed with a key from this device's seed.
  const key = deriveLocalKey(a.deviceKeys.keyPair.secretKey)
  await a.close()

  // The ciphertext of every state block that holds the room's entry, as it lies on disk.
  const needles = new Map<string, Buffer>()
  const store = new Corestore(cores)
  for (const coreName of STATE_CORE_NAMES) {
    const core = store.get({ name: coreName, encryption: { key }, active: false })
    await core.ready()
    for (let i = 0; i < core.length; i++) {
      const plain = await core.get(i)
      if (plain?.includes(secret))
        needles.set(`state block ${coreName}#${i}`, (await core.get(i, { raw: true }))!)
    }
  }
  await store.close()
  t.ok(needles.size > 0, 'the room is in the state')
  t.ok((await scan(storage, needles)).length > 0, 'and its ciphertext is found on disk')
  needles.set('room secret', secret)
  needles.set('room name', Buffer.from(name))

  const b = await create(t, testnet, { storage, secretKey })
  await b.room(goneId)!.leave()
  await b.close()
  t.alike(
    await scan(storage, needles),
    [],
    'after leaving, none of it is anywhere under the storage'
  )

  const c2 = await create(t, testnet, { storage, secretKey })
  t.alike(
    c2.rooms.map((r) => r.name),
    ['kept'],
    'the other room stays'
  )
})

test('unread counts and read positions are kept across restarts; leaving forgets them', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const a = await create(t, testnet, { storage })
  const b = await create(t, testnet)
  await a.setProfile({ name: 'ann' })
  const ra = await a.join('reading')
  const rb = await b.join('reading')
  await waitForPeers(ra)

  const events: UnreadCounts[] = []
  a.on('unread', (id, counts) => {
    if (id === ra.id) events.push(counts)
  })
  const arrived = receive(ra, ['one', 'two @ann', 'three'])
  await rb.send('one')
  await rb.send('two @ann')
  await rb.send('three')
  await ra.send('my own')
  const [one, two] = (await arrived) as [Message, Message, Message]
  t.alike(
    a.unread(ra.id),
    { unread: 3, mentions: 1, position: null },
    'three from b, one mentions a; own ones do not count'
  )
  // Counts grow at once; the event comes once per room after the loop turn that delivered
  // them, so a burst is one event, and the last one carries the final counts.
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(events.length >= 1 && events.length <= 3, 'at most one unread event per message from b')
  t.alike(events[events.length - 1], a.unread(ra.id), 'the last event has the current counts')

  const after = await a.markRead(ra.id, two)
  t.alike(
    after,
    { unread: 1, mentions: 0, position: { timestamp: two.timestamp, id: two.id } },
    'read up to the mention'
  )
  t.alike(await a.markRead(ra.id, one), after, 'the position never moves back')
  await a.close()

  const a2 = await create(t, testnet, { storage })
  t.alike(a2.unread(ra.id), after, 'the counts and position survive a restart')
  const ra2 = a2.room(ra.id)!
  await waitForPeers(ra2)
  const more = receive(ra2, ['four'])
  const counted = once(
    a2,
    'unread',
    (id: string, counts: UnreadCounts) => id === ra2.id && counts.unread === 2
  )
  await rb.send('four')
  await Promise.all([more, counted])
  t.is(
    a2.unread(ra2.id).unread,
    2,
    'a new message counts on top; nothing counted twice after the restart'
  )

  const read = await a2.markRead(ra2.id)
  t.alike([read.unread, read.mentions], [0, 0], 'reading everything clears the counts')
  t.is(
    read.position?.id,
    (await ra2.messages({ limit: 1 }))[0]!.id,
    'and moves the position to the newest message'
  )
  await ra2.leave()
  t.alike(a2.unread(ra.id), { unread: 0, mentions: 0, position: null }, 'leaving forgets the room')
  await expectCode(t, a2.markRead(ra.id), 'INVALID_ARGUMENT')
  await a2.close()

  // The read entry is gone from the state too.
  const a3 = await create(t, testnet, { storage })
  await a3.join('reading')
  t.alike(
    a3.unread(ra.id),
    { unread: 0, mentions: 0, position: null },
    'rejoining starts from nothing'
  )
})

test('incognito: the local state lives in memory; no state core is opened', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  // Which named cores nodes ask their Corestore for: the state cores are the only named ones.
  const names: string[] = []
  const get = Corestore.prototype.get
  Corestore.prototype.get = function (this: Corestore, opts: Parameters<typeof get>[0]) {
    if (opts.name) names.push(opts.name)
    return get.call(this, opts)
  }
  t.teardown(() => {
    Corestore.prototype.get = get
  })

  const a = await create(t, testnet, { storage, incognito: true })
  const isState = (n: string) => (STATE_CORE_NAMES as readonly string[]).includes(n)
  const ra = await a.join('incognito-room')
  t.absent(names.some(isState), 'the incognito node opens no state core')
  const b = await create(t, testnet)
  t.ok(names.some(isState), 'a node with an account opens its state cores: the check sees them')
  const rb = await b.join('incognito-room')
  await waitForPeers(ra)
  const counted = once(
    a,
    'unread',
    (id: string, counts: UnreadCounts) => id === ra.id && counts.unread === 1
  )
  await rb.send('hello')
  await counted
  t.is((await a.markRead(ra.id)).unread, 0, 'counting and reading work in memory')
  await a.close()
  await b.close()
  t.is(names.filter(isState).length, 2, 'only that node did, once each')
  t.alike(await fs.readdir(storage), [], 'nothing is written under the storage given')
})

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false
  )
}

test('unread counting: a message counted before a restart is not counted again; a withdrawn one is taken back', async (t) => {
  const { ReadPositions } = await import('../lib/state/read-positions.js')
  const notices: UnreadCounts[] = []
  const reads = new ReadPositions((_, counts) => notices.push(counts))
  const m = (id: string, timestamp: number, mention = false) => ({ id, timestamp, self: false, mention }) as Message
  reads.load(new Map([['r', { unread: 1, mentions: 0, position: null, recent: ['aa-1'] }]]))
  reads.message('r', m('aa-1', 10))
  t.is(reads.get('r').unread, 1, 'the message counted before the restart is delivered again, not counted again')
  for (let i = 2; i < 40; i++) reads.message('r', m(`aa-${i}`, 10 + i, i === 39))
  t.alike(reads.get('r'), { unread: 39, mentions: 1, position: null })
  const saved = reads.entries().get('r')!
  t.is(saved.recent.length, 32, 'at most 32 recent ids are saved')
  t.is(saved.recent[31], 'aa-39', 'newest last')
  reads.withdrawn('r', m('aa-39', 49, true))
  t.alike(reads.get('r'), { unread: 38, mentions: 0, position: null }, 'a withdrawn message and its mention are taken back')
  t.absent(reads.entries().get('r')!.recent.includes('aa-39'))
  reads.markRead('r', null, [])
  t.is(reads.get('r').unread, 0)
  reads.message('r', m('aa-1', 10))
  t.is(reads.get('r').unread, 0, 'read up to the newest: an older message is not unread')
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(notices.length > 0, 'changes were told')
})
