import type { Test } from 'brittle'
import { spawn } from 'child_process'
import path from 'path'
import { fileURLToPath } from 'url'

const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'backspace.js')

/** Starts `backspace relay` and resolves once it has printed its first status line. */
export async function startRelay(t: Test, args: string[]) {
  const child = spawn(process.execPath, [bin, 'relay', '--interval', '0.2', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BACKSPACE_PASSWORD: '' }
  })
  let out = ''
  let err = ''
  const lines: string[] = []
  const waiters: Array<() => void> = []
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString()
    const parts = out.split('\n')
    out = parts.pop()!
    lines.push(...parts)
    for (const w of waiters.splice(0)) w()
  })
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  /** Resolves with the first line after now that satisfies `pred`. */
  const status = (pred: (line: string) => boolean) =>
    new Promise<string>((resolve, reject) => {
      const from = lines.length
      const check = () => {
        for (let i = from; i < lines.length; i++) if (pred(lines[i]!)) return resolve(lines[i]!)
        if (child.exitCode !== null) return reject(new Error(`relay exited: ${err}`))
        waiters.push(check)
      }
      check()
      exited.then(() => check())
    })
  await status((l) => l.startsWith('relay  peers'))
  const served = lines.find((l) => l.startsWith('backspace relay: serving '))
  const link = served ? served.slice('backspace relay: serving '.length).trim() : null
  return { child, status, exited, lines, link, stderr: () => err }
}

/** A number after `name ` in a status line, or -1. */
export function field(line: string, name: string): number {
  const m = new RegExp(`${name} (\\d+)`).exec(line)
  return m ? Number(m[1]) : -1
}
