// The outbox's journal: blocks whose sends resolved before their append (see Outbox), kept
// in a small sealed file until the append stores them, so that a crash loses none of them.
// One file per room, named by a keyed hash of the room id (nothing links it to the room),
// holding frames: a uint32 length, then the frame sealed with a key of this device's.
import c from 'compact-encoding'
import fs from 'fs'
import path from 'path'
import b4a from 'b4a'
import { hash, seal, unseal } from '../crypto.js'
import { boundedArray, decodeStrict, MAX_RECORD_BYTES, type Encoding } from '../messages.js'

const VERSION = 1
const NS = b4a.from('backspace/outbox-journal')
// A journal frame holds one flush: a few blocks, each at most a block's size. Larger lengths
// are not ours (a torn or damaged file): reading stops there.
const MAX_FRAME = 4 * 1024 * 1024

interface JournalFrame {
  version: number
  /** Encoded block bodies, in the order they were flushed. */
  bodies: Buffer[]
}

// A flush packs its sends into at most this many blocks; a frame holds one flush.
const MAX_FRAME_BODIES = 1024
const body: Encoding<Buffer> = {
  preencode: (state, b) => c.buffer.preencode(state, b),
  encode: (state, b) => c.buffer.encode(state, b),
  decode(state) {
    const b = c.buffer.decode(state)
    if (!b || b.byteLength > MAX_RECORD_BYTES) throw new Error('journal body size')
    return b
  }
}
const bodyList = boundedArray(body, MAX_FRAME_BODIES)
const frameCodec: Encoding<JournalFrame> = {
  preencode(state, f) {
    c.uint.preencode(state, f.version)
    bodyList.preencode(state, f.bodies)
  },
  encode(state, f) {
    c.uint.encode(state, f.version)
    bodyList.encode(state, f.bodies)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== VERSION) throw new Error(`journal frame version ${version}`)
    return { version, bodies: bodyList.decode(state) }
  }
}

/** The journal of one room's outbox; every call is synchronous, and none throws. */
export class OutboxJournal {
  readonly file: string
  private readonly key: Buffer
  private fd: number | null = null
  // Bytes written to the file, where the next frame goes.
  private size = 0

  /** `dir`: the account's outbox directory; `localKey`: this device's local state key. */
  constructor(dir: string, localKey: Buffer, roomId: Buffer) {
    this.key = hash([NS], localKey)
    this.file = path.join(dir, hash([NS, roomId], localKey, 16).toString('hex'))
  }

  /**
   * The block bodies the journal holds, oldest first: frames that do not open or decode (a
   * write torn by the crash) end the read.
   */
  read(): Buffer[] {
    let data: Buffer
    try {
      data = fs.readFileSync(this.file)
    } catch {
      return []
    }
    const bodies: Buffer[] = []
    let at = 0
    while (at + 4 <= data.byteLength) {
      const length = data.readUInt32LE(at)
      if (length === 0 || length > MAX_FRAME || at + 4 + length > data.byteLength) break
      const plain = unseal(data.subarray(at + 4, at + 4 + length), this.key)
      if (plain === null) break
      try {
        bodies.push(...decodeStrict(frameCodec, plain, 'journal frame').bodies)
      } catch {
        break
      }
      at += 4 + length
    }
    return bodies
  }

  /** Adds a flush's block bodies; false if the disk refused (the caller then appends at once). */
  append(bodies: Buffer[]): boolean {
    try {
      const fd = this.open()
      const box = seal(c.encode(frameCodec, { version: VERSION, bodies }), this.key)
      const frame = b4a.allocUnsafe(4 + box.byteLength)
      frame.writeUInt32LE(box.byteLength, 0)
      box.copy(frame, 4)
      fs.writeSync(fd, frame, 0, frame.byteLength, this.size)
      this.size += frame.byteLength
      return true
    } catch {
      return false
    }
  }

  /** Everything journaled is stored: the file is overwritten with zeros and emptied. */
  clear(): void {
    try {
      if (this.fd === null && !fs.existsSync(this.file)) return
      const fd = this.open()
      const size = fs.fstatSync(fd).size
      if (size === 0) return
      fs.writeSync(fd, b4a.alloc(size), 0, size, 0)
      fs.ftruncateSync(fd, 0)
      this.size = 0
    } catch {}
  }

  // The file, opened for reading and writing at explicit positions (created, 0600).
  private open(): number {
    if (this.fd !== null) return this.fd
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 })
    const fd = fs.openSync(this.file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600)
    this.size = fs.fstatSync(fd).size
    return (this.fd = fd)
  }

  /** Closes the file; with `remove`, the room was left: the file goes too, zeroed first. */
  close(remove = false): void {
    if (remove) this.clear()
    if (this.fd !== null) {
      try {
        fs.closeSync(this.fd)
      } catch {}
      this.fd = null
    }
    if (remove) {
      try {
        fs.unlinkSync(this.file)
      } catch {}
    }
  }
}
