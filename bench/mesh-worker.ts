// The room-size workloads' members (bench/mesh.ts): one or more Backspace nodes in one
// process, each a whole peer with its own identity, storage directory and Hyperswarm, bound
// to 127.0.0.1. The parent forks one process per member where the machine allows and says
// how many nodes each holds otherwise. Node 0 of a process is the one that creates rooms and
// sends; every node counts what it shows.

import fs from 'fs/promises'
import path from 'path'
import { setTimeout as sleep } from 'timers/promises'
import { Backspace, type Message, type Room } from '../lib/index.js'
import { workerChannel } from './child.js'
import { PhaseCounters, PhaseProfile, PROF_DIR, TRACE_DIR } from './trace.js'
import { LOOPBACK_LIMITS, makePayload, parseHeader, type Tag } from './protocol.js'

export type MeshOrder =
  /** Open `count` nodes under `dir` (existing storage is reopened, with its rooms). */
  | {
      type: 'start'
      bootstrap: Array<{ host: string; port: number }>
      dir: string
      count: number
      relay?: boolean
    }
  /**
   * Node i connects only to the swarm keys in allow[i] (a forced topology). Hyperswarm has a
   * `firewall` option; the library does not pass one through, so it is set on the node's swarm.
   */
  | { type: 'allow'; allow: string[][] }
  /** Node 0 creates `count` private rooms. */
  | { type: 'create'; count: number }
  /** Every node joins these invites (a relay node keeps the relay links instead). */
  | { type: 'join'; invites: string[] }
  /** Resolves once every node has at least `min` members online in its first room. */
  | { type: 'peers'; min: number }
  /** Every node counts payloads of `tag` until it has `count`, or `deadlineMs` passed. */
  | { type: 'expect'; tag: Tag; count: number; deadlineMs: number }
  /** Node 0 sends `count` payloads at a fixed rate (`intervalMs` apart; 0: back to back). */
  | { type: 'sequence'; tag: Tag; count: number; intervalMs: number; textBytes: number }
  /** Node 0 sends `count` payloads, `perTick` per event-loop turn, then waits for peers to fetch its log. */
  | { type: 'burst'; tag: Tag; count: number; perTick: number; textBytes: number; deadlineMs: number }
  /** The process's figures now. */
  | { type: 'stats'; gc?: boolean }
  /** A reopened member: time until its first room shows the latest page, then every message. */
  | { type: 'catchup'; tag: Tag; total: number; page: number; deadlineMs: number }
  /** The target's moment (2 s after the last send): where each node still short stood. */
  | { type: 'mark' }
  /** Which member devices each node's first room has a channel open to (the sender's, at the mark). */
  | { type: 'channels' }
  | { type: 'close' }

export interface NodeReceipt {
  got: number
  /** One-way, shown, µs. */
  latencies: number[]
  /** When the last payload arrived (ns), or null. */
  lastNs: string | null
  /**
   * Payloads of the tag withdrawn after they were shown (their Hypercore copy did not come in
   * time); one shown again afterwards counts in `got` again.
   */
  withdrawn: number
  /**
   * Gaps a catch-up left in the node's first room meanwhile: it showed a writer's latest page
   * and left older blocks for paging back (lib/room/history.ts).
   */
  gaps: number
  /** Stalled reads the node's first room restarted meanwhile (lib/room/history.ts, `stalls`). */
  stalls: number
  /**
   * For a node short at the deadline, where its copy of the sender's core stood (the remote
   * core that is longest in its first room); null otherwise.
   */
  behind: CoreProgress | null
  /**
   * For a node short at the target's moment (the `mark` order, 2 s after the last send), how
   * many payloads it lacked and where its copy of the sender's core stood; null otherwise.
   */
  late: (CoreProgress & { missing: number }) | null
  /** Waits for a block that Hypercore ended empty in the node's first room, over the run (all writers). */
  emptyReads: number
}

