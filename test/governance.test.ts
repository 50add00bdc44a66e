import test, { type Test } from 'brittle'
import b4a from 'b4a'
import { create, createLocalTestnet, receive, waitForPeers } from './helpers/index.js'
import { expectCode } from './helpers/expect.js'
import { until } from './helpers/governance.js'
import { scan, scanAfterErase } from './helpers/scan.js'
import { runCommand, type Backspace, type GovernanceEvent, type Room } from '../lib/index.js'
import { resolve, type GovRecord } from '../lib/governance/resolve.js'
import { GovAction, type GovOperation } from '../lib/governance/codec.js'
import { blank } from '../lib/governance/governance.js'

async function three(t: Test, name: string) {
  const testnet = await createLocalTestnet(t)
  const nodes: Backspace[] = []
  for (let i = 0; i < 3; i++) nodes.push(await create(t, testnet))
  const [a, b, c] = nodes as [Backspace, Backspace, Backspace]
  const ra = await a.join(name, { password: 'pw' })
  // The first member claims the room with its first moderation.
  await ra.moderate.topic('the topic')
  const rb = await b.join(name, { password: 'pw' })
  const rc = await c.join(name, { password: 'pw' })
  await waitForPeers(ra, 2)
  await waitForPeers(rb, 2)
  await waitForPeers(rc, 2)
  const rooms = [ra, rb, rc]
  await until(() => rooms.every((r) => r.owner !== null && b4a.equals(r.owner, a.identity.publicKey)))
  return { a, b, c, ra, rb, rc, rooms }
}

test('governance: the first member owns a named room; operations reach every peer', async (t) => {
  const { a, b, c, ra, rb, rc, rooms } = await three(t, 'gov-basic')
  const A = a.identity.publicKey
  const B = b.identity.publicKey
  const C = c.identity.publicKey
  for (const r of rooms) {
    t.is(r.role(A), 'owner')
    t.is(r.settings.topic, 'the topic')
  }
  const events: GovernanceEvent[] = []
  rc.on('governance', (e) => events.push(e))

  await ra.moderate.announce('read the rules')
  await ra.moderate.welcome('hi there')
  await ra.moderate.op(B)
  await until(() => rooms.every((r) => r.role(B) === 'op' && r.settings.welcome === 'hi there'))
  t.ok(rooms.every((r) => r.settings.announcement === 'read the rules'), 'announcement everywhere')
  const op = events.find((e) => e.action === 'op')
  t.ok(op && b4a.equals(op.actor, A) && op.target && b4a.equals(op.target, B), 'typed event: who did what to whom')

  // Without the role: refused locally.
  await expectCode(t, rc.moderate.topic('mine now'), 'NOT_ALLOWED')
  await expectCode(t, rb.moderate.admin(C), 'NOT_ALLOWED')
  await expectCode(t, rb.moderate.set({ slowMode: 5 }), 'NOT_ALLOWED')
  await expectCode(t, rc.moderate.claim(), 'NOT_ALLOWED')
  // An op acts only on roles below its own.
  await expectCode(t, rb.moderate.kick(A), 'NOT_ALLOWED')

  // The op bans a member; the owner's settings; the owner unbans.
  await rb.moderate.ban(C, 'spam')
  await until(() => rooms.every((r) => r.role(C) === 'banned'))
  t.ok(events.some((e) => e.action === 'ban' && e.self && e.text === 'spam'), 'the banned member is told')
  await expectCode(t, rc.send('let me in'), 'NOT_ALLOWED')
  await ra.moderate.set({ slowMode: 10, maxUsers: 50, allowFiles: false })
  await ra.moderate.lock()
  await until(() => rooms.every((r) => r.settings.slowMode === 10 && r.settings.maxUsers === 50 && !r.settings.allowFiles && r.settings.locked))
  await ra.moderate.unban(C)
  await until(() => rooms.every((r) => r.role(C) === 'member'))
  await ra.moderate.deop(B)
  await until(() => rooms.every((r) => r.role(B) === 'member'))
  for (const r of rooms) t.is(r.stats.rejected.governance, 0, 'nothing refused among honest peers')
  void rb
})

test('governance: an op deletes a member message everywhere; a banned member is dropped after the ban', async (t) => {
  const { a, b, c, ra, rb, rc, rooms } = await three(t, 'gov-delete')
  const B = b.identity.publicKey
  const C = c.identity.publicKey
  void a
  await ra.moderate.op(B)
  await until(() => rooms.every((r) => r.role(B) === 'op'))
  // B bans C below: B must have seen both messages, or the ban's clock puts them after it.
  const got = Promise.all([receive(ra, ['bad words', 'before the ban']), receive(rb, ['bad words', 'before the ban'])])
  const bad = await rc.send('bad words')
  await rc.send('before the ban')
  await got
  await rb.moderate.deleteMessage(bad.id)
  await until(() => rooms.every((r) => r.message(bad.id) === undefined))
  const kept = (await ra.messages()).map((m) => m.text)
  t.ok(kept.includes('before the ban') && !kept.includes('bad words'), 'the deleted message is gone, the other stays')

  await rb.moderate.ban(C)
  await until(() => rooms.every((r) => r.role(C) === 'banned'))
  t.ok((await rb.messages()).some((m) => m.text === 'before the ban'), 'messages written before the ban stay')
})

