// The room-size workloads (issue 11), Backspace only, every node on 127.0.0.1 on the bench's
// own testnet, each bounded in count and time:
//
//   fanout   N members (10, 25, 50; 80 with --full), one sender at a fixed rate (10 msg/s):
//            p50 and p99 of what the others show, time until all have all, CPU per message
//            of the sender and of a receiver, connections and RSS per member.
//   chain    four members forced into a line A - B - C - D (each node's swarm refuses every
//            other peer): delivery 1, 2 and 3 hops from the writer, in the same run.
//   catchup  a member goes offline, the writer sends 10,000 messages that a relay keeps, the
//            writer leaves; the member comes back to the relay alone: time to the latest page,
//            to every message, and its RSS against its own idle RSS.
//   rooms    a member in 100 rooms (another member online in each): RSS, open fds, idle CPU.
//
// Each member is a process of its own while there are at most `maxProcs` of them; past it,
// several nodes share a process and the results say how many.

import fs from 'fs/promises'
import path from 'path'
import { setTimeout as sleep } from 'timers/promises'
import { progress, summarize, Worker, type LatencyStats } from './harness.js'
import type { CatchupResult, MeshMessage, MeshOrder, NodeReceipt, CoreProgress } from './mesh-worker.js'

type Net = { bootstrap: Array<{ host: string; port: number }>; root: string }
type Mesh = Worker<MeshMessage>

export interface MeshConfig {
  members: number[]
  /** The most member processes; past it, nodes share processes. */
  maxProcs: number
  /** Messages of the fan-out and chain workloads, sent at `intervalMs`. */
  messages: number
  intervalMs: number
  catchupTotal: number
  rooms: number
  textBytes: number
  page: number
  /** Before the fan-out's run: a settle after the warm-up, then the window whose CPU is the idle rate (ms). */
  settleMs: number
  idleMs: number
}

/** Over the receivers of one run, at its deadline. */
export interface Shortfall {
  /** Receivers that had not shown every payload. */
  members: number
  /** Withdrawals of shown payloads (a payload shown again after one counts as delivered). */
  withdrawn: number
  /** Catch-up gaps left meanwhile: a writer's latest page shown, older blocks left for paging back. */
  gaps: number
  /**
   * Writers found behind with nothing reading them, and read again by the room's sweep
   * (lib/room/history.ts): each a read that should have been started and was not.
   */
  stalls?: number
  /** Waits for a block that Hypercore ended empty, asked again (lib/room/feed.ts), all members. */
  emptyReads?: number
  /** Members short 2 s after the last send, and where their copies of the sender's core stood then. */
  late?: number
  lateAt?: Array<CoreProgress & { missing: number }>
  /** Where the short members' copies of the sender's core stood (see `CoreProgress`). */
  behind?: CoreProgress[]
}

function shortfallOf(nodes: NodeReceipt[], count: number): Shortfall {
  return {
    members: nodes.filter((r) => r.got < count).length,
    withdrawn: nodes.reduce((sum, r) => sum + r.withdrawn, 0),
    gaps: nodes.reduce((sum, r) => sum + r.gaps, 0),
    stalls: nodes.reduce((sum, r) => sum + (r.stalls ?? 0), 0),
    emptyReads: nodes.reduce((sum, r) => sum + (r.emptyReads ?? 0), 0),
    late: nodes.filter((r) => r.late).length,
    lateAt: nodes.flatMap((r) => (r.late ? [r.late] : [])),
    behind: nodes.flatMap((r) => (r.got < count && r.behind ? [r.behind] : []))
  }
}

function span(values: number[]): string {
  const lo = Math.min(...values)
  const hi = Math.max(...values)
  return lo === hi ? String(lo) : `${lo}-${hi}`
}

function shortText(s: Shortfall | undefined): string {
  if (!s) return ''
  const notes = [
    s.stalls ? `${s.stalls} stalled reads restarted` : '',
    s.emptyReads ? `${s.emptyReads} empty waits asked again` : '',
    s.late ? `${s.late} members short 2 s after the last send, missing ${span((s.lateAt ?? []).map((p) => p.missing))} (${where(s.lateAt ?? [])})` : ''
  ].filter((n) => n !== '')
  const noted = notes.length > 0 ? ` [${notes.join('; ')}]` : ''
  if (s.members === 0) return noted
  const b = s.behind ?? []
  return `: ${s.members} members short, ${s.withdrawn} payloads withdrawn, ${s.gaps} catch-up gaps${noted}` + (b.length > 0 ? ` (${where(b)})` : '')
}