/** How far a node had a writer's core: verified, stored contiguously, and read (internal). */
export interface CoreProgress {
  /** Hypercore's verified length. */
  length: number
  contiguous: number
  /** Blocks below this were delivered (the room's `Feed.seen`). */
  read: number
  /** Blocks shown live, waiting for Hypercore. */
  unconfirmed: number
  /** Their indexes. */
  unconfirmedAt: number[]
  /** Live frames the room received so far, of any writer (LivePath.counts). */
  liveReceived: number
  /** Replication sessions of the core. */
  sessions: number
  /** Whether a read of it was running, and a store of blocks from their live copies. */
  pumping: boolean
  storing: boolean
  /** Whether the core was admitted (not on trial), and whether the block at `read` may be fetched. */
  admitted: boolean
  fetchable: boolean
  /** Reads the room tried again because a block could not be had (all its writers). */
  retried: number
  /** What Hypercore answered when asked for the block at `read` at the deadline (2 s). */
  next?: string
  /** The code of the last error a read of the core's blocks ended with, if any. */
  fetchError: string | null
  /** How the last read of the core's new blocks ended (the room's `Feed.readEnd`). */
  readEnd: string
  /** Waits for a block that Hypercore ended with no block and no error (`Feed.emptyReads`). */
  emptyReads: number
  /** Blocks its reads wanted and did not ask peers for, over the quota or on trial (`Feed.notFetched`). */
  notFetched: { quota: number; gated: number }
  /** Bytes of the core this node counts against its quota (`Feed.bytes`), and the room's quota figures. */
  bytes: number
  quota: { used: number; reached: string | null; refused: number } | null
  /** Whether the core was still new here (nothing read yet), and whether its writer was known. */
  fresh: boolean
  ownerKnown: boolean
  /** The room's latest stalled reads, restarted (`History.stalled`). */
  stalled: string[]
  /** The node's last background error in its rooms (code and message), if any. */
  roomError?: string
  /** Whether the core is the sender's (its writer signed the payloads shown), or only the longest remote one. */
  senders: boolean
  /** This node's device key, hex. */
  self: string | null
  /** Where the room's topology (lib/room/topology.ts) places the core, by its internals. */
  placed: TopologyView | null
}

/** The room's topology's view of one core (internal). */
export interface TopologyView {
  /** Member channels open, and whether one is to the core's writer (and its stream destroyed). */
  channels: number
  writerOnline: boolean
  writerStreamDestroyed: boolean | null
  /** Whether the topology takes the core as idle, and its picks while the writer is offline. */
  narrowed: boolean
  picks: number
  /** Over the channels: sessions this node opened, answered pairings, closed sessions, tells pending. */
  opened: number
  answered: number
  closed: number
  tell: number
  /** The lengths the core's sessions' peers announced. */
  remoteLengths: number[]
  /** The transport of the connection to the writer, if one is open (udx-native's figures). */
  writerLink: Record<string, number> | null
  /** Whether the writer's room had a channel open to this node at the mark (filled in by the parent). */
  writerSeesMe?: boolean
}

export interface MeshStats {
  rss: number
  /** user + system CPU of this process, ms. */
  cpuMs: number
  fds: number
  /** Open connections of each node. */
  peers: number[]
  /** Connections the process's nodes closed because nothing arrived on them for `connectionTimeout`. */
  timedOut: number
  /** The JS heap in use after a full collection, bytes (NaN unless asked and the process exposes gc). */
  liveHeap: number
}

export interface CatchupResult {
  /** From the process's start (before the node opened its storage) to the latest page shown. */
  latestPageMs: number
  /** To every payload shown, or paged back to (null: not within the deadline). */
  allShownMs: number | null
  shown: number
  rssAtLatestPage: number
  rssAtEnd: number
  /** The highest RSS sampled meanwhile (every 50 ms). */
  rssPeak: number
}

