import c from 'compact-encoding'
import { BackspaceError } from '../errors.js'
import {
  boundedArray,
  framed,
  MAX_HOLES,
  MAX_LENGTH_MARKS,
  profileFields,
  RoomKind,
  type Encoding,
  type FeedState,
  type LengthMark,
  type ProfileFields,
  type EpochKeyState,
  MAX_EPOCH_KEYS,
  type RoomState,
  type State,
  writerProof
} from '../messages.js'

// The values of the local Hyperbee, one codec per entry kind. Each value starts with its
// version. A build adds fields at the end or behind a flag bit without changing the version,
// and older builds skip what they do not know; a new version means an older build cannot
// read the value, and then keeps the entry untouched and skips it (see LocalState).
// A build that rewrites an entry drops the fields it does not know.

/** How an entry's value starts: its codec version, and whether this build reads it. */
export function peekVersion(value: Buffer): number {
  const state: State = { start: 0, end: value.byteLength, buffer: value }
  try {
    return c.uint.decode(state)
  } catch (err) {
    throw BackspaceError.DECODE_FAILED('local state entry: no version', err)
  }
}

/** Decodes a value with `enc`, which reads the version itself; bytes left over are skipped. */
export function decodeEntry<T>(enc: Encoding<T>, value: Buffer, what: string): T {
  const state: State = { start: 0, end: value.byteLength, buffer: value }
  try {
    return enc.decode(state)
  } catch (err) {
    if (err instanceof BackspaceError) throw err
    throw BackspaceError.DECODE_FAILED(`${what}: ${(err as Error).message}`, err)
  }
}

function checkVersion(state: State, version: number, what: string): void {
  const got = c.uint.decode(state)
  if (got !== version) throw BackspaceError.UNSUPPORTED_VERSION(`${what} v${got}`)
}


// ---------------------------------------------------------------------------
// room/<topic hex>: a joined (or relayed) room
// ---------------------------------------------------------------------------

export const ROOM_VERSION = 1
const FEED_FLAG_MARKS = 1
const FEED_FLAG_HOLES = 2
// Counts are checked against their caps, and the bytes left, before anything is allocated:
// c.array allocates the count it reads first (fuzzing found it for the state file).
// The proof that a member made the core, and whether the core was admitted at all: entries
// written before admission proofs have neither, and a room decides what they are worth.
const FEED_FLAG_PROOF = 4
const FEED_FLAG_ADMITTED = 8
// A relay's wipe cut: every block below `length` was wiped but those in `keep`.
const FEED_FLAG_WIPE = 16
// Admitted with no block and held unopened (a member who has written nothing): no payload.
const FEED_FLAG_DORMANT = 32
const holeList = boundedArray(c.uint, MAX_HOLES)

const lengthMarks = boundedArray<LengthMark>({
  preencode(state, m) {
    c.uint.preencode(state, m.time)
    c.uint.preencode(state, m.length)
  },
  encode(state, m) {
    c.uint.encode(state, m.time)
    c.uint.encode(state, m.length)
  },
  decode(state) {
    return { time: c.uint.decode(state), length: c.uint.decode(state) }
  }
}, MAX_LENGTH_MARKS)

function feedFlags(f: FeedState): number {
  return (
    ((f.marks ?? []).length > 0 ? FEED_FLAG_MARKS : 0) |
    ((f.holes ?? []).length > 0 ? FEED_FLAG_HOLES : 0) |
    (f.proof ? FEED_FLAG_PROOF : 0) |
    (f.admitted ? FEED_FLAG_ADMITTED : 0) |
    (f.wipe ? FEED_FLAG_WIPE : 0) |
    (f.dormant ? FEED_FLAG_DORMANT : 0)
  )
}

/**
 * A writer core's progress: flags (bit 0: length marks, bit 1: holes, bit 2: proof, bit 3:
 * admitted, bit 4: a relay's wipe cut, bit 5: dormant), key, start, storedFrom, seen, then the marks, the holes
 * (blocks cleared because their messages were deleted), the admission proof and the wipe cut
 * (length, kept blocks) when flagged.
 */
