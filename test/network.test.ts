import test from 'brittle'
import { Backspace, parseBootstrap } from '../lib/index.js'
import { isLoopback } from '../lib/network.js'
import { expectCode } from './helpers/expect.js'
import { createLocalTestnet } from './helpers/index.js'

test('bootstrap accepts host:port strings and objects', async (t) => {
  t.alike(parseBootstrap(['127.0.0.1:49737', { host: 'localhost', port: 1 }, '[::1]:5']), [
    { host: '127.0.0.1', port: 49737 },
    { host: '127.0.0.1', port: 1 },
    { host: '::1', port: 5 }
  ])
  for (const bad of ['nope', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', ':80']) {
    await expectCode(t, () => parseBootstrap([bad]), 'INVALID_BOOTSTRAP')
  }
  await expectCode(t, () => parseBootstrap([{ host: '', port: 3 }]), 'INVALID_BOOTSTRAP')
  await expectCode(t, () => new Backspace({ bootstrap: ['bad'] }), 'INVALID_BOOTSTRAP')
  t.ok(isLoopback('127.0.0.1') && isLoopback('127.4.5.6') && isLoopback('::1') && isLoopback('localhost'))
  t.absent(isLoopback('10.0.0.1') || isLoopback('192.0.2.1') || isLoopback('1270.0.0.1'))
})

test('a loopback bootstrap binds the DHT to 127.0.0.1 by itself', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const node = new Backspace({ storage, bootstrap: testnet.bootstrap.map((n) => `${n.host}:${n.port}`) })
  t.teardown(() => node.close())
  await node.ready()
  const swarm = (node as unknown as { swarm: { dht: { io: { serverSocket: { address(): { host: string } } } } } }).swarm
  await (swarm.dht as unknown as { ready(): Promise<void> }).ready()
  t.is(swarm.dht.io.serverSocket.address().host, '127.0.0.1')
})