export type MeshMessage =
  | { type: 'started'; keys: string[] }
  | { type: 'allowed' }
  | { type: 'created'; invites: string[]; relayLinks: string[] }
  | { type: 'joined' }
  | { type: 'peered'; peers: number[] }
  | { type: 'expecting' }
  | { type: 'received'; nodes: NodeReceipt[]; complete: boolean }
  /** lastNs: when the last send resolved; lastStampNs: when the last payload was made (sent). */
  | { type: 'sent'; firstNs: string; lastNs: string; lastStampNs: string; ownBlocks: number; delivered: number }
  | ({ type: 'stats' } & MeshStats)
  | ({ type: 'caught-up' } & CatchupResult)
  | { type: 'channels'; nodes: Array<{ self: string | null; members: string[] }> }
  | { type: 'closed' }

const processStartNs = process.hrtime.bigint()
const { post, fail } = workerChannel<MeshMessage>()

let nodes: Backspace[] = []
let relayMode = false
const rooms: Room[][] = []
// The device key (hex) that signed the payloads shown: the sender's (see `longestFeed`).
let senderDevice: string | null = null

// What each node counts now.
interface Counter {
  tag: Tag
  count: number
  /** Payloads shown (and not withdrawn since), with their one-way latency in µs. */
  seen: Map<number, number>
  receipt: NodeReceipt
}
let counters: Counter[] = []
let onCount: (() => void) | null = null
/** What node 0 showed of each tag since it opened, for a catch-up that starts with the node. */
const shownByNode0 = new Map<string, Set<number>>()

/** Each node's last background error in its rooms, if any. */
const roomErrors = new Map<number, string>()

function listen(i: number, room: Room): void {
  // Background errors (a read that threw, say) end that work without a trace otherwise.
  room.on('error', (err: { code?: unknown; message?: unknown }) => {
    roomErrors.set(i, `${typeof err?.code === 'string' ? err.code : 'ERROR'}: ${String(err?.message ?? err).slice(0, 120)}`)
  })
  room.on('message', (m) => {
    const now = process.hrtime.bigint()
    const head = parseHeader(m.text)
    if (head && senderDevice === null) senderDevice = m.device.toString('hex')
    if (head && i === 0) {
      let set = shownByNode0.get(head.tag)
      if (!set) shownByNode0.set(head.tag, (set = new Set()))
      set.add(head.seq)
    }
    const c = counters[i]
    if (!c) return
    if (!head || head.tag !== c.tag || c.seen.has(head.seq)) return
    c.seen.set(head.seq, Number(now - head.stampNs) / 1000)
    c.receipt.got++
    c.receipt.lastNs = String(now)
    if (c.receipt.got >= c.count) onCount?.()
  })
  // A payload shown and then withdrawn is not delivered (unless it is shown again).
  room.on('message-withdrawn', (m) => {
    const head = parseHeader(m.text)
    const c = counters[i]
    if (!c || !head || head.tag !== c.tag || !c.seen.delete(head.seq)) return
    c.receipt.got--
    c.receipt.withdrawn++
  })
}

async function start(order: Extract<MeshOrder, { type: 'start' }>): Promise<void> {
  relayMode = !!order.relay
  nodes = await Promise.all(
    Array.from({ length: order.count }, async (_, i) => {
      const dir = path.join(order.dir, `n${i}`)
      await fs.mkdir(dir, { recursive: true })
      const node = new Backspace({
        storage: dir,
        bootstrap: order.bootstrap,
        relay: !!order.relay,
        ...LOOPBACK_LIMITS
      })
      node.on('error', () => {})
      await node.ready()
      return node
    })
  )
  nodes.forEach((node, i) => {
    rooms[i] = [...node.rooms]
    for (const room of rooms[i]!) listen(i, room)
  })
  post({ type: 'started', keys: nodes.map((n) => swarmOf(n)?.keyPair.publicKey.toString('hex') ?? '') })
}

