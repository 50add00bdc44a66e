// Hostile members against the room's governance: each drives a modified client that writes
// governance operations without the library's checks, or with a clock of its choosing.
import test, { type Test } from 'brittle'
import b4a from 'b4a'
import { create, createLocalTestnet, receive, waitForPeers } from '../helpers/index.js'
import { expectCode } from '../helpers/expect.js'
import { currentClock, inject, until } from '../helpers/governance.js'
import { blank } from '../../lib/governance/governance.js'
import { encodeGovOperation, GovAction } from '../../lib/governance/codec.js'
import { MessageType } from '../../lib/messages.js'
import { randomBytes } from '../../lib/crypto.js'
import type { Backspace, Room } from '../../lib/index.js'

async function room(t: Test, count: number, name: string) {
  const testnet = await createLocalTestnet(t)
  const nodes: Backspace[] = []
  for (let i = 0; i < count; i++) nodes.push(await create(t, testnet))
  const rooms: Room[] = []
  rooms.push(await nodes[0]!.join(name, { password: 'pw' }))
  await rooms[0]!.moderate.topic('owned')
  for (let i = 1; i < count; i++) rooms.push(await nodes[i]!.join(name, { password: 'pw' }))
  for (const r of rooms) await waitForPeers(r, count - 1)
  const owner = nodes[0]!.identity.publicKey
  await until(() => rooms.every((r) => r.owner !== null && b4a.equals(r.owner, owner)))
  return { testnet, nodes, rooms, keys: nodes.map((n) => n.identity.publicKey) }
}

const refused = (r: Room) => r.stats.rejected.governance

test('hostile governance: an operation without the role is refused and counted by every peer', async (t) => {
  const { rooms, keys } = await room(t, 3, 'gov-forged')
  const [ra, rb, rc] = rooms as [Room, Room, Room]
  const before = rooms.map(refused)
  // A member's modified client bans another member, ops itself and changes the topic.
  await inject(rc, GovAction.BAN, { target: keys[1]! })
  await inject(rc, GovAction.OP, { target: keys[2]! })
  await inject(rc, GovAction.TOPIC, { text: 'hijacked' })
  await until(() => rooms.every((r, i) => refused(r) >= before[i]! + 3))
  for (const r of rooms) {
    t.is(r.role(keys[1]!), 'member')
    t.is(r.role(keys[2]!), 'member')
    t.is(r.settings.topic, 'owned')
  }
  // A payload that does not decode is refused and counted too.
  const now = rooms.map(refused)
  await rc.appendRecord({ type: MessageType.GOVERN, text: '', payload: b4a.from([1, 99, 0, 0]) })
  await until(() => [ra, rb].every((r, i) => refused(r) > now[i]!))
  t.pass('a malformed operation is counted')
})

test('hostile governance: an operation replayed from another room does not verify', async (t) => {
  const { nodes, rooms, keys } = await room(t, 2, 'gov-replay-1')
  const [ra] = rooms as [Room, Room]
  const [a, m] = nodes as [Backspace, Backspace]
  const r2a = await a.join('gov-replay-2', { password: 'pw' })
  await r2a.moderate.topic('second room')
  const r2m = await m.join('gov-replay-2', { password: 'pw' })
  await waitForPeers(r2a)
  await until(() => r2m.owner !== null)
  // The owner ops M in room 1; M copies that signed block into its own log of room 2.
  await ra.moderate.op(keys[1]!)
  type Own = { own: { core: { length: number; get(i: number): Promise<Buffer>; append(b: Buffer[], o: object): Promise<unknown> } }; writerKeyPair: object }
  const outA = (ra as unknown as { outbox: Own }).outbox
  await Promise.all([ra.flush(), r2m.flush()])
  const block = await outA.own.core.get(outA.own.core.length - 1)
  const outM = (r2m as unknown as { outbox: Own }).outbox
  const rejected = r2a.stats.rejected['invalid-signature'] + r2a.stats.rejected['unauthorized-device']
  await outM.own.core.append([block], { keyPair: outM.writerKeyPair })
  await until(() => r2a.stats.rejected['invalid-signature'] + r2a.stats.rejected['unauthorized-device'] > rejected)
  t.is(r2a.role(keys[1]!), 'member', 'the replayed op has no effect in the other room')
  t.is(rooms[1]!.role(keys[1]!), 'op', 'it holds in the room it was made in')
})