const feedRecord: Encoding<FeedState> = framed({
  preencode(state, f) {
    const flags = feedFlags(f)
    c.uint.preencode(state, flags)
    c.fixed32.preencode(state, f.key)
    c.uint.preencode(state, f.start)
    c.uint.preencode(state, f.storedFrom)
    c.uint.preencode(state, f.seen)
    if (flags & FEED_FLAG_MARKS) lengthMarks.preencode(state, f.marks!)
    if (flags & FEED_FLAG_HOLES) holeList.preencode(state, f.holes!)
    if (flags & FEED_FLAG_PROOF) writerProof.preencode(state, f.proof!)
    if (flags & FEED_FLAG_WIPE) {
      c.uint.preencode(state, f.wipe!.length)
      holeList.preencode(state, f.wipe!.keep)
    }
  },
  encode(state, f) {
    const flags = feedFlags(f)
    c.uint.encode(state, flags)
    c.fixed32.encode(state, f.key)
    c.uint.encode(state, f.start)
    c.uint.encode(state, f.storedFrom)
    c.uint.encode(state, f.seen)
    if (flags & FEED_FLAG_MARKS) lengthMarks.encode(state, f.marks!)
    if (flags & FEED_FLAG_HOLES) holeList.encode(state, f.holes!)
    if (flags & FEED_FLAG_PROOF) writerProof.encode(state, f.proof!)
    if (flags & FEED_FLAG_WIPE) {
      c.uint.encode(state, f.wipe!.length)
      holeList.encode(state, f.wipe!.keep)
    }
  },
  decode(state) {
    const flags = c.uint.decode(state)
    const f: FeedState = {
      key: c.fixed32.decode(state),
      start: c.uint.decode(state),
      storedFrom: c.uint.decode(state),
      seen: c.uint.decode(state)
    }
    // Fuzzing found: a flagged empty list came back absent after a rewrite; it is absent now.
    if (flags & FEED_FLAG_MARKS) {
      const marks = lengthMarks.decode(state)
      if (marks.length > 0) f.marks = marks
    }
    if (flags & FEED_FLAG_HOLES) {
      const holes = holeList.decode(state)
      if (holes.length > 0) f.holes = holes
    }
    if (flags & FEED_FLAG_PROOF) f.proof = writerProof.decode(state)
    if (flags & FEED_FLAG_ADMITTED) f.admitted = true
    if (flags & FEED_FLAG_WIPE) f.wipe = { length: c.uint.decode(state), keep: holeList.decode(state) }
    if (flags & FEED_FLAG_DORMANT) f.dormant = true
    return f
  }
})
const feedRecords = boundedArray(feedRecord)

// Room flags, a later trailing field (absent in older entries). Bit 0: a named room joined
// with a password, which UIs mark: another password is another room. Bit 1: a relayed
// room's admission public key follows.
const ROOM_FLAG_PASSWORD = 1
const ROOM_FLAG_ADMISSION_KEY = 2
/** Bit 2: a room made by createRoom(): its owner's identity and the nonce of its secret follow. */
const ROOM_FLAG_OWNER = 4
/** Bit 3: the room's key epochs this node holds follow (bounded by MAX_EPOCH_KEYS). */
const ROOM_FLAG_EPOCHS = 8

const epochTarget = {
  preencode(state: State, t: { core: Buffer; seq: number }) {
    c.fixed(16).preencode(state, t.core)
    c.uint.preencode(state, t.seq)
  },
  encode(state: State, t: { core: Buffer; seq: number }) {
    c.fixed(16).encode(state, t.core)
    c.uint.encode(state, t.seq)
  },
  decode(state: State) {
    return { core: c.fixed(16).decode(state), seq: c.uint.decode(state) }
  }
}

const epochKeyState: Encoding<EpochKeyState> = {
  preencode(state, e) {
    epochTarget.preencode(state, e.id)
    epochTarget.preencode(state, e.cause)
    c.fixed32.preencode(state, e.key)
    c.uint.preencode(state, e.lastUse)
  },
  encode(state, e) {
    epochTarget.encode(state, e.id)
    epochTarget.encode(state, e.cause)
    c.fixed32.encode(state, e.key)
    c.uint.encode(state, e.lastUse)
  },
  decode(state) {
    return { id: epochTarget.decode(state), cause: epochTarget.decode(state), key: c.fixed32.decode(state), lastUse: c.uint.decode(state) }
  }
}
const epochKeyStates = boundedArray(epochKeyState, MAX_EPOCH_KEYS)

/**
 * version, kind, secret, name, joinedAt, ttl, each writer's framed progress record, then
 * (trailing) flags and, with bit 1, a relayed room's admission public key. Older builds
 * skip the flags.
 */