interface SwarmInternals {
  keyPair: { publicKey: Buffer }
  _firewall: (remotePublicKey: Buffer, payload: unknown) => boolean
}

function swarmOf(node: Backspace): SwarmInternals | null {
  return (node as unknown as { swarm: SwarmInternals | null }).swarm
}

async function create(count: number): Promise<void> {
  const node = nodes[0]!
  const invites: string[] = []
  const relayLinks: string[] = []
  for (let r = 0; r < count; r++) {
    const room = await node.createRoom({ name: `bench ${r}` })
    rooms[0]!.push(room)
    listen(0, room)
    invites.push(room.invite)
    relayLinks.push(room.relayLink)
  }
  post({ type: 'created', invites, relayLinks })
}

async function join(invites: string[]): Promise<void> {
  await Promise.all(
    nodes.map(async (node, i) => {
      for (const invite of invites) {
        if (relayMode) {
          const kept = await node.keep(invite)
          kept.on('error', () => {})
          continue
        }
        const room = await node.join(invite)
        rooms[i]!.push(room)
        listen(i, room)
      }
    })
  )
  post({ type: 'joined' })
}

async function peers(min: number): Promise<void> {
  const count = (i: number) => rooms[i]?.[0]?.stats.peers ?? nodes[i]!.stats().peers
  while (!nodes.every((_, i) => count(i) >= min)) await sleep(20)
  post({ type: 'peered', peers: nodes.map((_, i) => count(i)) })
}

interface FeedInternals {
  local: boolean
  seen: number
  pumping: unknown
  storing: unknown
  admission: unknown
  fetchError: string | null
  readEnd: string
  emptyReads: number
  notFetched: { quota: number; gated: number }
  fresh: boolean
  owner: unknown
  bytes: number
  mayFetch(index: number): boolean
  unconfirmed: Map<number, unknown>
  core: {
    length: number
    contiguousLength: number
    peers: unknown[]
    has(index: number): Promise<boolean>
    get(index: number, opts: { wait: boolean; timeout: number }): Promise<unknown>
  }
}

type RoomInternals = {
  writers?: { values(): Iterable<FeedInternals> }
  history?: { retried?: unknown; stalled?: string[] }
  stats?: { quota?: { used: number; reached: string | null; refused: number } }
}

// The longest remote core in node i's first room (the sender's, in the fan-out).
// Node i's copy of the sender's core: the one its writer's device signed the payloads shown
// with, or, before any was shown, the longest remote core in node i's first room.
function longestFeed(i: number): FeedInternals | null {
  const room = rooms[i]?.[0] as unknown as RoomInternals | undefined
  if (room?.writers === undefined) throw new Error('a room no longer keeps its writers')
  let best: FeedInternals | null = null
  for (const feed of room.writers.values()) {
    if (feed.local) continue
    if (senderDevice !== null && Buffer.isBuffer(feed.owner) && feed.owner.toString('hex') === senderDevice) return feed
    if (best === null || feed.core.length > best.core.length) best = feed
  }
  return best
}

interface TopologyInternals {
  channels: Iterable<{ member: boolean; opened: boolean; deviceHex: string | null; stream: { destroyed?: boolean; rawStream?: Record<string, unknown> } }>
  narrowed: WeakSet<object>
  placed: WeakMap<object, Map<object, { opened: boolean; answered: boolean; closed: boolean; tell: boolean }>>
  sortedPicks(feed: object): unknown[]
}

// Node i's device key, hex: the owner of its own core in its first room.
function selfOf(i: number): string | null {
  const room = rooms[i]?.[0] as unknown as RoomInternals | undefined
  for (const feed of room?.writers?.values() ?? []) if (feed.local && Buffer.isBuffer(feed.owner)) return feed.owner.toString('hex')
  return null
}