test('hostile governance: a demoted admin back-dating a kick is void everywhere', async (t) => {
  const { rooms, keys } = await room(t, 3, 'gov-backdate')
  const [ra, rb] = rooms as [Room, Room, Room]
  const [, B, C] = keys as [Buffer, Buffer, Buffer]
  await ra.moderate.admin(B)
  await ra.moderate.op(C)
  await until(() => rooms.every((r) => r.role(B) === 'admin' && r.role(C) === 'op'))
  // What B had seen while it was still an admin.
  const stale = currentClock(rb)
  await ra.moderate.unadmin(B)
  await until(() => rooms.every((r) => r.role(B) === 'member'))
  await expectCode(t, rb.moderate.kick(C), 'NOT_ALLOWED')
  const before = rooms.map(refused)
  // B's modified client kicks C, naming the state before its demotion, and again naming none.
  await inject(rb, GovAction.KICK, { target: C }, stale)
  await inject(rb, GovAction.KICK, { target: C }, [])
  await until(() => rooms.every((r, i) => refused(r) >= before[i]! + 2))
  for (const r of rooms) t.is(r.role(C), 'op', 'the back-dated kick is void')
})

test('hostile governance: concurrent conflicts resolve the same way on every peer', async (t) => {
  const { rooms, keys } = await room(t, 3, 'gov-concurrent')
  const [ra, rb, rc] = rooms as [Room, Room, Room]
  const [, B, C] = keys as [Buffer, Buffer, Buffer]
  await ra.moderate.admin(B)
  await ra.moderate.admin(C)
  await until(() => rooms.every((r) => r.role(B) === 'admin' && r.role(C) === 'admin'))

  // Two admins kick each other concurrently: neither names the other's kick.
  const clockB = currentClock(rb)
  const clockC = currentClock(rc)
  await Promise.all([inject(rb, GovAction.KICK, { target: C }, clockB), inject(rc, GovAction.KICK, { target: B }, clockC)])
  const agreed = () => rooms.map((r) => `${r.role(B)}/${r.role(C)}`)
  await until(() => rooms.every((r) => refused(r) >= 2))
  t.alike(agreed(), ['admin/admin', 'admin/admin', 'admin/admin'], 'equal ranks cannot remove each other: both stay, on every peer')

  // A re-add cannot undo a concurrent removal: B bans X while C, not knowing, unbans X.
  const X = randomBytes(32)
  const beforeBan = currentClock(rc)
  await rb.moderate.ban(X)
  await until(() => rooms.every((r) => r.role(X) === 'banned'))
  await inject(rc, GovAction.UNBAN, { target: X }, beforeBan)
  await until(() => rooms.every((r) => refused(r) >= 3))
  for (const r of rooms) t.is(r.role(X), 'banned', 'the concurrent unban is void')

  // Strong removal: the owner demotes B while B, concurrently, bans Y: B's ban is void.
  const Y = randomBytes(32)
  const beforeDemotion = currentClock(rb)
  await ra.moderate.unadmin(B)
  await until(() => rooms.every((r) => r.role(B) === 'member'))
  await inject(rb, GovAction.BAN, { target: Y }, beforeDemotion)
  await until(() => rooms.every((r) => refused(r) >= 4))
  for (const r of rooms) t.is(r.role(Y), 'member', "the demoted admin's concurrent ban is void")
})

test('hostile governance: a late joiner cannot take over a named room, even back-dated', async (t) => {
  const { nodes, rooms, keys } = await room(t, 3, 'gov-takeover')
  const [ra, rb, rl] = rooms as [Room, Room, Room]
  void nodes
  const [A, , L] = keys as [Buffer, Buffer, Buffer]
  await expectCode(t, rl.moderate.claim(), 'NOT_ALLOWED')
  const before = rooms.map(refused)
  // L's modified client claims with a clock that names nothing: "I was here first".
  await inject(rl, GovAction.CLAIM, {}, [])
  await inject(rl, GovAction.TOPIC, { text: 'mine' }, [])
  await until(() => rooms.every((r, i) => refused(r) >= before[i]! + 2))
  for (const r of [ra, rb, rl]) {
    t.ok(r.owner && b4a.equals(r.owner, A), 'the first member still owns the room')
    t.is(r.role(L), 'member')
    t.is(r.settings.topic, 'owned')
  }
})