// ---------------------------------------------------------------------------
// The resolver alone: a pure function of the set of operations.


const KA = 'aa'.repeat(32)
const KB = 'bb'.repeat(32)
const KC = 'cc'.repeat(32)

function rec(author: string, core: string, index: number, fields: Partial<GovOperation>, clock: Record<string, number>, hash: string): GovRecord {
  const op: GovOperation = { ...blank(fields.action ?? GovAction.TOPIC), ...fields }
  return { id: `${core}-${index}`, core, index, pos: 0, author, op, clock: new Map(Object.entries(clock)), hash }
}

function* orders<T>(items: T[]): Generator<T[]> {
  if (items.length <= 1) return yield items
  for (let i = 0; i < items.length; i++) {
    for (const rest of orders([...items.slice(0, i), ...items.slice(i + 1)])) yield [items[i]!, ...rest]
  }
}

test('governance resolver: the same operations give the same state in any order and any tie-break', (t) => {
  const ca = 'a'.repeat(32)
  const cb = 'b'.repeat(32)
  const cc = 'c'.repeat(32)
  for (const flip of [false, true]) {
    const h = (x: string, y: string) => (flip ? y : x)
    const ops = [
      rec(KA, ca, 0, { action: GovAction.CLAIM }, {}, '01'),
      rec(KA, ca, 1, { action: GovAction.ADMIN, target: b4a.from(KB, 'hex') }, {}, '02'),
      rec(KA, ca, 2, { action: GovAction.OP, target: b4a.from(KC, 'hex') }, {}, '03'),
      rec(KB, cb, 0, { action: GovAction.ACK, target: b4a.from(KA, 'hex') }, { [ca]: 1 }, '04'),
      rec(KC, cc, 0, { action: GovAction.ACK, target: b4a.from(KA, 'hex') }, { [ca]: 1 }, '05'),
      // The owner demotes B, having seen B's ack...
      rec(KA, ca, 3, { action: GovAction.UNADMIN, target: b4a.from(KB, 'hex') }, { [cb]: 1 }, h('10', '20')),
      // ...while B kicks C naming only what it saw before the demotion.
      rec(KB, cb, 1, { action: GovAction.KICK, target: b4a.from(KC, 'hex') }, { [ca]: 3 }, h('20', '10'))
    ]
    let first: string | null = null
    for (const order of orders(ops.slice(3))) {
      const r = resolve([...ops.slice(0, 3), ...order], null)
      const state = JSON.stringify({ owner: r.owner, roles: [...r.roles].sort(), refused: [...r.refused].sort() })
      if (first === null) first = state
      else if (state !== first) t.fail('order changed the result')
      t.is(r.roles.get(KC), 'op', "the demoted admin's concurrent kick is void")
      t.is(r.roles.get(KB), undefined, 'B is a member')
      t.ok(r.refused.has(`${cb}-1`), 'the kick is refused')
    }
  }
})

