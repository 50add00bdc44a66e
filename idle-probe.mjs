// Scratch: idle CPU of a member in a room of N, profiled over a quiet window.
import { fork } from 'child_process'
import fs from 'fs'
import path from 'path'
import { Session } from 'inspector'
import { setTimeout as sleep } from 'timers/promises'
const N = Number(process.env.N || 10)
if (process.argv[2] === 'child') {
  const { Backspace } = await import('./dist/lib/index.js')
  const { LOOPBACK_LIMITS } = await import('./dist/bench/protocol.js')
  const dir = fs.mkdtempSync('/tmp/idle/n')
  const node = new Backspace({ storage: dir, bootstrap: JSON.parse(process.argv[3]), ...LOOPBACK_LIMITS })
  node.on('error', () => {})
  await node.ready()
  process.on('message', async (m) => {
    if (m.type === 'create') { const r = await node.createRoom({ name: 'x' }); process.send({ type: 'invite', invite: r.invite }) }
    if (m.type === 'send') { for (let i = 0; i < 3; i++) { await node.rooms[0].send('hello ' + i); await sleep(200) } process.send({ type: 'sent' }) }
    if (m.type === 'join') { await node.join(m.invite); process.send({ type: 'joined' }) }
    if (m.type === 'measure') {
      const s = new Session(); s.connect()
      const post = (k, p = {}) => new Promise((res, rej) => s.post(k, p, (e, r) => e ? rej(e) : res(r)))
      if (!process.env.NOPROF) { await post('Profiler.enable'); await post('Profiler.setSamplingInterval', { interval: 1000 }); await post('Profiler.start') }
      const c0 = process.cpuUsage(); const t0 = Date.now()
      await sleep(m.ms)
      const c1 = process.cpuUsage(c0); const dt = (Date.now() - t0) / 1000
      const profile = process.env.NOPROF ? {} : (await post('Profiler.stop')).profile
      fs.writeFileSync(`/tmp/idle/${m.tag}-${process.pid}.cpuprofile`, JSON.stringify(profile))
      const peers = node.rooms[0]?.stats.peers
      process.send({ type: 'cpu', msPerS: (c1.user + c1.system) / 1000 / dt, user: c1.user / 1000 / dt, peers })
    }
  })
  process.send({ type: 'ready' })
} else {
  const { default: createTestnet } = await import('hyperdht/testnet.js')
  const testnet = await createTestnet(3, { host: '127.0.0.1', port: 49790 })
  const bootstrap = testnet.bootstrap
  const kids = Array.from({ length: N }, () => fork(new URL(import.meta.url).pathname, ['child', JSON.stringify(bootstrap)]))
  const next = (k, type) => new Promise((res) => { const f = (m) => { if (m.type === type) { k.off('message', f); res(m) } }; k.on('message', f) })
  await Promise.all(kids.map((k) => next(k, 'ready')))
  kids[0].send({ type: 'create' }); const { invite } = await next(kids[0], 'invite')
  for (const k of kids.slice(1)) k.send({ type: 'join', invite })
  await Promise.all(kids.slice(1).map((k) => next(k, 'joined')))
  if (process.env.SEND) { kids[0].send({ type: 'send' }); await next(kids[0], 'sent') }
  await sleep(Number(process.env.SETTLE || 30000))
  const res = await Promise.all(kids.map((k) => { k.send({ type: 'measure', ms: 10000, tag: `n${N}` }); return next(k, 'cpu') }))
  console.log(res.map((r) => `${r.msPerS.toFixed(2)} (${r.peers})`).join(' '))
  console.log('mean', (res.reduce((a, r) => a + r.msPerS, 0) / res.length).toFixed(2), 'ms/s')
  for (const k of kids) k.kill()
  await testnet.destroy()
}
