// Issue 11: history pages count messages, not blocks. A writer that packs many messages per
// block costs a joiner a block or two per page, not a page of blocks.
import test from 'brittle'
import type { Room } from '../lib/index.js'
import { create, createLocalTestnet, receive } from './helpers/index.js'

interface Internals {
  outbox: { own: { key: Buffer } }
  writers: { get(hex: string): { core: { on(e: 'download', fn: () => void): void } } | undefined }
}
const internals = (room: Room) => room as unknown as Internals

test('the latest page of a writer that packs 100 messages per block costs one block', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const ra = await a.join('packed')
  const BLOCKS = 60
  const PER_BLOCK = 100
  for (let b = 0; b < BLOCKS; b++) {
    // Sent in one tick: one block.
    await Promise.all(Array.from({ length: PER_BLOCK }, (_, i) => ra.send(`b${b}-${i}`)))
  }
  const key = internals(ra).outbox.own.key.toString('hex')
  const length = (internals(ra) as unknown as { outbox: { own: { core: { length: number } } } }).outbox.own.core.length
  t.is(length, BLOCKS, `${BLOCKS} blocks of ${PER_BLOCK} messages`)

  const c = await create(t, testnet)
  let downloads = 0
  const rc = await c.join('packed')
  const newest = receive(rc, [`b${BLOCKS - 1}-${PER_BLOCK - 1}`])
  // Watch the writer's core from the moment the joiner opens it.
  for (;;) {
    const feed = internals(rc).writers.get(key)
    if (feed) {
      feed.core.on('download', () => downloads++)
      break
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  await newest
  const page = await rc.messages({ limit: 50 })
  t.is(page.length, 50)
  t.is(page[49]!.text, `b${BLOCKS - 1}-${PER_BLOCK - 1}`, 'the latest page ends with the newest message')
  t.comment(`blocks downloaded for the latest page: ${downloads} (one-message-per-block reading took ${Math.min(50, BLOCKS)})`)
  t.ok(downloads <= 1, 'one block for the latest 50')

  // Paging back fetches about a block per page too.
  const older = await rc.messages({ limit: 50, before: page[0]! })
  t.is(older.length, 50)
  t.is(older[49]!.text, `b${BLOCKS - 1}-49`)
  const oldest = await rc.messages({ limit: 50, before: older[0]! })
  t.is(oldest.length, 50)
  t.is(oldest[49]!.text, `b${BLOCKS - 2}-99`, 'the page before reaches into the block before')
  t.comment(`blocks downloaded after three pages: ${downloads}`)
  t.ok(downloads <= 2, 'three pages of 50 cost two blocks')
})
