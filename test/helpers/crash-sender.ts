// A sender for the crash-safety test: opens `storage`, joins `room` and sends numbered
// messages one after another, printing "ack N" once `send` resolved for message N. The test
// kills it with SIGKILL at random moments; every acknowledged message must survive.
import { Backspace } from '../../lib/index.js'

const [storage, room, from] = process.argv.slice(2) as [string, string, string]
// Offline: sending needs no peer, and the kills come sooner without a DHT to join.
// It sends as fast as it can: this is about crashes, not the rate limit.
const node = new Backspace({ storage, bootstrap: [], rateLimit: false })
await node.ready()
const r = await node.join(room)
process.stdout.write('ready\n')
for (let n = Number(from); ; n++) {
  await r.send(`crash ${n}`)
  process.stdout.write(`ack ${n}\n`)
}