test('hostile governance: a banned member writing anyway is dropped and counted by every peer', async (t) => {
  const { rooms, keys } = await room(t, 3, 'gov-banned')
  const [ra, rb, rc] = rooms as [Room, Room, Room]
  const C = keys[2]!
  await ra.moderate.ban(C)
  await until(() => rooms.every((r) => r.role(C) === 'banned'))
  await expectCode(t, rc.send('still here'), 'NOT_ALLOWED')
  const before = rooms.map(refused)
  // C's modified client appends messages anyway.
  await rc.appendRecord({ type: MessageType.TEXT, text: 'still here' })
  await rc.appendRecord({ type: MessageType.TEXT, text: 'and again' })
  await until(() => rooms.every((r, i) => refused(r) >= before[i]! + 2))
  for (const r of [ra, rb, rc]) {
    const texts = (await r.messages()).map((m) => m.text)
    t.absent(texts.includes('still here') || texts.includes('and again'), 'not shown')
  }
})

test('hostile governance: slow mode holds against a client that ignores it', async (t) => {
  const { rooms, keys } = await room(t, 3, 'gov-slow')
  const [ra, , rc] = rooms as [Room, Room, Room]
  await ra.moderate.set({ slowMode: 60 })
  await until(() => rooms.every((r) => r.settings.slowMode === 60))
  await rc.send('one')
  await until(() => rooms.every((r) => r.stats.messages >= 1))
  await expectCode(t, rc.send('two'), 'NOT_ALLOWED')
  const before = rooms.map(refused)
  // The modified client floods: 20 messages in one burst.
  const flood = Array.from({ length: 20 }, (_, i) => `flood ${i}`)
  await Promise.all(flood.map((text) => rc.appendRecord({ type: MessageType.TEXT, text })))
  await until(() => rooms.every((r, i) => refused(r) >= before[i]! + 20))
  for (const r of rooms) {
    const texts = (await r.messages()).map((m) => m.text)
    t.ok(texts.includes('one') && !texts.some((x) => x.startsWith('flood')), 'the flood is dropped, the first message stays')
  }
  // The owner is exempt.
  await ra.send('owner 1')
  await ra.send('owner 2')
  void keys
})

test('hostile governance: max users and anonymous writers hold against a modified client', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const ra = await a.join('gov-full', { password: 'pw' })
  await ra.moderate.topic('full room')
  await b.setProfile({ name: 'bob' })
  const rb = await b.join('gov-full', { password: 'pw' })
  await waitForPeers(ra)
  await until(() => rb.owner !== null && ra.role(b.identity.publicKey) === 'member' && ra.stats.rejected.governance === 0 && ackedBy(ra, b))
  await ra.moderate.set({ maxUsers: 1, allowAnonymous: false })
  await until(() => rb.settings.maxUsers === 1 && !rb.settings.allowAnonymous)
  await rb.send('member before the limit')

  // A newcomer past the limit, with a name.
  const d = await create(t, testnet)
  await d.setProfile({ name: 'dora' })
  const rd = await d.join('gov-full', { password: 'pw' })
  await waitForPeers(rd, 2)
  await until(() => rd.settings.maxUsers === 1)
  await expectCode(t, rd.send('let me in'), 'NOT_ALLOWED')
  // An incognito newcomer.
  const e = await create(t, testnet, { incognito: true })
  const re = await e.join('gov-full', { password: 'pw' })
  await waitForPeers(re, 3)
  await until(() => !re.settings.allowAnonymous)
  await expectCode(t, re.send('anon here'), 'NOT_ALLOWED')

  const before = [ra, rb].map(refused)
  await rd.appendRecord({ type: MessageType.TEXT, text: 'over the limit' })
  await re.appendRecord({ type: MessageType.TEXT, text: 'anonymous anyway' })
  await until(() => [ra, rb].every((r, i) => refused(r) >= before[i]! + 2))
  for (const r of [ra, rb]) {
    const texts = (await r.messages()).map((m) => m.text)
    t.ok(texts.includes('member before the limit'), 'the admitted member writes')
    t.absent(texts.includes('over the limit') || texts.includes('anonymous anyway'), 'the others are dropped')
  }
})