// Which member devices each node's first room has a channel open to.
function channelsOf(i: number): string[] {
  const topology = (rooms[i]?.[0] as unknown as { topology?: TopologyInternals } | undefined)?.topology
  const out: string[] = []
  for (const channel of topology?.channels ?? []) if (channel.member && channel.opened && channel.deviceHex !== null) out.push(channel.deviceHex)
  return out
}

// Where node i's room places `feed`'s core (internal to lib/room/topology.ts).
function topologyOf(i: number, feed: FeedInternals): TopologyView | null {
  const topology = (rooms[i]?.[0] as unknown as { topology?: TopologyInternals } | undefined)?.topology
  if (topology === undefined || typeof topology.sortedPicks !== 'function') throw new Error('a room no longer keeps its topology')
  const owner = Buffer.isBuffer(feed.owner) ? feed.owner.toString('hex') : null
  const view: TopologyView = {
    channels: 0,
    writerOnline: false,
    writerStreamDestroyed: null,
    narrowed: topology.narrowed.has(feed),
    picks: topology.sortedPicks(feed).length,
    opened: 0,
    answered: 0,
    closed: 0,
    tell: 0,
    remoteLengths: (feed.core.peers as Array<{ remoteLength?: number }>).map((p) => p.remoteLength ?? -1),
    writerLink: null
  }
  for (const channel of topology.channels) {
    if (!channel.member || !channel.opened) continue
    view.channels++
    if (owner !== null && channel.deviceHex === owner) {
      view.writerOnline = true
      view.writerStreamDestroyed = channel.stream.destroyed === true
      const raw = channel.stream.rawStream
      if (raw) {
        view.writerLink = {}
        for (const k of ['rtt', 'cwnd', 'rtoCount', 'retransmits', 'fastRecoveries', 'inflight', 'bytesTransmitted', 'bytesReceived', 'packetsReceived']) {
          const v = raw[k]
          if (typeof v === 'number') view.writerLink[k] = v
        }
      }
    }
    const p = topology.placed.get(channel.stream)?.get(feed.core)
    if (p === undefined) continue
    if (p.opened) view.opened++
    if (p.answered) view.answered++
    if (p.closed) view.closed++
    if (p.tell) view.tell++
  }
  return view
}

// Node i's copy of the sender's core.
function progressOf(i: number): CoreProgress | null {
  const room = rooms[i]?.[0] as unknown as RoomInternals | undefined
  if (typeof room?.history?.retried !== 'number') throw new Error('a room no longer keeps history.retried')
  if (!Array.isArray(room.history.stalled)) throw new Error('a room no longer keeps history.stalled')
  const best = longestFeed(i)
  if (best === null) return null
  return {
    length: best.core.length,
    contiguous: best.core.contiguousLength,
    read: best.seen,
    unconfirmed: best.unconfirmed.size,
    unconfirmedAt: [...best.unconfirmed.keys()].sort((a, b) => a - b),
    liveReceived: liveCountsOf(i).received,
    sessions: best.core.peers.length,
    pumping: best.pumping !== null,
    storing: best.storing !== null,
    admitted: best.admission !== null,
    fetchable: best.mayFetch(best.seen),
    fetchError: best.fetchError,
    readEnd: best.readEnd,
    emptyReads: best.emptyReads,
    notFetched: { ...best.notFetched },
    bytes: best.bytes,
    quota: room.stats?.quota ? { ...room.stats.quota } : null,
    fresh: best.fresh,
    ownerKnown: best.owner !== null,
    stalled: [...room.history.stalled],
    retried: room.history.retried as number,
    senders: senderDevice !== null && Buffer.isBuffer(best.owner) && best.owner.toString('hex') === senderDevice,
    placed: topologyOf(i, best),
    self: selfOf(i)
  }
}

interface LiveCounts {
  storedLive: number
  fetchedAfterLive: number
  forwarded: number
  received: number
}

