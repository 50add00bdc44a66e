import test, { type Test } from 'brittle'
import b4a from 'b4a'
import { create, createLocalTestnet, once, receive, waitForPeers } from './helpers/index.js'
import { expectCode } from './helpers/expect.js'
import { scan, scanAfterErase } from './helpers/scan.js'
import { ApplyStage, type MessageInput, type OpInput } from '../lib/room/apply.js'
import { MessageType, type MessageRecord } from '../lib/messages.js'
import { parseMessageId } from '../lib/room/feed.js'
import type { Backspace, Message, Room } from '../lib/index.js'

// A hostile member's modified client: it appends whatever records it likes to its own core.
interface Outbox {
  own: { core: { length: number; append(b: Buffer[], o: object): Promise<unknown> } }
  nextSeq: number
  signBlock(index: number, seq: number, records: MessageRecord[]): Buffer
  writerKeyPair: object
}

async function appendRecords(room: Room, records: MessageRecord[]): Promise<void> {
  const r = (room as unknown as { outbox: Outbox }).outbox
  await room.flush()
  const block = r.signBlock(r.own.core.length, r.nextSeq, records)
  r.nextSeq += records.length
  await r.own.core.append([block], { keyPair: r.writerKeyPair })
}

/** Resolves once `room` shows message `id` in a state for which `ok` holds. */
async function until(room: Room, id: string, ok: (m: Message) => boolean): Promise<Message> {
  for (;;) {
    const m = room.message(id)
    if (m && ok(m)) return m
    await Promise.race([once(room, 'message-update'), once(room, 'message')])
  }
}

// What a peer shows of a message: the same on every peer once the records have arrived.
function state(m: Message | undefined) {
  if (!m) return null
  return {
    id: m.id,
    text: m.text,
    edited: m.edited,
    deleted: m.deleted,
    replyTo: m.replyTo ? { id: m.replyTo.id, text: m.replyTo.text, deleted: m.replyTo.deleted } : null,
    reactions: m.reactions.map((r) => ({ emoji: r.emoji, count: r.count, authors: r.authors.map((a) => a.toString('hex')) }))
  }
}

const A = b4a.alloc(32, 1)
const B = b4a.alloc(32, 2)

function msg(id: string, author: Buffer, text: string, timestamp: number, replyTo: string | null = null): MessageInput {
  return { id, author, device: author, text, timestamp, seq: Number(id.split('-')[1]), kind: 'text', name: '', fingerprint: '', self: false, replyTo }
}

function op(id: string, kind: OpInput['kind'], target: string, author: Buffer, timestamp: number, text = ''): OpInput {
  return { id, kind, target, author, timestamp, seq: Number(id.split('-')[1]), text }
}

function* permutations<T>(items: T[]): Generator<T[]> {
  if (items.length <= 1) return yield items
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)]
    for (const p of permutations(rest)) yield [items[i]!, ...p]
  }
}

test('apply stage: every arrival order of the same records gives the same state', async (t) => {
  const a = 'a'.repeat(32)
  const b = 'b'.repeat(32)
  const inputs: Array<{ m?: MessageInput; o?: OpInput }> = [
    { m: msg(`${a}-0`, A, 'hello', 10) },
    { m: msg(`${b}-0`, B, 'hi back', 11, `${a}-0`) },
    { o: op(`${a}-1`, 'edit', `${a}-0`, A, 12, 'hello, world') },
    { o: op(`${a}-2`, 'edit', `${a}-0`, A, 13, 'hello, world!') },
    { o: op(`${b}-1`, 'react', `${a}-0`, B, 14, '👍') },
    { o: op(`${a}-3`, 'react', `${a}-0`, A, 14, '👍') },
    { o: op(`${b}-2`, 'unreact', `${a}-0`, B, 15, '👍') },
    { o: op(`${b}-3`, 'edit', `${a}-0`, B, 16, 'forged by b') }
  ]
  const states = new Set<string>()
  let forbidden = 0
  for (const order of permutations(inputs)) {
    const stage = new ApplyStage(A, () => '')
    for (const input of order) {
      if (input.m) stage.addMessage(input.m)
      else stage.addOp(input.o!)
    }
    forbidden += stage.forbidden
    states.add(JSON.stringify([state(stage.get(`${a}-0`)), state(stage.get(`${b}-0`))]))
  }
  t.is(states.size, 1, 'all 40,320 orders agree')
  const [target, reply] = JSON.parse([...states][0]!)
  t.is(target.text, 'hello, world!', 'the latest edit by room order wins')
  t.ok(target.edited)
  t.alike(target.reactions, [{ emoji: '👍', count: 1, authors: [A.toString('hex')] }], 'B took its reaction back')
  t.is(reply.replyTo.text, 'hello, world!', 'the reply quotes the current text')
  t.is(forbidden, 40320, "B's edit of A's message is refused in every order")

  // A delete is final whichever order it arrives in, and takes the text out of memory.
  const stage = new ApplyStage(A, () => '')
  stage.addOp(op(`${a}-9`, 'delete', `${a}-0`, A, 20))
  stage.addMessage(msg(`${a}-0`, A, 'secret', 10))
  stage.addOp(op(`${a}-10`, 'edit', `${a}-0`, A, 30, 'too late'))
  const m = stage.get(`${a}-0`)!
  t.ok(m.deleted)
  t.is(m.text, '')
  const held = stage as unknown as { extras: Map<string, unknown>; timeline: { page(n: number, b: null, k: () => boolean): unknown[] } }
  const everything = JSON.stringify([[...held.extras.values()], held.timeline.page(100, null, () => true)])
  t.ok(everything.includes(`${a}-0`), 'the scan sees the tombstone')
  t.absent(everything.includes('secret'), 'the text is gone from memory')
})

