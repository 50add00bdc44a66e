// Start-up: how long `backspace --version` takes to exit, and how long the terminal UI takes
// from launch to its first painted frame. The UI runs in a detached tmux session on a tmux
// server of the bench's own (its own socket), polled with `tmux capture-pane -p` until any
// text appears; the time includes starting the tmux session (a few ms). Whatever the first
// frame is (an account screen or the chat) counts.

import { execFile, spawn } from 'child_process'
import path from 'path'
import { setTimeout as sleep } from 'timers/promises'
import { median, progress, here } from './harness.js'

export interface StartupResult {
  versionMs: { runs: number[]; median: number }
  firstFrameMs: { runs: number[]; median: number } | null
  firstFrame: string | null
}

const BIN = path.join(here, '..', 'bin', 'backspace.js')
const FRAME_TIMEOUT = 20_000

function run(file: string, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 10_000 }, (err, stdout) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({ code, stdout })
    })
  })
}

async function versionOnce(): Promise<number> {
  const start = process.hrtime.bigint()
  const child = spawn(process.execPath, [BIN, '--version'], { stdio: 'ignore' })
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`--version exited ${code}`))))
    child.once('error', reject)
  })
  return Number(process.hrtime.bigint() - start) / 1e6
}

async function firstFrameOnce(
  socket: string,
  session: string,
  bootstrap: string
): Promise<{ ms: number; text: string }> {
  const command = [process.execPath, BIN, '--incognito', '--bootstrap', bootstrap]
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(' ')
  const start = process.hrtime.bigint()
  const made = await run('tmux', ['-L', socket, 'new-session', '-d', '-s', session, '-x', '100', '-y', '30', command])
  if (made.code !== 0) throw new Error('tmux new-session failed')
  try {
    for (;;) {
      const shot = await run('tmux', ['-L', socket, 'capture-pane', '-p', '-t', session])
      if (shot.stdout.trim().length > 0) {
        return { ms: Number(process.hrtime.bigint() - start) / 1e6, text: shot.stdout }
      }
      if (Number(process.hrtime.bigint() - start) / 1e6 > FRAME_TIMEOUT) {
        throw new Error(`no frame within ${FRAME_TIMEOUT} ms`)
      }
      await sleep(5)
    }
  } finally {
    await run('tmux', ['-L', socket, 'kill-session', '-t', session])
  }
}

export async function measureStartup(
  bootstrap: Array<{ host: string; port: number }>,
  reps: number,
  errors: string[]
): Promise<StartupResult> {
  const runs = Math.max(5, reps)
  const version: number[] = []
  progress(`start-up: backspace --version ×${runs}`)
  try {
    for (let i = 0; i < runs; i++) version.push(await versionOnce())
  } catch (err) {
    errors.push(`startup --version: ${(err as Error).message}`)
  }

  const result: StartupResult = {
    versionMs: { runs: version, median: median(version) },
    firstFrameMs: null,
    firstFrame: null
  }
  const tmux = await run('tmux', ['-V'])
  if (tmux.code !== 0) {
    errors.push('startup: tmux is not installed; no first-frame figure')
    return result
  }
  const socket = `backspace-bench-${process.pid}`
  const frames: number[] = []
  progress(`start-up: terminal UI first frame ×${Math.max(3, reps)}`)
  try {
    const node = bootstrap[0]!
    for (let i = 0; i < Math.max(3, reps); i++) {
      const { ms, text } = await firstFrameOnce(socket, `bench${i}`, `${node.host}:${node.port}`)
      frames.push(ms)
      result.firstFrame ??= text
        .split('\n')
        .map((l) => l.trimEnd())
        .filter((l) => l.length > 0)
        .slice(0, 6)
        .join('\n')
    }
  } catch (err) {
    errors.push(`startup first frame: ${(err as Error).message}`)
  } finally {
    await run('tmux', ['-L', socket, 'kill-server'])
  }
  if (frames.length > 0) result.firstFrameMs = { runs: frames, median: median(frames) }
  return result
}
