// One side of a benchmark run, in its own process (forked by bench/index.ts), so the writer,
// the reader and a joiner each get their own event loop and, on two cores, mostly a core of
// their own. It sets up a raw Hyperswarm socket, a raw Hypercore, a Backspace room, a Cabal,
// or a WebSocket client (or the relay server itself), then follows the parent's orders.

import b4a from 'b4a'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import HyperDHT from 'hyperdht'
import Hyperswarm from 'hyperswarm'
import net from 'net'
import { setImmediate as immediate, setTimeout as sleep } from 'timers/promises'
import WebSocket from 'ws'
import { Backspace } from '../lib/index.js'
import { TARGET_BLOCK_BYTES } from '../lib/messages.js'
import {
  CHANNEL,
  cabalReady,
  closeCabal,
  loadCabal,
  publishText,
  readLatest,
  type CabalMessage
} from './cabal.js'
import {
  isCabal,
  LOOPBACK_LIMITS,
  makePayload,
  parseHeader,
  type BurstMessage,
  type ExpectMessage,
  type InitMessage,
  type JoinMessage,
  type JoinResult,
  type ParentMessage,
  type ReceiverCpu,
  type SequenceMessage,
  type WorkerMessage
} from './protocol.js'
import { startRelay } from './ws-relay.js'
import { workerChannel } from './child.js'
import { TRACE_DIR, TailRecorder } from './trace.js'

/** How a side sends and stops. A reader's transport calls `deliver` for each payload. */
interface Transport {
  /**
   * Sends the payloads; resolves once they are handed over (and stored, if stored). `pack`:
   * raw Hypercore packs them into blocks as Backspace does.
   */
  send(payloads: string[], pack?: boolean): Promise<void>
  /** Resolves once the side is connected to its peer and ready to send or receive. */
  connected(): Promise<void>
  /** Joiner: shows the latest `page` of `total` messages, from empty storage. */
  join?(order: JoinMessage, startNs: bigint): Promise<JoinResult>
  /** Backspace writer: the length of its own log, in blocks. */
  ownBlocks?(): number
  /** Backspace writer: resolves once every send so far is stored in its log. */
  flush?(): Promise<void>
  /** Backspace reader: [time, contiguous length] each time what it stored grew; then cleared. */
  takeStored?(): Array<[string, number]>
  close(): Promise<void>
}

type Deliver = (text: string, arrivedNs: bigint) => void

const DEBUG = !!process.env.BENCH_DEBUG
const POLL_MS = 10

function debug(what: string): void {
  if (DEBUG)
    process.stderr.write(
      `${init?.kind} ${init?.role} [${(performance.now() / 1000).toFixed(3)}] ${what}\n`
    )
}

const { post, fail } = workerChannel<WorkerMessage>()

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