async function fivePeers(t: Test, name: string): Promise<{ nodes: Backspace[]; rooms: Room[] }> {
  const testnet = await createLocalTestnet(t)
  const nodes: Backspace[] = []
  for (let i = 0; i < 5; i++) nodes.push(await create(t, testnet))
  const rooms = await Promise.all(nodes.map((n) => n.join(name)))
  await Promise.all(rooms.map((r) => waitForPeers(r, 1)))
  return { nodes, rooms }
}

test('edit, delete, react, unreact and reply converge on five peers', async (t) => {
  const { rooms } = await fivePeers(t, 'converge-ops')
  const texts = rooms.map((_, i) => `message ${i}`)
  const everyone = rooms.map((r) => receive(r, texts))
  const sent = await Promise.all(rooms.map((r, i) => r.send(`message ${i}`)))
  await Promise.all(everyone)

  // Everyone acts at once on everyone's messages, so records cross on the wire.
  await Promise.all(
    rooms.map(async (r, i) => {
      await r.react(sent[(i + 1) % 5]!, '👍')
      await r.react(sent[0]!, '🎉')
      await r.edit(sent[i]!, `message ${i}, edited`)
      if (i === 3) await r.delete(sent[3]!)
      if (i === 4) await r.unreact(sent[0]!, '🎉')
    })
  )
  const reply = await rooms[1]!.send('answering zero', { replyTo: sent[0]! })
  t.alike(reply.replyTo?.id, sent[0]!.id)

  const expected = (id: string, m: Message) => {
    if (id === sent[3]!.id) return m.deleted
    if (id === sent[0]!.id) return m.edited && m.reactions.find((r) => r.emoji === '🎉')?.count === 4
    return m.edited && m.reactions.length === 1
  }
  for (const r of rooms) {
    for (const m of sent) await until(r, m.id, (x) => expected(m.id, x))
    await until(r, reply.id, (x) => x.replyTo?.text === 'message 0, edited')
  }
  const views = rooms.map((r) => JSON.stringify([...sent, reply].map((m) => state(r.message(m.id)))))
  for (let i = 1; i < 5; i++) t.is(views[i], views[0], `peer ${i} shows what peer 0 shows`)
  const zero = rooms[2]!.message(sent[0]!.id)!
  t.is(zero.text, 'message 0, edited')
  t.is(zero.reactions.find((r) => r.emoji === '👍')?.count, 1)
  t.ok(rooms[0]!.message(sent[0]!.id)!.reactions.find((r) => r.emoji === '🎉')?.self, 'self marks own reaction')
  t.absent(rooms[4]!.message(sent[0]!.id)!.reactions.find((r) => r.emoji === '🎉')?.self, 'and not a reaction taken back')
  const tomb = rooms[0]!.message(sent[3]!.id)!
  t.ok(tomb.deleted)
  t.is(tomb.text, '')
  t.alike(tomb.reactions, [], 'a tombstone has no reactions')
})

