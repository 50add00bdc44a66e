// Issue 12: a room's own message TTL (`moderate.set({ ttl })`, at most 7 days) is enforced by
// every reader's prune, and by relays through the expiry stamps its writers put on their blocks.
import test, { type Test } from 'brittle'
import type { RelayedRoom, Room } from '../lib/index.js'
import { create, createLocalTestnet, manualClock, receive, waitForPeers } from './helpers/index.js'
import { expectCode } from './helpers/expect.js'
import { until } from './helpers/governance.js'
import { scan, scanAfterErase } from './helpers/scan.js'

type CoreView = { length: number; has(i: number): Promise<boolean>; get(i: number, o: object): Promise<Buffer | null> }
type FeedView = { key: Buffer; local: boolean; core: CoreView; seen?: number }
const HOUR = 60 * 60 * 1000

const feedsOf = (room: Room | RelayedRoom): FeedView[] => [...(room as unknown as { writers: { values(): Iterable<FeedView> } }).writers.values()]
const feedOf = (room: Room | RelayedRoom, key: Buffer): FeedView | undefined => feedsOf(room).find((f) => f.key.equals(key))

async function poll(cond: () => Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((resolve) => setTimeout(resolve, 25))
}

// The message blocks of `own` whose text is one of `texts`, with their ciphertext as stored.
async function blocksOf(own: FeedView, texts: string[]): Promise<Map<number, Buffer>> {
  const out = new Map<number, Buffer>()
  for (let i = 0; i < own.core.length; i++) {
    const block = await own.core.get(i, {})
    if (block && texts.some((x) => block.includes(Buffer.from(x)))) out.set(i, (await own.core.get(i, { raw: true }))!)
  }
  return out
}

async function storedEverywhere(rooms: Array<Room | RelayedRoom>, key: Buffer, indexes: Iterable<number>): Promise<void> {
  for (const room of rooms) {
    await poll(async () => {
      const feed = feedOf(room, key)
      if (!feed) return false
      for (const i of indexes) {
        if (!(await feed.core.has(i))) return false
        // A member clears what it has read up to (Feed.seen): a block stored from its live copy
        // ahead of blocks it has yet to read waits for them, then for the next prune.
        if (feed.seen !== undefined && feed.seen <= i) return false
      }
      return true
    })
  }
}