// Where members' copies of the sender's core stood.
function where(b: CoreProgress[]): string {
  if (b.length === 0) return ''
  return (
    `their copy of the sender's core: verified ${span(b.map((p) => p.length))}, stored ${span(b.map((p) => p.contiguous))},` +
    ` read ${span(b.map((p) => p.read))}, ${span(b.map((p) => p.unconfirmed))} live waiting, ${span(b.map((p) => p.sessions))} sessions,` +
    ` ${b.filter((p) => p.pumping).length} reading, ${b.filter((p) => p.storing).length} storing, ${b.filter((p) => !p.admitted).length} on trial, ${b.filter((p) => !p.fetchable).length} not to fetch, reads tried again ${span(b.map((p) => p.retried))}` +
    `${b.some((p) => p.next) ? `; asked for the next block: ${[...new Set(b.map((p) => p.next ?? 'none'))].join(', ')}` : ''}` +
    `; last read error: ${[...new Set(b.map((p) => p.fetchError ?? 'none'))].join(', ')}` +
    `; last read ended: ${[...new Set(b.map((p) => p.readEnd))].join(' | ')}` +
    `; reads that ended empty ${span(b.map((p) => p.emptyReads ?? 0))}, blocks not asked for: over the quota ${span(b.map((p) => p.notFetched?.quota ?? 0))}, on trial ${span(b.map((p) => p.notFetched?.gated ?? 0))}` +
    `; bytes counted against the quota ${span(b.map((p) => Math.round((p.bytes ?? 0) / 1024)))} KiB, the room's ${span(b.map((p) => Math.round((p.quota?.used ?? 0) / 1024)))} KiB` +
    ` (reached: ${[...new Set(b.map((p) => p.quota?.reached ?? 'none'))].join(', ')}; refusals ${span(b.map((p) => p.quota?.refused ?? 0))})` +
    `, ${b.filter((p) => p.fresh).length} still new, ${b.filter((p) => p.ownerKnown === false).length} with the writer unknown` +
    `, ${b.filter((p) => p.senders === false).length} not known to be the sender's` +
    `; placed: ${b.filter((p) => p.placed?.writerOnline).length} connected to the sender, ${b.filter((p) => p.placed?.narrowed).length} idle,` +
    ` ${span(b.map((p) => p.placed?.picks ?? 0))} picks, opened ${span(b.map((p) => p.placed?.opened ?? 0))}, answered ${span(b.map((p) => p.placed?.answered ?? 0))},` +
    ` closed ${span(b.map((p) => p.placed?.closed ?? 0))}, tells pending ${span(b.map((p) => p.placed?.tell ?? 0))}` +
    `, ${b.filter((p) => p.placed?.writerOnline && p.placed.writerSeesMe === false).length} connected to a sender not connected to them` +
    `; last room error: ${[...new Set(b.map((p) => p.roomError ?? 'none'))].join(' | ')}`
  )
}