test('a forged edit or delete of another author\'s message is rejected and counted', async (t) => {
  const testnet = await createLocalTestnet(t)
  const alice = await create(t, testnet)
  const mallory = await create(t, testnet)
  const bob = await create(t, testnet)
  const ra = await alice.join('forgery')
  const rm = await mallory.join('forgery')
  const rb = await bob.join('forgery')
  const everyone = [receive(rm, ['mine']), receive(rb, ['mine'])]
  const mine = await ra.send('mine')
  await Promise.all(everyone)

  await expectCode(t, rm.edit(mine.id, 'hijacked'), 'NOT_ALLOWED')
  await expectCode(t, rm.delete(mine.id), 'NOT_ALLOWED')
  await expectCode(t, rm.react(mine.id, 'not an emoji'), 'INVALID_EMOJI')
  await expectCode(t, rm.react('nonsense', '👍'), 'MESSAGE_NOT_FOUND')

  // Mallory's client skips the checks and writes the records anyway.
  const target = parseMessageId(mine.id)
  const now = Date.now()
  const rejected = once(rb, 'reject', (e: { reason: string }) => e.reason === 'forbidden')
  await appendRecords(rm, [
    { type: MessageType.EDIT, timestamp: now, text: 'hijacked', target },
    { type: MessageType.DELETE, timestamp: now, text: '', target },
    { type: MessageType.REACT, timestamp: now, text: 'not an emoji', target },
    { type: MessageType.TEXT, timestamp: now, text: 'after the forgery' }
  ])
  await receive(rb, ['after the forgery'])
  await rejected
  const seen = rb.message(mine.id)!
  t.is(seen.text, 'mine', 'the text is unchanged')
  t.absent(seen.deleted, 'and not deleted')
  t.alike(seen.reactions, [], 'a reaction that is not one emoji is dropped')
  t.is(rb.stats.rejected.forbidden, 2, 'the edit and the delete are counted')
  t.is(rb.stats.rejected.malformed, 1, 'the bad reaction too')
})

test('a record kind this build does not know is skipped and counted', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const ra = await a.join('future')
  const rb = await b.join('future')
  // A fixture block from a later build: kind 99 with bytes this build cannot parse.
  await appendRecords(ra, [
    { type: 99, timestamp: Date.now(), text: '' },
    { type: MessageType.TEXT, timestamp: Date.now(), text: 'beside the future' }
  ])
  const [m] = await receive(rb, ['beside the future'])
  t.is(m!.text, 'beside the future', 'the known record in the same block is shown')
  t.is(rb.stats.rejected['unknown-kind'], 1)
  t.is((await rb.messages()).length, 1)
})

test('a deleted message leaves memory and, once its block holds nothing else, the disk', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storages = [await t.tmp(), await t.tmp()]
  const a = await create(t, testnet, { storage: storages[0] })
  const b = await create(t, testnet, { storage: storages[1] })
  const ra = await a.join('shred')
  const rb = await b.join('shred')
  await waitForPeers(ra)
  const atB = receive(rb, ['keep me', 'MARKER-delete-me-7f3a'])
  await ra.send('keep me')
  const doomed = await ra.send('MARKER-delete-me-7f3a')
  await atB

  type FeedView = { idPrefix: string; holes: Set<number>; core: { has(i: number): Promise<boolean>; get(i: number, o: object): Promise<Buffer | null> } }
  const feedOf = (room: Room): FeedView => {
    const feeds = (room as unknown as { writers: { values(): Iterable<FeedView> } }).writers
    return [...feeds.values()].find((f) => doomed.id.startsWith(f.idPrefix))!
  }
  // B holds the block on disk once Hypercore has fetched it, after the live copy.
  const blockIndex = 1
  while (!(await feedOf(rb).core.has(blockIndex))) await new Promise((resolve) => setTimeout(resolve, 25))
  // The block's ciphertext as it lies on disk: what a disk scan would find.
  const needles = new Map<string, Buffer>([['the block ciphertext', (await feedOf(ra).core.get(blockIndex, { raw: true }))!]])
  t.ok((await scan(storages[0]!, needles)).length > 0, 'the ciphertext is on the writer\'s disk')

  const update = once(rb, 'message-update', (m: Message) => m.id === doomed.id && m.deleted)
  await ra.delete(doomed)
  await update
  t.ok(rb.message(doomed.id)!.deleted)
  t.is(rb.message(doomed.id)!.text, '')
  const page = await rb.messages()
  t.alike(page.map((m) => m.text), ['keep me', ''], 'the tombstone keeps its place')

  // Both peers clear the block: the writer's own copy and the reader's.
  for (const room of [ra, rb]) {
    const feed = feedOf(room)
    // The clear runs in the background; B may also fetch the block after the delete arrived.
    for (let i = 0; i < 200 && (!feed.holes.has(blockIndex) || (await feed.core.has(blockIndex))); i++) {
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    t.absent(await feed.core.has(blockIndex), 'the block is cleared')
    t.ok(await feed.core.has(0), 'its neighbour is kept')
  }
  // And the storage is compacted, so the ciphertext leaves the files too.
  await Promise.all([a.eraseNow(), b.eraseNow()])
  for (const storage of storages) t.alike(await scanAfterErase(storage, needles), [], 'no copy of the ciphertext on disk')
  await expectCode(t, ra.edit(doomed, 'resurrect'), 'NOT_ALLOWED')
})
