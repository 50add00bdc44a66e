// Leaving a room deletes what this node stored for it: a byte scan of the storage afterwards
// finds none of its blocks' ciphertext, nor the keys and discovery keys of its cores.
import test from 'brittle'
import type { Room } from '../../lib/index.js'
import { create, createLocalTestnet, receive, waitForPeers } from '../helpers/index.js'
import { scan, scanAfterErase } from '../helpers/scan.js'

type FeedView = { key: Buffer; core: { discoveryKey: Buffer; length: number; get(i: number, o: object): Promise<Buffer | null>; has(i: number): Promise<boolean> } }
const feedsOf = (room: Room): FeedView[] => [...(room as unknown as { writers: { values(): Iterable<FeedView> } }).writers.values()]

test('leave: the room\'s cores, keys and ciphertext are gone from disk, not just hidden', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const a = await create(t, testnet, { storage })
  const b = await create(t, testnet)
  const keep = await a.join('stays')
  const ra = await a.join('goes')
  const rb = await b.join('goes')
  await waitForPeers(ra)
  const atA = receive(ra, ['from b 1', 'from b 2'])
  await rb.send('from b 1')
  await rb.send('from b 2')
  await atA
  await ra.send('from a')
  await keep.send('in the room that stays')

  const needles = new Map<string, Buffer>()
  for (const feed of feedsOf(ra)) {
    // Wait until the block is on disk here, as Hypercore stores it after the live copy.
    while (feed.core.length === 0 || !(await feed.core.has(0))) await new Promise((resolve) => setTimeout(resolve, 25))
    needles.set(`core key ${feed.key.toString('hex', 0, 4)}`, feed.key)
    needles.set(`discovery key ${feed.key.toString('hex', 0, 4)}`, feed.core.discoveryKey)
    needles.set(`block 0 of ${feed.key.toString('hex', 0, 4)}`, (await feed.core.get(0, { raw: true }))!)
  }
  t.is(needles.size, 6, 'two writer cores: keys, discovery keys and a block each')
  const keptFeed = feedsOf(keep)[0]!
  const kept = new Map([['the other room\'s block', (await keptFeed.core.get(0, { raw: true }))!]])
  t.ok((await scan(storage, needles)).length >= 6, 'before leaving, all of it is on disk')

  await ra.leave()
  await a.eraseNow()
  t.alike(await scanAfterErase(storage, needles), [], 'after leaving, none of it is found on disk')
  t.is((await scan(storage, kept)).length > 0, true, 'the room that stays keeps its data')
  t.is((await keep.messages()).length, 1, 'and still reads it')

  // Joining again starts from nothing on this side, and works both ways.
  const again = await a.join('goes')
  await waitForPeers(again)
  const atB = receive(rb, ['back again'])
  const atA2 = receive(again, ['welcome back'])
  await again.send('back again')
  await atB
  await rb.send('welcome back')
  await atA2
  t.pass('after rejoining, messages flow both ways')
})
