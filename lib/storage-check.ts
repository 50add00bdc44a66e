import fs from 'fs/promises'
import path from 'path'
import { tryLock, unlock } from 'fs-native-extensions'
import { BackspaceError, isBackspaceError } from './errors.js'
import { accountDirectory } from './identity.js'

/**
 * Start-up problems that no retry and no password can fix: the storage is a file, cannot be
 * written, or is open in another backspace. `checkStorage` finds them before a UI asks for a
 * password; `startupError` turns the raw error of a failed open into the same sentences.
 */

/** True for the errors that only the user can fix, outside the app: retrying cannot help. */
export function isFatalStartupError(err: unknown): err is BackspaceError {
  return isBackspaceError(err, 'STORAGE_IN_USE') || isBackspaceError(err, 'STORAGE_UNUSABLE')
}

/**
 * Throws STORAGE_UNUSABLE when `storage` (or a parent) is a file or cannot be read, and
 * STORAGE_IN_USE when another process has the account's store open. A storage that does not
 * exist yet is fine: it is made on first use.
 */
export async function checkStorage(storage: string, account: string): Promise<void> {
  const dir = accountDirectory(storage, account)
  for (const p of [storage, path.join(storage, 'accounts'), dir, path.join(dir, 'cores')]) {
    let stat
    try {
      stat = await fs.stat(p)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT') return
      throw startupError(err, storage)
    }
    if (!stat.isDirectory()) throw notADirectory(p)
  }
  // Hypercore's storage holds an exclusive lock on this file while a node has it open.
  let handle: fs.FileHandle
  try {
    // Opened for writing, as an exclusive lock needs, though nothing is written.
    handle = await fs.open(path.join(dir, 'cores', 'CORESTORE'), 'r+')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw startupError(err, storage)
  }
  let free = true
  try {
    free = tryLock(handle.fd)
    if (free) unlock(handle.fd)
  } catch {
    // A file system without locks: the open itself will say what is wrong.
  } finally {
    await handle.close()
  }
  if (!free) throw inUse(storage, account)
}

/** The error of a failed start as a coded error with one clear sentence, where it is known. */
export function startupError(err: unknown, storage: string | null, account?: string): unknown {
  if (isBackspaceError(err)) return err
  if (!(err instanceof Error)) return err
  if (/could not be locked/i.test(err.message)) return inUse(storage, account)
  const code = (err as NodeJS.ErrnoException).code
  const where = (err as NodeJS.ErrnoException).path ?? storage ?? 'the storage'
  switch (code) {
    case 'ENOTDIR':
    case 'EEXIST':
      return notADirectory(where)
    case 'EACCES':
    case 'EPERM':
      return BackspaceError.STORAGE_UNUSABLE(`Backspace may not read or write ${where}; check its permissions or choose another --storage.`, err)
    case 'EROFS':
      return BackspaceError.STORAGE_UNUSABLE(`${where} is on a read-only disk; choose another --storage.`, err)
    case 'ENOSPC':
      return BackspaceError.STORAGE_UNUSABLE(`The disk holding ${where} is full.`, err)
  }
  return err
}

function inUse(storage: string | null, account?: string): BackspaceError {
  const which = account ? ` (account "${account}")` : ''
  return BackspaceError.STORAGE_IN_USE(
    `This storage${which} is open in another backspace; close it there, or choose another --storage.`
  )
}

function notADirectory(where: string): BackspaceError {
  return BackspaceError.STORAGE_UNUSABLE(`${where} is a file, not a directory; choose another --storage.`)
}
