import c from 'compact-encoding'
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import Hyperbee from 'hyperbee'
import { BackspaceError } from '../errors.js'
import { deriveRelayKeys, deriveRoomKeys } from '../crypto.js'
import { EMPTY_PROFILE, RoomKind, type ProfileFields, type RoomState } from '../messages.js'
import { Resource } from '../resource.js'
import {
  decodeEntry,
  metaEntry,
  peekVersion,
  PROFILE_VERSION,
  profileEntry,
  READ_VERSION,
  readEntry,
  ROOM_VERSION,
  roomEntry,
  type ReadState
} from './codecs.js'
import { readLegacyState, removeLegacyState } from './legacy.js'

/** Entry kinds whose values this module stores as given: their owners define the format. */
export const OPAQUE_KINDS = ['device', 'setting'] as const
export type OpaqueKind = (typeof OPAQUE_KINDS)[number]

/**
 * @internal The names of the two cores the state alternates between: a compaction writes the
 * live entries into the other one, then empties the old one.
 */
export const STATE_CORE_NAMES = ['backspace/local-state/0', 'backspace/local-state/1'] as const

// A compaction runs once the core holds this many times more blocks than live entries
// (every save of a changed room appends a block), and not below this many blocks.
const COMPACT_RATIO = 4
const COMPACT_MIN_BLOCKS = 128

// RocksDB only drops deleted values from its files when it compacts them; blob files (values
// from 4 KiB) only when their garbage collection is forced. 1 = force, 2 = force. Exclusive:
// no background compaction runs beside it (rocksdb-native's default lets one, and a file
// that one holds was left as it was).
export const ERASE_COMPACTION = {
  exclusive: true,
  blobGarbageCollectionPolicy: 1,
  blobGarbageCollectionAgeCutoff: 1,
  bottommostLevelCompaction: 2
}

const erasing = new WeakMap<object, Promise<void>>()

/**
 * Compacts the whole storage so that deleted values leave its files. One erase at a time per
 * storage, whoever asks (the node after clears, the local state after a rewrite): two manual
 * compactions of one database at once could leave files to each other.
 */
export function eraseDeleted(store: Corestore): Promise<void> {
  const storage = store.storage
  const run = (): Promise<void> => storage.compact(ERASE_COMPACTION)
  const next = (erasing.get(storage) ?? Promise.resolve()).then(run, run)
  erasing.set(storage, next.catch(() => {}))
  return next
}

export interface LocalStateOptions {
  /** Where the state core lives; null keeps everything in memory (incognito). */
  store: Corestore | null
  /** The 32-byte key the state core's blocks are encrypted with. */
  key: Buffer
  /** A state file of the sealed single-file format, migrated on first open, then removed. */
  legacyFile?: string
  /**
   * The key that file is sealed with, and the key the state cores may still be encrypted
   * with: cores that open with it and not with `key` are encrypted again with `key`.
   * Defaults to `key`.
   */
  legacyKey?: Buffer
}

/** What the node saves: every room it keeps, its profile, and optionally its read positions. */
export interface LocalStateSnapshot {
  rooms: readonly RoomState[]
  profile: ProfileFields
  /** Read positions by room id. Omitted: the stored ones stay as they are. */
  reads?: ReadonlyMap<string, ReadState>
}

export interface LocalStateStats {
  /** Entries stored, skipped ones included. */
  entries: number
  /** Entries of a kind or version this build does not read: kept untouched, not loaded. */
  skipped: number
  /** Blocks in the current state core. */
  length: number
  /** Bumped by each compaction. */
  generation: number
  compactions: number
}

/**
 * The account's local state in a Hyperbee on a block-encrypted core: one entry per room
 * (`room/<topic hex>`), the profile (`profile`), read positions (`read/<room id>`), and
 * opaque entries other modules own (`device/<id>`, `setting/<name>`). Entries of kinds or
 * versions this build does not know are kept as they are and skipped.
 *
 * Hypercore is append-only, so a deleted entry would stay in old blocks: after a deletion,
 * and whenever old blocks pile up, the live entries move to a fresh core and the old one is
 * truncated, its storage compacted so that the deleted bytes leave the disk.
 */
export class LocalState extends Resource<{}>() {
  /** False when nothing touches disk (no store). */
  readonly persistent: boolean

