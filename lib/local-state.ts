import fs from 'fs/promises'
import path from 'path'
import c from 'compact-encoding'
import { BackspaceError } from './errors.js'
import { seal, unseal } from './crypto.js'
import { decodeStrict, EMPTY_PROFILE, localState, sealedFile, type LocalState } from './messages.js'

/**
 * The account's joined rooms and what it knows of their writers, sealed with a key derived
 * from the identity. With `file` null (incognito) it lives in memory only.
 */
export class LocalStateStore {
  readonly file: string | null
  private readonly key: Buffer
  // Saves run one at a time; a save requested while one runs waits for it, then writes once.
  private writing: Promise<void> = Promise.resolve()

  constructor(file: string | null, key: Buffer) {
    this.file = file
    this.key = key
  }

  async load(): Promise<LocalState> {
    if (this.file === null) return { rooms: [], profile: { ...EMPTY_PROFILE } }
    let buf: Buffer
    try {
      buf = await fs.readFile(this.file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { rooms: [], profile: { ...EMPTY_PROFILE } }
      throw err
    }
    try {
      const box = decodeStrict(sealedFile, buf, 'state file')
      const plain = unseal(box, this.key)
      if (!plain) throw BackspaceError.CORRUPT_STATE('The state does not open with this identity')
      return decodeStrict(localState, plain, 'state')
    } catch (err) {
      if ((err as { code?: string }).code === 'CORRUPT_STATE') throw err
      throw BackspaceError.CORRUPT_STATE((err as Error).message, err)
    }
  }

  save(state: LocalState): Promise<void> {
    const file = this.file
    if (file === null) return Promise.resolve()
    const bytes = c.encode(sealedFile, seal(c.encode(localState, state), this.key))
    this.writing = this.writing.then(() => writeAtomic(file, bytes))
    return this.writing
  }
}

// Write then rename, so a crash leaves either the old state or the new one, never half of one.
async function writeAtomic(file: string, bytes: Buffer): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`)
  const handle = await fs.open(tmp, 'w', 0o600)
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fs.rename(tmp, file)
}
