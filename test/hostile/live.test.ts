// The live path against a member with a valid writer who sends validly signed blocks that
// Hypercore never confirms: far ahead of its core, stuffed with records, or never stored.
import test from 'brittle'
import { MessageType } from '../../lib/messages.js'
import type { Room } from '../../lib/index.js'
import { create, createLocalTestnet, once, receive, waitForPeers } from '../helpers/index.js'

interface Internals {
  outbox: {
    own: { key: Buffer; core: { length: number } }
    nextSeq: number
    signBlock(index: number, seq: number, records: Array<{ type: number; timestamp: number; text: string }>): Buffer
  }
  channels: Iterable<{ sendLive(l: { key: Buffer; index: number; block: Buffer }): void }>
}

function internals(room: Room): Internals {
  return room as unknown as Internals
}

// Signs a block of `count` records for `index` of the room's own core, with seqs no real
// message has, and sends it live only.
let phantomSeq = 1e6
function sendPhantom(room: Room, index: number, count: number, text: string): void {
  const { outbox, channels } = internals(room)
  const now = Date.now()
  const records = Array.from({ length: count }, (_, i) => ({ type: MessageType.TEXT, timestamp: now, text: `${text} ${i}` }))
  const block = outbox.signBlock(index, phantomSeq, records)
  phantomSeq += count
  for (const channel of channels) channel.sendLive({ key: outbox.own.key, index, block })
}

type FeedView = { unconfirmed: Map<number, unknown> }

test('phantom live blocks far ahead of the core or stuffed with records are never shown', async (t) => {
  const testnet = await createLocalTestnet(t)
  const reader = await create(t, testnet)
  const hostile = await create(t, testnet)
  const rr = await reader.join('phantoms')
  const rx = await hostile.join('phantoms')
  const hello = receive(rr, ['x hello'])
  await rx.send('x hello')
  await hello
  await waitForPeers(rx)

  let shown = 0
  rr.on('message', (m) => {
    if (m.text.startsWith('phantom')) shown++
  })
  await rx.flush()
  const length = internals(rx).outbox.own.core.length
  for (let i = 0; i < 200; i++) sendPhantom(rx, 1e9 + i, 1024, 'phantom far')
  for (let i = 0; i < 3; i++) sendPhantom(rx, length + 1000 + i, 64, 'phantom ahead')
  sendPhantom(rx, length, 1024, 'phantom stuffed')

  // The member's next real message travels the same channel, after every phantom.
  const marker = receive(rr, ['x marker'])
  await rx.send('x marker')
  await marker
  t.is(shown, 0, 'no phantom record was shown')
  t.ok(rr.stats.messages <= 2, `the reader holds only the real messages (${rr.stats.messages})`)
  const feed = (rr as unknown as { writers: { get(hex: string): FeedView } }).writers.get(internals(rx).outbox.own.key.toString('hex'))
  t.ok(feed.unconfirmed.size <= 1, 'nothing of them waits for confirmation')
  t.alike((await rr.messages()).map((m) => m.text), ['x hello', 'x marker'])

  const honest = receive(rx, ['reader still talks'])
  await rr.send('reader still talks')
  await honest
  t.pass('live delivery still works both ways')
})

test('a live block Hypercore never confirms is withdrawn', async (t) => {
  const testnet = await createLocalTestnet(t)
  const reader = await create(t, testnet)
  const hostile = await create(t, testnet)
  const rr = await reader.join('unconfirmed')
  const rx = await hostile.join('unconfirmed')
  const hello = receive(rr, ['x hello'])
  await rx.send('x hello')
  await hello
  await waitForPeers(rx)

  // Signed for the next index of the member's core, and never stored there.
  const withdrawn = once<[{ text: string }]>(rr, 'message-withdrawn')
  const shown = receive(rr, ['never stored 0'])
  await rx.flush()
  sendPhantom(rx, internals(rx).outbox.own.core.length, 1, 'never stored')
  await shown
  const [gone] = await withdrawn
  t.is(gone.text, 'never stored 0')
  t.alike((await rr.messages()).map((m) => m.text), ['x hello'], 'only the stored message remains')
  const feed = (rr as unknown as { writers: { get(hex: string): FeedView } }).writers.get(internals(rx).outbox.own.key.toString('hex'))
  t.is(feed.unconfirmed.size, 0)
})
