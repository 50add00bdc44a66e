import test from 'brittle'
import b4a from 'b4a'
import { randomBytes } from 'crypto'
import { create, createLocalTestnet, once, receive, until, waitForPeers } from '../helpers/index.js'
import { encodeBlockBody, encodeMessageBlock, MessageType } from '../../lib/messages.js'
import { messageSignable } from '../../lib/crypto.js'
import type { Room, RejectEvent } from '../../lib/index.js'

// Reaches into a room the way a hostile member's modified client would: appending raw bytes
// to its own writer core, which it owns and can sign for.
interface Outbox {
  own: { key: Buffer; core: { length: number; append(b: Buffer[], o: object): Promise<unknown>; get(i: number): Promise<Buffer> } }
  writerKeyPair: object
  nextSeq: number
  signBlock(index: number, seq: number, records: Array<{ type: number; timestamp: number; text: string }>): Buffer
}

interface Internals {
  outbox: Outbox
  channels: Iterable<{ message: { send(b: Buffer): void }; live: { send(b: Buffer): void }; sendLive(l: object): void }>
  keys: { id: Buffer }
}

function internals(room: Room): Internals {
  return room as unknown as Internals
}

// The blocks must be signed after `room.flush()`, for the core's length then.
async function appendRaw(room: Room, blocks: Buffer[]): Promise<void> {
  const r = internals(room).outbox
  await r.own.core.append(blocks, { keyPair: r.writerKeyPair })
  r.nextSeq += 1024
}

// An oversized block is no longer one rejection among others: no honest writer writes one, so
// the core that holds it is dropped with its data (issue 10, finding 6; test/hostile/quota.test.ts).
test('forged and malformed blocks are rejected while the peer keeps working', async (t) => {
  const testnet = await createLocalTestnet(t)
  const honest = await create(t, testnet)
  const victim = await create(t, testnet)
  const hostile = await create(t, testnet)
  const rh = await honest.join('lobby')
  const rv = await victim.join('lobby')
  const rx = await hostile.join('lobby')

  const atHonest = receive(rh, ['genuine'])
  const genuine = await rv.send('genuine')
  await atHonest
  const rejects: RejectEvent[] = []
  rh.on('reject', (e) => rejects.push(e))

  const now = Date.now()
  const forgedBody = encodeBlockBody({
    author: victim.publicKey,
    seq: 0,
    records: [{ type: MessageType.TEXT, timestamp: now, text: 'I am the victim' }]
  })
  const victimBlock = await internals(rv).outbox.own.core.get(genuine.seq)
  await appendRaw(rx, [
    encodeMessageBlock(forgedBody, randomBytes(64)), // forged: claims the victim, random signature
    victimBlock, // replayed: the victim's real block, copied into another core
    b4a.concat([b4a.from([1, 0, 0]), b4a.alloc(300, 0xff)]), // garbage after a valid version
    b4a.alloc(2), // too short to hold a signature
    b4a.concat([b4a.from([9]), randomBytes(100)]) // a version from the future
  ])
  // Listened for before the send: the message may be shown live before the send resolves.
  const stillAlive = once<[{ text: string }]>(rh, 'message', (m) => m.text === 'still alive')
  await rx.send('still alive')
  const [alive] = await stillAlive
  t.ok(alive, 'a valid message after the hostile blocks still arrives')
  // Shown from its live frame, perhaps before the blocks ahead of it were read.
  await until(rh, 'reject', () => rejects.length >= 5)

  t.is(rh.stats.rejected['invalid-signature'], 2, 'forged and replayed blocks fail verification')
  t.is(rh.stats.rejected.malformed, 2)
  t.is(rh.stats.rejected.unsupported, 1)
  t.is(rejects.length, 5)
  t.ok(rejects.every((r) => typeof r.error.code === 'string' && b4a.equals(r.writer, internals(rx).outbox.own.key)))
  const texts = (await rh.messages()).map((m) => m.text)
  t.alike(texts, ['genuine', 'still alive'], 'only valid messages are shown')

  const atVictim = receive(rv, ['after the attack'])
  await rh.send('after the attack')
  await atVictim
  t.pass('the honest peer keeps sending and receiving')
})