// Node i's first room's live-path counters (internal to the room).
function liveCountsOf(i: number): LiveCounts {
  const room = rooms[i]?.[0] as unknown as { live?: { counts?: LiveCounts } } | undefined
  const counts = room?.live?.counts
  if (room !== undefined && typeof counts?.received !== 'number') throw new Error('a room no longer keeps live.counts')
  return { storedLive: 0, fetchedAfterLive: 0, forwarded: 0, received: 0, ...counts }
}

// The catch-up gaps node i's first room left so far (internal to the room's history).
function gapsOf(i: number): number {
  const room = rooms[i]?.[0] as unknown as { history?: { gaps?: unknown } } | undefined
  if (room === undefined) return 0
  const gaps = room.history?.gaps
  // Loudly, so the bench's smoke test notices when the room's internals move.
  if (typeof gaps !== 'number') throw new Error('a room no longer keeps history.gaps')
  return gaps
}

// The waits for a block Hypercore ended empty, over node i's first room's writers.
function emptyReadsOf(i: number): number {
  const room = rooms[i]?.[0] as unknown as RoomInternals | undefined
  if (room === undefined) return 0
  let sum = 0
  for (const feed of room.writers?.values() ?? []) sum += feed.emptyReads
  return sum
}

// Where each node still short stands at the target's moment (see the `mark` order).
function mark(): void {
  counters.forEach((c, i) => {
    if (c.receipt.got >= c.count || c.receipt.late !== null) return
    const progress = progressOf(i)
    if (progress) c.receipt.late = { ...progress, missing: c.count - c.receipt.got }
  })
}

// The stalled reads node i's first room restarted so far (internal to the room's history).
function stallsOf(i: number): number {
  const room = rooms[i]?.[0] as unknown as { history?: { stalls?: unknown } } | undefined
  if (room === undefined) return 0
  const stalls = room.history?.stalls
  if (typeof stalls !== 'number') throw new Error('a room no longer keeps history.stalls')
  return stalls
}

async function expect(order: Extract<MeshOrder, { type: 'expect' }>): Promise<void> {
  // BENCH_TRACE: what this process did over the paced run (bench/trace.ts).
  const phase = TRACE_DIR && order.tag === 'p' ? new PhaseCounters() : null
  const liveBefore = phase ? nodes.map((_, i) => liveCountsOf(i)) : []
  const profile = PROF_DIR && order.tag === 'p' ? new PhaseProfile() : null
  await profile?.start()
  counters = nodes.map(() => ({
    tag: order.tag,
    count: order.count,
    seen: new Map<number, number>(),
    receipt: { got: 0, latencies: [], lastNs: null, withdrawn: 0, gaps: 0, stalls: 0, behind: null, late: null, emptyReads: 0 }
  }))
  const gapsBefore = nodes.map((_, i) => gapsOf(i))
  const stallsBefore = nodes.map((_, i) => stallsOf(i))
  const emptyBefore = nodes.map((_, i) => emptyReadsOf(i))
  const done = () => counters.every((c) => c.receipt.got >= c.count)
  post({ type: 'expecting' })
  const complete = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), order.deadlineMs)
    onCount = () => {
      if (!done()) return
      clearTimeout(timer)
      resolve(true)
    }
    onCount()
  })
  onCount = null
  counters.forEach((c, i) => {
    c.receipt.latencies = [...c.seen.values()]
    c.receipt.gaps = gapsOf(i) - gapsBefore[i]!
    c.receipt.stalls = stallsOf(i) - stallsBefore[i]!
    c.receipt.emptyReads = emptyReadsOf(i) - emptyBefore[i]!
    // Read for every node, so that the smoke test notices when the room's internals move.
    const progress = progressOf(i)
    if (c.receipt.got < c.count && progress) {
      c.receipt.behind = progress
      const error = roomErrors.get(i)
      if (error !== undefined) progress.roomError = error
    }
  })
  // What a short member's Hypercore says when asked for the next block it has not read.
  await Promise.all(
    counters.map(async (c, i) => {
      const behind = c.receipt.behind
      const feed = behind ? longestFeed(i) : null
      if (!behind || !feed || feed.seen >= feed.core.length) return
      const at = feed.seen
      behind.next = await Promise.all([feed.core.has(at), feed.core.get(at, { wait: true, timeout: 2000 })]).then(
        ([has]) => `had (stored: ${has})`,
        (err: { code?: string; message?: string }) => err.code ?? err.message ?? String(err)
      )
    })
  )
  await profile?.stop(path.join(PROF_DIR!, `mesh-${process.pid}.cpuprofile`))
  if (phase) {
    const counts = phase.stop()
    await fs.mkdir(TRACE_DIR!, { recursive: true })
    // What each node's live path did meanwhile: frames received, passed on, stored, downloaded again.
    const live = nodes.map((_, i) => {
      const now = liveCountsOf(i)
      const before = liveBefore[i]!
      return Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (before[k as keyof LiveCounts] ?? 0)]))
    })
    await fs.writeFile(path.join(TRACE_DIR!, `mesh-${process.pid}.json`), JSON.stringify({ nodes: nodes.length, ...counts, live }))
  }
  post({ type: 'received', nodes: counters.map((c) => c.receipt), complete })
}