export interface FanoutResult {
  members: number
  processes: number
  nodesPerProcess: number
  messages: number
  rate: number
  /** Shown, ms, over every receiver and message. */
  latency: LatencyStats
  /** Deliveries that happened / expected (receivers × messages). */
  delivered: number
  expected: number
  /** From the last send to the last receiver showing every message, ms (null: not all within the deadline). */
  allHaveAllMs: number | null
  /** Why deliveries fell short, if they did (see `Shortfall`). */
  shortfall?: Shortfall
  senderCpuPerMsgMs: number
  receiverCpuPerMsgMs: number
  /** The same processes' CPU over `idleMs` just before the run, while the room is quiet: ms of CPU per second. */
  senderIdleCpuMsPerS: number
  receiverIdleCpuMsPerS: number
  /** CPU per message less what the idle rate would have burnt over the run's duration. */
  senderNetCpuPerMsgMs: number
  receiverNetCpuPerMsgMs: number
  /**
   * After the paced run, the same sender sends `backToBack.messages` back to back (each send
   * awaited, then the next): a receiver's CPU per message then, gross and net of the idle rate,
   * the cost the paced figure is held to (within 2x).
   */
  backToBack?: {
    messages: number
    /** From the first send to the last receiver showing every message, ms (null: not all within the deadline). */
    durationMs: number | null
    receiverCpuPerMsgMs: number
    receiverNetCpuPerMsgMs: number
    shortfall?: Shortfall
  } | null
  /**
   * With BENCH_PACED_AGAIN, the paced run repeated after the back-to-back one, in the same
   * room: CPU per message once the code on the message path has run a few hundred times.
   */
  pacedAgain?: { senderCpuPerMsgMs: number; receiverCpuPerMsgMs: number; receiverNetCpuPerMsgMs: number } | null
  connectionsPerMember: { mean: number; min: number; max: number }
  /**
   * Connections closed for silence (`connectionTimeout`) by all the nodes: from their start to
   * the end of the run, and during the paced run alone.
   */
  timedOut: number
  timedOutPaced: number
  /** Resident memory of a receiving member's process (÷ nodes per process), bytes. */
  rssPerMember: number
  /** The JS heap a receiving member's process holds after a full collection (÷ nodes per process), bytes. */
  liveHeapPerMember: number
  /** The same processes' RSS right after that collection (÷ nodes per process), bytes: without the garbage of the run. */
  rssAfterGcPerMember?: number
  /**
   * How far `rssPerMember` may be off: the standard error of the mean over the receiving
   * processes (their RSS ÷ nodes, sample standard deviation ÷ √processes), bytes. Null with
   * one receiving process.
   */
  rssPerMemberError?: number | null
  senderRss: number
  /** Every member showed the 3 warm-up messages within 90 s before the measured run. */
  warmed: boolean
  /**
   * How the warm-up spread: ms from its first send until each member showed all three
   * (members that did: p50, p90, the last), and where the members that did not stood.
   */
  warmup?: {
    shownBy: number
    of: number
    p50Ms: number | null
    p90Ms: number | null
    lastMs: number | null
    short: Shortfall
    /** How long the sender took over its three sends (ms): the spacing is 400 of it. */
    sendMs?: number
  }
  /**
   * From the warm-up's end until no member's connection count changed (the mesh stopped
   * forming; see `meshSettled`), ms; null if it still changed after MESH_SETTLE_MAX_MS.
   */
  meshSettledMs?: number | null
}

export interface ChainResult {
  messages: number
  rate: number
  /** Index = hops from the writer (1, 2, 3). */
  hops: Array<{ hops: number; latency: LatencyStats; delivered: number }>
  /** Connections of each node of the line once settled; a forced line is 1, 2, 2, 1. */
  connections: number[]
}

export interface CatchupFigure extends CatchupResult {
  total: number
  /** The same member's RSS while online, joined and idle, before it went offline. */
  rssIdle: number
  /** The relay had the writer's whole log before the writer left. */
  relayHadAll: boolean
}

export interface RoomsResult {
  rooms: number
  rssBefore: number
  rss: number
  fds: number
  fdsBefore: number
  /** CPU of the member's process over IDLE_SECONDS once settled, % of one core. */
  idleCpuPercent: number
}

export interface MeshResults {
  fanout: Record<string, FanoutResult>
  chain: ChainResult | null
  catchup: CatchupFigure | null
  rooms: RoomsResult | null
}

const STEP = 120_000
const IDLE_SECONDS = 10
const SETTLE_MS = 5_000
// The fan-out's back-to-back run sends this many times the paced run's messages.
const BACK_TO_BACK_FACTOR = 3

function mesh(name: string): Mesh {
  return new Worker<MeshMessage>('mesh', name, 'mesh-worker.js')
}

function order(w: Mesh, msg: MeshOrder): void {
  w.send(msg)
}

/** Processes started at once: forking fifty Node processes together on two cores starves them all. */
const START_CONCURRENCY = 4

/** Forks the processes `names` a few at a time and opens their nodes; `made` gets each as it is forked. */
async function startAll(
  names: string[],
  net: Net,
  counts: number[],
  prefix: string,
  made: Mesh[],
  relay: boolean[] = []
): Promise<Array<{ dir: string; keys: string[] }>> {
  const out: Array<{ dir: string; keys: string[] }> = []
  let next = 0
  const lane = async () => {
    while (next < names.length) {
      const i = next++
      const w = mesh(names[i]!)
      made[i] = w
      const dir = await fs.mkdtemp(path.join(net.root, `${prefix}-${i}-`))
      order(w, { type: 'start', bootstrap: net.bootstrap, dir, count: counts[i]!, relay: relay[i] ?? false })
      out[i] = { dir, keys: (await w.next('started', STEP)).keys }
    }
  }
  await Promise.all(Array.from({ length: START_CONCURRENCY }, lane))
  return out
}

async function closeAll(ws: Mesh[]): Promise<void> {
  await Promise.all(ws.map((w) => w.close()))
}

/** When the last of these receipts' nodes showed its last payload (hrtime ns; 0n if none did). */
function lastShown(nodes: NodeReceipt[]): bigint {
  return nodes.reduce((m, r) => (r.lastNs && BigInt(r.lastNs) > m ? BigInt(r.lastNs) : m), 0n)
}

