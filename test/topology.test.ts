// Issue 11: a core replicates with its writer alone while the writer is online (every member
// already has its blocks from the writer, so members need not tell each other they have them);
// when the writer goes, members take its core from each other, and a newcomer gets its history
// from them. What hostile members can do to it: test/hostile/topology.test.ts.
import test from 'brittle'
import type { Backspace } from '../lib/index.js'
import { create, createLocalTestnet, receive, until, waitForPeers } from './helpers/index.js'
import { internals, sessions, swarmKey } from './helpers/topology.js'

test('topology: a core replicates with its writer alone while it is online, and among members once it is gone', async (t) => {
  const testnet = await createLocalTestnet(t)
  const [a, b, c] = await Promise.all([create(t, testnet), create(t, testnet), create(t, testnet)])
  const [ra, rb, rc] = [await a.join('mesh'), await b.join('mesh'), await c.join('mesh')]
  await Promise.all([waitForPeers(ra, 2), waitForPeers(rb, 2), waitForPeers(rc, 2)])
  const hello = ['hi from a', 'hi from b', 'hi from c']
  const got = [ra, rb, rc].map((r) => receive(r, hello))
  await Promise.all([ra.send(hello[0]!), rb.send(hello[1]!), rc.send(hello[2]!)])
  await Promise.all(got)

  const hex = (n: Backspace) => swarmKey(n).toString('hex')
  const rooms = [ra, rb, rc]
  const nodes = [a, b, c]
  await until(rb, 'message', () =>
    rooms.every((reader, i) => rooms.every((writer, j) => i === j || sessions(reader, writer).join() === hex(nodes[j]!)))
  )
  t.pass('each member replicates each other core with its writer alone')
  t.alike(sessions(ra, ra), [hex(b), hex(c)].sort(), 'a writer replicates its own core with every member')

  // Nobody passes a live frame on to a member connected to its writer.
  const forwarded = () => internals(rb).live.counts.forwarded + internals(rc).live.counts.forwarded
  const before = forwarded()
  const texts = Array.from({ length: 10 }, (_, i) => `live ${i}`)
  const all = [receive(rb, texts), receive(rc, texts)]
  for (const text of texts) await ra.send(text)
  await Promise.all(all)
  t.is(forwarded() - before, 0, 'no live frame was passed on in a full mesh')

  // The writer goes: b and c take its core from each other, and a newcomer gets its history.
  await a.close()
  await until(rb, 'peer-remove', () => sessions(rb, ra).join() === hex(c) && sessions(rc, ra).join() === hex(b))
  t.pass('with the writer gone, the members replicate its core with each other')
  const d = await create(t, testnet)
  const rd = await d.join('mesh')
  const want = [hello[0]!, ...texts]
  for (;;) {
    const page = await rd.messages({ limit: 50 })
    if (want.every((x) => page.some((m) => m.text === x))) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.pass("a newcomer got the departed writer's history from the members")
})