async function sequence(order: Extract<MeshOrder, { type: 'sequence' }>): Promise<void> {
  const room = rooms[0]![0]!
  const firstNs = process.hrtime.bigint()
  const intervalNs = BigInt(Math.round(order.intervalMs * 1e6))
  let lastStampNs = firstNs
  for (let i = 0; i < order.count; i++) {
    const waitMs = Number(firstNs + BigInt(i) * intervalNs - process.hrtime.bigint()) / 1e6
    if (waitMs > 0) await sleep(waitMs)
    const payload = makePayload(order.tag, i, order.textBytes)
    lastStampNs = parseHeader(payload)!.stampNs
    await room.send(payload)
  }
  const s = room.stats
  post({
    type: 'sent',
    firstNs: String(firstNs),
    lastNs: String(process.hrtime.bigint()),
    lastStampNs: String(lastStampNs),
    ownBlocks: s.ownBlocks,
    delivered: s.delivered
  })
}

async function burst(order: Extract<MeshOrder, { type: 'burst' }>): Promise<void> {
  const room = rooms[0]![0]!
  const firstNs = process.hrtime.bigint()
  for (let i = 0; i < order.count; i += order.perTick) {
    const sends: Promise<unknown>[] = []
    for (let j = i; j < Math.min(order.count, i + order.perTick); j++) {
      sends.push(room.send(makePayload(order.tag, j, order.textBytes)))
    }
    await Promise.all(sends)
  }
  const lastNs = process.hrtime.bigint()
  // Until a peer (the relay) fetched the whole log.
  const deadline = Date.now() + order.deadlineMs
  while (room.stats.delivered < room.stats.ownBlocks && Date.now() < deadline) await sleep(50)
  const s = room.stats
  post({
    type: 'sent',
    firstNs: String(firstNs),
    lastNs: String(lastNs),
    lastStampNs: String(lastNs),
    ownBlocks: s.ownBlocks,
    delivered: s.delivered
  })
}

async function stats(gc = false): Promise<MeshStats> {
  const cpu = process.cpuUsage()
  // After the CPU reading: the collection's own CPU is not counted in the window that ends here.
  const collect = (globalThis as { gc?: () => void }).gc
  let liveHeap = NaN
  if (gc && collect) {
    collect()
    liveHeap = process.memoryUsage().heapUsed
  }
  let fds = NaN
  try {
    fds = (await fs.readdir('/proc/self/fd')).length
  } catch {}
  return {
    rss: process.memoryUsage().rss,
    cpuMs: (cpu.user + cpu.system) / 1000,
    fds,
    peers: nodes.map((n) => n.stats().peers),
    timedOut: nodes.reduce((sum, n) => sum + n.stats().timedOut, 0),
    liveHeap
  }
}