/** The standard error of the mean of `xs` (sample deviation ÷ √n); null for fewer than two. */
function standardError(xs: number[]): number | null {
  if (xs.length < 2) return null
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length
  const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1)
  return Math.sqrt(variance / xs.length)
}

/** Every listed process counts `count` payloads of `tag` while `send` runs. */
async function deliver(
  receivers: Mesh[],
  tag: 'w' | 'p' | 'l' | 'h',
  count: number,
  deadlineMs: number,
  send: () => Promise<Extract<MeshMessage, { type: 'sent' }>>,
  sender?: Mesh
) {
  for (const w of receivers) order(w, { type: 'expect', tag, count, deadlineMs })
  await Promise.all(receivers.map((w) => w.next('expecting')))
  const sent = await send()
  // Where every member still short stood when the 80-member target's 2 s were up.
  let marked = false
  const marking = setTimeout(() => {
    marked = true
    for (const w of receivers) order(w, { type: 'mark' })
    if (sender) order(sender, { type: 'channels' })
  }, 2000)
  const got = await Promise.all(receivers.map((w) => w.next('received', deadlineMs + STEP)))
  clearTimeout(marking)
  // Asked only if the mark came before everyone had everything.
  if (sender && marked) {
    // Whether the sender had a channel open to each member its copy says it is connected to.
    const seen = new Set((await sender.next('channels', STEP)).nodes[0]?.members ?? [])
    for (const g of got) for (const r of g.nodes) if (r.late?.placed && r.late.self !== null) r.late.placed.writerSeesMe = seen.has(r.late.self)
  }
  return { sent, got }
}

async function cpuOf(ws: Mesh[], gc = false): Promise<Array<{ cpuMs: number; rss: number; fds: number; peers: number[]; liveHeap: number; timedOut: number }>> {
  for (const w of ws) order(w, { type: 'stats', gc })
  return Promise.all(ws.map((w) => w.next('stats')))
}

/**
 * Waits until no member's connection count changed over three looks `cfg.settleMs` apart (6 s;
 * a smoke run's 0.3 s): how long that took (ms), or null if it still changed after
 * MESH_SETTLE_MAX_MS. Small rooms settle at once.
 */
const MESH_SETTLE_MAX_MS = 180_000
async function meshSettled(ws: Mesh[], cfg: MeshConfig): Promise<number | null> {
  const start = Date.now()
  let last = ''
  let steadySince = start
  while (Date.now() - start < MESH_SETTLE_MAX_MS) {
    const now = (await cpuOf(ws)).flatMap((s) => s.peers).join(',')
    if (now !== last) {
      last = now
      steadySince = Date.now()
    } else if (Date.now() - steadySince >= 3 * cfg.settleMs) {
      return steadySince - start
    }
    await sleep(cfg.settleMs)
  }
  return null
}

/**
 * Three warm-up messages that every member should show before the measured run; true when
 * they all did within WARMUP_MS. The run goes on either way and counts what arrives.
 */
const WARMUP_MS = 90_000
async function warm(sender: Mesh, receivers: Mesh[], cfg: MeshConfig): Promise<{ warmed: boolean; warmup: NonNullable<FanoutResult['warmup']> }> {
  const { sent, got } = await deliver(receivers, 'w', 3, WARMUP_MS, async () => {
    order(sender, { type: 'sequence', tag: 'w', count: 3, intervalMs: 200, textBytes: cfg.textBytes })
    return sender.next('sent', STEP)
  })
  const nodes = got.flatMap((g) => g.nodes)
  // When a member had all three, from the first send, at most: the slowest one's latency plus
  // the 400 ms between the first send and the last.
  const done = nodes.filter((r) => r.got >= 3).map((r) => Math.max(...r.latencies) / 1000 + 400).sort((a, b) => a - b)
  const at = (q: number) => (done.length === 0 ? null : done[Math.min(done.length - 1, Math.floor((q * done.length) / 100))]!)
  return {
    warmed: got.every((g) => g.complete),
    warmup: {
      shownBy: done.length,
      of: nodes.length,
      p50Ms: at(50),
      p90Ms: at(90),
      lastMs: done.length ? done[done.length - 1]! : null,
      short: shortfallOf(nodes, 3),
      sendMs: Number(BigInt(sent.lastNs) - BigInt(sent.firstNs)) / 1e6
    }
  }
}