  private readonly store: Corestore | null
  private readonly key: Buffer
  private readonly legacyFile: string | null
  private readonly legacyKey: Buffer
  private bee: Hyperbee | null = null
  // Which of STATE_CORE_NAMES holds the current state.
  private slot = 0
  private generation = 0
  // Every stored entry, by key (latin1, so any key bytes round-trip), as stored: the diff base.
  private readonly entries = new Map<string, Buffer>()
  // Keys of entries this build cannot read. Saves never overwrite or delete them.
  private readonly skippedKeys = new Set<string>()
  private rooms_: RoomState[] = []
  private profile_: ProfileFields = EMPTY_PROFILE
  private reads_ = new Map<string, ReadState>()
  // Writes run one at a time, so each diffs against what the previous one stored.
  private writing: Promise<void> = Promise.resolve()
  // A deletion happened whose bytes may still be on disk; retried until a compaction erases them.
  private eraseDue = false
  // The current core is encrypted with legacyKey: it moves to a core under `key` on open.
  private rekeyDue = false
  private compactions = 0
  // Topics by room secret: deriving them costs a few hashes, and saves run often.
  private readonly topics = new Map<string, string>()

  constructor(opts: LocalStateOptions) {
    super()
    if (!Buffer.isBuffer(opts.key) || opts.key.byteLength !== 32) {
      throw BackspaceError.INVALID_ARGUMENT('the local state key must be 32 bytes')
    }
    this.store = opts.store
    this.persistent = opts.store !== null
    this.key = opts.key
    this.legacyFile = opts.legacyFile ?? null
    this.legacyKey = opts.legacyKey ?? opts.key
  }

  /** Every room the state keeps, as last loaded or saved. */
  rooms(): RoomState[] {
    return [...this.rooms_]
  }

  get profile(): ProfileFields {
    return this.profile_
  }

  /** Read positions and unread counts by room id. */
  reads(): Map<string, ReadState> {
    return new Map(this.reads_)
  }

  get stats(): LocalStateStats {
    return {
      entries: this.entries.size,
      skipped: this.skippedKeys.size,
      length: this.bee?.core.length ?? 0,
      generation: this.generation,
      compactions: this.compactions
    }
  }

  /** @internal The current state core, for tests that look at its blocks. */
  get core(): Hypercore | null {
    return this.bee?.core ?? null
  }

  override async _open(): Promise<void> {
    if (this.store === null) return
    try {
      await this.openCurrent()
      this.load()
      if (this.rekeyDue) await this.compact()
      if (this.legacyFile !== null) await this.migrate(this.legacyFile)
    } catch (err) {
      // ready-resource does not call _close when _open fails.
      if (this.bee) await this.bee.close().catch(() => {})
      this.bee = null
      throw err
    }
  }

  private async migrate(file: string): Promise<void> {
    if (this.entries.size === 0) {
      const legacy = await readLegacyState(file, this.legacyKey)
      if (legacy) await this.apply({ rooms: legacy.rooms, profile: legacy.profile })
    }
    // Only once its content is flushed to the core (or was, before a crash) does the file go.
    await removeLegacyState(file)
  }

  override async _close(): Promise<void> {
    await this.writing
    if (this.bee) await this.bee.close()
  }

  /**
   * Stores the rooms, profile and (if given) read positions. Only entries whose encoding
   * changed are written, rooms no longer listed are deleted, all in one batch.
   */
  save(snapshot: LocalStateSnapshot): Promise<void> {
    return this.queue(() => this.apply(snapshot))
  }

  /** An opaque entry, as `putEntry` stored it, or null. */
  async getEntry(kind: OpaqueKind, id: string): Promise<Buffer | null> {
    if (!this.opened) await this.ready()
    return this.entries.get(opaqueKey(kind, id)) ?? null
  }

  async putEntry(kind: OpaqueKind, id: string, value: Buffer): Promise<void> {
    if (!Buffer.isBuffer(value)) throw BackspaceError.INVALID_ARGUMENT('value must be a Buffer')
    const key = opaqueKey(kind, id)
    await this.queue(() => this.write([[key, Buffer.from(value)]], []))
  }

  /** Deletes an opaque entry; like every deletion, its bytes are then erased from disk. */
  async deleteEntry(kind: OpaqueKind, id: string): Promise<void> {
    const key = opaqueKey(kind, id)
    await this.queue(() => (this.entries.has(key) ? this.write([], [key]) : Promise.resolve()))
  }

  private queue(task: () => Promise<void>): Promise<void> {
    if (this.closing) return Promise.reject(BackspaceError.NODE_CLOSED('the local state is closed'))
    const run = this.writing.then(async () => {
      if (!this.opened) await this.ready()
      await task()
    })
    // The caller gets the error; the queue goes on with the next write.
    this.writing = run.then(noop, noop)
    return run
  }