async function catchup(order: Extract<MeshOrder, { type: 'catchup' }>): Promise<void> {
  const room = rooms[0]![0]
  if (!room) throw new Error('the reopened member has no room')
  let seen = shownByNode0.get(order.tag)
  if (!seen) shownByNode0.set(order.tag, (seen = new Set()))
  let rssPeak = 0
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50)
  const since = () => Number(process.hrtime.bigint() - processStartNs) / 1e6
  const deadline = Date.now() + order.deadlineMs
  try {
    // The latest page, as an app asks for it.
    let latestPageMs = NaN
    let rssAtLatestPage = NaN
    while (Date.now() < deadline) {
      const page = await room.messages({ limit: order.page })
      const seqs = page.map((m) => parseHeader(m.text)?.seq ?? -1)
      if (page.length >= order.page && seqs.includes(order.total - 1)) {
        latestPageMs = since()
        rssAtLatestPage = process.memoryUsage().rss
        break
      }
      await sleep(10)
    }
    // The rest on demand, as a reader scrolling back asks for it: page after page, each
    // fetched from the relay as it is asked for. Each payload counts once, shown or paged.
    const paged = new Set<number>(seen)
    let oldest: Message | null = null
    const first = await room.messages({ limit: order.page })
    for (const m of first) paged.add(parseHeader(m.text)?.seq ?? -1)
    oldest = first[0] ?? null
    while (paged.size < order.total && oldest !== null && Date.now() < deadline) {
      const older = await room.messages({ limit: order.page, before: oldest })
      if (older.length === 0) break
      for (const m of older) paged.add(parseHeader(m.text)?.seq ?? -1)
      oldest = older[0]!
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss)
    }
    paged.delete(-1)
    const allShownMs = paged.size >= order.total ? since() : null
    const rssAtEnd = process.memoryUsage().rss
    post({
      type: 'caught-up',
      latestPageMs,
      allShownMs,
      shown: paged.size,
      rssAtLatestPage,
      rssAtEnd,
      // The 50 ms sampler can miss the moments measured directly.
      rssPeak: Math.max(rssPeak, Number.isFinite(rssAtLatestPage) ? rssAtLatestPage : 0, rssAtEnd)
    })
  } finally {
    clearInterval(sampler)
  }
}

process.on('message', (msg: MeshOrder) => {
  const run = (p: Promise<unknown>) => p.catch(fail)
  switch (msg.type) {
    case 'start':
      run(start(msg))
      break
    case 'allow':
      nodes.forEach((node, i) => {
        const swarm = swarmOf(node)
        const allowed = new Set(msg.allow[i] ?? [])
        if (swarm) swarm._firewall = (remote: Buffer) => !allowed.has(remote.toString('hex'))
      })
      post({ type: 'allowed' })
      break
    case 'create':
      run(create(msg.count))
      break
    case 'join':
      run(join(msg.invites))
      break
    case 'peers':
      run(peers(msg.min))
      break
    case 'expect':
      run(expect(msg))
      break
    case 'sequence':
      run(sequence(msg))
      break
    case 'burst':
      run(burst(msg))
      break
    case 'stats':
      run(stats(msg.gc === true).then((s) => post({ type: 'stats', ...s })))
      break
    case 'catchup':
      run(catchup(msg))
      break
    case 'mark':
      mark()
      break
    case 'channels':
      post({ type: 'channels', nodes: nodes.map((_, i) => ({ self: selfOf(i), members: channelsOf(i) })) })
      break
    case 'close':
      run(
        Promise.all(nodes.map((n) => n.close())).then(() => {
          post({ type: 'closed' })
          process.disconnect()
        })
      )
      break
  }
})