export async function fanout(n: number, net: Net, cfg: MeshConfig): Promise<FanoutResult> {
  const receiversCount = n - 1
  const processes = Math.min(receiversCount, Math.max(1, cfg.maxProcs - 1))
  const perProc = Math.ceil(receiversCount / processes)
  const counts = Array.from({ length: processes }, (_, i) =>
    Math.max(0, Math.min(perProc, receiversCount - i * perProc))
  ).filter((c) => c > 0)
  const all: Mesh[] = []
  try {
    progress(`fanout ${n}: starting ${counts.length + 1} processes (${perProc} node${perProc > 1 ? 's' : ''} each)`)
    const names = ['sender', ...counts.map((_, i) => `members ${i}`)]
    await startAll(names, net, [1, ...counts], `fanout${n}`, all)
    const [sender, ...receivers] = all as [Mesh, ...Mesh[]]
    order(sender, { type: 'create', count: 1 })
    const { invites } = await sender.next('created', STEP)
    for (const w of receivers) order(w, { type: 'join', invites })
    await Promise.all(receivers.map((w) => w.next('joined', STEP)))
    const { warmed, warmup } = await warm(sender, receivers, cfg)
    if (!warmed) progress(`fanout ${n}: not every member showed the warm-up within ${WARMUP_MS / 1000} s; measuring anyway${shortText(warmup.short)}`)
    // A large room keeps connecting for a while after everyone has a message: the run below
    // measures the room formed, not forming.
    const meshSettledMs = await meshSettled([sender, ...receivers], cfg)
    if (meshSettledMs === null) progress(`fanout ${n}: connections still changing after ${MESH_SETTLE_MAX_MS / 1000} s; measuring anyway`)
    // The room's quiet cost (keep-alives, DHT upkeep, timers), measured over the same processes,
    // so that CPU per message can be read net of it as well as gross.
    await sleep(cfg.settleMs)
    const idleFrom = await cpuOf([sender, ...receivers])
    const idleStart = process.hrtime.bigint()
    await sleep(cfg.idleMs)
    const before = await cpuOf([sender, ...receivers])
    const idleSeconds = Number(process.hrtime.bigint() - idleStart) / 1e9
    const runStart = process.hrtime.bigint()
    // Generous: on a loaded host a big room's sender falls far behind its rate.
    const deadlineMs = cfg.messages * cfg.intervalMs + 60_000 + n * 3000
    progress(`fanout ${n}: ${cfg.messages} messages at ${1000 / cfg.intervalMs} msg/s`)
    const { sent, got } = await deliver(receivers, 'p', cfg.messages, deadlineMs, async () => {
      order(sender, { type: 'sequence', tag: 'p', count: cfg.messages, intervalMs: cfg.intervalMs, textBytes: cfg.textBytes })
      return sender.next('sent', deadlineMs)
    }, sender)
    const after = await cpuOf([sender, ...receivers])
    const runSeconds = Number(process.hrtime.bigint() - runStart) / 1e9
    // The same room back to back: the cost per message the paced one is held to.
    const burstCount = cfg.messages * BACK_TO_BACK_FACTOR
    const burstStart = process.hrtime.bigint()
    const burst = await deliver(receivers, 'l', burstCount, deadlineMs, async () => {
      order(sender, { type: 'sequence', tag: 'l', count: burstCount, intervalMs: 0, textBytes: cfg.textBytes })
      return sender.next('sent', deadlineMs)
    }, sender)
    const afterBurst = await cpuOf([sender, ...receivers])
    const burstSeconds = Number(process.hrtime.bigint() - burstStart) / 1e9
    // BENCH_PACED_AGAIN: the paced run once more, now that the code on its path has run a few
    // hundred times: how much of its cost is V8 still compiling it (docs/PERFORMANCE.md).
    let pacedAgain: FanoutResult['pacedAgain'] = null
    if (process.env.BENCH_PACED_AGAIN) {
      const from = await cpuOf([sender, ...receivers])
      const start = process.hrtime.bigint()
      await deliver(receivers, 'h', cfg.messages, deadlineMs, async () => {
        order(sender, { type: 'sequence', tag: 'h', count: cfg.messages, intervalMs: cfg.intervalMs, textBytes: cfg.textBytes })
        return sender.next('sent', deadlineMs)
      }, sender)
      const to = await cpuOf([sender, ...receivers])
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      let spent = 0
      let idle = 0
      for (let i = 1; i < to.length; i++) {
        spent += to[i]!.cpuMs - from[i]!.cpuMs
        idle += (before[i]!.cpuMs - idleFrom[i]!.cpuMs) / idleSeconds
      }
      pacedAgain = {
        senderCpuPerMsgMs: (to[0]!.cpuMs - from[0]!.cpuMs) / cfg.messages,
        receiverCpuPerMsgMs: spent / receiversCount / cfg.messages,
        receiverNetCpuPerMsgMs: (spent - idle * seconds) / receiversCount / cfg.messages
      }
    }
    // Last, since a full collection costs CPU: what the members hold, not what V8 reserved.
    const heaps = await cpuOf([sender, ...receivers], true)
    const nodes: NodeReceipt[] = got.flatMap((g) => g.nodes)
    const complete = got.every((g) => g.complete)
    const lastSent = BigInt(sent.lastStampNs)
    const lastGot = lastShown(nodes)
    const peers = after.flatMap((a) => a.peers)
    const cpu = (i: number) => after[i]!.cpuMs - before[i]!.cpuMs
    const idleRate = (i: number) => (before[i]!.cpuMs - idleFrom[i]!.cpuMs) / idleSeconds
    let receiverCpu = 0
    let receiverIdle = 0
    for (let i = 1; i < after.length; i++) {
      receiverCpu += cpu(i)
      receiverIdle += idleRate(i)
    }
    const receiverIdlePerMember = receiverIdle / receiversCount
    let burstCpu = 0
    for (let i = 1; i < afterBurst.length; i++) burstCpu += afterBurst[i]!.cpuMs - after[i]!.cpuMs
    const burstLast = lastShown(burst.got.flatMap((g) => g.nodes))
    const burstComplete = burst.got.every((g) => g.complete)
    const receiverRss = after.slice(1).reduce((s, a) => s + a.rss, 0)
    return {
      members: n,
      processes: counts.length + 1,
      nodesPerProcess: perProc,
      messages: cfg.messages,
      rate: 1000 / cfg.intervalMs,
      latency: summarize(nodes.flatMap((r) => r.latencies)),
      delivered: nodes.reduce((s, r) => s + r.got, 0),
      expected: receiversCount * cfg.messages,
      allHaveAllMs: complete ? Number(lastGot - lastSent) / 1e6 : null,
      shortfall: shortfallOf(nodes, cfg.messages),
      senderCpuPerMsgMs: cpu(0) / cfg.messages,
      receiverCpuPerMsgMs: receiverCpu / receiversCount / cfg.messages,
      senderIdleCpuMsPerS: idleRate(0),
      receiverIdleCpuMsPerS: receiverIdlePerMember,
      senderNetCpuPerMsgMs: (cpu(0) - idleRate(0) * runSeconds) / cfg.messages,
      receiverNetCpuPerMsgMs: (receiverCpu / receiversCount - receiverIdlePerMember * runSeconds) / cfg.messages,
      backToBack: {
        messages: burstCount,
        durationMs: burstComplete ? Number(burstLast - BigInt(burst.sent.firstNs)) / 1e6 : null,
        receiverCpuPerMsgMs: burstCpu / receiversCount / burstCount,
        receiverNetCpuPerMsgMs: (burstCpu / receiversCount - receiverIdlePerMember * burstSeconds) / burstCount,
        shortfall: shortfallOf(burst.got.flatMap((g) => g.nodes), burstCount)
      },
      pacedAgain,
      connectionsPerMember: {
        mean: peers.reduce((a, b) => a + b, 0) / peers.length,
        min: Math.min(...peers),
        max: Math.max(...peers)
      },
      timedOut: heaps.reduce((sum, h) => sum + h.timedOut, 0),
      timedOutPaced: after.reduce((sum, h) => sum + h.timedOut, 0) - before.reduce((sum, h) => sum + h.timedOut, 0),
      rssPerMember: receiverRss / receiversCount,
      rssPerMemberError: standardError(after.slice(1).map((a, i) => a.rss / counts[i]!)),
      liveHeapPerMember: heaps.slice(1).reduce((sum, h) => sum + h.liveHeap, 0) / receiversCount,
      rssAfterGcPerMember: heaps.slice(1).reduce((sum, h) => sum + h.rss, 0) / receiversCount,
      senderRss: after[0]!.rss,
      warmed,
      warmup,
      meshSettledMs
    }
  } finally {
    await closeAll(all.filter(Boolean))
  }
}

