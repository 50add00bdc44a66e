// Forwarding live blocks (issue 11) against a hostile member: replays of real blocks, frames
// that claim to be first-hand, and junk. A member passes on only blocks it verified and showed,
// each once, to at most FORWARD_MAX others: nothing a member sends makes it send more.
import test from 'brittle'
import { FORWARD_MAX } from '../../lib/room/live.js'
import type { Room } from '../../lib/index.js'
import { randomBytes } from '../../lib/crypto.js'
import type { LiveBlock as LiveFrame } from '../../lib/messages.js'
import { create, createLocalTestnet, receive, waitForPeers } from '../helpers/index.js'

interface Internals {
  outbox: { own: { key: Buffer; core: { length: number } } }
  channels: Iterable<{ sendLive(l: LiveFrame): void }>
  live: { counts: { forwarded: number; received: number }; receive(l: LiveFrame, from: unknown): void }
  writers: { get(hex: string): { seen: number; unconfirmed: Map<number, unknown> } | undefined }
}
const internals = (room: Room) => room as unknown as Internals

async function settled(reader: Room, writer: Room): Promise<void> {
  const key = internals(writer).outbox.own.key.toString('hex')
  const length = internals(writer).outbox.own.core.length
  for (;;) {
    const feed = internals(reader).writers.get(key)
    if (feed && feed.seen >= length && feed.unconfirmed.size === 0) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

test('a hostile member cannot make a member pass live blocks on more than once, or pass on junk', async (t) => {
  const testnet = await createLocalTestnet(t)
  const [w, h, v, x] = await Promise.all([create(t, testnet), create(t, testnet), create(t, testnet), create(t, testnet)])
  const rw = await w.join('replays')
  const rh = await h.join('replays')
  const rv = await v.join('replays')
  const rx = await x.join('replays')
  await Promise.all([rw, rh, rv, rx].map((r) => waitForPeers(r, 3)))

  // The hostile member keeps every live frame it gets.
  const captured: LiveFrame[] = []
  const live = internals(rh).live
  const receiveLive = live.receive.bind(live)
  live.receive = (l, from) => {
    captured.push(l)
    receiveLive(l, from)
  }
  const warm = [rh, rv, rx].map((r) => receive(r, ['warm']))
  await rw.send('warm')
  await Promise.all(warm)
  await Promise.all([rh, rv, rx].map((r) => settled(r, rw)))

  const N = 5
  for (let i = 0; i < N; i++) {
    const got = [rh, rv, rx].map((r) => receive(r, [`m${i}`]))
    await rw.send(`m${i}`)
    await Promise.all(got)
  }
  const forwardedBefore = internals(rv).live.counts.forwarded
  const receivedBefore = internals(rv).live.counts.received
  t.ok(forwardedBefore <= (N + 1) * FORWARD_MAX, `the victim passed each block on at most ${FORWARD_MAX} times`)

  // Replays of every real frame, claimed first-hand, many times over; and junk under the
  // writer's key, for the next indexes.
  const real = captured.filter((l) => l.key.equals(internals(rw).outbox.own.key))
  t.ok(real.length >= N, 'the hostile member holds real frames to replay')
  const REPEAT = 40
  const next = internals(rw).outbox.own.core.length
  for (const channel of internals(rh).channels) {
    for (let r = 0; r < REPEAT; r++) {
      for (const l of real) channel.sendLive({ ...l, hops: 0 })
      channel.sendLive({ key: internals(rw).outbox.own.key, index: next + (r % 4), block: randomBytes(300), padding: randomBytes(8), hops: 0 })
    }
  }
  // Frames on one connection arrive in order: once this message is shown, all of them were read.
  const marker = receive(rv, ['h marker'])
  await rh.send('h marker')
  await marker

  const received = internals(rv).live.counts.received - receivedBefore
  const forwarded = internals(rv).live.counts.forwarded - forwardedBefore
  t.comment(`replayed and junk frames received: ${received}; passed on because of them: ${forwarded}`)
  t.ok(received >= REPEAT * (real.length + 1), 'the victim read them all')
  // Only the marker (one block of the hostile member's own) may be passed on.
  t.ok(forwarded <= FORWARD_MAX, 'none of the replays or junk was passed on')
  t.is(rv.stats.messages, N + 2, 'the victim shows the real messages only')

  // And everyone still talks.
  const after = [rh, rv, rx].map((r) => receive(r, ['after']))
  await rw.send('after')
  await Promise.all(after)
  t.pass('live delivery still works')
})