// Whether `member`'s acknowledgement of the owner reached `room` (it admits it under a limit).
function ackedBy(room: Room, member: Backspace): boolean {
  const g = (room as unknown as { governance: { records: Map<string, { author: string; op: { action: number } }> } }).governance
  const hex = member.identity.publicKey.toString('hex')
  return [...g.records.values()].some((r) => r.author === hex && r.op.action === GovAction.ACK)
}

test('hostile governance: a writer whose governance pointers go forward, at itself, at a plain block or round a loop is refused and counted', async (t) => {
  const { testnet, rooms, keys } = await room(t, 3, 'gov-chain-hostile')
  const [ra, rb, rm] = rooms as [Room, Room, Room]
  await ra.moderate.op(keys[1]!)
  await until(() => rooms.every((r) => r.role(keys[1]!) === 'op'))
  type Out = {
    own: { key: Buffer; core: { length: number; append(b: Buffer[], o: object): Promise<unknown> } }
    writerKeyPair: object
    nextSeq: number
    signBody(index: number, body: object): Buffer
    blockBody(seq: number, records: Array<{ type: number; timestamp: number; text: string; payload?: Buffer }>): { govPrev?: number }
  }
  const out = (rm as unknown as { outbox: Out }).outbox
  await rm.flush()
  const base = out.own.core.length
  const now = Date.now()
  const text = (s: string) => ({ type: MessageType.TEXT, timestamp: now, text: s })
  const gov = (s: string) => ({ type: MessageType.GOVERN, timestamp: now, text: '', payload: encodeGovOperation({ ...blank(GovAction.TOPIC), text: s, clock: currentClock(rm) }) })
  const plan: Array<[ReturnType<typeof text> | ReturnType<typeof gov>, number]> = [
    [text('points forward'), base + 3],
    [text('points at itself'), base + 1],
    [text('points at a plain block'), base],
    [gov('loop one'), base + 4], // with the next block, a loop: forward from here
    [gov('loop two'), base + 3],
    [text('enters the loop'), base + 4]
  ]
  const blocks = plan.map(([record, govPrev], i) => {
    const body = out.blockBody(out.nextSeq + i, [record])
    body.govPrev = govPrev
    return out.signBody(base + i, body)
  })
  out.nextSeq += plan.length
  const pointers = (r: Room) => {
    const refused = new Set<number>()
    r.on('reject', (e) => {
      if (e.reason === 'governance' && b4a.equals(e.writer, out.own.key) && /governance pointer/.test(e.error.message)) refused.add(e.index)
    })
    return refused
  }
  const seenBy = [ra, rb].map(pointers)
  await out.own.core.append(blocks, { keyPair: out.writerKeyPair })
  const expected = [base, base + 1, base + 2, base + 3]
  await until(() => seenBy.every((s) => expected.every((i) => s.has(i))))
  for (const s of seenBy) t.alike([...s].sort((x, y) => x - y), expected, 'exactly the blocks with a bad pointer are counted')

  for (const r of [ra, rb]) {
    t.is(r.settings.topic, 'owned', 'the honest state is unaffected')
    t.is(r.role(keys[1]!), 'op')
    t.ok(r.owner !== null && b4a.equals(r.owner, keys[0]!))
  }

  // A joiner that reads the window afresh refuses them too, and knows the honest state.
  const joiner = await create(t, testnet)
  const rj = await joiner.join('gov-chain-hostile', { password: 'pw' })
  await until(() => rj.owner !== null && rj.role(keys[1]!) === 'op' && rj.stats.rejected.governance >= expected.length)
  t.is(rj.settings.topic, 'owned', 'the joiner sees the honest topic')
  // The hostile writer's honest messages still arrive: nothing crashed.
  const arrived = [ra, rb, rj].map((r) => receive(r, ['after the bad pointers']))
  await rm.send('after the bad pointers')
  await Promise.all(arrived)
  t.pass('the peers go on')
})