export async function chain(net: Net, cfg: MeshConfig): Promise<ChainResult> {
  const line: Mesh[] = []
  try {
    progress('chain: four members in a forced line A - B - C - D')
    const started = await startAll(['chain 0', 'chain 1', 'chain 2', 'chain 3'], net, [1, 1, 1, 1], 'chain', line)
    const keys = started.map((s) => s.keys[0]!)
    line.forEach((w, i) => {
      const allow = [keys[i - 1], keys[i + 1]].filter((k): k is string => k !== undefined)
      order(w, { type: 'allow', allow: [allow] })
    })
    await Promise.all(line.map((w) => w.next('allowed')))
    const [writer, ...rest] = line as [Mesh, ...Mesh[]]
    order(writer, { type: 'create', count: 1 })
    const { invites } = await writer.next('created', STEP)
    for (const w of rest) order(w, { type: 'join', invites })
    await Promise.all(rest.map((w) => w.next('joined', STEP)))
    if (!(await warm(writer, rest, cfg)).warmed) progress('chain: not every member showed the warm-up; measuring anyway')
    const deadlineMs = cfg.messages * cfg.intervalMs + 60_000
    progress(`chain: ${cfg.messages} messages at ${1000 / cfg.intervalMs} msg/s`)
    const { got } = await deliver(rest, 'p', cfg.messages, deadlineMs, async () => {
      order(writer, { type: 'sequence', tag: 'p', count: cfg.messages, intervalMs: cfg.intervalMs, textBytes: cfg.textBytes })
      return writer.next('sent', deadlineMs)
    })
    const stats = await cpuOf(line)
    return {
      messages: cfg.messages,
      rate: 1000 / cfg.intervalMs,
      hops: got.map((g, i) => ({ hops: i + 1, latency: summarize(g.nodes[0]!.latencies), delivered: g.nodes[0]!.got })),
      connections: stats.map((s) => s.peers[0] ?? NaN)
    }
  } finally {
    await closeAll(line.filter(Boolean))
  }
}