test('room ttl: messages expire after the room TTL on every member and at the relay, and leave the disk', async (t) => {
  const testnet = await createLocalTestnet(t)
  const clock = manualClock()
  const storages = [await t.tmp(), await t.tmp(), await t.tmp(), await t.tmp()]
  const relay = await create(t, testnet, { storage: storages[3], relay: true, now: clock.now })
  const a = await create(t, testnet, { storage: storages[0], now: clock.now })
  const b = await create(t, testnet, { storage: storages[1], now: clock.now })
  const ra = await a.join('room-ttl', { password: 'pw' })
  await ra.moderate.topic('short lived')
  await until(() => ra.owner !== null)
  const rb = await b.join('room-ttl', { password: 'pw' })
  await waitForPeers(rb, 1)
  await until(() => rb.owner !== null)
  const kept = await relay.keep(ra.relayLink)

  await expectCode(t, ra.moderate.set({ ttl: 8 * 24 * HOUR }), 'INVALID_ARGUMENT')
  await expectCode(t, rb.moderate.set({ ttl: HOUR }), 'NOT_ALLOWED')
  await ra.moderate.set({ ttl: HOUR, allowFiles: false })
  await ra.moderate.setPrivate(true)
  await until(() => rb.settings.ttl === HOUR && rb.settings.private && !rb.settings.allowFiles)
  t.pass('the ttl, private and allowFiles settings reach members')

  // C joins after the setting: every block it writes is stamped with the room's TTL.
  const c = await create(t, testnet, { storage: storages[2], now: clock.now })
  const rc = await c.join('room-ttl', { password: 'pw' })
  await until(() => rc.settings.ttl === HOUR)
  const fromA = ['MARKER-ttl-a-1-77e0', 'MARKER-ttl-a-2-77e0']
  const fromC = ['MARKER-ttl-c-1-77e0', 'MARKER-ttl-c-2-77e0']
  const everywhere = [ra, rb, rc].map((r) => receive(r, [...fromA, ...fromC]))
  for (const text of fromA) await ra.send(text)
  for (const text of fromC) await rc.send(text)
  // Stored now (sends resolve before their append when members are online).
  await Promise.all([ra.flush(), rc.flush()])
  await Promise.all(everywhere)
  const ownA = feedsOf(ra).find((f) => f.local)!
  const ownC = feedsOf(rc).find((f) => f.local)!
  const blocksA = await blocksOf(ownA, fromA)
  const blocksC = await blocksOf(ownC, fromC)
  t.is(blocksA.size + blocksC.size, 4, 'four message blocks')
  await storedEverywhere([rb, rc, kept], ownA.key, blocksA.keys())
  await storedEverywhere([ra, rb, kept], ownC.key, blocksC.keys())

  // Not yet: within the room's TTL everything stays.
  clock.advance(HOUR / 2)
  await Promise.all([a.prune(), b.prune(), c.prune(), relay.prune()])
  t.is((await rb.messages()).filter((m) => m.text.startsWith('MARKER-ttl')).length, 4, 'alive within the room ttl')

  clock.advance(HOUR)
  await Promise.all([a.prune(), b.prune(), c.prune(), relay.prune()])
  for (const room of [ra, rb, rc]) {
    t.absent((await room.messages()).some((m) => m.text.startsWith('MARKER-ttl')), 'expired after the room ttl, well before 7 days')
  }
  for (const room of [ra, rb, rc]) {
    for (const [key, blocks] of [[ownA.key, blocksA], [ownC.key, blocksC]] as const) {
      const feed = feedOf(room, key)!
      for (const i of blocks.keys()) t.absent(await feed.core.has(i), `block ${i} cleared on a member`)
    }
  }
  // The relay cannot read, but C's blocks carry the room's TTL in their expiry stamps.
  const atRelay = feedOf(kept, ownC.key)!
  for (const i of blocksC.keys()) t.absent(await atRelay.core.has(i), `C's block ${i} cleared at the relay by its stamp`)

  await Promise.all([a.eraseNow(), b.eraseNow(), c.eraseNow(), relay.eraseNow()])
  const needles = new Map<string, Buffer>()
  for (const [i, raw] of blocksA) needles.set(`A block ${i}`, raw)
  for (const [i, raw] of blocksC) needles.set(`C block ${i}`, raw)
  for (const storage of storages.slice(0, 3)) t.alike(await scanAfterErase(storage, needles), [], 'no expired ciphertext on a member disk')
  const cNeedles = new Map([...needles].filter(([k]) => k.startsWith('C')))
  t.alike(await scan(storages[3]!, cNeedles), [], 'none of C\'s on the relay disk')
})

// A created room of two members, a its owner, on a clock the test moves.
async function pairOnClock(t: Test, name: string) {
  const testnet = await createLocalTestnet(t)
  const clock = manualClock()
  const bStorage = await t.tmp()
  const a = await create(t, testnet, { now: clock.now })
  const b = await create(t, testnet, { storage: bStorage, now: clock.now })
  const ra = await a.createRoom({ name })
  const rb = await b.join(ra.invite)
  await waitForPeers(rb, 1)
  return { clock, b, bStorage, ra, rb }
}

