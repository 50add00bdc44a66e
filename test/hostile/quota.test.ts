// Sizes and quotas (issue 10, finding 6): a member's junk core is checked by its signed size
// before anything is fetched, a block larger than any writer may write is never kept, and a
// relay or member holds no more of a writer than its quota, and says so.
import test from 'brittle'
import type Hypercore from 'hypercore'
import type { QuotaEvent } from '../../lib/index.js'
import { MAX_RECORD_BYTES } from '../../lib/messages.js'
import { create, createLocalTestnet, once, waitForWriters } from '../helpers/index.js'
import { announceRaw, deafen, junkCore, newDevice, proofForCore, storeOf, until, writersOf } from './writer-table.js'

const KiB = 1024

async function storedBlocks(core: Hypercore): Promise<number> {
  let n = 0
  for (let i = 0; i < core.length; i++) if (await core.has(i)) n++
  return n
}

test('a relay downloads nothing of a core whose signed size proves an oversized block, and stops at its quota', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const relay = await create(t, testnet, { relay: true, quota: { writer: 256 * KiB } })
  const ra = await a.createRoom({ name: 'quota' })
  const kept = await relay.keep(ra.relayLink)
  const m = await create(t, testnet)
  const rm = await m.join(ra.invite)
  await until(() => kept.stats.writers === 2 && rm.stats.peers >= 2)
  deafen(rm)

  // Three blocks of 1 MiB (a 3 MiB core), and 40 of 60 KiB (2.4 MiB): each with a valid
  // proof, from a device of m's identity.
  const huge = await junkCore(m, [0, 1, 2].map(() => Buffer.alloc(1024 * KiB, 0x61)), rm)
  const big = await junkCore(m, Array.from({ length: 40 }, () => Buffer.alloc(60 * KiB, 0x62)), rm)
  const quota = once<[QuotaEvent]>(kept, 'quota')
  announceRaw(rm, [
    { key: huge.key!, length: huge.length, start: 0, proof: proofForCore(rm, huge, newDevice(m)) },
    { key: big.key!, length: big.length, start: 0, proof: proofForCore(rm, big, newDevice(m)) }
  ])

  const [event] = await quota
  t.is(event.scope, 'writer', 'the quota event names the writer limit')
  t.alike(event.writer, big.key, 'and the writer held back')
  await until(() => kept.stats.quota.oversized === 1)
  t.absent(writersOf(kept).get(huge.key!.toString('hex')), 'the core with oversized blocks was dropped')
  const atRelay = storeOf(relay).get({ key: huge.key! })
  await atRelay.ready()
  t.is(await storedBlocks(atRelay), 0, 'and not one of its blocks was stored')

  const feed = writersOf(kept).get(big.key!.toString('hex'))!
  await until(async () => (await storedBlocks(feed.core)) >= 4)
  t.is(kept.stats.quota.reached, 'writer', 'the relay reports that the quota holds a writer back')
  t.ok(kept.stats.quota.used <= 256 * KiB + 2 * 61 * KiB, `the room's count stays within the quota (${kept.stats.quota.used})`)
  const held = await storedBlocks(feed.core)
  t.ok(held >= 4 && held <= 4, `the relay holds ${held} of 40 blocks: what fits in 256 KiB`)

  // The members' own cores are kept as before.
  const next = once(writersOf(kept).get(ra.writerKey.toString('hex'))!.core as never, 'download')
  await ra.send('still kept')
  await next
  t.pass('an honest writer is still kept')
})

test('a member stores no oversized block and drops the core, and holds back a writer past its quota', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet, { quota: { writer: 128 * KiB } })
  const ra = await a.createRoom({ name: 'member quota' })
  const m = await create(t, testnet)
  const rm = await m.join(ra.invite)
  await waitForWriters(ra, 2)
  deafen(rm)

  // Small blocks, then one of 200 KiB: the core's signed size does not prove it (its blocks
  // average well under the limit), so it is caught as it arrives.
  const small = Array.from({ length: 20 }, () => Buffer.alloc(100, 0x63))
  const sneaky = await junkCore(m, [...small, Buffer.alloc(200 * KiB, 0x64)], rm)
  // One block of 1 MiB: its signed size proves it before anything is fetched.
  const huge = await junkCore(m, [Buffer.alloc(1024 * KiB, 0x65)], rm)
  // 30 blocks of 60 KiB: within the block limit, past the member's writer quota.
  const big = await junkCore(m, Array.from({ length: 30 }, () => Buffer.alloc(60 * KiB, 0x66)), rm)
  const quota = once<[QuotaEvent]>(ra, 'quota', (e) => e.writer.equals(big.key!))
  announceRaw(rm, [sneaky, huge, big].map((core) => ({ key: core.key!, length: core.length, start: 0, proof: proofForCore(rm, core, newDevice(m)) })))

  await until(() => ra.stats.quota.oversized === 2)
  for (const core of [sneaky, huge]) {
    t.absent(writersOf(ra).get(core.key!.toString('hex')), 'the core was dropped')
    const atA = storeOf(a).get({ key: core.key! })
    await atA.ready()
    // The drop clears what arrived; the session that fetched is closed first.
    await until(async () => (await storedBlocks(atA)) === 0)
    t.pass('and nothing of it is stored')
  }
  t.ok(MAX_RECORD_BYTES < 200 * KiB, 'the sneaky block was larger than any a writer may write')

  const [event] = await quota
  t.is(event.scope, 'writer')
  t.alike(event.writer, big.key)
  t.is(ra.stats.quota.reached, 'writer', 'room.stats.quota says a writer is held back')
  const feed = writersOf(ra).get(big.key!.toString('hex'))!
  const held = await storedBlocks(feed.core)
  t.ok(held * 60 * KiB <= 128 * KiB + 60 * KiB * 2, `the member holds ${held} blocks of that writer`)
})