export async function catchup(net: Net, cfg: MeshConfig): Promise<CatchupFigure> {
  const made: Mesh[] = []
  let member: Mesh | null = null
  const all = () => [...made, ...(member ? [member] : [])].filter(Boolean)
  try {
    progress(`catchup: a member, a writer and a relay; ${cfg.catchupTotal.toLocaleString('en-US')} messages while the member is away`)
    const names = ['catchup writer', 'catchup relay', 'catchup member']
    const [, , m] = await startAll(names, net, [1, 1, 1], 'catchup', made, [false, true, false])
    const [writer, relay, first] = made as [Mesh, Mesh, Mesh]
    const memberDir = m!.dir
    order(writer, { type: 'create', count: 1 })
    const { invites, relayLinks } = await writer.next('created', STEP)
    order(relay, { type: 'join', invites: relayLinks })
    order(first, { type: 'join', invites })
    await Promise.all([relay.next('joined', STEP), first.next('joined', STEP)])
    if (!(await warm(writer, [first], cfg)).warmed) throw new Error('the member never showed the warm-up messages')
    await sleep(SETTLE_MS)
    const [idle] = await cpuOf([first])
    await first.close()
    order(writer, { type: 'burst', tag: 'p', count: cfg.catchupTotal, perTick: 100, textBytes: cfg.textBytes, deadlineMs: STEP })
    const sent = await writer.next('sent', 2 * STEP)
    const relayHadAll = sent.delivered >= sent.ownBlocks
    await writer.close()
    progress(`catchup: the writer left (the relay ${relayHadAll ? 'had' : 'did NOT have'} its whole log); the member comes back`)
    member = mesh('catchup member again')
    order(member, { type: 'start', bootstrap: net.bootstrap, dir: memberDir, count: 1 })
    await member.next('started', STEP)
    order(member, { type: 'catchup', tag: 'p', total: cfg.catchupTotal, page: cfg.page, deadlineMs: STEP })
    const { type: _t, ...result } = await member.next('caught-up', 2 * STEP)
    return { ...result, total: cfg.catchupTotal, rssIdle: idle!.rss, relayHadAll }
  } finally {
    await closeAll(all())
  }
}

export async function manyRooms(net: Net, cfg: MeshConfig): Promise<RoomsResult> {
  const made: Mesh[] = []
  try {
    progress(`rooms: a member in ${cfg.rooms} rooms, another member online in each`)
    await startAll(['rooms member', 'rooms other'], net, [1, 1], 'rooms', made)
    const [member, other] = made as [Mesh, Mesh]
    await sleep(SETTLE_MS)
    const [before] = await cpuOf([member])
    order(member, { type: 'create', count: cfg.rooms })
    const { invites } = await member.next('created', STEP)
    order(other, { type: 'join', invites })
    await other.next('joined', STEP)
    order(member, { type: 'peers', min: 1 })
    await member.next('peered', STEP)
    await sleep(SETTLE_MS)
    const [a] = await cpuOf([member])
    await sleep(IDLE_SECONDS * 1000)
    const [b] = await cpuOf([member])
    return {
      rooms: cfg.rooms,
      rssBefore: before!.rss,
      rss: b!.rss,
      fds: b!.fds,
      fdsBefore: before!.fds,
      idleCpuPercent: ((b!.cpuMs - a!.cpuMs) / (IDLE_SECONDS * 1000)) * 100
    }
  } finally {
    await closeAll(made.filter(Boolean))
  }
}

