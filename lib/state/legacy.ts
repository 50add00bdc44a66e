import fs from 'fs/promises'
import path from 'path'
import { BackspaceError } from '../errors.js'
import { unseal } from '../crypto.js'
import {
  decodeStrict,
  localState,
  sealedFile,
  type LocalState as LegacyState
} from '../messages.js'

// The local state as builds up to eccd2e9 kept it: one file holding the whole state, sealed
// with the account's local key and replaced atomically on every save. Read once, to migrate.

/** The old state file's content, or null when there is none. */
export async function readLegacyState(file: string, key: Buffer): Promise<LegacyState | null> {
  let buf: Buffer
  try {
    buf = await fs.readFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  try {
    const plain = unseal(decodeStrict(sealedFile, buf, 'state file'), key)
    if (!plain)
      throw BackspaceError.CORRUPT_STATE('The state file does not open with this identity')
    return decodeStrict(localState, plain, 'state')
  } catch (err) {
    if ((err as { code?: string }).code === 'CORRUPT_STATE') throw err
    throw BackspaceError.CORRUPT_STATE((err as Error).message, err)
  }
}

/** Removes the old state file, and the temporary file a crashed save may have left. */
export async function removeLegacyState(file: string): Promise<void> {
  await shred(path.join(path.dirname(file), `.${path.basename(file)}.tmp`))
  await shred(file)
}

// Overwrites the file with zeros and syncs before unlinking, so its sealed bytes do not
// linger in blocks the file system frees. (A copy-on-write or journaling file system, or an
// SSD's wear levelling, may still keep old blocks; the content was sealed in any case.)
async function shred(file: string): Promise<void> {
  let handle: fs.FileHandle
  try {
    handle = await fs.open(file, 'r+')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  try {
    const { size } = await handle.stat()
    if (size > 0) await handle.write(Buffer.alloc(size), 0, size, 0)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fs.unlink(file)
  await syncDirectory(path.dirname(file))
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | null = null
  try {
    handle = await fs.open(dir, 'r')
    await handle.sync()
  } catch {
    // Some platforms cannot open or sync a directory; the unlink stands either way.
  } finally {
    await handle?.close()
  }
}
