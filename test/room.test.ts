import test from 'brittle'
import { create, createLocalTestnet, receive, waitForPeers } from './helpers/index.js'
import { expectCode } from './helpers/expect.js'
import { Backspace } from '../lib/index.js'

test('two peers exchange messages both ways', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const ra = await a.join('general')
  const rb = await b.join('#General ')
  t.alike(ra.topic, rb.topic, 'names are normalised')

  const atB = receive(rb, ['hello from a'])
  const sent = await ra.send('hello from a')
  const [got] = await atB
  t.is(got!.text, 'hello from a')
  t.alike(got!.author, a.publicKey)
  t.is(got!.id, sent.id)
  t.is(got!.timestamp, sent.timestamp)

  const atA = receive(ra, ['hello from b'])
  await rb.send('hello from b')
  const [back] = await atA
  t.alike(back!.author, b.publicKey)

  const pageA = await ra.messages()
  const pageB = await rb.messages()
  t.alike(pageA.map((m) => m.id), pageB.map((m) => m.id))
  t.alike(pageA.map((m) => m.text).sort(), ['hello from a', 'hello from b'])
})

test('five peers converge on the same order', async (t) => {
  const testnet = await createLocalTestnet(t)
  const nodes: Backspace[] = []
  for (let i = 0; i < 5; i++) nodes.push(await create(t, testnet))
  const rooms = await Promise.all(nodes.map((n) => n.join('converge')))

  const texts = rooms.flatMap((_, i) => [0, 1, 2].map((j) => `peer ${i} message ${j}`))
  const everyone = rooms.map((r) => receive(r, texts))
  // Everyone sends at once, and each peer's messages share timestamps with others'.
  await Promise.all(rooms.map((r, i) => Promise.all([0, 1, 2].map((j) => r.send(`peer ${i} message ${j}`)))))
  await Promise.all(everyone)

  const orders = await Promise.all(rooms.map(async (r) => (await r.messages({ limit: 100 })).map((m) => m.id)))
  t.is(orders[0]!.length, 15)
  for (let i = 1; i < orders.length; i++) t.alike(orders[i], orders[0], `peer ${i} agrees with peer 0`)

  const page = await rooms[0]!.messages({ limit: 100 })
  for (let i = 1; i < page.length; i++) {
    const [p, m] = [page[i - 1]!, page[i]!]
    const ordered =
      p.timestamp < m.timestamp ||
      (p.timestamp === m.timestamp && Buffer.compare(p.author, m.author) < 0) ||
      (p.timestamp === m.timestamp && Buffer.compare(p.author, m.author) === 0 && p.seq < m.seq)
    t.ok(ordered, `message ${i} is after message ${i - 1}`)
  }
})

test('a wrong password reads nothing', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const c = await create(t, testnet)
  const ra = await a.join('vault', { password: 'right' })
  const rb = await b.join('vault', { password: 'wrong' })
  const rc = await c.join('vault', { password: 'right' })
  t.unlike(ra.topic, rb.topic, 'another password is another topic')

  let leaked = 0
  rb.on('message', () => leaked++)
  const atC = receive(rc, ['the plans'])
  await ra.send('the plans')
  await atC
  t.pass('the right password reads the message')
  t.is(leaked, 0)
  t.is((await rb.messages()).length, 0)
  t.is(rb.stats.writers, 1, 'the wrong room never even learns of the writer')
})

test('restart keeps history and rooms', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storageA = await t.tmp()
  const storageB = await t.tmp()
  const a = await create(t, testnet, { storage: storageA })
  const b = await create(t, testnet, { storage: storageB })
  const ra = await a.join('diary', { password: 'pw' })
  const rb = await b.join('diary', { password: 'pw' })
  const atB = receive(rb, ['one', 'two', 'three'])
  for (const text of ['one', 'two', 'three']) await ra.send(text)
  await atB
  await rb.send('four')
  const before = (await rb.messages()).map((m) => m.id)
  await a.close()
  await b.close()

  // Both come back; B first and alone, so its history can only come from its own disk.
  const b2 = await create(t, testnet, { storage: storageB })
  t.is(b2.rooms.length, 1, 'the room is restored')
  const rb2 = b2.rooms[0]!
  t.is(rb2.name, 'diary')
  t.alike((await rb2.messages()).map((m) => m.id), before)

  const delivered = new Set(['one', 'two', 'three', 'four'])
  let replayed = 0
  rb2.on('message', (m) => {
    if (delivered.has(m.text)) replayed++
  })
  const a2 = await create(t, testnet, { storage: storageA })
  const ra2 = a2.rooms[0]!
  // B is online already, so 'four' may reach A while it starts: only A's own are certain.
  t.alike((await ra2.messages()).filter((m) => m.self).map((m) => m.text).sort(), ['one', 'three', 'two'])

  const atB2 = receive(rb2, ['five'])
  await rb2.send('five')
  await atB2
  for (;;) {
    const texts = (await ra2.messages()).map((m) => m.text)
    if (texts.includes('four') && texts.includes('five')) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const sent = await ra2.send('six')
  t.is(sent.seq, 3, 'the sequence continues after a restart')
  t.is(replayed, 0, 'nothing already delivered is delivered again')
})

test('a private room is joined by its invite only', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const room = await a.createRoom({ name: 'Team' })
  t.is(room.kind, 'private')
  t.ok(room.invite.startsWith('backspace:'))

  const joined = await b.join(room.invite)
  t.is(joined.name, 'team')
  t.alike(joined.topic, room.topic)
  const atB = receive(joined, ['welcome'])
  await room.send('welcome')
  await atB
  t.pass('the invitee reads the room')

  await expectCode(t, b.join('backspace:notaninvite'), 'INVALID_INVITE')
  t.unlike((await a.createRoom()).topic, room.topic, 'every private room has its own secret')
})