/** Resolves once `check()` holds, looking every few milliseconds. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await sleep(2)
}

// BENCH_TRACE: GC pauses and loop stalls, written with each paced or back-to-back run (bench/trace.ts).
const tail = TRACE_DIR ? new TailRecorder(TRACE_DIR) : null
const msSince = (ns: bigint) => Number(process.hrtime.bigint() - ns) / 1e6

function joinResult(startNs: bigint, connectedNs: bigint | null, shown: number): JoinResult {
  const now = process.hrtime.bigint()
  return {
    ms: Number(now - startNs) / 1e6,
    afterConnectMs: connectedNs === null ? NaN : Number(now - connectedNs) / 1e6,
    shown,
    rss: process.memoryUsage().rss
  }
}

/** The page is the latest one: `page` messages, with the last of `total` (or a newer one). */
function isLatestPage(texts: string[], order: JoinMessage): boolean {
  if (texts.length < Math.min(order.page, order.total)) return false
  return texts.some((t) => (parseHeader(t)?.seq ?? -1) >= order.total - 1)
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
      // A socket write completes synchronously; an awaited send yields to the event loop
      // once so the frame is flushed to the kernel before the next one is written.
      if (payloads.length === 1) await immediate()
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
            if (!block) return
            // A packed block holds several payloads of blockBytes each.
            for (let at = 0; at + init.blockBytes <= block.byteLength; at += init.blockBytes) {
              deliver(block.toString('latin1', at, at + 64), now)
            }
          },
          () => {}
        )
      }
    })
  }

  const swarm = createSwarm(init)
  let connectedNs: bigint | null = null
  swarm.on('connection', (conn: Hyperswarm.Connection) => {
    debug(`connection ${conn.remotePublicKey.toString('hex', 0, 4)}`)
    connectedNs ??= process.hrtime.bigint()
    conn.on('error', () => {})
    conn.on('close', () => debug('connection closed'))
    store.replicate(conn)
  })
  // Announced before the reader starts looking, so it finds the writer on its first lookup.
  const discovery = swarm.join(core.discoveryKey!, {
    server: init.role === 'writer',
    client: true
  })
  if (init.role === 'writer') await discovery.flushed()

  return {
    key: core.key!,
    transport: {
      async send(payloads, pack) {
        if (!pack) {
          await core.append(payloads.map((p) => b4a.from(p, 'latin1')))
          return
        }
        const perBlock = Math.max(1, Math.floor(TARGET_BLOCK_BYTES / init.blockBytes))
        const blocks: Buffer[] = []
        for (let i = 0; i < payloads.length; i += perBlock) {
          blocks.push(b4a.from(payloads.slice(i, i + perBlock).join(''), 'latin1'))
        }
        await core.append(blocks)
      },
      connected: () => waitFor(() => core.peers.length > 0, core, 'peer-add'),
      async join(order, startNs) {
        // A sparse replica: learn the length, then fetch only the last page of blocks.
        await waitFor(() => core.peers.length > 0, core, 'peer-add')
        while (core.length < order.total) {
          await core.update({ wait: true })
          if (core.length < order.total) await sleep(POLL_MS)
        }
        const from = core.length - order.page
        const blocks = await Promise.all(
          Array.from({ length: order.page }, (_, i) => core.get(from + i))
        )
        const texts = blocks.map((b) => (b ? b.toString('latin1', 0, 64) : ''))
        if (!isLatestPage(texts, order)) throw new Error('hypercore: not the latest page')
        return joinResult(startNs, connectedNs, texts.length)
      },
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

async function backspaceTransport(
  init: InitMessage,
  deliver: Deliver
): Promise<{ transport: Transport; invite: string }> {
  const node = new Backspace({ storage: init.dir, bootstrap: init.bootstrap, ...LOOPBACK_LIMITS })
  node.on('error', (err) => fail(err))
  await node.ready()
  const room = init.create
    ? await node.createRoom({ name: 'bench' })
    : await node.join(init.coreKey ?? init.rendezvous)
  room.on('error', (err) => fail(err))
  room.on('reject', (e) => fail(new Error(`rejected block: ${e.reason}`)))
  let connectedNs: bigint | null = room.stats.peers > 0 ? process.hrtime.bigint() : null
  room.on('peer-add', () => {
    connectedNs ??= process.hrtime.bigint()
  })
  // Every role listens: a writer never expects anything, except a seeder that counts writers.
  room.on('message', (m) => deliver(m.text, process.hrtime.bigint()))
  const stored = init.role === 'reader' ? storedTracker(node, room) : null
  const transport: Transport = {
    async send(payloads) {
      // Sends in one tick are appended as one batch.
      await Promise.all(payloads.map((p) => room.send(p)))
    },
    async connected() {
      await waitFor(() => room.stats.peers > 0, room, 'peer-add')
      // The reader must know the writer's core before anything is sent.
      if (init.role === 'reader') await waitFor(() => room.stats.writers > 1, room, 'writer-add')
    },
    async join(order, startNs) {
      // The sparse join an app does: ask for the latest page until it holds the newest message.
      for (;;) {
        const page = await room.messages({ limit: order.page })
        const texts = page.map((m) => m.text)
        if (isLatestPage(texts, order)) return joinResult(startNs, connectedNs, texts.length)
        await sleep(POLL_MS)
      }
    },
    ownBlocks: () => room.stats.ownBlocks,
    flush: () => room.flush(),
    takeStored: stored ? () => stored.take() : undefined,
    async close() {
      await stored?.close()
      await node.close()
    }
  }
  return { transport, invite: room.invite }
}

/**
 * When a Backspace reader has stored and verified blocks ("confirmed"), as opposed to showing
 * them: a session on each writer core of the room, sampled on its `append` and `download`
 * events and every STORED_POLL_MS, recording each growth of the longest contiguous length.
 * The library has no public hook for this, so the sessions are opened on the node's Corestore
 * (a private field). The reader never writes, so the longest replica is the writer's.
 */
const STORED_POLL_MS = 5
function storedTracker(node: Backspace, room: { on: Function }) {
  const store = (node as unknown as { store: Corestore | null }).store
  const sessions: Hypercore[] = []
  let timeline: Array<[string, number]> = []
  let longest = 0
  const sample = () => {
    let len = 0
    for (const c of sessions) len = Math.max(len, c.contiguousLength)
    if (len > longest) {
      longest = len
      timeline.push([String(process.hrtime.bigint()), len])
    }
  }
  room.on('writer-add', (key: Buffer) => {
    if (!store) return
    const core = store.get({ key })
    sessions.push(core)
    core.on('append', sample)
    core.on('download', sample)
    core.ready().then(sample, () => {})
  })
  const timer = setInterval(sample, STORED_POLL_MS)
  return {
    take() {
      sample()
      const out = timeline
      timeline = []
      return out
    },
    async close() {
      clearInterval(timer)
      await Promise.all(sessions.map((c) => c.close().catch(() => {})))
    }
  }
}

// ---------------------------------------------------------------------------
// Cabal: cabal-core over a TCP socket on 127.0.0.1 (never its public swarm)
// ---------------------------------------------------------------------------

async function cabalTransport(
  init: InitMessage,
  deliver: Deliver
): Promise<{ transport: Transport; key: string; port: number | null }> {
  const { Cabal, ram } = loadCabal()
  // On disk (random-access-file under the worker's directory), as a Cabal client runs.
  const storage = init.kind === 'cabal' ? init.dir : ram
  const cabal = init.role === 'writer' ? Cabal(storage) : Cabal(storage, init.coreKey)
  await cabalReady(cabal)
  const sockets = new Set<net.Socket>()
  let connectedNs: bigint | null = null
  let helloSeen = false
  const pipe = (socket: net.Socket, initiator: boolean) => {
    connectedNs ??= process.hrtime.bigint()
    sockets.add(socket)
    socket.setNoDelay(true)
    const stream = cabal.replicate(initiator)
    socket.on('error', () => {})
    stream.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    socket.pipe(stream).pipe(socket)
  }
  let newestSeq = -1
  cabal.messages.events.on(CHANNEL, (m: CabalMessage) => {
    const now = process.hrtime.bigint()
    helloSeen = true
    const text = m.value.content.text
    deliver(text, now)
    if (init.role === 'joiner') newestSeq = Math.max(newestSeq, parseHeader(text)?.seq ?? -1)
  })

  let server: net.Server | null = null
  let port: number | null = null
  if (init.role === 'writer') {
    const srv = net.createServer((socket) => pipe(socket, false))
    server = srv
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()))
    port = (srv.address() as net.AddressInfo).port
    // The reader is connected once it has read this one (it learnt the writer's feed).
    await publishText(cabal, 'hello')
  } else {
    const socket = net.connect(init.port!, '127.0.0.1')
    pipe(socket, true)
  }
  const emitter = cabal.messages.events
  return {
    key: cabal.key,
    port,
    transport: {
      async send(payloads) {
        await Promise.all(payloads.map((p) => publishText(cabal, p)))
      },
      async connected() {
        if (init.role === 'writer') {
          await new Promise<void>((resolve) => {
            if (sockets.size > 0) return resolve()
            server!.once('connection', () => resolve())
          })
        } else {
          await waitFor(() => helloSeen, emitter, CHANNEL)
        }
      },
      async join(order, startNs) {
        // Cabal has no sparse mode: the latest page shows once every message was downloaded
        // and indexed, as its views index each feed in order.
        await until(() => newestSeq >= order.total - 1)
        const page = await readLatest(cabal, order.page)
        const texts = page.map((m) => m.value.content.text)
        if (!isLatestPage(texts, order)) throw new Error('cabal: not the latest page')
        return joinResult(startNs, connectedNs, texts.length)
      },
      async close() {
        for (const s of sockets) s.destroy()
        if (server) await new Promise<void>((resolve) => server!.close(() => resolve()))
        await closeCabal(cabal)
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Central WebSocket relay: clients of the relay server (bench/ws-relay.ts)
// ---------------------------------------------------------------------------

async function wsTransport(init: InitMessage, deliver: Deliver, history = 0): Promise<Transport> {
  const url = `ws://127.0.0.1:${init.port}/${encodeURIComponent(init.rendezvous)}?history=${history}`
  const ws = new WebSocket(url, { perMessageDeflate: false })
  let historyPage: string[] | null = null
  let onHistory: (() => void) | null = null
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const now = process.hrtime.bigint()
    const text = isBinary ? data.toString('latin1') : data.toString()
    if (text.startsWith('H')) {
      historyPage = JSON.parse(text.slice(1)) as string[]
      onHistory?.()
      return
    }
    deliver(text, now)
  })
  ws.on('error', (err) => fail(err))
  const openNs = await new Promise<bigint>((resolve, reject) => {
    ws.once('open', () => resolve(process.hrtime.bigint()))
    ws.once('error', reject)
  })
  return {
    async send(payloads) {
      if (payloads.length === 1) {
        await new Promise<void>((resolve, reject) =>
          ws.send(payloads[0]!, (err) => (err ? reject(err) : resolve()))
        )
        return
      }
      for (const p of payloads) ws.send(p)
    },
    connected: async () => {},
    async join(order, startNs) {
      if (!historyPage) await new Promise<void>((resolve) => (onHistory = resolve))
      const texts = historyPage!
      if (!isLatestPage(texts, order)) throw new Error('ws: not the latest page')
      return joinResult(startNs, openNs, texts.length)
    },
    async close() {
      ws.close()
      await new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve()
        ws.once('close', () => resolve())
        setTimeout(resolve, 1000)
      })
    }
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
const seen = new Set<number>()
// With BENCH_TRACE: the seq of each latency, in the same order.
const shownSeqs: number[] = []
// With ExpectMessage.idleMs: this process's CPU over the run, and its idle rate before it.
let runCpu: { end: () => ReceiverCpu } | null = null

const cpuUs = (): number => {
  const u = process.cpuUsage()
  return u.user + u.system
}

/** This process's idle CPU over `idleMs`, then a meter started now. */
async function meterAfterIdle(idleMs: number): Promise<{ end: () => ReceiverCpu }> {
  const idleFrom = cpuUs()
  const idleStart = process.hrtime.bigint()
  await new Promise((r) => setTimeout(r, idleMs))
  const idleUsPerS = (cpuUs() - idleFrom) / (Number(process.hrtime.bigint() - idleStart) / 1e9)
  const from = cpuUs()
  const start = process.hrtime.bigint()
  return { end: () => ({ us: cpuUs() - from, ms: Number(process.hrtime.bigint() - start) / 1e6, idleUsPerS }) }
}

function deliver(text: string, arrivedNs: bigint): void {
  const head = parseHeader(text)
  if (!head || !expecting || head.tag !== expecting.tag) return
  // Count each payload once, whatever path brought it.
  if (seen.has(head.seq)) return
  seen.add(head.seq)
  got++
  latencies.push(Number(arrivedNs - head.stampNs) / 1000)
  if (tail) shownSeqs.push(head.seq)
  if (expecting.report) post({ type: 'got', seq: head.seq })
  if (got === expecting.count) {
    const done = expecting
    expecting = null
    const cpu = runCpu ? runCpu.end() : undefined
    runCpu = null
    const stored = transport?.takeStored?.() ?? null
    tail?.write(`shown-${done.tag}`, { latencies, seqs: shownSeqs.splice(0) }).catch(fail)
    post({ type: 'received', tag: done.tag, count: got, lastNs: String(arrivedNs), latencies, stored, cpu })
  }
}

function payloadBytes(): number {
  const i = init!
  if (i.kind === 'swarm') return i.frameBytes
  if (i.kind === 'hypercore' || i.kind === 'hypercore-encrypted') return i.blockBytes
  return i.textBytes
}

async function sequence(order: SequenceMessage): Promise<void> {
  const t = transport!
  const bytes = payloadBytes()
  const firstNs = process.hrtime.bigint()
  const stored: number[] = []
  const stamps: string[] = []
  const blocksBefore = t.ownBlocks?.() ?? null
  const intervalNs = BigInt(Math.round(order.intervalMs * 1e6))
  if (order.tag === 'p') await tail?.profile()
  for (let i = 0; i < order.count; i++) {
    if (intervalNs > 0n) {
      // A fixed rate: payload i is due at first + i × interval, whatever the sends took.
      const waitMs = Number(firstNs + BigInt(i) * intervalNs - process.hrtime.bigint()) / 1e6
      if (waitMs > 0) await sleep(waitMs)
    }
    const payload = makePayload(order.tag, i, bytes)
    const startNs = parseHeader(payload)!.stampNs
    stamps.push(String(startNs))
    await t.send([payload])
    stored.push(Number(process.hrtime.bigint() - startNs) / 1000)
  }
  const storedNs = String(process.hrtime.bigint())
  // Sends resolve once shown and sent; the last few may still wait for their append.
  await t.flush?.()
  const blocksAfter = t.ownBlocks?.() ?? null
  // One block per awaited send: the log length after send i is before + i + 1.
  const blocks =
    blocksBefore !== null && blocksAfter === blocksBefore + order.count
      ? stamps.map((_, i) => blocksBefore + i + 1)
      : null
  await tail?.write(`sent-${order.tag}`, { stamps, stored })
  post({ type: 'sent', tag: order.tag, firstNs: String(firstNs), storedNs, stored, stamps, blocks })
}

async function burst(order: BurstMessage): Promise<void> {
  const t = transport!
  const bytes = payloadBytes()
  const firstNs = process.hrtime.bigint()
  const sends: Promise<void>[] = []
  if (order.batch > 0) {
    for (let i = 0; i < order.count; i += order.batch) {
      const n = Math.min(order.batch, order.count - i)
      const payloads: string[] = []
      for (let j = 0; j < n; j++) payloads.push(makePayload(order.tag, i + j, bytes))
      sends.push(t.send(payloads, order.pack))
    }
  } else {
    for (let i = 0; i < order.count; i++) sends.push(t.send([makePayload(order.tag, i, bytes)]))
  }
  await Promise.all(sends)
  post({
    type: 'sent',
    tag: order.tag,
    firstNs: String(firstNs),
    storedNs: String(process.hrtime.bigint()),
    stored: [],
    stamps: [],
    blocks: null
  })
}

async function start(msg: InitMessage): Promise<void> {
  init = msg
  let coreKey: string | null = null
  let port: number | null = null
  // A joiner's clock starts before its node or client exists: it begins with empty storage.
  const startNs = process.hrtime.bigint()
  if (msg.kind === 'ws' && msg.role === 'server') {
    const relay = await startRelay()
    post({ type: 'ready', coreKey: null, port: relay.port })
    transport = { send: async () => {}, connected: async () => {}, close: relay.close }
    return
  }
  if (msg.kind === 'swarm') {
    transport = await swarmTransport(msg, deliver)
  } else if (msg.kind === 'backspace') {
    const made = await backspaceTransport(msg, deliver)
    transport = made.transport
    if (msg.create) coreKey = made.invite
  } else if (isCabal(msg.kind)) {
    const made = await cabalTransport(msg, deliver)
    transport = made.transport
    coreKey = made.key
    port = made.port
  } else if (msg.kind === 'ws') {
    transport = await wsTransport(msg, deliver, msg.role === 'joiner' ? 50 : 0)
  } else {
    const made = await hypercoreTransport(msg, deliver)
    transport = made.transport
    coreKey = made.key.toString('hex')
  }
  debug('ready')
  if (msg.role === 'joiner') {
    joinStart = startNs
    post({ type: 'ready', coreKey, port })
    return
  }
  post({ type: 'ready', coreKey, port })
  await transport.connected()
  debug('connected')
  post({ type: 'connected' })
}

let joinStart = 0n

async function join(order: JoinMessage): Promise<void> {
  const t = transport!
  if (!t.join) throw new Error(`${init!.kind} has no join`)
  const result = await t.join(order, joinStart)
  debug(`joined in ${msSince(joinStart).toFixed(1)} ms`)
  post({ type: 'joined', ...result })
}

process.on('message', (msg: ParentMessage) => {
  switch (msg.type) {
    case 'init':
      start(msg).catch(fail)
      break
    case 'expect': {
      const begin = (meter: { end: () => ReceiverCpu } | null) => {
        runCpu = meter
        expecting = msg
        got = 0
        latencies = []
        seen.clear()
        post({ type: 'expecting' })
      }
      if (msg.idleMs) meterAfterIdle(msg.idleMs).then(begin, fail)
      else begin(null)
      break
    }
    case 'sequence':
      sequence(msg).catch(fail)
      break
    case 'burst':
      burst(msg).catch(fail)
      break
    case 'join':
      join(msg).catch(fail)
      break
    case 'take-stored':
      post({ type: 'stored', stored: transport?.takeStored?.() ?? [] })
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
