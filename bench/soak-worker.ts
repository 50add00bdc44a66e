// One peer of `npm run soak` (bench/soak.ts), in a process of its own so that its memory and
// file descriptors are its own: a member that sends at a steady rate and counts what it
// receives, or the relay. On `restart` it closes its node and opens it again on the same
// storage, as a user who quits and comes back: it leaves the swarm and rejoins the room.
import v8 from 'v8'
import vm from 'vm'
import { Backspace, type Room } from '../lib/index.js'
import { workerChannel } from './child.js'

export interface SoakInit {
  type: 'init'
  role: 'creator' | 'member' | 'relay'
  storage: string
  bootstrap: string[]
  /** The room to join (members), or to keep (the relay's link). */
  link?: string
  /** Messages per second this peer sends. */
  rate: number
  ttl: number
  pruneInterval: number
}

export type SoakParentMessage = SoakInit | { type: 'restart' } | { type: 'counts' } | { type: 'close' }

export interface SoakCounts {
  type: 'counts'
  sent: number
  received: number
  /** Sends that failed (a send under way when the node closed for a restart, say). */
  failedSends: number
  /** Background errors the node reported. */
  errors: number
  peers: number
  messages: number
  restarts: number
  /** V8 heap in use right after a full collection, bytes: what a leak in JavaScript grows. */
  heap: number
}

export type SoakWorkerMessage =
  | { type: 'ready'; invite: string | null; relayLink: string | null }
  | { type: 'restarted' }
  | SoakCounts

const { post, fail } = workerChannel<SoakWorkerMessage>()

const WORDS = ['meet', 'at', 'the', 'old', 'mill', 'bring', 'maps', 'lantern', 'noon', 'tomorrow', 'ok', 'see', 'you']

let init: SoakInit | null = null
let node: Backspace | null = null
let room: Room | null = null
let sender: NodeJS.Timeout | null = null
const counts: SoakCounts = { type: 'counts', sent: 0, received: 0, failedSends: 0, errors: 0, peers: 0, messages: 0, restarts: 0, heap: 0 }
// A full collection before each heap sample, so the figure is what is live, not garbage.
v8.setFlagsFromString('--expose-gc')
const collect = vm.runInNewContext('gc') as () => void

// A text of 1 to 40 words, so blocks fall in several size buckets.
function text(): string {
  const n = 1 + Math.floor(Math.random() * 40)
  return Array.from({ length: n }, () => WORDS[Math.floor(Math.random() * WORDS.length)]).join(' ')
}

async function open(): Promise<void> {
  const opts = init!
  node = new Backspace({
    storage: opts.storage,
    bootstrap: opts.bootstrap,
    ttl: opts.ttl,
    pruneInterval: opts.pruneInterval,
    relay: opts.role === 'relay',
    // A soak sends at its own pace; the rate limit is not what it measures.
    rateLimit: false
  })
  node.on('error', () => counts.errors++)
  await node.ready()
  if (opts.role === 'relay') {
    if (node.relayedRooms.length === 0) await node.keep(opts.link!)
    return
  }
  room = node.rooms[0] ?? (opts.role === 'creator' ? await node.createRoom({ name: 'soak' }) : await node.join(opts.link!))
  const self = room.author
  room.on('message', (m) => {
    if (!m.author.equals(self)) counts.received++
  })
  const every = 1000 / opts.rate
  sender = setInterval(() => {
    room!.send(text()).then(
      () => counts.sent++,
      () => counts.failedSends++
    )
  }, every)
}

async function close(): Promise<void> {
  if (sender) clearInterval(sender)
  sender = null
  const n = node
  node = null
  room = null
  if (n) await n.close()
}

process.on('message', (msg: SoakParentMessage) => {
  const run = async () => {
    switch (msg.type) {
      case 'init':
        init = msg
        await open()
        post({ type: 'ready', invite: room?.invite ?? null, relayLink: room?.relayLink ?? null })
        break
      case 'restart':
        await close()
        counts.restarts++
        await open()
        post({ type: 'restarted' })
        break
      case 'counts': {
        const stats = node?.stats()
        collect()
        post({ ...counts, peers: stats?.peers ?? 0, messages: stats?.messages ?? 0, heap: process.memoryUsage().heapUsed })
        break
      }
      case 'close':
        await close()
        process.exit(0)
    }
  }
  run().catch(fail)
})
