// `npm run soak -- --minutes N`: a bounded soak. A local testnet on 127.0.0.1 (its bootstrap
// on a port of its own), a few peers in child processes sending steady traffic in one room,
// one relay keeping it, and one peer after another leaving (closing its node) and coming
// back. Each minute it samples every process's resident memory and open file descriptors
// (/proc/PID/status, /proc/PID/fd) and its V8 heap after a full collection, and prints them;
// at the end, a verdict: flat if, after the warm-up, no process's RSS nor heap grew by more
// than --rss-growth (20%) and none holds more than
// --fd-growth (10) descriptors more than it did then. Messages expire after --ttl-seconds,
// so a room's steady state is reached within the warm-up and memory has no reason to grow.
//
//   npm run soak -- --minutes 30
//   --peers N            member processes (default 4), plus the relay
//   --rate N             messages per second per member (default 4)
//   --churn-seconds N    how often the next member restarts (default 30)
//   --sample-seconds N   how often to sample (default 60)
//   --warmup-minutes N   samples before this are not judged (default: a third of the run, 2 to
//                        10. V8's heap settles in about two minutes, but a relay's RocksDB
//                        fills its memtables and caches for longer: in a 30-minute run its
//                        RSS rose until minute 14, then held within 5%, its heap flat)
//   --port N             the testnet's bootstrap port on 127.0.0.1 (default 49737)
//   --ttl-seconds N      message lifetime (default 60)
//
// It exits 0 when flat, 1 when not, 2 on a usage error or a failed peer.
import fs from 'fs/promises'
import os from 'os'
import path from 'path'
import { parseArgs } from 'util'
import createTestnet from 'hyperdht/testnet.js'
import { killChildren, procUsage, Worker } from './harness.js'
import type { SoakCounts, SoakInit, SoakWorkerMessage } from './soak-worker.js'

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    peers: { type: 'string', default: '4' },
    rate: { type: 'string', default: '4' },
    'churn-seconds': { type: 'string', default: '30' },
    'sample-seconds': { type: 'string', default: '60' },
    'warmup-minutes': { type: 'string' },
    port: { type: 'string', default: '49737' },
    'ttl-seconds': { type: 'string', default: '60' },
    'rss-growth': { type: 'string', default: '0.2' },
    'fd-growth': { type: 'string', default: '10' }
  }
})

function usage(message: string): never {
  process.stderr.write(`soak: ${message}\n`)
  process.exit(2)
}

function positive(name: string, value: string | undefined, integer = true): number {
  const n = Number(value)
  if (!(n > 0) || (integer && !Number.isSafeInteger(n))) usage(`--${name} must be a positive ${integer ? 'integer' : 'number'}`)
  return n
}

const minutes = positive('minutes', values.minutes, false)
const peerCount = positive('peers', values.peers)
const rate = positive('rate', values.rate, false)
const churnMs = positive('churn-seconds', values['churn-seconds'], false) * 1000
const sampleMs = positive('sample-seconds', values['sample-seconds'], false) * 1000
const warmupMinutes = values['warmup-minutes'] === undefined ? Math.min(10, Math.max(2, Math.floor(minutes / 3))) : positive('warmup-minutes', values['warmup-minutes'], false)
const port = positive('port', values.port)
const ttl = positive('ttl-seconds', values['ttl-seconds'], false) * 1000
const rssBound = positive('rss-growth', values['rss-growth'], false)
const fdBound = positive('fd-growth', values['fd-growth'])
if (warmupMinutes >= minutes) usage('--warmup-minutes must be shorter than the run')
if (port > 65535) usage('--port must be a port number')

const MIB = 1024 * 1024
const started = Date.now()
const clock = () => `${((Date.now() - started) / 60_000).toFixed(1).padStart(5)} min`

interface Peer {
  name: string
  worker: Worker
  samples: Array<{ at: number; rss: number; fds: number; heap: number }>
}

async function openFds(pid: number): Promise<number> {
  try {
    return (await fs.readdir(`/proc/${pid}/fd`)).length
  } catch {
    return NaN
  }
}

function spawn(name: string): Peer {
  return { name, worker: new Worker('soak', name, 'soak-worker.js'), samples: [] }
}

// The harness's Worker is typed for the benchmark's messages; it queues any type by name.
function reply<T extends SoakWorkerMessage['type']>(peer: Peer, type: T, timeout?: number): Promise<Extract<SoakWorkerMessage, { type: T }>> {
  return peer.worker.next(type as never, timeout) as unknown as Promise<Extract<SoakWorkerMessage, { type: T }>>
}

async function start(peer: Peer, init: Omit<SoakInit, 'type'>): Promise<Extract<SoakWorkerMessage, { type: 'ready' }>> {
  peer.worker.send({ type: 'init', ...init })
  return reply(peer, 'ready')
}

async function counts(peer: Peer): Promise<SoakCounts> {
  peer.worker.send({ type: 'counts' })
  return reply(peer, 'counts')
}

