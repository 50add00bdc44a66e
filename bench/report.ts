// The table a run prints (Markdown, pasted as is into docs/PERFORMANCE.md): headline ratios,
// targets, then every workload. Every figure is the median of the run's repetitions.

import type { Kind } from './protocol.js'
import type { FanoutResult } from './mesh.js'
import { LABELS, type Results } from './results.js'

const ms = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x.toFixed(2) : '–')
const int = (x: number | undefined) =>
  x !== undefined && Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–'
const mib = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? (x / 2 ** 20).toFixed(0) : '–')
const ratio = (x: number) => (Number.isFinite(x) ? `${x < 0.1 ? x.toFixed(3) : x.toFixed(2)}x` : '–')
const range = (xs: number[]) => {
  const f = xs.filter(Number.isFinite)
  return f.length > 1 ? `${ms(Math.min(...f))}–${ms(Math.max(...f))}` : ''
}

export interface Target {
  name: string
  measured: string
  pass: boolean | null
}

// The memory target's slope is read over rooms of at least this many members, and needs them
// this many members apart (see headline).
const MEMORY_MIN_MEMBERS = 10
const MEMORY_MIN_SPAN = 30

/** The least-squares slope of y over x through `points`; NaN with fewer than two distinct x. */
export function slope(points: Array<[number, number]>): number {
  const n = points.length
  if (n < 2) return NaN
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  let sxy = 0
  let sxx = 0
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my)
    sxx += (x - mx) ** 2
  }
  return sxx === 0 ? NaN : sxy / sxx
}

/**
 * The standard error of the least-squares slope through points at `x` whose y each have the
 * given standard error (independent): NaN with fewer than two distinct x.
 */
export function slopeError(points: Array<[number, number]>): number {
  if (points.length < 2) return NaN
  const mx = points.reduce((s, [x]) => s + x, 0) / points.length
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0)
  if (sxx === 0) return NaN
  // slope = Σ (x - x̄) y / Sxx, so its variance is Σ (x - x̄)² σ² / Sxx².
  return Math.sqrt(points.reduce((s, [x, e]) => s + (x - mx) ** 2 * e ** 2, 0)) / sxx
}

/**
 * The memory target, read from fan-out rooms (see `headline`): the slope of a receiving
 * member's RSS over the room's size, with twice its standard error where the runs report one;
 * and the live heap's slope, for the ratios.
 */
export function memoryPerMember(fan: FanoutResult[]): { target: Target | null; ratio: string | null } {
  let target: Target | null = null
  let ratio: string | null = null
  // The rooms the slope is read from: those of one node per process (a process's baseline is
  // shared among its nodes, so a figure per member from two nodes a process is not one from
  // one), and of 10 members or more when there are two (a small room's figure is one or two
  // processes' RSS).
  const sizes = fan
    .filter((f) => f.nodesPerProcess === 1)
    .sort((a, b) => a.members - b.members)
  const large = sizes.filter((f) => f.members >= MEMORY_MIN_MEMBERS)
  const fs = large.length >= 2 ? large : sizes
  const lo = fs[0]
  const hi = fs.at(-1)
  if (lo && hi && hi.members > lo.members) {
    const x = slope(fs.map((f) => [f.members, f.rssPerMember / 2 ** 20]))
    const name = `memory per member online ≤ 0.1 MiB (a member's RSS, ${fs.map((f) => f.members).join(' → ')} members)`
    const errors = fs.map((f) => f.rssPerMemberError)
    const error = errors.every((e): e is number => typeof e === 'number' && e > 0)
      ? slopeError(fs.map((f, i) => [f.members, errors[i]! / 2 ** 20]))
      : NaN
    if (Number.isFinite(error)) {
      // Twice the slope's standard error either side: a pass or a miss only when all of
      // that range is on one side of the target.
      const within = `${x.toFixed(2)} ± ${(2 * error).toFixed(2)} MiB`
      const verdict = x + 2 * error <= 0.1 ? true : x - 2 * error > 0.1 ? false : null
      target = ({
        name,
        measured: verdict === null ? `${within}: the processes' RSS spread is too wide to tell` : within,
        pass: verdict
      })
    } else if (hi.members - lo.members < MEMORY_MIN_SPAN) {
      // A process's RSS swings by a few MiB from run to run: over fewer members than this,
      // that swing is larger than what the target allows for all of them together.
      target = ({ name, measured: `${x.toFixed(2)} MiB: too few members apart to tell 0.1 MiB (run 10 → 50)`, pass: null })
    } else {
      // A slope below zero says the run could not resolve the cost per member, not that the
      // target is met.
      target = ({
        name,
        measured: x < 0 ? `${x.toFixed(2)} MiB (RSS fell as members were added: noise larger than the cost)` : `${x.toFixed(2)} MiB`,
        pass: x < 0 ? null : pass(x <= 0.1, x)
      })
    }
    const live = slope(fs.map((f) => [f.members, f.liveHeapPerMember / 2 ** 20]))
    const afterGc = fs.every((f) => f.rssAfterGcPerMember !== undefined)
      ? slope(fs.map((f) => [f.members, f.rssAfterGcPerMember! / 2 ** 20]))
      : NaN
    if (Number.isFinite(live)) {
      ratio = (
        `live JS heap per member online (after a full collection, ${fs.map((f) => f.members).join(' → ')} members) = ${live.toFixed(2)} MiB` +
          (Number.isFinite(afterGc) ? `; RSS right after that collection ${afterGc.toFixed(2)} MiB per member` : '') +
          `; the rest of the RSS slope is heap V8 reserved`
      )
    }
  }
  return { target, ratio }
}