test('governance: the wipe deletes every earlier message on every peer, from memory and disk, across a restart', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storages = [await t.tmp(), await t.tmp(), await t.tmp()]
  const a = await create(t, testnet, { storage: storages[0] })
  const b = await create(t, testnet, { storage: storages[1] })
  const c = await create(t, testnet, { storage: storages[2] })
  const ra = await a.join('gov-wipe', { password: 'pw' })
  await ra.moderate.topic('wipe me')
  const rb = await b.join('gov-wipe', { password: 'pw' })
  const rc = await c.join('gov-wipe', { password: 'pw' })
  const rooms = [ra, rb, rc]
  for (const r of rooms) await waitForPeers(r, 2)
  await until(() => rooms.every((r) => r.owner !== null))
  const doomed = ['MARKER-wipe-1-9c1e', 'MARKER-wipe-2-9c1e', 'MARKER-wipe-3-9c1e']
  const everywhere = rooms.map((r) => receive(r, doomed))
  for (const text of doomed) await rc.send(text)
  await ra.send('MARKER-wipe-owner-9c1e')
  await Promise.all(everywhere)

  type FeedView = { idPrefix: string; local: boolean; holes: Set<number>; core: { length: number; has(i: number): Promise<boolean>; get(i: number, o: object): Promise<Buffer | null> } }
  const feedsOf = (room: Room): FeedView[] => [...(room as unknown as { writers: { values(): Iterable<FeedView> } }).writers.values()]
  const own = (room: Room) => feedsOf(room).find((f) => f.local)!
  // The ciphertext of C's message blocks as they lie on disk, once every peer stored them
  // (a send resolves before its block is appended: flushed first).
  await rc.flush()
  const cFeed = own(rc)
  const indexes: number[] = []
  for (let i = 0; i < cFeed.core.length; i++) {
    const block = await cFeed.core.get(i, {})
    if (block && doomed.some((d) => block.includes(Buffer.from(d)))) indexes.push(i)
  }
  t.is(indexes.length, 3, 'three message blocks')
  const needles = new Map<string, Buffer>()
  for (const i of indexes) needles.set(`block ${i}`, (await cFeed.core.get(i, { raw: true }))!)
  for (const room of [ra, rb]) {
    const feed = feedsOf(room).find((f) => f.idPrefix === cFeed.idPrefix)!
    for (const i of indexes) while (!(await feed.core.has(i))) await new Promise((resolve) => setTimeout(resolve, 25))
  }

  // A member may not wipe.
  await expectCode(t, rb.moderate.wipe(), 'NOT_ALLOWED')
  await ra.moderate.wipe()
  const gone = async (r: Room) => !(await r.messages()).some((m) => m.text.startsWith('MARKER-wipe'))
  for (const r of rooms) while (!(await gone(r))) await new Promise((resolve) => setTimeout(resolve, 25))
  for (const room of rooms) {
    const feed = feedsOf(room).find((f) => f.idPrefix === cFeed.idPrefix)!
    for (const i of indexes) while (await feed.core.has(i)) await new Promise((resolve) => setTimeout(resolve, 25))
  }
  t.pass('every peer cleared the blocks')
  await Promise.all([a.eraseNow(), b.eraseNow(), c.eraseNow()])
  for (const storage of storages) t.alike(await scanAfterErase(storage, needles), [], 'no wiped ciphertext on disk')

  // After the wipe the room goes on; after a restart, the wiped messages stay gone.
  const after = receive(rb, ['after the wipe'])
  await rc.send('after the wipe')
  await after
  // Stored on B's disk before it closes (a block only shown live is fetched again later).
  const cAtB = feedsOf(rb).find((f) => f.idPrefix === cFeed.idPrefix)!
  while (!(await cAtB.core.has(cFeed.core.length - 1))) await new Promise((resolve) => setTimeout(resolve, 25))
  await b.close()
  const b2 = await create(t, testnet, { storage: storages[1] })
  const rb2 = b2.rooms[0]!
  await waitForPeers(rb2, 2)
  await until(() => rb2.owner !== null)
  let texts: string[] = []
  while (!(texts = (await rb2.messages()).map((m) => m.text)).includes('after the wipe')) await new Promise((resolve) => setTimeout(resolve, 25))
  t.pass('later messages stay')
  t.absent(texts.some((x) => x.startsWith('MARKER-wipe')), 'wiped messages do not come back after a restart')
  t.is(rb2.settings.topic, 'wipe me', 'the governance survives the wipe')
})

test('governance commands: /topic, /op by partial name, /kick refused without the role, /wipe asks to confirm', async (t) => {
  const { a, b, c, ra, rb, rc, rooms } = await three(t, 'gov-commands')
  await b.setProfile({ name: 'bobby' })
  await until(() => ra.members().some((m) => m.name === 'bobby'))
  const topic = await runCommand(a, '/topic new topic', { room: ra })
  t.is(topic.notices[0]?.level, 'info')
  const op = await runCommand(a, '/op bob', { room: ra })
  t.is(op.notices[0]?.level, 'info', op.notices[0]?.text)
  await until(() => rooms.every((r) => r.settings.topic === 'new topic' && r.role(b.identity.publicKey) === 'op'))
  const refused = await runCommand(c, `/kick ${b.identity.publicKey.toString('hex').slice(0, 8)}`, { room: rc })
  t.is(refused.notices[0]?.code, 'NOT_ALLOWED', refused.notices[0]?.text)
  // /admin and /unadmin are the owner's: an op (or anyone below) gets the library's sentence.
  const notOwner = await runCommand(b, '/admin bob', { room: rb })
  t.is(notOwner.notices[0]?.code, 'NOT_ALLOWED', notOwner.notices[0]?.text)
  t.ok(notOwner.notices[0]?.text.includes('needs the role owner'), 'the same NOT_ALLOWED sentence as the API')
  const made = await runCommand(a, '/admin bob', { room: ra })
  t.is(made.notices[0]?.level, 'info', made.notices[0]?.text)
  await until(() => rooms.every((r) => r.role(b.identity.publicKey) === 'admin'))
  const unmade = await runCommand(a, `/unadmin ${b.identity.publicKey.toString('hex').slice(0, 8)}`, { room: ra })
  t.is(unmade.notices[0]?.level, 'info', unmade.notices[0]?.text)
  await until(() => rooms.every((r) => r.role(b.identity.publicKey) === 'member'))
  const unconfirmed = await runCommand(a, '/wipe', { room: ra })
  t.is(unconfirmed.notices[0]?.level, 'error', 'the wipe asks for confirmation')
  const slow = await runCommand(a, '/slow 5', { room: ra })
  t.is(slow.notices[0]?.level, 'info')
  await until(() => rb.settings.slowMode === 5)
  // In a named room a removal says what it cannot do: the name and password still read it.
  const kicked = await runCommand(a, `/kick ${c.identity.publicKey.toString('hex').slice(0, 8)}`, { room: ra })
  t.is(kicked.notices[0]?.level, 'info', kicked.notices[0]?.text)
  t.ok(/can still read it/.test(kicked.notices[1]?.text ?? ''), 'a kick in a named room says the member can still read it')
})