  // -------------------------------------------------------------------------
  // Opening: pick the current core, load its entries
  // -------------------------------------------------------------------------

  private async openCurrent(): Promise<void> {
    const bees: Hyperbee[] = []
    const generations: Array<number | null> = []
    const underLegacyKey: boolean[] = []
    try {
      for (const name of STATE_CORE_NAMES) {
        let bee = await this.openBee(name, this.key)
        bees.push(bee)
        let legacy = false
        let generation: number | null
        try {
          generation = await readGeneration(bee)
        } catch (err) {
          if (this.legacyKey.equals(this.key)) throw err
          // Written under the previous key: read it with that one, then encrypt it again.
          await bees.pop()!.close()
          bee = await this.openBee(name, this.legacyKey)
          bees.push(bee)
          generation = await readGeneration(bee)
          legacy = true
        }
        generations.push(generation)
        underLegacyKey.push(legacy)
      }
    } catch (err) {
      await Promise.all(bees.map((bee) => bee.close().catch(() => {})))
      throw err
    }
    // A core without a meta entry holds nothing complete: a compaction that never finished.
    const [first = null, second = null] = generations
    const slot = second !== null && (first === null || second > first) ? 1 : 0
    const other = bees[1 - slot]!
    this.bee = bees[slot]!
    this.slot = slot
    if (other.core.length > 0) await other.core.truncate(0)
    await other.close()
    // A complete older core means a compaction stopped before erasing: erase at the next write.
    if (generations[1 - slot] !== null) this.eraseDue = true
    // Moving to the new key erases what the old key encrypted, too.
    if (underLegacyKey[slot] && generations[slot] !== null) this.rekeyDue = this.eraseDue = true
    if (generations[slot] === null && this.bee.core.length > 0) await this.bee.core.truncate(0)
    this.generation = generations[slot] ?? 0
    for await (const { key, value } of this.bee.createReadStream()) {
      this.entries.set(key.toString('latin1'), value)
    }
  }

  private async openBee(name: string, key = this.key): Promise<Hyperbee> {
    // Not active: the core is never offered to peers, so they never even see its discovery key.
    const core = this.store!.get({ name, encryption: { key }, active: false })
    const bee = new Hyperbee(core, {
      keyEncoding: 'binary',
      valueEncoding: 'binary',
      extension: false
    })
    await bee.ready()
    return bee
  }

  // Decodes what this build knows; everything else stays in `entries`, counted as skipped.
  private load(): void {
    const rooms: RoomState[] = []
    for (const [key, value] of this.entries) {
      const { kind, id } = splitKey(key)
      try {
        if (kind === 'meta' || (OPAQUE_KINDS as readonly string[]).includes(kind)) continue
        if (kind === 'room' && peekVersion(value) <= ROOM_VERSION) {
          rooms.push(decodeEntry(roomEntry, value, 'room entry'))
        } else if (kind === 'profile' && peekVersion(value) <= PROFILE_VERSION) {
          this.profile_ = decodeEntry(profileEntry, value, 'profile entry')
        } else if (kind === 'read' && peekVersion(value) <= READ_VERSION) {
          this.reads_.set(id, decodeEntry(readEntry, value, 'read entry'))
        } else {
          this.skippedKeys.add(key)
        }
      } catch {
        // An entry that does not decode is not fatal either: it is kept, and skipped.
        this.skippedKeys.add(key)
      }
    }
    this.rooms_ = rooms
  }

  // -------------------------------------------------------------------------
  // Writing
  // -------------------------------------------------------------------------

  private async apply(snapshot: LocalStateSnapshot): Promise<void> {
    const wanted = new Map<string, Buffer>()
    for (const room of snapshot.rooms)
      wanted.set(`room/${this.topicOf(room)}`, c.encode(roomEntry, room))
    wanted.set('profile', c.encode(profileEntry, snapshot.profile))
    if (snapshot.reads) {
      for (const [id, counts] of snapshot.reads)
        wanted.set(`read/${id}`, c.encode(readEntry, counts))
    }
    const puts: Array<[string, Buffer]> = []
    const dels: string[] = []
    for (const [key, value] of wanted) {
      if (this.skippedKeys.has(key)) continue
      const stored = this.entries.get(key)
      if (!stored || !stored.equals(value)) puts.push([key, value])
    }
    for (const key of this.entries.keys()) {
      if (wanted.has(key) || this.skippedKeys.has(key)) continue
      const { kind } = splitKey(key)
      if (kind === 'room' || (kind === 'read' && snapshot.reads)) dels.push(key)
    }
    await this.write(puts, dels)
    this.rooms_ = [...snapshot.rooms]
    this.profile_ = snapshot.profile
    if (snapshot.reads) this.reads_ = new Map(snapshot.reads)
  }

