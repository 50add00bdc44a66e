// Governance must not depend on how much history a node loaded (issue 12, follow-up to 11):
// a member back after a long absence, or a new joiner, loads only the latest page of each
// writer, yet follows each writer's chain of governance blocks back and enforces a ban, and
// knows the owner and topic, made before that window.
import test from 'brittle'
import b4a from 'b4a'
import type { GovernanceEvent, Room } from '../lib/index.js'
import { MessageType } from '../lib/messages.js'
import { create, createLocalTestnet, waitForPeers } from './helpers/index.js'
import { until } from './helpers/governance.js'

interface Internals {
  chain: { followed: number; busy(): boolean }
}
const internals = (room: Room) => room as unknown as Internals

const MISSED = 300

// Resolves once the room's latest page shows `text` (loaded at open, so no event to wait for).
async function shows(room: Room, text: string): Promise<void> {
  while (!(await room.messages({ limit: 10 })).some((m) => m.text === text)) await new Promise((resolve) => setTimeout(resolve, 20))
}

test('governance chain: a returning member and a new joiner enforce a ban made before their window', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const bStorage = await t.tmp()
  const b = await create(t, testnet, { storage: bStorage })
  const c = await create(t, testnet)
  const ra = await a.join('gov-chain', { password: 'pw' })
  await ra.moderate.topic('first topic')
  const rb = await b.join('gov-chain', { password: 'pw' })
  const rc = await c.join('gov-chain', { password: 'pw' })
  await waitForPeers(ra, 2)
  await until(() => [rb, rc].every((r) => r.owner !== null && b4a.equals(r.owner, a.identity.publicKey) && r.settings.topic === 'first topic'))
  t.comment('owned')
  await b.close()

  // While B is away: C is banned, the topic changes, and then a lot is said.
  const C = c.identity.publicKey
  await ra.moderate.ban(C)
  await ra.moderate.topic('set while away')
  await until(() => rc.role(C) === 'banned')
  for (let i = 0; i < MISSED; i++) await ra.send(`m${i}`)
  // All of it stored while B is away (sends resolve before their append; see Room.flush).
  await ra.flush()

  t.comment('sent')
  // C's modified client writes anyway.
  await rc.appendRecord({ type: MessageType.TEXT, text: 'banned but writing' })

  // B comes back, and D joins for the first time: each loads only the latest page of A's log.
  const b2 = await create(t, testnet, { storage: bStorage })
  const rb2 = b2.rooms[0]!
  const told = new Map<Room, GovernanceEvent[]>([[rb2, []]])
  rb2.on('governance', (e) => told.get(rb2)!.push(e))
  const d = await create(t, testnet)
  const rd = await d.join('gov-chain', { password: 'pw' })
  told.set(rd, [])
  rd.on('governance', (e) => told.get(rd)!.push(e))
  for (const r of [rb2, rd]) await shows(r, `m${MISSED - 1}`)

  t.comment('caught up')
  for (const [label, r] of [['returning member', rb2], ['new joiner', rd]] as const) {
    await until(() => r.role(C) === 'banned' && r.settings.topic === 'set while away')
    t.comment(label)
    t.ok(r.owner !== null && b4a.equals(r.owner, a.identity.publicKey), `${label}: the owner claimed before the window`)
    t.is(r.settings.topic, 'set while away', `${label}: the topic set before the window`)
    t.is(r.role(C), 'banned', `${label}: the ban made before the window`)
    t.ok(internals(r).chain.followed >= 1, `${label}: governance blocks read by their pointers`)
    t.ok(r.stats.messages <= 60, `${label}: holds about a page (${r.stats.messages}), not the history the chain crossed`)
    await until(() => !internals(r).chain.busy())
    const shown = await r.messages({ limit: 100 })
    t.absent(shown.some((m) => m.text === 'banned but writing'), `${label}: the banned member's message is not shown`)
    t.absent(shown.some((m) => m.text === 'm0'), `${label}: the chain put no old message into the timeline`)
    // What happened before it caught up is history, not news: told as replayed, with its time.
    const events = told.get(r)!
    const ban = events.find((e) => e.action === 'ban')
    t.ok(ban && ban.replayed && ban.timestamp > 0 && ban.timestamp <= Date.now(), `${label}: the ban is told as replayed, with its time`)
    t.ok(events.length > 0 && events.every((e) => e.replayed), `${label}: every operation caught up with is replayed`)
  }

  // And what the banned member writes now is refused and counted by both.
  const before = [rb2, rd].map((r) => r.stats.rejected.governance)
  await rc.appendRecord({ type: MessageType.TEXT, text: 'still banned' })
  await until(() => [rb2, rd].every((r, i) => r.stats.rejected.governance > before[i]!))
  for (const r of [rb2, rd]) {
    const shown = await r.messages({ limit: 100 })
    t.absent(shown.some((m) => m.text === 'still banned'), 'refused where it arrives')
  }
})
