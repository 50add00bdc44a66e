// One desktop shell per storage. The running shell writes its page address to a 0600 file in
// the storage (which holds the account keys already); a second `backspace desktop` on the same
// storage finds it, checks that it answers, and opens its window instead of starting another
// node that would fail on the storage lock after asking for a password.
import fsp from 'fs/promises'
import http from 'http'
import path from 'path'

const FILE = 'desktop.json'

export interface RunningShell {
  pid: number
  url: string
}

/** The shell running on `storage`, or null. A file left by a dead shell is removed. */
export async function findRunningShell(storage: string): Promise<RunningShell | null> {
  const file = path.join(storage, FILE)
  let found: RunningShell | null = null
  try {
    found = parse(await fsp.readFile(file, 'utf8'))
  } catch {
    return null
  }
  if (found && alive(found.pid) && (await answers(found.url))) return found
  await fsp.rm(file, { force: true })
  return null
}

/** Records this shell as the one on `storage`; the returned function takes the record back. */
export async function recordShell(storage: string, url: string): Promise<() => Promise<void>> {
  const file = path.join(storage, FILE)
  await fsp.mkdir(storage, { recursive: true })
  const record: RunningShell = { pid: process.pid, url }
  await fsp.writeFile(file, JSON.stringify(record), { mode: 0o600 })
  return async () => {
    // Only our own record: a newer shell may have replaced it.
    try {
      if (parse(await fsp.readFile(file, 'utf8'))?.pid === process.pid) await fsp.rm(file, { force: true })
    } catch {}
  }
}

function parse(text: string): RunningShell | null {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return null
  }
  if (value === null || typeof value !== 'object') return null
  const { pid, url } = value as Record<string, unknown>
  if (!Number.isInteger(pid) || typeof url !== 'string') return null
  // Only a loopback page of ours: the file must not send a window anywhere else.
  if (!/^http:\/\/127\.0\.0\.1:\d{1,5}\/\?token=[0-9a-f]{64}$/.test(url)) return null
  return { pid: pid as number, url }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The page answers 200 at its address: that shell is up and it is ours. */
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'HEAD', agent: false, timeout: 3000 }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
    req.end()
  })
}
