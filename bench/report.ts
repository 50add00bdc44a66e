// The table a run prints (Markdown, pasted as is into docs/PERFORMANCE.md): headline ratios,
// targets, then every workload. Every figure is the median of the run's repetitions.

import type { Kind } from './protocol.js'
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

export function headline(r: Results): { ratios: string[]; targets: Target[] } {
  const ratios: string[] = []
  const targets: Target[] = []
  const b2b = r.latency.backToBack
  const paced = r.latency.paced
  const bs = (k: Kind) => b2b[k]?.median.p50 ?? NaN
  const ps = (k: Kind) => paced[k]?.median.p50 ?? NaN
  const tp = (k: Kind) => r.throughput[k]?.median.msgsPerSec ?? NaN

  if (b2b.backspace) {
    const vs = (['hypercore', 'cabal', 'ws', 'swarm'] as const).filter((k) => b2b[k])
    ratios.push(
      `p50 delivery, back to back = ${vs.map((k) => `${ratio(bs('backspace') / bs(k))} ${short(k)}`).join(', ')}`
    )
    ratios.push(
      `p50 delivery, paced 5 ms = ${vs.map((k) => `${ratio(ps('backspace') / ps(k))} ${short(k)}`).join(', ')}`
    )
    for (const [mode, get] of [
      ['back to back', bs],
      ['paced', ps]
    ] as const) {
      const h = get('backspace') / get('hypercore')
      const c = get('backspace') / get('cabal')
      targets.push({ name: `p50 delivery (${mode}) ≤ 2x raw Hypercore`, measured: ratio(h), pass: pass(h <= 2, h) })
      targets.push({ name: `p50 delivery (${mode}) ≤ 0.25x Cabal`, measured: ratio(c), pass: pass(c <= 0.25, c) })
    }
  }
  if (r.throughput.backspace) {
    const vs = (['hypercore', 'cabal', 'ws', 'swarm'] as const).filter((k) => r.throughput[k])
    ratios.push(`throughput = ${vs.map((k) => `${ratio(tp('backspace') / tp(k))} ${short(k)}`).join(', ')}`)
    const h = tp('backspace') / tp('hypercore')
    const c = tp('backspace') / tp('cabal')
    targets.push({ name: 'throughput ≥ 0.5x raw batched Hypercore', measured: ratio(h), pass: pass(h >= 0.5, h) })
    targets.push({ name: 'throughput ≥ 3x Cabal', measured: ratio(c), pass: pass(c >= 3, c) })
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
      `**Delivery latency**, ms, A's send → B's receive event (${c.latencyCount} messages; back to back: each send awaited, ` +
        `then the next; paced: ${c.paceMs} ms pause after each). p50 range = lowest–highest p50 of the repetitions.`,
      '',
      '| Contender | b2b p50 | b2b p90 | b2b p99 | p50 range | paced p50 | paced p90 | paced p99 | p50 range | send resolved p50 |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
    )
    for (const k of kinds) {
      const b = r.latency.backToBack[k]!
      const p = r.latency.paced[k]!
      L.push(
        `| ${LABELS[k]} | ${ms(b.median.p50)} | ${ms(b.median.p90)} | ${ms(b.median.p99)} | ${range(b.runs.map((x) => x.p50))} | ` +
          `${ms(p.median.p50)} | ${ms(p.median.p90)} | ${ms(p.median.p99)} | ${range(p.runs.map((x) => x.p50))} | ${ms(b.sendResolved.p50)} |`
      )
    }
  }

  const tkinds = Object.keys(r.throughput) as Kind[]
  if (tkinds.length > 0) {
    L.push(
      '',
      `**Throughput**: ${c.throughputCount.toLocaleString('en-US')} messages sent without awaiting, until B has them all. ` +
        `Raw Hypercore appends arrays of ${c.hypercoreBatch} blocks (batched); Backspace packs the sends of one tick into blocks.`,
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

  if (r.errors.length > 0) {
    L.push('', '**Errors**', '')
    for (const e of r.errors) L.push(`- ${e.split('\n')[0]}`)
  }
  return L.join('\n')
}
