import test from 'brittle'
import { create, createLocalTestnet, receive, waitForPeers } from './helpers/index.js'
import type { Backspace, Message } from '../lib/index.js'

function dropConnections(node: Backspace): number {
  const streams = (node as unknown as { streams_: Set<{ destroy(err?: Error): void }> }).streams_
  const n = streams.size
  for (const stream of [...streams]) stream.destroy(new Error('connection dropped by the test'))
  return n
}

test('a peer dropping its connection mid-replication loses nothing', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const ra = await a.join('flaky')
  const rb = await b.join('flaky')
  await waitForPeers(rb)

  const texts = Array.from({ length: 300 }, (_, i) => `msg ${i}`)
  const all = receive(rb, texts)
  let dropped = false
  const midway = new Promise<void>((resolve) => {
    let count = 0
    const on = (_m: Message) => {
      if (++count < 50) return
      rb.off('message', on)
      resolve()
    }
    rb.on('message', on)
  })

  const sending = (async () => {
    for (let i = 0; i < texts.length; i += 10) {
      await Promise.all(texts.slice(i, i + 10).map((text) => ra.send(text)))
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()

  await midway
  const n = dropConnections(a) + dropConnections(b)
  dropped = n > 0
  t.ok(dropped, `dropped ${n} connections mid-replication`)
  await sending

  const received = await all
  t.is(received.length, 300, 'every message arrived after the swarm reconnected')
  const page = await rb.messages({ limit: 300 })
  t.alike(page.map((m) => m.text), texts, 'in order, without gaps or duplicates')
  t.is(rb.stats.rejected.malformed + rb.stats.rejected['invalid-signature'], 0)
})