test('a timestamp from the future is clamped', async (t) => {
  const testnet = await createLocalTestnet(t)
  const reader = await create(t, testnet)
  const liar = await create(t, testnet)
  const rr = await reader.join('clock')
  const rl = await liar.join('clock')

  const year = 365 * 24 * 60 * 60 * 1000
  const r = internals(rl).outbox
  await rl.flush()
  const future = { type: MessageType.TEXT, timestamp: Date.now() + year, text: 'from the future' }
  await appendRaw(rl, [r.signBlock(r.own.core.length, r.nextSeq, [future])])
  const [m] = await receive(rr, ['from the future'])
  t.ok(m!.timestamp <= Date.now(), 'clamped to the reader clock')

  const atReader = receive(rr, ['later'])
  await new Promise((resolve) => setTimeout(resolve, 5))
  await rl.send('later')
  await atReader
  t.alike((await rr.messages()).map((x) => x.text), ['from the future', 'later'], 'it cannot pin itself below newer messages')
})

test('garbage announcements are counted and dropped; the connection survives', async (t) => {
  const testnet = await createLocalTestnet(t)
  const honest = await create(t, testnet)
  const hostile = await create(t, testnet)
  const rh = await honest.join('noisy')
  const rx = await hostile.join('noisy')
  await waitForPeers(rx)
  await waitForPeers(rh)

  const [channel] = internals(rx).channels
  channel!.message.send(randomBytes(100))
  channel!.message.send(b4a.alloc(0))
  const atHonest = receive(rh, ['hello'])
  await rx.send('hello')
  await atHonest
  t.is(rh.stats.badAnnouncements, 2)
  t.is(rh.stats.peers, 1, 'the channel is still open')
})

