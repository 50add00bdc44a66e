// One side of a benchmark pair, run in its own process (forked by bench/index.ts) so the
// writer and the reader each get a core of their own. It sets up a raw Hyperswarm socket, a
// raw Hypercore or a Backspace room, then follows the parent's orders over IPC.

import b4a from 'b4a'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import HyperDHT from 'hyperdht'
import Hyperswarm from 'hyperswarm'
import { Backspace } from '../lib/index.js'
import {
  makePayload,
  parseHeader,
  type BurstMessage,
  type ExpectMessage,
  type InitMessage,
  type LockstepMessage,
  type ParentMessage,
  type WorkerMessage
} from './protocol.js'

/** How a side sends and stops. A reader's transport calls `deliver` for each payload. */
interface Transport {
  /** Sends the payloads together; resolves once they are handed over (and stored, if stored). */
  send(payloads: string[]): Promise<void>
  /** Resolves once the side is connected to its peer and ready to send or receive. */
  connected(): Promise<void>
  close(): Promise<void>
}

type Deliver = (text: string, arrivedNs: bigint) => void

const ACK_TIMEOUT = 10_000
const DEBUG = !!process.env.BENCH_DEBUG

function debug(what: string): void {
  if (DEBUG)
    process.stderr.write(
      `${init?.kind} ${init?.role} [${(performance.now() / 1000).toFixed(3)}] ${what}\n`
    )
}

function post(msg: WorkerMessage): void {
  process.send!(msg)
}

function fail(err: unknown): void {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err)
  try {
    post({ type: 'error', message })
  } catch {}
  setTimeout(() => process.exit(1), 100)
}

process.on('uncaughtException', fail)
process.on('unhandledRejection', fail)
// The parent going away ends the worker: nothing outlives a run.
process.on('disconnect', () => process.exit(0))

function waitFor(check: () => boolean, emitter: { on: Function; off: Function }, event: string) {
  return new Promise<void>((resolve) => {
    if (check()) return resolve()
    const on = () => {
      if (!check()) return
      emitter.off(event, on)
      resolve()
    }
    emitter.on(event, on)
  })
}

function createSwarm(init: InitMessage): Hyperswarm {
  // Every DHT node of the run is bound to loopback, where every node is reachable: without
  // `firewalled: false` a connection between two ephemeral nodes sometimes only opens on the
  // swarm's retry, 15 to 35 s later (the client sees it open, the server never does).
  const dht = new HyperDHT({
    bootstrap: init.bootstrap,
    host: '127.0.0.1',
    ephemeral: true,
    firewalled: false
  })
  const swarm = new Hyperswarm({ dht })
  debug(`swarm ${swarm.keyPair.publicKey.toString('hex', 0, 4)}`)
  return swarm
}

// ---------------------------------------------------------------------------
// Raw Hyperswarm socket: fixed-size frames written on the connection
// ---------------------------------------------------------------------------

async function swarmTransport(init: InitMessage, deliver: Deliver): Promise<Transport> {
  const swarm = createSwarm(init)
  const frame = init.frameBytes
  let conn: Hyperswarm.Connection | null = null
  const onConnection = (c: Hyperswarm.Connection) => {
    debug(`connection ${c.remotePublicKey.toString('hex', 0, 4)}`)
    c.on('error', () => {})
    conn = c
    c.once('close', () => {
      if (conn === c) conn = null
    })
    let pending: Buffer = b4a.alloc(0)
    c.on('data', (data: Buffer) => {
      const now = process.hrtime.bigint()
      pending = pending.byteLength === 0 ? data : b4a.concat([pending, data])
      let at = 0
      for (; at + frame <= pending.byteLength; at += frame) {
        deliver(pending.toString('latin1', at, at + frame), now)
      }
      pending = pending.subarray(at)
    })
  }
  swarm.on('connection', onConnection)
  await swarm.join(b4a.from(init.rendezvous, 'hex'), { server: true, client: true }).flushed()
  return {
    async send(payloads) {
      if (!conn) throw new Error('no connection')
      for (const p of payloads) conn.write(b4a.from(p, 'latin1'))
    },
    connected: () => waitFor(() => conn !== null, swarm, 'connection'),
    close: () => swarm.destroy()
  }
}

// ---------------------------------------------------------------------------
// Raw Hypercore: a corestore replicated over the swarm's connections
// ---------------------------------------------------------------------------

