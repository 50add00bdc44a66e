// Scratch directories: where an incognito node keeps its cores, RAM-backed when it can be.
//
// A node removes its own directory on close, but a node killed with SIGKILL cannot, and a
// directory under /dev/shm then holds RAM until reboot. So each name says which process
// made it (`backspace-incognito-<pid>-<pid namespace>-XXXXXX`), and every start removes the
// ones whose process is gone. The name is written by mkdtemp in one step: there is no moment
// when a live node's directory has no owner yet.
import { readlinkSync, type Stats } from 'fs'
import fs from 'fs/promises'
import os from 'os'
import path from 'path'

export const SCRATCH_PREFIX = 'backspace-incognito-'

// `<pid>-<namespace>-` and mkdtemp's six characters. Older builds made `backspace-incognito-XXXXXX`,
// which names no owner: those are never removed, as a live older node may hold one.
const SCRATCH_NAME = /^backspace-incognito-(\d+)-(\d+)-[A-Za-z0-9]{6}$/

/**
 * This process's PID namespace, as the inode number Linux gives it, or '0' where there is
 * none to read. A directory made in another namespace names a PID this process cannot
 * check, so it is kept.
 */
export function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0'
  } catch {
    return '0'
  }
}

/** Where scratch directories go: /dev/shm when there is one, then the OS temp directory. */
export async function scratchRoots(): Promise<string[]> {
  const roots = [os.tmpdir()]
  if (await isDirectory('/dev/shm')) roots.unshift('/dev/shm')
  return roots
}

/** Makes a fresh scratch directory (mode 0700) that names this process as its owner. */
export async function makeScratch(): Promise<string> {
  const [root] = await scratchRoots()
  return fs.mkdtemp(path.join(root!, `${SCRATCH_PREFIX}${process.pid}-${pidNamespace()}-`))
}

/**
 * Removes the scratch directories left by processes that are gone, and returns their paths.
 * Only directories with this prefix and an owner in the name, owned by this user and made
 * in this PID namespace, whose PID is not alive. A PID reused since keeps a directory
 * until the next start after it ends: that leaks, it never removes a live one.
 */
export async function removeStaleScratch(roots?: readonly string[]): Promise<string[]> {
  const removed: string[] = []
  const namespace = pidNamespace()
  const uid = process.getuid?.()
  for (const root of roots ?? (await scratchRoots())) {
    let names: string[]
    try {
      names = await fs.readdir(root)
    } catch {
      continue // A root that cannot be listed has nothing of ours to clean.
    }
    for (const name of names) {
      const m = SCRATCH_NAME.exec(name)
      if (!m || m[2] !== namespace || isAlive(Number(m[1]))) continue
      const dir = path.join(root, name)
      let st: Stats
      try {
        st = await fs.lstat(dir)
      } catch {
        continue // Another node removed it first.
      }
      // Not a symlink, and ours: the temp directory is shared by every user.
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue
      try {
        await fs.rm(dir, { recursive: true, force: true })
        removed.push(dir)
      } catch {
        // A directory we cannot remove now is left for the next start, which tries again.
      }
    }
  }
  return removed
}

function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return true // Not a PID we can judge: keep it.
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists, as another user's process.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await fs.stat(dir)).isDirectory()
  } catch {
    return false
  }
}