export function headline(r: Results): { ratios: string[]; targets: Target[] } {
  const ratios: string[] = []
  const targets: Target[] = []
  const b2b = r.latency.backToBack
  const paced = r.latency.paced
  const bs = (k: Kind) => b2b[k]?.median.p50 ?? NaN
  const ps = (k: Kind) => paced[k]?.median.p50 ?? NaN
  const tp = (k: Kind) => r.throughput[k]?.median.msgsPerSec ?? NaN

  // Issue 11's targets first.
  const floor = r.liveFloor
  const pacedB = paced.backspace?.median
  if (pacedB && floor) {
    const x = pacedB.p50 / floor.pacedP50
    targets.push({
      name: 'paced p50 (shown) ≤ 1.5x the live floor (raw socket one way + sign, seal, unseal, verify)',
      measured: `${ms(pacedB.p50)} ms / ${ms(floor.pacedP50)} ms = ${ratio(x)}`,
      pass: pass(x <= 1.5, x)
    })
  }
  if (pacedB) {
    targets.push({
      name: 'paced p99 (shown) ≤ 2 ms, 2 members',
      measured: `${ms(pacedB.p99)} ms`,
      pass: pass(pacedB.p99 <= 2, pacedB.p99)
    })
  }
  const fan = r.mesh?.fanout ?? {}
  const f2 = fan['2']
  const f10 = fan['10']
  if (f10) {
    const x = f2 ? f10.senderCpuPerMsgMs / f2.senderCpuPerMsgMs : NaN
    targets.push({
      name: '10 members, 1 sender at 10 msg/s: sender CPU/msg ≤ 1.5x its 2-member figure',
      measured: f2 ? `${ms(f10.senderCpuPerMsgMs)} / ${ms(f2.senderCpuPerMsgMs)} ms = ${ratio(x)}` : 'no 2-member run',
      pass: pass(x <= 1.5, x)
    })
    // What the same machine charges a raw socket's reader for one message, for scale.
    const bare = floor?.receiverCpuPerMsgMs
    targets.push({
      name: '10 members, 1 sender at 10 msg/s: receiver CPU/msg ≤ 1 ms',
      measured:
        `${ms(f10.receiverCpuPerMsgMs)} ms (net of idle ${ms(f10.receiverNetCpuPerMsgMs)})` +
        (bare !== undefined ? `; a raw socket's reader, net, with unseal and verify: ${ms(bare)}` : ''),
      pass: pass(f10.receiverCpuPerMsgMs <= 1, f10.receiverCpuPerMsgMs)
    })
    const b2b = f10.backToBack
    if (b2b) {
      // Net of idle on both sides: the paced run lasts longer, so its gross figure carries more idle.
      const x = f10.receiverNetCpuPerMsgMs / b2b.receiverNetCpuPerMsgMs
      targets.push({
        name: "10 members at 10 msg/s: a receiver's CPU/msg within 2x of its back-to-back cost",
        measured: `${ms(f10.receiverNetCpuPerMsgMs)} / ${ms(b2b.receiverNetCpuPerMsgMs)} ms net of idle = ${ratio(x)}`,
        pass: pass(x <= 2, x)
      })
    }
  }
  const chain = r.mesh?.chain
  if (chain) {
    const one = chain.hops[0]?.latency.p50 ?? NaN
    for (const h of chain.hops.slice(1)) {
      const x = h.latency.p50 / one
      targets.push({
        name: `${h.hops} hops: p50 ≤ ${h.hops}x the 1-hop p50 (idle machine)`,
        measured: `${ms(h.latency.p50)} / ${ms(one)} ms = ${ratio(x)}`,
        pass: pass(x <= h.hops, x)
      })
    }
  }
  const f80 = fan['80']
  targets.push({
    name: '80 members: everyone has every message within 2 s of the last send',
    measured: f80
      ? f80.allHaveAllMs === null
        ? `${f80.delivered}/${f80.expected} delivered`
        : `${(f80.allHaveAllMs / 1000).toFixed(2)} s`
      : 'not run (--full)',
    pass: f80 ? f80.allHaveAllMs !== null && f80.allHaveAllMs <= 2000 : null
  })
  if (pacedB && paced.cabal) {
    const x = pacedB.p50 / paced.cabal.median.p50
    targets.push({ name: 'paced p50 ≤ 0.2x Cabal on disk, same run', measured: ratio(x), pass: pass(x <= 0.2, x) })
  }
  if (r.throughput.backspace && r.throughput.cabal) {
    const x = tp('backspace') / tp('cabal')
    targets.push({ name: 'throughput ≥ 5x Cabal on disk, same run', measured: ratio(x), pass: pass(x >= 5, x) })
  }
  const memory = memoryPerMember(Object.values(fan))
  if (memory.target) targets.push(memory.target)
  if (memory.ratio) ratios.push(memory.ratio)
  const cu = r.mesh?.catchup
  if (cu) {
    const x = (cu.rssPeak - cu.rssIdle) / 2 ** 20
    targets.push({
      name: `catch-up of ${int(cu.total)}: peak RSS ≤ +30 MiB over idle`,
      measured: `+${x.toFixed(0)} MiB`,
      pass: pass(x <= 30, x)
    })
    targets.push({
      name: `catch-up of ${int(cu.total)}: the latest page first, the rest on demand`,
      measured:
        `latest page ${int(cu.latestPageMs)} ms; every message paged back ` +
        (cu.allShownMs === null ? `NOT within the deadline (${int(cu.shown)} seen)` : `by ${int(cu.allShownMs)} ms`),
      pass: pass(cu.allShownMs !== null && cu.latestPageMs < cu.allShownMs, cu.latestPageMs)
    })
  }

  if (b2b.backspace) {
    const vs = (['hypercore', 'cabal', 'ws', 'swarm'] as const).filter((k) => b2b[k])
    ratios.push(
      `p50 delivery, back to back = ${vs.map((k) => `${ratio(bs('backspace') / bs(k))} ${short(k)}`).join(', ')}`
    )
    ratios.push(
      `p50 delivery, paced at ${r.config.paceMs} ms = ${vs.map((k) => `${ratio(ps('backspace') / ps(k))} ${short(k)}`).join(', ')}`
    )
    for (const [mode, get] of [
      ['back to back', bs],
      ['paced', ps]
    ] as const) {
      const h = get('backspace') / get('hypercore')
      const c = get('backspace') / get('cabal')
      targets.push({ name: `p50 delivery (${mode}) ≤ 2x raw Hypercore`, measured: ratio(h), pass: pass(h <= 2, h) })
      if (mode === 'back to back') {
        targets.push({ name: `p50 delivery (${mode}) ≤ 0.2x Cabal on disk`, measured: ratio(c), pass: pass(c <= 0.2, c) })
      }
    }
  }
  if (r.throughput.backspace) {
    const vs = (['hypercore', 'cabal', 'ws', 'swarm'] as const).filter((k) => r.throughput[k])
    ratios.push(`throughput = ${vs.map((k) => `${ratio(tp('backspace') / tp(k))} ${short(k)}`).join(', ')}`)
    const h = tp('backspace') / tp('hypercore')
    const c = tp('backspace') / tp('cabal')
    targets.push({ name: 'throughput ≥ 0.5x raw batched Hypercore', measured: ratio(h), pass: pass(h >= 0.5, h) })
    void c
  }
  const growth = (k: Kind) => {
    const j = r.join[k]
    return (j?.['100000']?.median.ms ?? NaN) / (j?.['10000']?.median.ms ?? NaN)
  }
  if (r.join.backspace) {
    const g = growth('backspace')
    const j10 = r.join.backspace['10000']?.median.ms ?? NaN
    const vs = (['hypercore', 'cabal', 'ws'] as const).filter((k) => r.join[k]?.['10000'])
    if (Number.isFinite(j10) && vs.length > 0) {
      ratios.push(
        `join, latest 50 of 10k = ${vs.map((k) => `${ratio(j10 / (r.join[k]!['10000']!.median.ms))} ${short(k)}`).join(', ')}`
      )
    }
    if (Number.isFinite(g)) {
      ratios.push(`join growth 10k → 100k: Backspace ${ratio(g)}, Cabal ${ratio(growth('cabal'))}`)
    }
    targets.push({
      name: 'join for the latest 50 grows < 2x from 10k to 100k',
      measured: Number.isFinite(g) ? ratio(g) : 'not run (--full)',
      pass: Number.isFinite(g) ? g < 2 : null
    })
  }
  const w = r.writers.backspace?.['1000']
  if (r.writers.backspace) {
    const t = w?.join?.median.ms
    targets.push({
      name: '1,000 writers: latest page in a few seconds (≤ 5 s)',
      measured: t !== undefined ? `${(t / 1000).toFixed(2)} s` : w ? (w.note ?? 'failed') : 'not run (--full)',
      pass: t !== undefined ? t <= 5000 : w ? false : null
    })
  }
  return { ratios, targets }
}