  private async write(puts: Array<[string, Buffer]>, dels: string[]): Promise<void> {
    if (puts.length > 0 || dels.length > 0) {
      const bee = this.bee
      if (bee) {
        const batch = bee.batch()
        // The first batch of a core carries its meta entry: a core without one is incomplete.
        if (!this.entries.has('meta'))
          puts.push(['meta', c.encode(metaEntry, { generation: this.generation })])
        for (const [key, value] of puts) await batch.put(Buffer.from(key, 'latin1'), value)
        for (const key of dels) await batch.del(Buffer.from(key, 'latin1'))
        await batch.flush()
      }
      for (const [key, value] of puts) this.entries.set(key, value)
      for (const key of dels) this.entries.delete(key)
      if (dels.length > 0 && bee) this.eraseDue = true
    }
    if (
      this.bee &&
      (this.eraseDue ||
        this.bee.core.length > Math.max(COMPACT_MIN_BLOCKS, COMPACT_RATIO * this.entries.size))
    ) {
      await this.compact()
    }
  }

  /**
   * Moves the live entries to the other core and empties this one. After a deletion, the
   * whole storage is compacted too, so the deleted entry's ciphertext leaves the disk.
   */
  private async compact(): Promise<void> {
    const erase = this.eraseDue
    const next = 1 - this.slot
    const bee = await this.openBee(STATE_CORE_NAMES[next]!)
    try {
      // Left over by a compaction that crashed before its batch was written.
      if (bee.core.length > 0) await bee.core.truncate(0)
      const generation = this.generation + 1
      const meta = c.encode(metaEntry, { generation })
      const batch = bee.batch()
      await batch.put(Buffer.from('meta', 'latin1'), meta)
      for (const [key, value] of this.entries) {
        if (key !== 'meta') await batch.put(Buffer.from(key, 'latin1'), value)
      }
      // One append: the new core is complete, or has no meta entry and is ignored on open.
      await batch.flush()
      this.entries.set('meta', meta)
      this.generation = generation
    } catch (err) {
      await bee.close().catch(() => {})
      throw err
    }
    const old = this.bee!
    this.bee = bee
    this.slot = next
    await old.core.truncate(0)
    if (!erase) await old.core.compact()
    await old.close()
    if (erase) await eraseDeleted(this.store!)
    this.eraseDue = false
    this.rekeyDue = false
    this.compactions++
  }

  private topicOf(room: RoomState): string {
    const id = room.secret.toString('hex') + room.kind
    let topic = this.topics.get(id)
    if (topic === undefined) {
      const keys =
        room.kind === RoomKind.RELAYED ? deriveRelayKeys(room.secret) : deriveRoomKeys(room.secret)
      topic = keys.topic.toString('hex')
      this.topics.set(id, topic)
    }
    return topic
  }
}

async function readGeneration(bee: Hyperbee): Promise<number | null> {
  if (bee.core.length === 0) return null
  try {
    const header = await bee.getHeader()
    if (!header || header.protocol !== 'hyperbee') throw new Error('not a hyperbee')
    const meta = await bee.get(Buffer.from('meta', 'latin1'))
    return meta ? decodeEntry(metaEntry, meta.value, 'meta entry').generation : null
  } catch (err) {
    // Block encryption is not authenticated: with another key the blocks decode as noise.
    throw BackspaceError.CORRUPT_STATE('The local state does not open with this key', err)
  }
}

function splitKey(key: string): { kind: string; id: string } {
  const slash = key.indexOf('/')
  return slash === -1
    ? { kind: key, id: '' }
    : { kind: key.slice(0, slash), id: key.slice(slash + 1) }
}

function opaqueKey(kind: OpaqueKind, id: string): string {
  if (!(OPAQUE_KINDS as readonly string[]).includes(kind)) {
    throw BackspaceError.INVALID_ARGUMENT(`entry kind must be one of ${OPAQUE_KINDS.join(', ')}`)
  }
  if (typeof id !== 'string' || id.length === 0 || id.length > 256 || !/^[\x21-\x7e]+$/.test(id)) {
    throw BackspaceError.INVALID_ARGUMENT('entry id must be 1-256 printable ASCII characters')
  }
  return `${kind}/${id}`
}

function noop(): void {}
