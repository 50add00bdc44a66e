// The writers workload: a room with 10, 100 or 1,000 distinct writers, 10 messages each, then
// fresh peers that show its latest page.
//
// A long-lived seeder peer A holds the room (for Backspace, a plain member that created a
// private room; writers and joiners join with its invite, so no Argon2id room-name derivation
// is timed). One writers process (bench/writers-worker.ts) makes the writers, a few at a time:
// each is a whole peer with its own identity and storage, which joins, sends its 10 messages
// in one tick, waits until A has shown them, and closes. Then REPS fresh joiners, one after
// another, each with empty storage, show the latest 50 messages while only A is online; their
// time to that page and their resident memory are the figures.

import { randomBytes } from 'crypto'
import fs from 'fs/promises'
import path from 'path'
import { medianOf, procUsage, progress, Worker } from './harness.js'
import type { InitMessage, JoinResult } from './protocol.js'
import type { Config, Figure } from './results.js'
import type { WritersOrder } from './writers-worker.js'

export interface WritersResult {
  writers: number
  /** Writers that wrote and were seen by the seeder within the time allowed. */
  completed: number
  /** Seconds to make all the writers (not a headline figure: it is the harness's pace). */
  fillSeconds: number
  /** Resident memory of the seeder after every writer, bytes. */
  seederRss: number
  join: Figure<JoinResult> | null
  note: string | null
}

/** How long making the writers may take, per writer count, before the workload stops. */
function fillBudgetMs(kind: 'backspace' | 'cabal', n: number): number {
  return Math.min(kind === 'cabal' ? 180_000 : 600_000, 30_000 + n * 600)
}

const CONCURRENCY = { backspace: 6, cabal: 8 }

export async function measureWriters(
  kind: 'backspace' | 'cabal',
  net: { bootstrap: Array<{ host: string; port: number }>; root: string },
  config: Config,
  errors: string[]
): Promise<Record<string, WritersResult>> {
  const out: Record<string, WritersResult> = {}
  let stop = false
  for (const n of config.writerCounts) {
    if (stop) break
    const per = config.messagesPerWriter
    const total = n * per
    const seeder = new Worker(kind, 'seeder')
    let writers: Worker | null = null
    const result: WritersResult = {
      writers: n,
      completed: 0,
      fillSeconds: NaN,
      seederRss: NaN,
      join: null,
      note: null
    }
    try {
      progress(`${kind}: writers, filling a room with ${n} writers × ${per}`)
      const base: Omit<InitMessage, 'role' | 'dir'> = {
        type: 'init',
        kind,
        bootstrap: net.bootstrap,
        rendezvous: `bench-${randomBytes(6).toString('hex')}`,
        coreKey: null,
        port: null,
        encryptionKey: null,
        textBytes: config.textBytes,
        blockBytes: 0,
        frameBytes: 0,
        create: kind === 'backspace'
      }
      seeder.send({ ...base, role: 'writer', dir: await fs.mkdtemp(path.join(net.root, `${kind}-seeder-`)) })
      const ready = await seeder.next('ready')
      const room = ready.coreKey!
      seeder.send({ type: 'expect', tag: 'h', count: total, report: true })
      await seeder.next('expecting')

      const w = new Worker(kind, 'writers', 'writers-worker.js')
      writers = w
      seeder.tap = (msg) => {
        if (msg.type !== 'got') return false
        w.send(msg)
        return true
      }
      const startNs = process.hrtime.bigint()
      let lastWriter = -1
      const done = new Promise<void>((resolve, reject) => {
        w.tap = (msg) => {
          if (msg.type === 'written') {
            result.completed++
            lastWriter = Math.max(lastWriter, msg.writer as number)
            if (result.completed % Math.max(1, Math.floor(n / 10)) === 0) {
              progress(`${kind}: ${result.completed}/${n} writers`)
            }
            return true
          }
          if (msg.type === 'done') {
            resolve()
            return true
          }
          return false
        }
        w.child.once('exit', () => reject(w.error ?? new Error('writers process exited')))
      })
      const order: WritersOrder = {
        type: 'writers',
        kind,
        bootstrap: net.bootstrap,
        room,
        port: ready.port,
        dir: await fs.mkdtemp(path.join(net.root, `${kind}-writers-`)),
        from: 0,
        to: n,
        perWriter: per,
        concurrency: CONCURRENCY[kind],
        textBytes: config.textBytes
      }
      w.send(order)
      const budget = config.writersBudgetSeconds ? config.writersBudgetSeconds * 1000 : fillBudgetMs(kind, n)
      let timer: NodeJS.Timeout | null = null
      const finished = await Promise.race([
        done.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), budget)))
      ])
      if (timer) clearTimeout(timer)
      result.fillSeconds = Number(process.hrtime.bigint() - startNs) / 1e9
      w.kill()
      // Past the budget, the joiners still show the room as far as it got.
      let shownTotal = total
      if (!finished) {
        result.note = `stopped after ${Math.round(budget / 1000)} s with ${result.completed} of ${n} writers`
        errors.push(`${kind} writers ${n}: ${result.note}`)
        progress(`${kind}: ${result.note}`)
        stop = true
        if (lastWriter < 0) continue
        shownTotal = (lastWriter + 1) * per
      }
      result.seederRss = (await procUsage(seeder.pid))?.rss ?? NaN

      const runs: JoinResult[] = []
      for (let r = 0; r < config.reps; r++) {
        const joiner = new Worker(kind, 'joiner')
        try {
          joiner.send({
            ...base,
            create: false,
            coreKey: room,
            port: ready.port,
            role: 'joiner',
            dir: await fs.mkdtemp(path.join(net.root, `${kind}-joiner-`))
          })
          await joiner.next('ready', 120_000)
          joiner.send({ type: 'join', total: shownTotal, page: config.page })
          const { type: _t, ...joined } = await joiner.next('joined', 180_000)
          runs.push(joined)
          progress(
            `${kind}: ${n} writers, join ${r + 1}/${config.reps}: ${joined.ms.toFixed(0)} ms, ` +
              `rss ${(joined.rss / 2 ** 20).toFixed(0)} MiB`
          )
        } finally {
          await joiner.close()
        }
      }
      result.join = { runs, median: medianOf(runs) }
    } catch (err) {
      const message = (err as Error).message
      result.note = message.split('\n')[0] ?? message
      errors.push(`${kind} writers ${n}: ${message}`)
      progress(`${kind}: writers ${n} FAILED ${message}`)
      stop = true
    } finally {
      writers?.kill()
      await seeder.close()
      out[String(n)] = result
    }
  }
  return out
}