function pass(ok: boolean, x: number): boolean | null {
  return Number.isFinite(x) ? ok : null
}

function short(k: Kind): string {
  return {
    swarm: 'raw socket',
    hypercore: 'raw Hypercore',
    'hypercore-encrypted': 'encrypted Hypercore',
    backspace: 'Backspace',
    cabal: 'Cabal',
    'cabal-ram': 'Cabal in RAM',
    ws: 'ws relay'
  }[k]
}

// How long the fan-out's mesh took to stop changing after the warm-up, for its table.
function settled(ms: number | null | undefined): string {
  if (ms === undefined) return ''
  return ms === null ? '; connections **never settled**' : `; connections settled in ${Math.round(ms / 1000)} s`
}

export function report(r: Results): string {
  const L: string[] = []
  const m = r.machine
  const c = r.config
  L.push(
    `Node ${m.node}, ${m.cores} × ${m.cpu}, ${m.platform} ${m.release}, ${(m.memory / 2 ** 30).toFixed(1)} GiB. ` +
      `${c.full ? 'Full' : c.smoke ? 'Smoke' : 'Fast'} set, ${r.date.slice(0, 16).replace('T', ' ')} UTC, ${r.seconds.toFixed(0)} s. ` +
      `Every figure is the median of ${c.reps} repetition${c.reps === 1 ? '' : 's'}, each with fresh processes.`
  )
  const { ratios, targets } = headline(r)
  if (ratios.length > 0) {
    L.push('', '**Backspace, as ratios** (latency and join: lower is better; throughput: higher is better)', '')
    for (const line of ratios) L.push(`- ${line}`)
  }
  if (targets.length > 0) {
    L.push('', '| Target | Measured | Result |', '| --- | ---: | --- |')
    for (const t of targets) {
      L.push(`| ${t.name} | ${t.measured} | ${t.pass === null ? 'not measured' : t.pass ? 'pass' : '**MISS**'} |`)
    }
  }

  const kinds = Object.keys(r.latency.backToBack) as Kind[]
  if (kinds.length > 0) {
    L.push(
      '',
      `**Delivery latency**, ms, A's send → B shows it (${c.latencyCount} messages back to back: each send awaited, ` +
        `then the next; ${c.pacedCount ?? c.latencyCount} paced at a fixed rate, one every ${c.paceMs} ms, or at once when the ` +
        `previous send resolved later). p50 range = lowest–highest p50 of the repetitions. B's CPU/msg = the reader ` +
        `process's CPU over the paced run per message, and net of the idle CPU it spent just before.`,
      '',
      '| Contender | b2b p50 | b2b p90 | b2b p99 | p50 range | paced p50 | paced p90 | paced p99 | p50 range | send resolved p50 | paced: B\'s CPU/msg, net (ms) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
    )
    for (const k of kinds) {
      const b = r.latency.backToBack[k]!
      const p = r.latency.paced[k]!
      const cpu = p.receiverCpu ? `${ms(p.receiverCpu.perMsgMs)}, ${ms(p.receiverCpu.netPerMsgMs)}` : '—'
      L.push(
        `| ${LABELS[k]} | ${ms(b.median.p50)} | ${ms(b.median.p90)} | ${ms(b.median.p99)} | ${range(b.runs.map((x) => x.p50))} | ` +
          `${ms(p.median.p50)} | ${ms(p.median.p90)} | ${ms(p.median.p99)} | ${range(p.runs.map((x) => x.p50))} | ${ms(b.sendResolved.p50)} | ${cpu} |`
      )
    }
  }

  const confirmedKinds = kinds.filter((k) => r.latency.backToBack[k]?.confirmed || r.latency.paced[k]?.confirmed)
  if (confirmedKinds.length > 0) {
    L.push(
      '',
      '**Shown and confirmed**, ms: Backspace shows a message from the live channel, then confirms it when its ' +
        'Hypercore block is stored and verified on the reader (sampled on the core\'s events and every 5 ms). The other ' +
        'contenders show what they stored: for them shown is confirmed.',
      '',
      '| Contender | b2b shown p50 | b2b confirmed p50 | b2b confirmed p99 | paced shown p50 | paced confirmed p50 | paced confirmed p99 | never confirmed |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
    )
    for (const k of confirmedKinds) {
      const b = r.latency.backToBack[k]!
      const p = r.latency.paced[k]!
      L.push(
        `| ${LABELS[k]} | ${ms(b.median.p50)} | ${ms(b.confirmed?.p50)} | ${ms(b.confirmed?.p99)} | ` +
          `${ms(p.median.p50)} | ${ms(p.confirmed?.p50)} | ${ms(p.confirmed?.p99)} | ${int(b.unconfirmed + p.unconfirmed)} |`
      )
    }
  }
  if (r.liveFloor) {
    const f = r.liveFloor
    const us = (x: number) => x.toFixed(1)
    L.push(
      '',
      `**Live floor**: a raw Hyperswarm socket one way plus the crypto of one message's block (µs, median: sign ${us(f.cryptoUs.sign)}, ` +
        `seal ${us(f.cryptoUs.seal)}, unseal ${us(f.cryptoUs.unseal)}, verify ${us(f.cryptoUs.verify)}; total ${us(f.cryptoUs.total)}). ` +
        `Paced p50 ${ms(f.pacedP50)} ms, p99 ${ms(f.pacedP99)} ms; back to back p50 ${ms(f.backToBackP50)} ms.` +
        (f.receiverCpuPerMsgMs !== undefined
          ? ` Its reader's CPU per paced message, net of idle, plus unseal and verify: ${ms(f.receiverCpuPerMsgMs)} ms.`
          : '') +
        (f.wakeupUs
          ? ` Each step of a paced message runs after the process slept, which this machine charges: verifying a ` +
            `signature ${us(f.wakeupUs.verifyHot)} µs back to back, ${us(f.wakeupUs.verifyPaced)} µs once every 5 ms; ` +
            `decoding a block ${us(f.wakeupUs.decodeHot)} → ${us(f.wakeupUs.decodePaced)} µs.`
          : '')
    )
  }

  const tkinds = Object.keys(r.throughput) as Kind[]
  if (tkinds.length > 0) {
    L.push(
      '',
      `**Throughput**: ${c.throughputCount.toLocaleString('en-US')} messages sent without awaiting, until B has them all. ` +
        `Raw Hypercore appends ${c.hypercoreBatch} payloads at a time, packed into blocks of up to 31 KiB as Backspace packs the sends of one tick.`,
      '',
      '| Contender | msg/s | msg/s range | all sent (ms) | all received (ms) |',
      '| --- | ---: | ---: | ---: | ---: |'
    )
    for (const k of tkinds) {
      const t = r.throughput[k]!
      const xs = t.runs.map((x) => x.msgsPerSec)
      L.push(
        `| ${LABELS[k]} | ${int(t.median.msgsPerSec)} | ${int(Math.min(...xs))}–${int(Math.max(...xs))} | ` +
          `${int(t.median.storedMs)} | ${int(t.median.receivedMs)} |`
      )
    }
  }

  const jkinds = Object.keys(r.join) as Kind[]
  if (jkinds.length > 0) {
    L.push(
      '',
      `**Join**: a fresh peer C, empty storage, shows the latest ${c.page} messages of a room. ` +
        'Total = from before C\'s node exists (Backspace: includes opening storage, the Argon2id room-name derivation and DHT discovery); ' +
        'after connect = from C\'s first connection.',
      '',
      '| Contender | history | total (ms) | total range | after connect (ms) | C\'s RSS (MiB) |',
      '| --- | ---: | ---: | ---: | ---: | ---: |'
    )
    for (const k of jkinds) {
      for (const [h, f] of Object.entries(r.join[k]!)) {
        L.push(
          `| ${LABELS[k]} | ${int(Number(h))} | ${int(f.median.ms)} | ${range(f.runs.map((x) => x.ms)).replace(/\.\d\d/g, '')} | ` +
            `${int(f.median.afterConnectMs)} | ${mib(f.median.rss)} |`
        )
      }
    }
  }

  const wkinds = Object.keys(r.writers) as Array<'backspace' | 'cabal'>
  if (wkinds.length > 0) {
    L.push(
      '',
      `**Writers**: a room with N writers × ${c.messagesPerWriter} messages; only the seeder A is online. ` +
        `A fresh peer shows the latest ${c.page}.`,
      '',
      '| Contender | writers | made | latest page (ms) | range | joiner RSS (MiB) | seeder RSS (MiB) | note |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |'
    )
    for (const k of wkinds) {
      for (const w of Object.values(r.writers[k]!)) {
        const j = w.join
        L.push(
          `| ${LABELS[k]} | ${int(w.writers)} | ${int(w.completed)} | ${int(j?.median.ms)} | ` +
            `${j ? range(j.runs.map((x) => x.ms)).replace(/\.\d\d/g, '') : ''} | ${mib(j?.median.rss)} | ${mib(w.seederRss)} | ${w.note ?? ''} |`
        )
      }
    }
  }

  if (r.relay && r.relay.points.length > 0) {
    L.push(
      '',
      `**Relay at rest** (${r.relay.how === 'cli' ? '`backspace relay`' : 'a library node with `relay: true`; the CLI had no relay subcommand yet'}): ` +
        'rooms with one message each, nothing said; CPU over 10 s once settled.',
      '',
      '| rooms | RSS (MiB) | CPU % | settled after (s) |',
      '| ---: | ---: | ---: | ---: |'
    )
    for (const p of r.relay.points) {
      L.push(`| ${int(p.rooms)} | ${mib(p.rss)} | ${p.cpuPercent.toFixed(1)} | ${p.settleSeconds.toFixed(1)} |`)
    }
  }

  if (r.startup) {
    const s = r.startup
    L.push(
      '',
      '**Start-up** (ms)',
      '',
      '| What | median | runs |',
      '| --- | ---: | --- |',
      `| \`backspace --version\`, launch to exit | ${int(s.versionMs.median)} | ${s.versionMs.runs.map(int).join(', ')} |`
    )
    if (s.firstFrameMs) {
      L.push(
        `| terminal UI, launch to first painted frame (tmux) | ${int(s.firstFrameMs.median)} | ${s.firstFrameMs.runs.map(int).join(', ')} |`
      )
    }
  }

  const mesh = r.mesh
  const fans = mesh ? Object.values(mesh.fanout) : []
  if (fans.length > 0) {
    const f0 = fans[0]!
    L.push(
      '',
      `**Fan-out**: one sender at ${f0.rate} msg/s, ${f0.messages} messages, every other member counts what it shows. ` +
        'All have all = from the last send to the last member having shown every message. CPU per message from ' +
        'each process\'s own cpuUsage(); RSS per member = a receiving process\'s RSS ÷ its nodes.',
      '',
      '| members | processes × nodes | warm-up shown by all | p50 (ms) | p99 (ms) | delivered | all have all (ms) | sender CPU/msg (ms) | receiver CPU/msg (ms) | receiver net of idle (ms) | back to back: receiver CPU/msg, net (ms) | connections/member (mean, min–max) | RSS/member (MiB) | sender RSS (MiB) |',
      '| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
    )
    for (const f of fans) {
      L.push(
        `| ${f.members} | 1 + ${f.processes - 1} × ${f.nodesPerProcess} | ${f.warmed === false ? `**no**${f.warmup ? ` (${f.warmup.shownBy} of ${f.warmup.of})` : ''}` : 'yes'}${settled(f.meshSettledMs)} | ${ms(f.latency.p50)} | ${ms(f.latency.p99)} | ` +
          `${int(f.delivered)}/${int(f.expected)} | ${f.allHaveAllMs === null ? 'NOT ALL' : int(f.allHaveAllMs)} | ` +
          `${ms(f.senderCpuPerMsgMs)} | ${ms(f.receiverCpuPerMsgMs)} | ${ms(f.receiverNetCpuPerMsgMs)} | ` +
          `${f.backToBack ? `${ms(f.backToBack.receiverCpuPerMsgMs)}, ${ms(f.backToBack.receiverNetCpuPerMsgMs)} (${int(f.backToBack.messages)} msgs)` : '—'} | ` +
          `${f.connectionsPerMember.mean.toFixed(1)} ` +
          `(${f.connectionsPerMember.min}–${f.connectionsPerMember.max}) | ${mib(f.rssPerMember)} | ${mib(f.senderRss)} |`
      )
    }
  }
  if (mesh?.chain) {
    const ch = mesh.chain
    L.push(
      '',
      `**Chain**: A - B - C - D forced into a line (each swarm refuses all but its neighbours; connections once settled: ` +
        `${ch.connections.join(', ')}), A sends ${ch.messages} at ${ch.rate} msg/s.`,
      '',
      '| hops from A | p50 (ms) | p90 (ms) | p99 (ms) | delivered |',
      '| ---: | ---: | ---: | ---: | ---: |'
    )
    for (const h of ch.hops) {
      L.push(`| ${h.hops} | ${ms(h.latency.p50)} | ${ms(h.latency.p90)} | ${ms(h.latency.p99)} | ${int(h.delivered)}/${int(ch.messages)} |`)
    }
  }
  if (mesh?.catchup) {
    const cu = mesh.catchup
    L.push(
      '',
      `**Offline catch-up**: a member was away while the writer sent ${int(cu.total)} messages (100 per tick); the relay ` +
        `${cu.relayHadAll ? 'had the whole log' : 'did NOT have the whole log'} and is the only peer online when the member's ` +
        'process starts again. It shows the latest page, then pages back to the first message as a reader scrolling ' +
        'up would (each page fetched on demand). Times from that process\'s start.',
      '',
      '| latest page (ms) | all paged back (ms) | seen | RSS idle (MiB) | at latest page | peak | at end |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      `| ${int(cu.latestPageMs)} | ${cu.allShownMs === null ? 'NOT ALL' : int(cu.allShownMs)} | ${int(cu.shown)} | ${mib(cu.rssIdle)} | ` +
        `${mib(cu.rssAtLatestPage)} | ${mib(cu.rssPeak)} | ${mib(cu.rssAtEnd)} |`
    )
  }
  if (mesh?.rooms) {
    const ro = mesh.rooms
    L.push(
      '',
      `**Many rooms**: a member in ${ro.rooms} rooms, another member online in each; idle CPU over 10 s once settled.`,
      '',
      '| rooms | RSS before (MiB) | RSS (MiB) | fds before | fds | idle CPU % |',
      '| ---: | ---: | ---: | ---: | ---: | ---: |',
      `| ${ro.rooms} | ${mib(ro.rssBefore)} | ${mib(ro.rss)} | ${ro.fdsBefore} | ${ro.fds} | ${ro.idleCpuPercent.toFixed(1)} |`
    )
  }

  if (r.errors.length > 0) {
    L.push('', '**Errors**', '')
    for (const e of r.errors) L.push(`- ${e.split('\n')[0]}`)
  }
  return L.join('\n')
}
