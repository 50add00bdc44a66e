import test from 'brittle'
import { create, createLocalTestnet, receive } from './helpers/index.js'

test('two peers exchange messages both ways', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const ra = await a.join('general')
  const rb = await b.join('general')

  const atB = receive(rb, ['hello from a'])
  const sent = await ra.send('hello from a')
  const [got] = await atB
  t.is(got!.text, 'hello from a')
  t.alike(got!.author, a.publicKey)
  t.is(got!.id, sent.id)
  t.is(got!.timestamp, sent.timestamp)

  const atA = receive(ra, ['hello from b'])
  await rb.send('hello from b')
  const [back] = await atA
  t.alike(back!.author, b.publicKey)

  const pageA = await ra.messages()
  const pageB = await rb.messages()
  t.alike(pageA.map((m) => m.id), pageB.map((m) => m.id))
  t.is(pageA.length, 2)
})