export const roomEntry: Encoding<RoomState> = {
  preencode(state, r) {
    c.uint.preencode(state, ROOM_VERSION)
    c.uint.preencode(state, r.kind)
    c.fixed32.preencode(state, r.secret)
    c.string.preencode(state, r.name)
    c.uint.preencode(state, r.joinedAt)
    c.uint.preencode(state, r.ttl)
    feedRecords.preencode(state, r.feeds)
    c.uint.preencode(state, roomFlags(r))
    if (r.admissionKey) c.fixed32.preencode(state, r.admissionKey)
    if (r.owner) {
      c.fixed32.preencode(state, r.owner.identity)
      c.fixed32.preencode(state, r.owner.nonce)
    }
    if (r.epochs && r.epochs.length > 0) epochKeyStates.preencode(state, r.epochs)
  },
  encode(state, r) {
    c.uint.encode(state, ROOM_VERSION)
    c.uint.encode(state, r.kind)
    c.fixed32.encode(state, r.secret)
    c.string.encode(state, r.name)
    c.uint.encode(state, r.joinedAt)
    c.uint.encode(state, r.ttl)
    feedRecords.encode(state, r.feeds)
    c.uint.encode(state, roomFlags(r))
    if (r.admissionKey) c.fixed32.encode(state, r.admissionKey)
    if (r.owner) {
      c.fixed32.encode(state, r.owner.identity)
      c.fixed32.encode(state, r.owner.nonce)
    }
    if (r.epochs && r.epochs.length > 0) epochKeyStates.encode(state, r.epochs)
  },
  decode(state) {
    checkVersion(state, ROOM_VERSION, 'room entry')
    const kind = c.uint.decode(state)
    if (kind !== RoomKind.NAMED && kind !== RoomKind.PRIVATE && kind !== RoomKind.RELAYED && kind !== RoomKind.ACCOUNT) {
      throw BackspaceError.DECODE_FAILED(`unknown room kind ${kind}`)
    }
    const room: RoomState = {
      kind,
      secret: c.fixed32.decode(state),
      name: c.string.decode(state),
      joinedAt: c.uint.decode(state),
      ttl: c.uint.decode(state),
      feeds: feedRecords.decode(state)
    }
    if (state.start < state.end) {
      const flags = c.uint.decode(state)
      if (flags & ROOM_FLAG_PASSWORD) room.password = true
      if (flags & ROOM_FLAG_ADMISSION_KEY) room.admissionKey = c.fixed32.decode(state)
      if (flags & ROOM_FLAG_OWNER) room.owner = { identity: c.fixed32.decode(state), nonce: c.fixed32.decode(state) }
      if (flags & ROOM_FLAG_EPOCHS) room.epochs = epochKeyStates.decode(state)
    }
    return room
  }
}

// ---------------------------------------------------------------------------
// profile: this identity's display name, status and away message
// ---------------------------------------------------------------------------

export const PROFILE_VERSION = 1

export const profileEntry: Encoding<ProfileFields> = {
  preencode(state, p) {
    c.uint.preencode(state, PROFILE_VERSION)
    profileFields.preencode(state, p)
  },
  encode(state, p) {
    c.uint.encode(state, PROFILE_VERSION)
    profileFields.encode(state, p)
  },
  decode(state) {
    checkVersion(state, PROFILE_VERSION, 'profile entry')
    return profileFields.decode(state)
  }
}

// ---------------------------------------------------------------------------
// read/<room id>: how far this identity has read a room, and what is unread
// ---------------------------------------------------------------------------

/** The last message read in a room: its timestamp, then its id to break ties. */
export interface ReadPosition {
  readonly timestamp: number
  readonly id: string
}

/** A room's unread counts and read position. */
export interface UnreadCounts {
  /** Messages from others after the read position. */
  readonly unread: number
  /** Of those, the ones that mention this identity's name. */
  readonly mentions: number
  /** The last message read, or null when nothing was marked read yet. */
  readonly position: ReadPosition | null
}

/** What is stored per room: the counts, and the ids of the last messages counted. */
export interface ReadState extends UnreadCounts {
  /**
   * The ids of the latest messages counted, newest last, at most MAX_RECENT: a room that
   * delivers one of them again after a restart does not get it counted twice.
   */
  readonly recent: readonly string[]
}

export const READ_VERSION = 1
const READ_FLAG_POSITION = 1
const READ_FLAG_RECENT = 2
const MAX_ID_BYTES = 256
export const MAX_RECENT = 32

const ids = boundedArray(c.string, MAX_RECENT)

