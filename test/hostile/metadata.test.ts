// Finding 10 of issue 10: what sizes and times tell those who hold ciphertext. Blocks are
// padded to size buckets; relays prune by the expiry each block's writer stamped on it, which
// the core's signature covers, as well as by when they first saw it.
import test from 'brittle'
import b4a from 'b4a'
import type { RelayedRoom, Room } from '../../lib/index.js'
import { stampedEncryption, stampedExpiry } from '../../lib/room/expiry-stamp.js'
import { randomBytes } from '../../lib/crypto.js'
import { create, createLocalTestnet, DAY, manualClock, receive } from '../helpers/index.js'

type Core = { length: number; byteLength: number; has(i: number): Promise<boolean> }

function ownCore(room: Room): Core {
  return (room as unknown as { outbox: { own: { core: Core } } }).outbox.own.core
}

function relayedCore(kept: RelayedRoom, key: Buffer): Core {
  const feeds = (kept as unknown as { writers: { values(): Iterable<{ key: Buffer; core: Core }> } }).writers.values()
  const feed = [...feeds].find((f) => b4a.equals(f.key, key))
  if (!feed) throw new Error('the relay does not keep that writer')
  return feed.core
}

// Background replication is waited for by polling, a bounded number of times.
async function until(condition: () => boolean | Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 1000; i++) {
    if (await condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return false
}

test('two messages of different lengths in one bucket are stored as blocks of one size', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const room = await a.createRoom({ name: 'sizes' })
  const core = ownCore(room)
  const texts = ['meet at the old mill at noon, and bring the maps', 'meet at the old mill at noon, and bring the maps and the lantern too']
  const sizes: number[] = []
  for (const text of texts) {
    const before = core.byteLength
    await room.send(text)
    sizes.push(core.byteLength - before)
  }
  t.is(sizes[0], sizes[1], `both stored as ${sizes[0]} bytes, texts of ${texts[0]!.length} and ${texts[1]!.length}`)

  // A member who joins later reads them from Hypercore: stamped blocks decrypt as any other.
  const b = await create(t, testnet)
  const rb = await b.join(room.invite)
  await receive(rb, texts)
  t.pass('a later member reads the padded, stamped blocks')
})

test('a block carries its expiry in the clear, and only its own stamp verifies', async (t) => {
  const expiresAt = 1_800_000_000_000 + 7 * DAY
  const encryption = stampedEncryption(randomBytes(32), randomBytes(32), () => expiresAt - 30_000)
  const plain = b4a.from('a block of ciphertext')
  const block = b4a.concat([b4a.alloc(8), plain])
  encryption.encrypt(5, block, 0)
  t.absent(b4a.equals(block.subarray(8), plain), 'the block itself is encrypted')
  t.is(stampedExpiry(block, 5, 0), expiresAt, 'the expiry, rounded up to the minute')
  t.is(stampedExpiry(block, 6, 0), null, 'the stamp is bound to its index')
  t.is(stampedExpiry(block, 5, 1), null, 'and to the fork')
  const moved = b4a.from(block)
  moved.writeUInt32LE(moved.readUInt32LE(0) - 60 * 24 * 7, 0)
  t.is(stampedExpiry(moved, 5, 0), null, 'a stamp moved after the fact does not verify')
  t.is(stampedExpiry(randomBytes(40), 5, 0), null, 'nor do the random clear bytes of an unstamped block')
  encryption.decrypt(5, block)
  t.alike(block.subarray(8), plain, 'and it decrypts')
})

test('a relay deletes a block it first saw late at the expiry its writer stamped, not a TTL after it saw it', async (t) => {
  const testnet = await createLocalTestnet(t)
  const clock = manualClock()
  const relay = await create(t, testnet, { relay: true, now: clock.now })
  const a = await create(t, testnet, { now: clock.now })
  const room = await a.createRoom({ name: 'late' })
  await room.send('written before any relay kept the room')

  // The relay first sees the block three days after it was written.
  clock.advance(3 * DAY)
  const kept = await relay.keep(room.relayLink)
  t.ok(await until(() => kept.stats.writers >= 1), 'the relay learns the writer')
  const core = relayedCore(kept, room.writerKey)
  t.ok(await until(() => core.has(0)), 'and stores its block')

  clock.advance(4 * DAY - 60 * 60 * 1000)
  await relay.prune()
  t.ok(await core.has(0), 'kept an hour before its expiry')
  clock.advance(2 * 60 * 60 * 1000)
  await relay.prune()
  t.absent(await core.has(0), 'deleted an hour after it, four days before its own mark says')
  t.is(kept.stats.pruned, 1)
})

test('an expiry stamped in the far future is not trusted past a TTL after the relay saw the block', async (t) => {
  const testnet = await createLocalTestnet(t)
  const clock = manualClock()
  const relay = await create(t, testnet, { relay: true, now: clock.now })
  // A writer whose clock runs a year ahead stamps its blocks to expire a year late.
  const a = await create(t, testnet, { now: () => clock.now() + 365 * DAY })
  const room = await a.createRoom({ name: 'future' })
  const kept = await relay.keep(room.relayLink)
  await room.send('stamped to outlive its TTL')
  t.ok(await until(() => kept.stats.writers >= 1), 'the relay learns the writer')
  const core = relayedCore(kept, room.writerKey)
  t.ok(await until(() => core.has(0)), 'and stores its block')

  clock.advance(6 * DAY)
  await relay.prune()
  t.ok(await core.has(0), 'kept within a TTL of when the relay saw it')
  clock.advance(2 * DAY)
  await relay.prune()
  t.absent(await core.has(0), 'deleted a TTL after, whatever its stamp says')
})
