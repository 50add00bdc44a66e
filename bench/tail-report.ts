// Reads what a BENCH_TRACE run of the latency workload wrote (bench/trace.ts) and prints, for
// each repetition, its slowest messages beside what the sending and the showing process were
// doing meanwhile: GC pauses and event-loop stalls, on both sides, stamped on one clock.
//
//   BENCH_TRACE=/tmp/trace node dist/bench/index.js --only backspace --workloads latency
//   node dist/bench/tail-report.js /tmp/trace [tag] [count]
//
// tag: p (paced, the default), l (back to back) or w (warm-up); count: how many of the slowest
// (default: the slowest 1%, at least 5). A stall with no GC in it is time the thread did not
// run JS: native work, or the scheduler running something else (see docs/PERFORMANCE.md for
// how `perf record -k CLOCK_MONOTONIC -e sched:sched_switch` tells which).

import fs from 'fs'
import path from 'path'
import type { TailTrace } from './trace.js'

interface Sent extends TailTrace {
  stamps: string[]
  /** µs from each stamp until its send resolved */
  stored: number[]
}

interface Shown extends TailTrace {
  /** µs, in the order shown */
  latencies: number[]
  seqs: number[]
}

const [dir, tag = 'p', countArg] = process.argv.slice(2)
if (!dir) {
  console.error('usage: node dist/bench/tail-report.js <BENCH_TRACE dir> [tag] [count]')
  process.exit(2)
}

const read = <T>(file: string): T => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as T
const pidOf = (file: string) => Number(/-(\d+)\.json$/.exec(file)![1])
const files = fs.readdirSync(dir)
const sent = files.filter((f) => f.startsWith(`sent-${tag}-`) && f.endsWith('.json')).sort((a, b) => pidOf(a) - pidOf(b))
const shown = files.filter((f) => f.startsWith(`shown-${tag}-`) && f.endsWith('.json')).sort((a, b) => pidOf(a) - pidOf(b))

// "offset+length" (ms; offset from `origin`) of each event that overlaps [from, to] (ns).
function overlapping(events: Array<[string, number, ...unknown[]]>, from: bigint, to: bigint, origin: bigint): string {
  const out: string[] = []
  for (const [at, ms] of events) {
    const start = BigInt(at)
    const end = start + BigInt(Math.round(ms * 1e6))
    if (start < to && end > from) out.push(`${(Number(start - origin) / 1e6).toFixed(2)}+${ms.toFixed(2)}`)
  }
  return out.length ? out.join(' ') : '-'
}

for (const showFile of shown) {
  // The sender of a repetition starts just before its reader.
  const sendFile = sent.filter((f) => pidOf(f) < pidOf(showFile)).pop()
  if (!sendFile) continue
  const s = read<Sent>(sendFile)
  const r = read<Shown>(showFile)
  const n = r.latencies.length
  const count = countArg ? Number(countArg) : Math.max(5, Math.ceil(n / 100))
  const order = [...r.latencies.keys()].sort((a, b) => r.latencies[b]! - r.latencies[a]!).slice(0, count)
  console.log(`${sendFile} → ${showFile}: ${n} shown; the slowest ${count} (offsets from the send's stamp, ms)`)
  console.log('  seq   shown  send resolved  sender GC      sender stalls       reader GC      reader stalls')
  let senderStalled = 0
  let readerStalled = 0
  let gc = 0
  for (const k of order) {
    const seq = r.seqs[k]!
    const stamp = BigInt(s.stamps[seq]!)
    // From 1 ms before the send (a stall that began before it still delays it) to the show.
    const from = stamp - 1_000_000n
    const to = stamp + BigInt(Math.round(r.latencies[k]! * 1000))
    const cols = [s.gcs, s.stalls, r.gcs, r.stalls].map((events) => overlapping(events, from, to, stamp))
    if (cols[1] !== '-') senderStalled++
    if (cols[3] !== '-') readerStalled++
    if (cols[0] !== '-' || cols[2] !== '-') gc++
    console.log(
      `  ${String(seq).padStart(4)} ${(r.latencies[k]! / 1000).toFixed(2).padStart(6)} ${((s.stored[seq] ?? NaN) / 1000).toFixed(2).padStart(14)}  ` +
        cols.map((c) => c.padEnd(14)).join(' ')
    )
  }
  console.log(`  of these: a sender stall in ${senderStalled}, a reader stall in ${readerStalled}, a GC on either side in ${gc}`)
}