/** version, flags (bit 0: a position, bit 1: recent ids), [timestamp, id], unread, mentions, [ids]. */
export const readEntry: Encoding<ReadState> = {
  preencode(state, r) {
    c.uint.preencode(state, READ_VERSION)
    c.uint.preencode(state, readFlags(r))
    if (r.position) {
      c.uint.preencode(state, r.position.timestamp)
      c.string.preencode(state, r.position.id)
    }
    c.uint.preencode(state, r.unread)
    c.uint.preencode(state, r.mentions)
    if (r.recent.length > 0) ids.preencode(state, [...r.recent])
  },
  encode(state, r) {
    c.uint.encode(state, READ_VERSION)
    c.uint.encode(state, readFlags(r))
    if (r.position) {
      c.uint.encode(state, r.position.timestamp)
      c.string.encode(state, r.position.id)
    }
    c.uint.encode(state, r.unread)
    c.uint.encode(state, r.mentions)
    if (r.recent.length > 0) ids.encode(state, [...r.recent])
  },
  decode(state) {
    checkVersion(state, READ_VERSION, 'read entry')
    const flags = c.uint.decode(state)
    let position: ReadPosition | null = null
    if (flags & READ_FLAG_POSITION) {
      const timestamp = c.uint.decode(state)
      position = { timestamp, id: checkId(c.string.decode(state)) }
    }
    const unread = c.uint.decode(state)
    const mentions = c.uint.decode(state)
    if (mentions > unread) throw BackspaceError.DECODE_FAILED('more mentions than unread messages')
    const recent = flags & READ_FLAG_RECENT ? ids.decode(state) : []
    recent.forEach(checkId)
    return { unread, mentions, position, recent }
  }
}

function readFlags(r: ReadState): number {
  return (r.position ? READ_FLAG_POSITION : 0) | (r.recent.length > 0 ? READ_FLAG_RECENT : 0)
}

function checkId(id: string): string {
  if (Buffer.byteLength(id) > MAX_ID_BYTES)
    throw BackspaceError.DECODE_FAILED('message id too long')
  return id
}

// ---------------------------------------------------------------------------
// meta: which generation of the state core this is (see LocalState compaction)
// ---------------------------------------------------------------------------

export interface StateMeta {
  /** Bumped by every compaction; the core with the highest one is the current state. */
  generation: number
}

export const META_VERSION = 1

export const metaEntry: Encoding<StateMeta> = {
  preencode(state, m) {
    c.uint.preencode(state, META_VERSION)
    c.uint.preencode(state, m.generation)
  },
  encode(state, m) {
    c.uint.encode(state, META_VERSION)
    c.uint.encode(state, m.generation)
  },
  decode(state) {
    // Later versions only ever append to the meta entry: the generation is always readable.
    const version = c.uint.decode(state)
    if (version < 1) throw BackspaceError.UNSUPPORTED_VERSION(`meta entry v${version}`)
    return { generation: c.uint.decode(state) }
  }
}

function roomFlags(r: RoomState): number {
  return (
    (r.password ? ROOM_FLAG_PASSWORD : 0) |
    (r.admissionKey ? ROOM_FLAG_ADMISSION_KEY : 0) |
    (r.owner ? ROOM_FLAG_OWNER : 0) |
    (r.epochs && r.epochs.length > 0 ? ROOM_FLAG_EPOCHS : 0)
  )
}

// ---------------------------------------------------------------------------
// setting/chat: what a chat screen restores on the next start
// ---------------------------------------------------------------------------

/** What a chat screen restores on the next start. Local only, encrypted like the rest. */
export interface ChatPrefs {
  /** The id (topic hex) of the room shown last, or '' for none. */
  lastRoom: string
  /** The lines typed, oldest first, at most MAX_INPUT_HISTORY. */
  history: string[]
}

export const CHAT_PREFS_VERSION = 1
/** How many typed lines are kept for recall across restarts. */
export const MAX_INPUT_HISTORY = 100
/** A kept line is at most one message long (MAX_TEXT_BYTES); longer ones are not kept. */
export const MAX_INPUT_LINE_BYTES = 16 * 1024

const historyLine: Encoding<string> = {
  preencode: (state, s) => c.string.preencode(state, s),
  encode: (state, s) => c.string.encode(state, s),
  decode(state) {
    const s = c.string.decode(state)
    if (Buffer.byteLength(s) > MAX_INPUT_LINE_BYTES) throw BackspaceError.DECODE_FAILED('history line too long')
    return s
  }
}
const historyLines = boundedArray(historyLine, MAX_INPUT_HISTORY)

export const chatPrefsEntry: Encoding<ChatPrefs> = {
  preencode(state, p) {
    c.uint.preencode(state, CHAT_PREFS_VERSION)
    c.string.preencode(state, p.lastRoom)
    historyLines.preencode(state, p.history)
  },
  encode(state, p) {
    c.uint.encode(state, CHAT_PREFS_VERSION)
    c.string.encode(state, p.lastRoom)
    historyLines.encode(state, p.history)
  },
  decode(state) {
    checkVersion(state, CHAT_PREFS_VERSION, 'chat prefs entry')
    const lastRoom = c.string.decode(state)
    if (!/^(?:[0-9a-f]{64})?$/.test(lastRoom)) throw BackspaceError.DECODE_FAILED('last room is not a room id')
    return { lastRoom, history: historyLines.decode(state) }
  }
}
