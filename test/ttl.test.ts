import test from 'brittle'
import { create, createLocalTestnet, DAY, manualClock, receive } from './helpers/index.js'
import { expectCode } from './helpers/expect.js'
import { Backspace } from '../lib/index.js'

type Core = { length: number; has(i: number): Promise<boolean> }
type FeedView = { local: boolean; core: Core; start: number }

function feeds(room: unknown): FeedView[] {
  return [...(room as { writers: { values(): Iterable<FeedView> } }).writers.values()]
}

async function stored(core: Core, from = 0, to = core.length): Promise<number> {
  let n = 0
  for (let i = from; i < to; i++) if (await core.has(i)) n++
  return n
}

async function allStored(room: unknown, count: number): Promise<void> {
  for (const feed of feeds(room)) {
    if (feed.local) continue
    while ((await stored(feed.core)) < count) await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

test('expired messages are never returned or emitted, and are deleted from disk', async (t) => {
  const testnet = await createLocalTestnet(t)
  const clock = manualClock()
  const a = await create(t, testnet, { now: clock.now })
  const b = await create(t, testnet, { now: clock.now })
  const ra = await a.join('ephemeral')
  const rb = await b.join('ephemeral')

  const old = ['old 0', 'old 1', 'old 2', 'old 3', 'old 4']
  const atB = receive(rb, old)
  for (const text of old) await ra.send(text)
  await atB
  // Live delivery can beat replication: wait until B stores every block, so the prune has
  // each one to judge (a block this node does not hold counts as alive).
  await allStored(rb, old.length)

  clock.advance(7 * DAY + 1)
  t.is((await ra.messages()).length, 0, 'expired messages are not returned, even before pruning')
  await a.prune()
  await b.prune()
  t.is((await rb.messages()).length, 0)

  for (const room of [ra, rb]) {
    for (const feed of feeds(room)) {
      if (feed.core.length === 0) continue
      t.is(await stored(feed.core), 0, `${feed.local ? 'own' : 'remote'} expired blocks are cleared`)
      t.is(feed.start, 5)
    }
  }

  const emitted: string[] = []
  rb.on('message', (m) => emitted.push(m.text))
  const fresh = receive(rb, ['fresh'])
  await ra.send('fresh')
  await fresh
  t.alike(emitted, ['fresh'])
  t.alike((await rb.messages()).map((m) => m.text), ['fresh'])
})

test('a shorter ttl can be configured, and more than 7 days cannot', async (t) => {
  const testnet = await createLocalTestnet(t)
  const clock = manualClock()
  const a = await create(t, testnet, { now: clock.now, ttl: 60_000 })
  const room = await a.join('short-lived')
  await room.send('soon gone')
  clock.advance(59_999)
  t.is((await room.messages()).length, 1)
  clock.advance(1)
  t.is((await room.messages()).length, 0)
  await expectCode(t, () => new Backspace({ ttl: 8 * DAY, bootstrap: [] }), 'INVALID_ARGUMENT')
})

test('expired blocks are deleted when a node opens', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const clock = manualClock()
  const a = await create(t, testnet, { storage, now: clock.now })
  const room = await a.join('stale')
  for (let i = 0; i < 10; i++) await room.send(`stale ${i}`)
  clock.advance(3 * DAY)
  await room.send('recent')
  await a.close()

  clock.advance(4 * DAY + 1)
  const again = await create(t, testnet, { storage, now: clock.now, pruneInterval: 3_600_000 })
  const restored = again.rooms[0]!
  t.alike((await restored.messages()).map((m) => m.text), ['recent'])
  const own = feeds(restored).find((f) => f.local)!
  t.is(await stored(own.core, 0, 10), 0, 'the ten stale blocks are gone')
  t.ok(await own.core.has(10), 'the recent block stays')
})

test('a joining peer does not fetch expired blocks', async (t) => {
  const testnet = await createLocalTestnet(t)
  const clock = manualClock()
  const a = await create(t, testnet, { now: clock.now })
  const ra = await a.join('history')
  for (let i = 0; i < 20; i++) await ra.send(`expired ${i}`)
  clock.advance(7 * DAY + 1)
  await ra.send('alive')
  await a.prune()

  const c = await create(t, testnet, { now: clock.now })
  const rc = await c.join('history')
  const emitted: string[] = []
  rc.on('message', (m) => emitted.push(m.text))
  await receive(rc, ['alive'])
  t.alike((await rc.messages({ limit: 100 })).map((m) => m.text), ['alive'])
  t.alike(emitted, ['alive'])
  const remote = feeds(rc).find((f) => !f.local)!
  t.is(remote.core.length, 21)
  t.is(await stored(remote.core, 0, 20), 0, 'none of the 20 expired blocks were fetched')
})