test('send validates its input with coded errors', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const room = await a.join('rules')
  await expectCode(t, room.send('   '), 'EMPTY_MESSAGE')
  await expectCode(t, room.send('x'.repeat(16 * 1024 + 1)), 'MESSAGE_TOO_LARGE')
  await expectCode(t, room.send(42 as unknown as string), 'INVALID_ARGUMENT')
  await expectCode(t, room.messages({ limit: 0 }), 'INVALID_ARGUMENT')
  await expectCode(t, room.messages({ before: 'no-such-id' }), 'INVALID_ARGUMENT')
  await expectCode(t, a.join(''), 'INVALID_ROOM_NAME')
  t.is((await room.send('ok')).seq, 0, 'rejected sends use no sequence numbers')
  await room.leave()
  await expectCode(t, room.send('after leaving'), 'ROOM_CLOSED')
  t.is(a.rooms.length, 0)
  await a.close()
  await expectCode(t, a.join('late'), 'NODE_CLOSED')
})

test('joining a room with a long history fetches about a page per writer', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const ra = await a.join('archive')
  // One send per tick, so each message is its own block: the worst case for a joiner.
  for (let i = 0; i < 1000; i++) await ra.send(`old ${i}`)

  const b = await create(t, testnet, { historyPage: 50 })
  const rb = await b.join('archive')
  const latest = Array.from({ length: 50 }, (_, i) => `old ${950 + i}`)
  await receive(rb, latest)

  const page = await rb.messages({ limit: 50 })
  t.alike(page.map((m) => m.text), latest, 'the latest page, oldest first')
  const core = remoteCore(rb)
  t.is(core.length, 1000)
  t.ok((await countLocal(core)) <= 60, `fetched ${await countLocal(core)} of 1000 blocks`)

  const older = await rb.messages({ limit: 50, before: page[0] })
  t.alike(older.map((m) => m.text), Array.from({ length: 50 }, (_, i) => `old ${900 + i}`), 'paging back')
  const byId = await rb.messages({ limit: 10, before: older[0]!.id })
  t.alike(byId.map((m) => m.text), Array.from({ length: 10 }, (_, i) => `old ${890 + i}`), 'paging by id')
  t.ok((await countLocal(core)) <= 120, 'paging fetched only what it returned')
  await waitForPeers(rb)
})

type Core = { length: number; has(i: number): Promise<boolean> }

function remoteCore(room: unknown): Core {
  const feeds = (room as { writers: { values(): Iterable<{ local: boolean; core: Core }> } }).writers
  return [...feeds.values()].find((f) => !f.local)!.core
}

async function countLocal(core: Core): Promise<number> {
  let n = 0
  for (let i = 0; i < core.length; i++) if (await core.has(i)) n++
  return n
}

test('closing a room without leaving keeps it; joining again reopens it', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const a = await create(t, testnet, { storage })
  const room = await a.join('pausable')
  await room.send('kept')
  await room.close()
  t.is(a.rooms.length, 0, 'a closed room is not listed')
  await expectCode(t, room.messages(), 'ROOM_CLOSED')

  const again = await a.join('pausable')
  t.not(again, room, 'a new handle')
  t.alike((await again.messages()).map((m) => m.text), ['kept'])
  await again.close()
  await a.close()

  const restarted = await create(t, testnet, { storage })
  t.is(restarted.rooms.length, 1, 'a closed room is still restored at the next start')
})

test('a burst of sends shares blocks and still arrives in order', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const ra = await a.join('burst')
  const rb = await b.join('burst')
  // B is online before the burst: every message reaches it (a later joiner gets the latest page).
  await waitForPeers(ra)
  const texts = Array.from({ length: 3000 }, (_, i) => `burst ${i} ${'x'.repeat(i % 50)}`)
  const atB = receive(rb, texts)
  const sent = await Promise.all(texts.map((text) => ra.send(text)))
  t.alike(sent.map((m) => m.seq), texts.map((_, i) => i), 'sequence numbers follow the send order')
  await atB
  const own = (ra as unknown as { outbox: { own: { core: { length: number } } } }).outbox.own.core
  t.ok(own.length > 1 && own.length < 30, `3000 messages in ${own.length} blocks`)
  t.alike((await rb.messages({ limit: 1000 })).map((m) => m.text), texts.slice(2000))
  t.is((await ra.send('after the burst')).seq, 3000)
})

test('peers already connected meet in a room they join later', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const first = await a.join('first')
  await b.join('first')
  await waitForPeers(first)

  const secondA = await a.join('second')
  const secondB = await b.join('second')
  const atB = receive(secondB, ['in the second room'])
  await secondA.send('in the second room')
  await atB
  t.is(secondA.stats.peers, 1)

  const club = await a.createRoom({ name: 'club' })
  const clubB = await b.join(club.invite)
  const atA = receive(club, ['in the club'])
  await clubB.send('in the club')
  await atA
  t.is(a.connections, 1, 'all three rooms share one connection')
})

test('rooms can be looked up by id', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const room = await a.join('findable')
  t.is(room.id, room.topic.toString('hex'))
  t.is(a.room(room.id), room)
  t.is(a.room('00'), undefined)
  await room.leave()
  t.is(a.room(room.id), undefined)
})
