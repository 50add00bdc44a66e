// Issue 11: a member back after a long absence shows the latest page first and holds a
// window of it, not everything it missed; paging back fetches the rest on demand.
import test from 'brittle'
import type { Room } from '../lib/index.js'
import { History } from '../lib/room/history.js'
import { create, createLocalTestnet, receive, waitForPeers } from './helpers/index.js'

interface Internals {
  outbox: { own: { key: Buffer; core: { length: number } } }
  writers: { get(hex: string): { seen: number; owner: Buffer | null; core: { length: number } } | undefined }
  history: { gaps: number; retried: number }
}
const internals = (room: Room) => room as unknown as Internals

async function until(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((resolve) => setTimeout(resolve, 20))
}

test('catch-up after an absence holds the latest page; paging back fetches the rest', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const bStorage = await t.tmp()
  const b = await create(t, testnet, { storage: bStorage })
  const ra = await a.join('away')
  const rb = await b.join('away')
  await waitForPeers(ra)
  const first = receive(rb, ['before'])
  await ra.send('before')
  await first
  await b.close()

  const MISSED = 300
  for (let i = 0; i < MISSED; i++) await ra.send(`m${i}`)
  const length = internals(ra).outbox.own.core.length
  t.is(length, MISSED + 1, 'one block per message')

  const b2 = await create(t, testnet, { storage: bStorage })
  const rb2 = b2.rooms[0]!
  const newest = receive(rb2, [`m${MISSED - 1}`])
  await newest
  const key = internals(ra).outbox.own.key.toString('hex')
  await until(() => (internals(rb2).writers.get(key)?.seen ?? 0) >= length)
  t.comment(`messages held after the catch-up: ${rb2.stats.messages} of ${MISSED + 1}`)
  t.ok(rb2.stats.messages <= 60, 'the returning member holds about a page, not all it missed')
  t.is(internals(rb2).history.gaps, 1, 'the rest is left for paging')

  const latest = await rb2.messages({ limit: 50 })
  t.alike(latest.map((m) => m.text), Array.from({ length: 50 }, (_, i) => `m${MISSED - 50 + i}`), 'the latest page first')
  const before = await rb2.messages({ limit: 50, before: latest[0]! })
  t.alike(before.map((m) => m.text), Array.from({ length: 50 }, (_, i) => `m${MISSED - 100 + i}`), 'paging back fetches the page before')

  // Paging all the way back reaches what was read before the absence, in order, nothing lost.
  const all = [...before, ...latest]
  for (;;) {
    const page = await rb2.messages({ limit: 50, before: all[0]! })
    if (page.length === 0) break
    all.unshift(...page)
  }
  t.alike(all.map((m) => m.text), ['before', ...Array.from({ length: MISSED }, (_, i) => `m${i}`)], 'every message, in order')
})

test('a writer whose latest block nobody could give yet is read again, not skipped: its messages show and its writer is known', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const bStorage = await t.tmp()
  const b = await create(t, testnet, { storage: bStorage })
  const ra = await a.createRoom({ name: 'first block' })
  const rb = await b.join(ra.invite)
  await waitForPeers(rb)
  const hello = receive(rb, ['hello'])
  await ra.send('hello')
  await hello
  const id = ra.id
  await b.close()

  // A member b has never heard of joins and writes while b is away: b first hears of its
  // core with a block in it, a writer new to b, read from its latest page.
  const c = await create(t, testnet)
  const rc = await c.join(ra.invite)
  const atA = receive(ra, ['first words'])
  await rc.send('first words')
  await atA
  const key = internals(rc).outbox.own.key.toString('hex')

  // b's first read of that core finds none of its blocks to be had (its peers had not stored
  // them yet, say), as a fetch that times out does. Patched on the class: b's room reads its
  // writers as it opens, before a test could reach the instance.
  type Latest = (this: unknown, feed: { key: Buffer }, from: number, to: number, page: number) => Promise<number | null>
  const proto = History.prototype as unknown as { fetchLatest: Latest }
  const fetchLatest = proto.fetchLatest
  let refused = 0
  proto.fetchLatest = async function (this: unknown, feed, from, to, page) {
    if (feed.key.toString('hex') === key && refused++ === 0) return to
    return fetchLatest.call(this, feed, from, to, page)
  }
  t.teardown(() => {
    proto.fetchLatest = fetchLatest
  })

  const b2 = await create(t, testnet, { storage: bStorage })
  const rb2 = b2.rooms.find((r) => r.id === id)!
  // Read after all, with nothing more written: its message shows.
  const shown = async (): Promise<boolean> => (await rb2.messages({ limit: 50 })).some((m) => m.text === 'first words')
  const deadline = Date.now() + 20_000
  let found = await shown()
  while (!found && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    found = await shown()
  }
  t.ok(found, 'its message shows')
  t.is(refused, 2, 'the first read of its core had nothing, and it was read again')
  t.ok(internals(rb2).history.retried >= 1, 'the read was tried again, not skipped')
  const late = receive(rb2, ['late joiner'])
  await rc.send('late joiner')
  await late
  t.pass('and its later messages show')
})
