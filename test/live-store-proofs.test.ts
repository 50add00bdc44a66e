// Storing live copies (lib/room/live-store.ts) against Hypercore's own verification, on two
// Corestores on disk replicated in process: a narrow unit test of the proofs a member builds
// for blocks it was sent live, with no room around them. The end-to-end paths (what members
// store and never download again) are in live-store.test.ts.
import test from 'brittle'
import b4a from 'b4a'
import Corestore from 'corestore'
import Hypercore from 'hypercore'
import sodium from 'sodium-universal'
import { stampedEncryption } from '../lib/room/expiry-stamp.js'
import { storeLive, type LiveCopy } from '../lib/room/live-store.js'

const BLOCKS = 16

interface Pair {
  reader: Hypercore
  blockKey: Buffer
  copies: LiveCopy[]
  // Read batches the reader's core opened on its storage since the last reset.
  reads: { count: number }
}

function random(n: number): Buffer {
  const b = b4a.alloc(n)
  sodium.randombytes_buf(b)
  return b
}

// A writer that appended BLOCKS stamped blocks, and a reader that has the writer's signed
// length from an upgrade but none of the blocks; the connection is closed again, so whatever
// the reader then stores came from the copies it was handed.
async function pair(t: { tmp(): Promise<string>; teardown(fn: () => unknown): void }): Promise<Pair> {
  const key = random(32)
  const a = new Corestore(await t.tmp())
  const b = new Corestore(await t.tmp())
  t.teardown(async () => {
    await a.close()
    await b.close()
  })
  const writer = a.get({ name: 'writer', encryption: { key } })
  await writer.ready()
  const stamps = stampedEncryption(writer.key!, key, () => Date.now() + 60_000)
  await writer.setEncryption(stamps)
  const copies: LiveCopy[] = []
  for (let i = 0; i < BLOCKS; i++) {
    const padding = stamps.stamp(i, writer.fork)
    copies.push({ block: b4a.from(`message ${i}: ${random(24).toString('hex')}`), padding })
  }
  await writer.append(copies.map((c) => b4a.from(c.block)))

  const reader = b.get({ key: writer.key!, encryption: { key } })
  await reader.ready()
  // In process, for this narrow test only: a Corestore stream pair piped together.
  type Stream = { pipe(to: Stream): Stream; destroy(): void }
  const replicate = (s: Corestore, initiator: boolean): Stream => (s as unknown as { replicate(i: boolean): Stream }).replicate(initiator)
  const sa = replicate(a, true)
  const sb = replicate(b, false)
  sa.pipe(sb).pipe(sa)
  await reader.update({ wait: true })
  sa.destroy()
  sb.destroy()

  const storage = (reader as unknown as { core: { state: { storage: { read(): unknown } } } }).core.state.storage
  const reads = { count: 0 }
  const read = storage.read
  storage.read = function (this: unknown) {
    reads.count++
    return read.call(storage)
  }
  return { reader, blockKey: Hypercore.blockEncryptionKey(writer.key!, key), copies, reads }
}

test('live copies of an append are stored, each verified by Hypercore, in a couple of read batches', async (t) => {
  const { reader, blockKey, copies, reads } = await pair(t)
  t.is(reader.length, BLOCKS, 'the reader has the signed length')
  t.absent(await reader.has(0), 'and none of the blocks')

  reads.count = 0
  const stored = await storeLive(reader, blockKey, 0, BLOCKS, (i) => copies[i] ?? null)
  t.alike(stored.indexes, Array.from({ length: BLOCKS }, (_, i) => i), 'every block stored')
  // Whether tree levels are stored, then the siblings the proofs need: the verifications'
  // own reads of where each proof ends are answered from those (one batch apiece before).
  t.ok(reads.count <= 2, `${reads.count} read batches for ${BLOCKS} blocks`)
  for (let i = 0; i < BLOCKS; i++) t.alike(await reader.get(i, { wait: false }), copies[i]!.block, `block ${i} reads back`)
  // The storage's own read is back in place once the verifications have started.
  reads.count = 0
  await reader.get(0, { wait: false })
  t.ok(reads.count > 0, 'reads after go to the storage')
})

test('hostile copies: a block, or its clear bytes, changed in transit is never stored', async (t) => {
  const { reader, blockKey, copies } = await pair(t)
  const forged = copies.map((c, i) => {
    if (i === 5) return { block: b4a.from(b4a.toString(c.block).replace('message', 'massage')), padding: c.padding }
    if (i === 11) return { block: c.block, padding: random(8) }
    return c
  })
  const stored = await storeLive(reader, blockKey, 0, BLOCKS, (i) => forged[i] ?? null)
  t.absent(stored.indexes.includes(5), 'the changed block is refused')
  t.absent(stored.indexes.includes(11), 'so is one with other clear bytes')
  // The reader's tree holds one root over all 16 blocks, so every proof ends there and a
  // changed block takes its neighbours' proofs down with it: they wait for a download.
  t.alike(stored.indexes, [], 'nor any whose proof leans on them')
  // What is stored is the writer's block, byte for byte; the rest is still missing.
  for (let i = 0; i < BLOCKS; i++) {
    if (stored.indexes.includes(i)) t.alike(await reader.get(i, { wait: false }), copies[i]!.block, `block ${i} is the writer's`)
    else t.absent(await reader.has(i), `block ${i} not stored`)
  }
  // The real copies afterwards are stored: a refused forgery leaves nothing behind.
  const again = await storeLive(reader, blockKey, 0, BLOCKS, (i) => copies[i] ?? null)
  t.ok(again.indexes.includes(5) && again.indexes.includes(11), 'the genuine blocks are stored after')
  for (let i = 0; i < BLOCKS; i++) t.alike(await reader.get(i, { wait: false }), copies[i]!.block)
})
