// A member's word about a writer's core is never a reason to read it again and again: the
// room's sweep for lost reads (lib/room/history.ts) compares with what Hypercore verified,
// which an announcement does not move, and byteSpan never hands the quota ledger a NaN.
import test from 'brittle'
import { byteSpan } from '../../lib/room/quota.js'
import type Hypercore from 'hypercore'
import { create, createLocalTestnet, receive, waitForPeers } from '../helpers/index.js'
import { announceRaw, randomWriter } from './writer-table.js'

interface Reads {
  history: { stalls: number; retried: number }
  writers: { get(hex: string): { core: { length: number } } | undefined }
  outbox: { own: { key: Buffer; core: { length: number } } }
}
const reads = (room: unknown) => room as Reads

test('a member that announces a writer far longer than it is makes no reader sweep or retry it', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const m = await create(t, testnet)
  const ra = await a.createRoom({ name: 'told' })
  const rb = await b.join(ra.invite)
  const rm = await m.join(ra.invite)
  const seen = receive(rb, ['before'])
  await ra.send('before')
  await seen
  await waitForPeers(rm)

  const own = reads(ra).outbox.own
  const before = { stalls: reads(rb).history.stalls, retried: reads(rb).history.retried }
  // The writer's real core, a million blocks long by the member's word, again and again,
  // and cores nobody has, just as long.
  for (let i = 0; i < 5; i++) {
    announceRaw(rm, [{ key: own.key, length: 1_000_000, start: 0 }, ...Array.from({ length: 20 }, () => ({ ...randomWriter(), length: 1_000_000 }))])
    await new Promise((resolve) => setTimeout(resolve, 700))
  }
  const feed = reads(rb).writers.get(own.key.toString('hex'))!
  t.is(feed.core.length, own.core.length, 'the reader holds the writer at its verified length')
  t.is(reads(rb).history.stalls, before.stalls, 'the sweep found nothing to read')
  t.ok(reads(rb).history.retried - before.retried <= 2, `and no read of it was retried over and over (${reads(rb).history.retried - before.retried})`)
  const got = receive(rb, ['after'])
  await ra.send('after')
  await got
  t.pass('the writer is still read')
})

test('byteSpan gives null, never NaN, for a tree whose sizes are not numbers', async (t) => {
  // A narrow unit test: a session whose state gives no size (as a broken or closing one may).
  const core = { state: { length: 4, byteLength: undefined, roots: [] }, padding: 8 } as unknown as Hypercore
  t.is(await byteSpan(core, 0, 4), null)
})