test('room ttl: an expired block downloaded after the prune that cleared it is cleared as it lands', async (t) => {
  const { clock, b, ra, rb } = await pairOnClock(t, 'late download')
  const texts = ['MARKER-late-1', 'MARKER-late-2', 'MARKER-late-3']
  const got = receive(rb, texts)
  for (const text of texts) await ra.send(text)
  await ra.flush()
  await got
  const own = feedsOf(ra).find((f) => f.local)!
  const blocks = await blocksOf(own, texts)
  t.is(blocks.size, 3)
  await storedEverywhere([rb], own.key, blocks.keys())

  // Past the default TTL: b prunes and clears them, and a, which has not pruned yet, still
  // holds them. (A live copy of them still being stored as the prune runs lands below the
  // new floor, and leaves as it lands: so b is given a moment.)
  clock.advance(8 * 24 * HOUR)
  await b.prune()
  const feed = feedOf(rb, own.key)! as FeedView & { start: number }
  const first = Math.min(...blocks.keys())
  t.ok(feed.start > first, `b's floor moved past them (${feed.start})`)
  t.ok(await gone(feed.core, [...blocks.keys()]), 'cleared on b')
  t.ok(await own.core.has(first), 'still on a')

  // A read asked for before the prune (paging back, say) lands after it: Hypercore downloads
  // the block from a, below the floor no later prune goes back to. It must not stay.
  await feed.core.get(first, {})
  t.ok(await gone(feed.core, [first]), 'the late download is cleared as it lands')
})

// Whether none of `indexes` is on `core` within 5 s.
async function gone(core: CoreView, indexes: number[]): Promise<boolean> {
  const deadline = Date.now() + 5000
  for (;;) {
    let held = false
    for (const i of indexes) if (await core.has(i)) held = true
    if (!held) return true
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

test('room ttl: live copies whose store lands after a prune moved past them leave the disk at once', async (t) => {
  const { clock, b, bStorage, ra, rb } = await pairOnClock(t, 'late store')
  const live = (rb as unknown as { live: { counts: { storedLive: number } } }).live

  // A first message, so that b holds a's core open (an empty one it only notes).
  const hello = receive(rb, ['hello'])
  await ra.send('hello')
  await ra.flush()
  await hello
  const texts = ['MARKER-store-1', 'MARKER-store-2', 'MARKER-store-3']
  const own = feedsOf(ra).find((f) => f.local)!
  await poll(async () => feedOf(rb, own.key) !== undefined)
  await storedEverywhere([rb], own.key, [0])
  const feed = feedOf(rb, own.key)! as FeedView & { start: number; core: CoreView & { core: Verifier } }
  // b's verification of the proofs it builds from live copies (`from` null; a peer's data
  // comes with its peer) waits until the prune has run, as a slow store would.
  type Verifier = { verify(proof: unknown, from: unknown): Promise<boolean> }
  const inner = feed.core.core
  const verify = inner.verify
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  let waiting = 0
  inner.verify = async function (this: Verifier, proof, from) {
    if (from === null) {
      waiting++
      await held
    }
    return verify.call(this, proof, from)
  }
  t.teardown(() => {
    release()
    inner.verify = verify
  })

  const got = receive(rb, texts)
  for (const text of texts) await ra.send(text)
  await ra.flush()
  await got
  const raw = await blocksOf(own, texts)
  const blocks = [...raw.keys()]
  await poll(async () => waiting >= blocks.length)
  t.absent(await feed.core.has(blocks[0]!), 'not stored yet: the store waits')

  clock.advance(8 * 24 * HOUR)
  await b.prune()
  t.ok(feed.start > Math.max(...blocks), `b's floor moved past them (${feed.start})`)
  const before = live.counts.storedLive
  release()
  await poll(async () => live.counts.storedLive > before)
  t.pass('the store went ahead, and stored them below the floor')
  t.ok(await gone(feed.core, blocks), 'and they left again at once')
  await b.eraseNow()
  const needles = new Map([...raw].map(([i, bytes]) => [`block ${i}`, bytes]))
  t.alike(await scanAfterErase(bStorage, needles), [], 'none of their ciphertext on b\'s disk')
})