async function main(): Promise<number> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'backspace-soak-'))
  const testnet = await createTestnet(3, { host: '127.0.0.1', port })
  const bootstrap = testnet.bootstrap.map((n: { host: string; port: number }) => `${n.host}:${n.port}`)
  const common = { bootstrap, rate, ttl, pruneInterval: Math.max(1000, Math.floor(ttl / 6)) }
  const peers: Peer[] = []
  let churn: NodeJS.Timeout | null = null
  try {
    process.stdout.write(
      `soak: ${minutes} min, ${peerCount} members at ${rate} msg/s each and a relay, one restart every ${churnMs / 1000} s, ` +
        `messages live ${ttl / 1000} s; testnet on 127.0.0.1:${port}; judged after ${warmupMinutes} min of warm-up\n`
    )
    const creator = spawn('member-0')
    peers.push(creator)
    const room = await start(creator, { ...common, role: 'creator', storage: path.join(root, 'member-0') })
    const relay = spawn('relay')
    peers.push(relay)
    await start(relay, { ...common, role: 'relay', storage: path.join(root, 'relay'), link: room.relayLink! })
    for (let i = 1; i < peerCount; i++) {
      const member = spawn(`member-${i}`)
      peers.push(member)
      await start(member, { ...common, role: 'member', storage: path.join(root, `member-${i}`), link: room.invite! })
    }

    // Members leave and come back in turn; the relay stays. Restarts and samples take turns
    // on one queue, so no sample catches a member half closed.
    let next = 0
    let queue: Promise<unknown> = Promise.resolve()
    const enqueue = <T>(step: () => Promise<T>): Promise<T> => {
      const run = queue.then(step)
      queue = run.catch(() => {})
      return run
    }
    const restartErrors: Error[] = []
    churn = setInterval(() => {
      const member = peers.filter((p) => p.name.startsWith('member-'))[next++ % peerCount]!
      enqueue(async () => {
        member.worker.send({ type: 'restart' })
        await reply(member, 'restarted', 120_000)
      }).catch((err: Error) => restartErrors.push(err))
    }, churnMs)

    const sample = async () => {
      const at = Date.now() - started
      const cells: string[] = []
      for (const p of peers) {
        const usage = await procUsage(p.worker.pid)
        const fds = await openFds(p.worker.pid)
        const rss = usage?.rss ?? NaN
        const c = await counts(p)
        p.samples.push({ at, rss, fds, heap: c.heap })
        const traffic = p.name === 'relay' ? `peers ${c.peers}` : `sent ${c.sent} recv ${c.received} held ${c.messages}`
        cells.push(`${p.name} ${(rss / MIB).toFixed(1)} MiB heap ${(c.heap / MIB).toFixed(1)} ${fds} fds (${traffic}${c.errors ? `, ${c.errors} errors` : ''})`)
      }
      process.stdout.write(`${clock()}  ${cells.join('  |  ')}\n`)
    }

    const end = started + minutes * 60_000
    while (Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(sampleMs, end - Date.now())))
      if (restartErrors.length > 0) throw restartErrors[0]!
      for (const p of peers) if (p.worker.error) throw p.worker.error
      await enqueue(sample)
    }
    clearInterval(churn)
    churn = null
    await queue

    // The verdict: every process, from its first sample after the warm-up to its last.
    const warmupMs = warmupMinutes * 60_000
    const problems: string[] = []
    const lines: string[] = []
    for (const p of peers) {
      const judged = p.samples.filter((s) => s.at >= warmupMs - 1000)
      const base = judged[0]
      const last = judged[judged.length - 1]
      if (!base || !last || base === last) {
        problems.push(`${p.name}: too few samples after the warm-up`)
        continue
      }
      const growth = (last.rss - base.rss) / base.rss
      const heapGrowth = (last.heap - base.heap) / base.heap
      const fdRise = Math.max(...judged.map((s) => s.fds)) - base.fds
      lines.push(
        `${p.name} RSS ${(base.rss / MIB).toFixed(1)} → ${(last.rss / MIB).toFixed(1)} MiB (${(growth * 100).toFixed(1)}%), ` +
          `heap ${(base.heap / MIB).toFixed(1)} → ${(last.heap / MIB).toFixed(1)} MiB (${(heapGrowth * 100).toFixed(1)}%), fds ${base.fds} → max ${base.fds + fdRise}`
      )
      if (!(growth < rssBound)) problems.push(`${p.name} RSS grew ${(growth * 100).toFixed(1)}%`)
      if (!(heapGrowth < rssBound)) problems.push(`${p.name} heap grew ${(heapGrowth * 100).toFixed(1)}%`)
      if (!(fdRise <= fdBound)) problems.push(`${p.name} holds ${fdRise} more fds`)
    }
    const totals = await Promise.all(peers.filter((p) => p.name !== 'relay').map(counts))
    const sent = totals.reduce((s, c) => s + c.sent, 0)
    const received = totals.reduce((s, c) => s + c.received, 0)
    const restarts = totals.reduce((s, c) => s + c.restarts, 0)
    process.stdout.write(`${lines.join('\n')}\ntraffic: ${sent} messages sent, ${received} received, ${restarts} restarts\n`)
    const bounds = `RSS and heap growth after warm-up < ${rssBound * 100}%, fds within +${fdBound}`
    if (problems.length > 0) {
      process.stdout.write(`verdict: NOT FLAT (${bounds}): ${problems.join('; ')}\n`)
      return 1
    }
    process.stdout.write(`verdict: FLAT (${bounds}) over ${minutes} min with ${peerCount} members and a relay\n`)
    return 0
  } finally {
    if (churn) clearInterval(churn)
    await Promise.all(peers.map((p) => p.worker.close().catch(() => p.worker.kill())))
    await testnet.destroy()
    await fs.rm(root, { recursive: true, force: true })
  }
}

process.on('SIGINT', () => {
  killChildren()
  process.exit(130)
})

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`soak: ${err.stack ?? err.message}\n`)
    killChildren()
    process.exit(2)
  }
)
