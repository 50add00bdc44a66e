import test, { type Test } from 'brittle'
import b4a from 'b4a'
import { create, createLocalTestnet, receive, waitForPeers } from './helpers/index.js'
import { expectCode } from './helpers/expect.js'
import { until } from './helpers/governance.js'
import type { Backspace, GovernanceEvent, Room } from '../lib/index.js'

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
  const got = receive(ra, ['bad words', 'before the ban'])
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