export async function measureMesh(
  which: { fanout: boolean; chain: boolean; catchup: boolean; rooms: boolean },
  net: Net,
  cfg: MeshConfig,
  errors: string[]
): Promise<MeshResults> {
  const out: MeshResults = { fanout: {}, chain: null, catchup: null, rooms: null }
  const attempt = async <T>(what: string, run: () => Promise<T>): Promise<T | null> => {
    try {
      return await run()
    } catch (err) {
      const message = (err as Error).message
      errors.push(`${what}: ${message}`)
      progress(`${what}: FAILED ${message.split('\n')[0]}`)
      return null
    }
  }
  if (which.fanout) {
    for (const n of cfg.members) {
      const r = await attempt(`fanout ${n}`, () => fanout(n, net, cfg))
      if (r) {
        out.fanout[String(n)] = r
        progress(
          `fanout ${n}: p50 ${r.latency.p50.toFixed(2)} ms, p99 ${r.latency.p99.toFixed(2)} ms, ` +
            `${r.delivered}/${r.expected} delivered, sender ${r.senderCpuPerMsgMs.toFixed(2)} ms CPU/msg, ` +
            `receiver ${r.receiverCpuPerMsgMs.toFixed(2)} ms CPU/msg ` +
            `(net of idle: ${r.senderNetCpuPerMsgMs.toFixed(2)} / ${r.receiverNetCpuPerMsgMs.toFixed(2)}; ` +
            `idle ${r.senderIdleCpuMsPerS.toFixed(1)} / ${r.receiverIdleCpuMsPerS.toFixed(1)} ms/s)` +
            (r.meshSettledMs === undefined ? '' : `; connections settled ${r.meshSettledMs === null ? 'NEVER' : `${(r.meshSettledMs / 1000).toFixed(0)} s`} after the warm-up`) +
            `; ${r.timedOut} connections closed for silence (${r.timedOutPaced} during the paced run)` +
            (r.backToBack
              ? `; back to back ${r.backToBack.messages}: receiver ${r.backToBack.receiverCpuPerMsgMs.toFixed(2)} ms CPU/msg ` +
                `(net ${r.backToBack.receiverNetCpuPerMsgMs.toFixed(2)}), all had all ${r.backToBack.durationMs === null ? 'NOT ALL' : `${r.backToBack.durationMs.toFixed(0)} ms after the first send`}` +
                shortText(r.backToBack.shortfall)
              : '') +
            (r.pacedAgain
              ? `; paced again: sender ${r.pacedAgain.senderCpuPerMsgMs.toFixed(2)}, receiver ${r.pacedAgain.receiverCpuPerMsgMs.toFixed(2)} ms CPU/msg (net ${r.pacedAgain.receiverNetCpuPerMsgMs.toFixed(2)})`
              : '') +
            (shortText(r.shortfall) === '' ? '' : `; paced${shortText(r.shortfall)}`)
        )
      }
    }
  }
  if (which.chain) {
    out.chain = await attempt('chain', () => chain(net, cfg))
    if (out.chain) {
      progress(`chain: p50 ${out.chain.hops.map((h) => `${h.hops} hop ${h.latency.p50.toFixed(2)} ms`).join(', ')}`)
    }
  }
  if (which.catchup) {
    out.catchup = await attempt('catchup', () => catchup(net, cfg))
    if (out.catchup) {
      progress(
        `catchup: latest page ${out.catchup.latestPageMs.toFixed(0)} ms, all ${out.catchup.allShownMs?.toFixed(0) ?? 'NOT'} ms, ` +
          `peak RSS ${((out.catchup.rssPeak - out.catchup.rssIdle) / 2 ** 20).toFixed(0)} MiB over idle`
      )
    }
  }
  if (which.rooms) {
    out.rooms = await attempt('rooms', () => manyRooms(net, cfg))
    if (out.rooms) {
      progress(
        `rooms: ${out.rooms.rooms} rooms, RSS ${(out.rooms.rss / 2 ** 20).toFixed(0)} MiB, ${out.rooms.fds} fds, ` +
          `idle CPU ${out.rooms.idleCpuPercent.toFixed(1)}%`
      )
    }
  }
  return out
}