test('a member cannot slip a block into another writer\'s core over the channel', async (t) => {
  const testnet = await createLocalTestnet(t)
  const reader = await create(t, testnet)
  const victim = await create(t, testnet)
  const hostile = await create(t, testnet)
  const rr = await reader.join('impostor')
  const rv = await victim.join('impostor')
  const rx = await hostile.join('impostor')
  const first = receive(rr, ['victim speaks'])
  await rv.send('victim speaks')
  await first
  await rv.flush()
  while (rx.stats.peers < 2) await once(rx, 'peer-add')

  // The hostile member signs a block for the victim's next index and sends it live.
  const v = internals(rv).outbox
  const index = v.own.core.length
  const body = encodeBlockBody({
    author: hostile.publicKey,
    seq: v.nextSeq,
    records: [{ type: MessageType.TEXT, timestamp: Date.now(), text: 'impostor' }]
  })
  const block = encodeMessageBlock(body, hostile.identity.sign(messageSignable(internals(rx).keys.id, v.own.key, index, body)))
  for (const channel of internals(rx).channels) {
    channel.sendLive({ key: v.own.key, index, block })
    channel.live.send(randomBytes(50))
  }

  const real = receive(rr, ['the real one'])
  const sent = await rv.send('the real one')
  const [got] = await real
  t.is(got!.id, sent.id, 'the victim\'s real message keeps its id')
  t.alike(got!.author, victim.publicKey)
  t.absent((await rr.messages()).some((m) => m.text === 'impostor'), 'the impostor block is not shown')
  // The garbage came on another connection than the real message: it may land just after.
  for (let i = 0; i < 200 && rr.stats.badAnnouncements < 1; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.ok(rr.stats.badAnnouncements >= 1, 'channel garbage is counted against the channel')
  t.is(rr.stats.rejected.malformed + rr.stats.rejected['invalid-signature'], 0, 'and not against the victim\'s core')
})

test('a block shown live is withdrawn if its author stores another one there', async (t) => {
  const testnet = await createLocalTestnet(t)
  const reader = await create(t, testnet)
  const writer = await create(t, testnet)
  const rr = await reader.join('phantoms')
  const rw = await writer.join('phantoms')
  const first = receive(rr, ['first'])
  await rw.send('first')
  await first
  while (rw.stats.peers < 1) await once(rw, 'peer-add')

  // As if an append failed after its block went out live: the same index, never stored.
  const w = internals(rw).outbox
  const index = w.own.core.length
  const phantom = w.signBlock(index, w.nextSeq + 100, [{ type: MessageType.TEXT, timestamp: Date.now(), text: 'phantom' }])
  for (const channel of internals(rw).channels) channel.sendLive({ key: w.own.key, index, block: phantom })
  await receive(rr, ['phantom'])
  t.ok((await rr.messages()).some((m) => m.text === 'phantom'), 'shown while unconfirmed')

  const withdrawn = once<[{ text: string }]>(rr, 'message-withdrawn')
  const real = receive(rr, ['stored'])
  await rw.send('stored')
  await real
  // The Hypercore copy of that index arrives in the reader's next catch-up.
  const [gone] = await withdrawn
  t.is(gone.text, 'phantom')
  t.alike((await rr.messages()).map((m) => m.text), ['first', 'stored'], 'the phantom is gone once Hypercore has the real block')
})

test('an unsigned live block cannot withdraw messages already shown', async (t) => {
  const testnet = await createLocalTestnet(t)
  const reader = await create(t, testnet)
  const victim = await create(t, testnet)
  const hostile = await create(t, testnet)
  const rr = await reader.join('withdrawals')
  const rv = await victim.join('withdrawals')
  const rx = await hostile.join('withdrawals')
  const shown = receive(rr, ['one', 'two', 'hostile hello'])
  await rv.send('one')
  await rv.send('two')
  await rx.send('hostile hello')
  await shown
  while (rx.stats.peers < 2) await once(rx, 'peer-add')

  // Claims the victim's next index, names the victim's shown messages, and is not signed.
  // (Sends resolve once shown and sent live; the append that gives their index follows.)
  await rv.flush()
  const v = internals(rv).outbox
  const index = v.own.core.length
  const now = Date.now()
  const body = encodeBlockBody({
    author: victim.publicKey,
    seq: 0,
    records: [
      { type: MessageType.TEXT, timestamp: now, text: 'x' },
      { type: MessageType.TEXT, timestamp: now, text: 'y' }
    ]
  })
  const bad = rr.stats.badAnnouncements
  for (const channel of internals(rx).channels) {
    channel.sendLive({ key: v.own.key, index, block: encodeMessageBlock(body, randomBytes(64)) })
  }
  // The hostile member's next message travels the same channel, after the forged block.
  const marker = receive(rr, ['hostile marker'])
  await rx.send('hostile marker')
  await marker

  type FeedView = { unconfirmed: Map<number, { seq: number; count: number }> }
  const feed = (rr as unknown as { writers: { get(hex: string): FeedView | undefined } }).writers.get(v.own.key.toString('hex'))!
  t.is(rr.stats.badAnnouncements, bad + 1, 'the unsigned live block was rejected')
  t.absent(feed.unconfirmed.has(index), 'and nothing was recorded for that index')

  let withdrawn = 0
  rr.on('message-withdrawn', () => withdrawn++)
  const three = receive(rr, ['three'])
  await rv.send('three')
  await three
  const pending = feed.unconfirmed.get(index)
  t.alike(pending && { seq: pending.seq, count: pending.count }, { seq: 2, count: 1 }, 'only the real block is pending confirmation')
  t.is(withdrawn, 0)
  const texts = (await rr.messages()).filter((m) => m.author.equals(victim.publicKey)).map((m) => m.text)
  t.alike(texts, ['one', 'two', 'three'])
})
