// The relay at rest: resident memory and CPU of a relay holding 10, 100 or 1,000 rooms when
// nothing is being said. A creator node makes the rooms (private rooms: one message each)
// and stays online; the relay joins them all by invite. Once the relay's CPU use has settled
// (under 5% over a second, or after a time limit), it is sampled for a window of
// REST_WINDOW_MS from /proc: CPU% = CPU time in the window / the window, RSS at its end.
//
// The relay is `node dist/bin/backspace.js relay --invite ...` when the CLI has the
// subcommand, or else a library node in relay mode (`new Backspace({ relay: true })`, see
// bench/relay-worker.ts). The result says which.

import { spawn, type ChildProcess } from 'child_process'
import fs from 'fs/promises'
import path from 'path'
import { setTimeout as sleep } from 'timers/promises'
import { children, here, procUsage, progress, Worker } from './harness.js'

export interface RelayRestPoint {
  rooms: number
  /** Seconds from the relay's launch until its CPU use settled. */
  settleSeconds: number
  rss: number
  cpuPercent: number
}

export interface RelayRestResult {
  how: 'cli' | 'library'
  points: RelayRestPoint[]
}

const BIN = path.join(here, '..', 'bin', 'backspace.js')
const REST_WINDOW_MS = 10_000
const SETTLE_LIMIT_MS = 120_000

async function cliHasRelay(): Promise<boolean> {
  const source = await fs.readFile(BIN, 'utf8').catch(() => '')
  return /['"]relay['"]/.test(source)
}

async function settle(pid: number, startNs: bigint): Promise<number> {
  let last = await procUsage(pid)
  for (;;) {
    await sleep(1000)
    const now = await procUsage(pid)
    if (!now || !last) throw new Error('the relay exited')
    const elapsed = Number(process.hrtime.bigint() - startNs) / 1e6
    if (now.cpuMs - last.cpuMs < 50 || elapsed > SETTLE_LIMIT_MS) return elapsed / 1000
    last = now
  }
}

export async function measureRelayAtRest(
  net: { bootstrap: Array<{ host: string; port: number }>; root: string },
  counts: number[],
  errors: string[]
): Promise<RelayRestResult> {
  const how = (await cliHasRelay()) ? 'cli' : 'library'
  const result: RelayRestResult = { how, points: [] }
  for (const rooms of counts) {
    progress(`relay at rest (${how}): ${rooms} rooms`)
    const creator = new Worker('relay', 'creator', 'relay-worker.js')
    let relay: Worker | null = null
    let proc: ChildProcess | null = null
    try {
      creator.send({
        type: 'create',
        bootstrap: net.bootstrap,
        dir: await fs.mkdtemp(path.join(net.root, 'relay-creator-')),
        rooms,
        invites: []
      })
      const { invites } = (await nextTapped(creator, 'ready', 300_000)) as { invites: string[] }
      const dir = await fs.mkdtemp(path.join(net.root, 'relay-'))
      const startNs = process.hrtime.bigint()
      let pid: number
      if (how === 'cli') {
        const boot = net.bootstrap.map((b) => ['--bootstrap', `${b.host}:${b.port}`]).flat()
        const child = spawn(
          process.execPath,
          [BIN, 'relay', '--storage', dir, ...boot, ...invites.flatMap((i) => ['--invite', i])],
          { stdio: ['ignore', 'ignore', 'pipe'] }
        )
        let stderr = ''
        child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)))
        proc = child
        children.add(child)
        child.once('exit', () => children.delete(child))
        pid = child.pid!
        await sleep(500)
        if (child.exitCode !== null) throw new Error(`backspace relay exited: ${stderr.trim()}`)
      } else {
        const r = new Worker('relay', 'relay', 'relay-worker.js')
        relay = r
        r.send({ type: 'relay', bootstrap: net.bootstrap, dir, rooms, invites })
        await nextTapped(r, 'ready', SETTLE_LIMIT_MS)
        pid = r.pid
      }
      const settleSeconds = await settle(pid, startNs)
      const before = await procUsage(pid)
      await sleep(REST_WINDOW_MS)
      const after = await procUsage(pid)
      if (!before || !after) throw new Error('the relay exited')
      const point: RelayRestPoint = {
        rooms,
        settleSeconds,
        rss: after.rss,
        cpuPercent: ((after.cpuMs - before.cpuMs) / REST_WINDOW_MS) * 100
      }
      result.points.push(point)
      progress(
        `relay at rest: ${rooms} rooms, rss ${(point.rss / 2 ** 20).toFixed(0)} MiB, ` +
          `cpu ${point.cpuPercent.toFixed(1)}%, settled in ${settleSeconds.toFixed(1)} s`
      )
    } catch (err) {
      errors.push(`relay at rest ${rooms}: ${(err as Error).message}`)
      progress(`relay at rest ${rooms}: FAILED ${(err as Error).message}`)
    } finally {
      if (proc && proc.exitCode === null) {
        proc.kill('SIGINT')
        const p = proc
        await Promise.race([new Promise((r) => p.once('exit', r)), sleep(5000)])
        if (p.exitCode === null) p.kill('SIGKILL')
      }
      await relay?.close()
      await creator.close()
    }
  }
  return result
}

/** The next message of a type the protocol does not know (these helpers speak their own). */
function nextTapped(w: Worker, type: string, timeout: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${w.name}: no "${type}" within ${timeout} ms`)), timeout)
    w.child.once('exit', () => {
      clearTimeout(timer)
      reject(w.error ?? new Error(`${w.name} exited`))
    })
    w.tap = (msg) => {
      if (msg.type !== type) return false
      clearTimeout(timer)
      resolve(msg)
      return true
    }
  })
}
