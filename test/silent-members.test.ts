// Issue 11: cores of members who never wrote cost nothing. A core announced with no blocks is
// counted and passed on, but not opened nor replicated, until someone announces a block of it.
import test from 'brittle'
import type { Room } from '../lib/index.js'
import { create, createLocalTestnet, receive, waitForPeers } from './helpers/index.js'

interface Internals {
  writers: { size: number; dormantSize: number }
}
const internals = (room: Room) => room as unknown as Internals

async function until(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((resolve) => setTimeout(resolve, 20))
}

test('members who never wrote: counted, not opened, until they write', async (t) => {
  const testnet = await createLocalTestnet(t)
  const SILENT = 4
  const nodes = await Promise.all(Array.from({ length: SILENT + 1 }, () => create(t, testnet)))
  const rooms: Room[] = []
  for (const node of nodes) rooms.push(await node.join('quiet'))
  const [writer, ...silent] = rooms as [Room, ...Room[]]
  await Promise.all(rooms.map((r) => waitForPeers(r, 1)))
  const hello = silent.map((r) => receive(r, ['hello']))
  await writer.send('hello')
  await Promise.all(hello)
  // Every member learns every member's core, directly or passed on.
  await until(() => rooms.every((r) => r.stats.writers === SILENT + 1))
  for (const r of silent) {
    t.is(internals(r).writers.size, 2, 'a silent member opens its own core and the writer\'s only')
    t.is(internals(r).writers.dormantSize, SILENT - 1, 'the other silent members are only noted')
  }
  t.is(internals(writer).writers.size, 1, 'the writer opens no silent member\'s core')
  t.is(internals(writer).writers.dormantSize, SILENT)

  // A silent member speaks: its core is opened everywhere and its message arrives.
  const speaker = silent[0]!
  const spoken = rooms.filter((r) => r !== speaker).map((r) => receive(r, ['now I speak']))
  await speaker.send('now I speak')
  await Promise.all(spoken)
  t.is(internals(writer).writers.size, 2, 'the writer opened the speaker\'s core')
  for (const r of silent.slice(1)) t.is(internals(r).writers.size, 3)
  t.ok(rooms.every((r) => r.stats.writers === SILENT + 1), 'the count of writers did not change')
})
