// A victim in its own process, for measuring what attackers' connections cost it: a node that
// holds many writer cores in a room no attacker is in. Driven over IPC by connections.test.ts.
// Run with --expose-gc; argv: bootstrap (JSON), storage directory, number of cores.
import { randomBytes } from 'crypto'
import { Backspace } from '../../lib/index.js'

type Core = { ready(): Promise<void> }

const [bootstrap, storage, count] = process.argv.slice(2)
const node = new Backspace({ storage, bootstrap: JSON.parse(bootstrap!), maxPeers: 256, maxPeersPerIp: 256 })
await node.ready()
const room = await node.join('held cores', { password: 'no attacker knows this' })
// Cores of admitted writers, as a room opens them once their proofs verified: here, many at
// once (as restored entries, with no owner, so no per-identity limit applies).
const admitted = { owner: null, device: null, proof: null }
const internals = room as unknown as { openRemoteFeed(key: Buffer, state: null, admission: typeof admitted): { core: Core } }
const cores: Core[] = []
for (let i = 0; i < Number(count); i++) cores.push(internals.openRemoteFeed(randomBytes(32), null, admitted).core)
await Promise.all(cores.map((core) => core.ready()))

const gc = (globalThis as { gc?: () => void }).gc!
const send = (m: object) => process.send!(m)
process.on('message', (m: string) => {
  if (m === 'measure') {
    gc()
    gc()
    send({ heap: process.memoryUsage().heapUsed, connections: node.connections, writers: room.stats.writers })
  } else if (m === 'close') {
    node.close().then(() => process.exit(0), () => process.exit(1))
  }
})
const swarm = (node as unknown as { swarm: { keyPair: { publicKey: Buffer } } }).swarm
send({ ready: true, publicKey: swarm.keyPair.publicKey.toString('hex') })