async function hypercoreTransport(
  init: InitMessage,
  deliver: Deliver
): Promise<{ transport: Transport; key: Buffer }> {
  const store = new Corestore(init.dir)
  await store.ready()
  const encryption = init.encryptionKey ? { key: b4a.from(init.encryptionKey, 'hex') } : undefined
  const core: Hypercore =
    init.role === 'writer'
      ? store.get({ name: 'bench', encryption })
      : store.get({ key: b4a.from(init.coreKey!, 'hex'), encryption })
  await core.ready()

  if (init.role === 'reader') {
    // The replica asks for every new block as soon as it learns the core grew.
    let next = core.length
    core.on('append', () => {
      for (; next < core.length; next++) {
        core.get(next).then(
          (block) => {
            const now = process.hrtime.bigint()
            if (block) deliver(block.toString('latin1', 0, 64), now)
          },
          () => {}
        )
      }
    })
  }

  const swarm = createSwarm(init)
  swarm.on('connection', (conn: Hyperswarm.Connection) => {
    debug(`connection ${conn.remotePublicKey.toString('hex', 0, 4)}`)
    conn.on('error', () => {})
    conn.on('close', () => debug('connection closed'))
    store.replicate(conn)
  })
  // Announced before the reader starts looking, so it finds the writer on its first lookup.
  await swarm.join(core.discoveryKey!, { server: true, client: true }).flushed()

  return {
    key: core.key!,
    transport: {
      async send(payloads) {
        await core.append(payloads.map((p) => b4a.from(p, 'latin1')))
      },
      connected: () => waitFor(() => core.peers.length > 0, core, 'peer-add'),
      async close() {
        await swarm.destroy()
        await store.close()
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Backspace: a room with one writing member and one reading member
// ---------------------------------------------------------------------------

async function backspaceTransport(init: InitMessage, deliver: Deliver): Promise<Transport> {
  const node = new Backspace({ storage: init.dir, bootstrap: init.bootstrap })
  node.on('error', (err) => fail(err))
  await node.ready()
  if (DEBUG) {
    // Private, for debugging only: when the room's connections open.
    const swarm = (node as unknown as { swarm: Hyperswarm }).swarm
    debug(`swarm ${swarm.keyPair.publicKey.toString('hex', 0, 4)}`)
    swarm.on('connection', (c: Hyperswarm.Connection) => {
      debug(`connection ${c.remotePublicKey.toString('hex', 0, 4)}`)
    })
  }
  const room = await node.join(init.rendezvous)
  room.on('error', (err) => fail(err))
  room.on('reject', (e) => fail(new Error(`rejected block: ${e.reason}`)))
  if (init.role === 'reader') {
    room.on('message', (m) => deliver(m.text, process.hrtime.bigint()))
  }
  return {
    async send(payloads) {
      // Sends in one tick are appended as one batch.
      await Promise.all(payloads.map((p) => room.send(p)))
    },
    async connected() {
      await waitFor(() => room.stats.peers > 0, room, 'peer-add')
      // The reader must know the writer's core before anything is sent.
      if (init.role === 'reader') await waitFor(() => room.stats.writers > 1, room, 'writer-add')
    },
    close: () => node.close()
  }
}

// ---------------------------------------------------------------------------
// The orders
// ---------------------------------------------------------------------------

let transport: Transport | null = null
let init: InitMessage | null = null

// Reader state: the payloads counted now.
let expecting: ExpectMessage | null = null
let got = 0
let latencies: number[] = []

function deliver(text: string, arrivedNs: bigint): void {
  const head = parseHeader(text)
  if (!head || !expecting || head.tag !== expecting.tag) return
  got++
  latencies.push(Number(arrivedNs - head.stampNs) / 1000)
  if (expecting.ack) post({ type: 'ack' })
  if (got === expecting.count) {
    const done = expecting
    expecting = null
    post({ type: 'received', tag: done.tag, count: got, lastNs: String(arrivedNs), latencies })
  }
}

// Writer state: acks relayed by the parent from the reader.
let acks = 0
let onAck: (() => void) | null = null

function nextAck(): Promise<void> {
  if (acks > 0) {
    acks--
    return Promise.resolve()
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no ack from the reader')), ACK_TIMEOUT)
    onAck = () => {
      clearTimeout(timer)
      onAck = null
      resolve()
    }
  })
}

function payloadBytes(): number {
  const i = init!
  if (i.kind === 'swarm') return i.frameBytes
  if (i.kind === 'backspace') return i.textBytes
  return i.blockBytes
}

async function lockstep(order: LockstepMessage): Promise<void> {
  const t = transport!
  const bytes = payloadBytes()
  let firstNs = 0n
  const stored: number[] = []
  for (let i = 0; i < order.count; i++) {
    const acked = nextAck()
    const startNs = process.hrtime.bigint()
    if (i === 0) firstNs = startNs
    const payload = makePayload(order.tag, i, bytes)
    const sent = t.send([payload]).then(() => {
      stored.push(Number(process.hrtime.bigint() - startNs) / 1000)
    })
    await Promise.all([sent, acked])
  }
  const storedNs = String(process.hrtime.bigint())
  post({ type: 'sent', tag: order.tag, firstNs: String(firstNs), storedNs, stored })
}

async function burst(order: BurstMessage): Promise<void> {
  const t = transport!
  const bytes = payloadBytes()
  const firstNs = process.hrtime.bigint()
  for (let i = 0; i < order.count; i += order.burst) {
    const n = Math.min(order.burst, order.count - i)
    const payloads: string[] = []
    for (let j = 0; j < n; j++) payloads.push(makePayload(order.tag, i + j, bytes))
    await t.send(payloads)
  }
  post({
    type: 'sent',
    tag: order.tag,
    firstNs: String(firstNs),
    storedNs: String(process.hrtime.bigint()),
    stored: []
  })
}

async function start(msg: InitMessage): Promise<void> {
  init = msg
  let coreKey: string | null = null
  if (msg.kind === 'swarm') {
    transport = await swarmTransport(msg, deliver)
  } else if (msg.kind === 'backspace') {
    transport = await backspaceTransport(msg, deliver)
  } else {
    const made = await hypercoreTransport(msg, deliver)
    transport = made.transport
    coreKey = made.key.toString('hex')
  }
  debug('ready')
  post({ type: 'ready', coreKey })
  await transport.connected()
  debug('connected')
  post({ type: 'connected' })
}

process.on('message', (msg: ParentMessage) => {
  switch (msg.type) {
    case 'init':
      start(msg).catch(fail)
      break
    case 'ack':
      if (onAck) onAck()
      else acks++
      break
    case 'expect':
      expecting = msg
      got = 0
      latencies = []
      post({ type: 'expecting' })
      break
    case 'lockstep':
      lockstep(msg).catch(fail)
      break
    case 'burst':
      burst(msg).catch(fail)
      break
    case 'close':
      Promise.resolve(transport?.close())
        .then(() => {
          post({ type: 'closed' })
          process.disconnect()
        })
        .catch(fail)
      break
  }
})
