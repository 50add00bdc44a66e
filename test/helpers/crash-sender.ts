// A sender for the crash-safety test: opens `storage`, joins `room` and sends numbered
// messages one after another, printing "ack N" once `send` resolved for message N. The test
// kills it with SIGKILL at random moments; every acknowledged message must survive.
import { Backspace } from '../../lib/index.js'

const [storage, room, from, bootstrap] = process.argv.slice(2) as [string, string, string, string | undefined]
// Offline: sending needs no peer, and the kills come sooner without a DHT to join. With a
// bootstrap node, it first waits for two members online: its sends then resolve before their
// append (lib/room/outbox.ts), from the journal's keeping.
// It sends as fast as it can: this is about crashes, not the rate limit.
const [host, port] = bootstrap ? bootstrap.split(':') : []
const node = new Backspace({ storage, bootstrap: bootstrap ? [{ host: host!, port: Number(port) }] : [], rateLimit: false })
await node.ready()
const r = await node.join(room)
while (bootstrap && r.stats.peers < 2) await new Promise((resolve) => setTimeout(resolve, 20))
process.stdout.write('ready\n')
const queued = () => (r as unknown as { outbox: { queued: unknown[] } }).outbox.queued.length > 0
for (let n = Number(from); ; n++) {
  // Online, a little apart, as typed: such sends resolve before their append.
  if (bootstrap) await new Promise((resolve) => setTimeout(resolve, 15))
  await r.send(`crash ${n}`)
  // "early": acknowledged while its block still waits for the append.
  process.stdout.write(`ack ${n}${queued() ? ' early' : ''}\n`)
}
