// The account log: how the account follows the identity to every device. Each device of the
// identity writes its own core on a topic only the identity's devices can derive (from the
// account key), using the same signed, encrypted, replicated logs as rooms. Each record is a
// device's whole view of the account: the rooms joined and left, and the profile. Views merge
// per room and for the profile by last writer wins (time, then device key), so every device
// ends with the same account whatever order the records arrive in. Records expire with the
// TTL like everything else, so devices write their view again well before that.
import c from 'compact-encoding'
import b4a from 'b4a'
import { BackspaceError } from '../errors.js'
import { deriveRoomKeys, hash } from '../crypto.js'
import {
  decodeStrict,
  framed,
  MessageType,
  profileFields,
  RoomKind,
  type Encoding,
  type MessageRecord,
  type ProfileFields,
  type RoomKindValue,
  type RoomState
} from '../messages.js'
import { Resource } from '../resource.js'
import type { DeviceCertificate, DeviceRevocation } from '../identity/device.js'
import { comparePositions } from '../state/read-positions.js'
import { Room } from '../room/room.js'
import { mergeSocial, socialView, type BlockEntry, type ContactEntry, type RelayEntry, type SocialView } from '../social/codecs.js'
import type { RoomContext } from '../room/context.js'

const NS_ACCOUNT_LOG = b4a.from('backspace/account-log/v1')

/** Rooms one account record may list; a view with more is refused, not truncated. */
export const MAX_ACCOUNT_ROOMS = 512
/** Rooms left are remembered this long, so a device that was offline learns of the leave. */
const LEFT_MEMORY = 30 * 24 * 60 * 60 * 1000

/** One room in the account's view. */
export interface AccountRoom {
  kind: RoomKindValue
  secret: Buffer
  name: string
  joinedAt: number
  /** Left on some device: every device leaves it. */
  left: boolean
  /** When it was last joined or left: the later word wins. */
  at: number
}

/** How far the account has read one room: the latest position any device reached. */
export interface AccountRead {
  /** The room's topic. */
  topic: Buffer
  timestamp: number
  /** The id of the message read up to. */
  id: string
}

/** A device's view of the account. */
export interface AccountView {
  profile: ProfileFields
  /** When the profile was last set; 0 if never. */
  profileAt: number
  rooms: AccountRoom[]
  /** Read positions (a later field: absent in records of older builds). */
  reads: AccountRead[]
  /** Contacts (friends, requests sent) and blocks (a later field: absent in older records). */
  social?: SocialView
}

const socialField = framed(socialView)

const MAX_READ_ID = 64

const accountRead: Encoding<AccountRead> = {
  preencode(state, r) {
    c.fixed32.preencode(state, r.topic)
    c.uint.preencode(state, r.timestamp)
    c.string.preencode(state, r.id)
  },
  encode(state, r) {
    c.fixed32.encode(state, r.topic)
    c.uint.encode(state, r.timestamp)
    c.string.encode(state, r.id)
  },
  decode(state) {
    const topic = c.fixed32.decode(state)
    const timestamp = c.uint.decode(state)
    const id = c.string.decode(state)
    if (id.length > MAX_READ_ID) throw BackspaceError.DECODE_FAILED('read position id too long')
    return { topic, timestamp, id }
  }
}

const VIEW_VERSION = 1
const ROOM_FLAG_LEFT = 1

const accountRoom: Encoding<AccountRoom> = {
  preencode(state, r) {
    c.uint.preencode(state, r.left ? ROOM_FLAG_LEFT : 0)
    c.uint.preencode(state, r.kind)
    c.fixed32.preencode(state, r.secret)
    c.string.preencode(state, r.name)
    c.uint.preencode(state, r.joinedAt)
    c.uint.preencode(state, r.at)
  },
  encode(state, r) {
    c.uint.encode(state, r.left ? ROOM_FLAG_LEFT : 0)
    c.uint.encode(state, r.kind)
    c.fixed32.encode(state, r.secret)
    c.string.encode(state, r.name)
    c.uint.encode(state, r.joinedAt)
    c.uint.encode(state, r.at)
  },
  decode(state) {
    const flags = c.uint.decode(state)
    const kind = c.uint.decode(state)
    if (kind !== RoomKind.NAMED && kind !== RoomKind.PRIVATE) throw BackspaceError.DECODE_FAILED(`account room kind ${kind}`)
    const secret = c.fixed32.decode(state)
    const name = c.string.decode(state)
    if (name.length > 256) throw BackspaceError.DECODE_FAILED('account room name too long')
    return { left: (flags & ROOM_FLAG_LEFT) !== 0, kind, secret, name, joinedAt: c.uint.decode(state), at: c.uint.decode(state) }
  }
}

export const accountView: Encoding<AccountView> = {
  preencode(state, v) {
    c.uint.preencode(state, VIEW_VERSION)
    profileFields.preencode(state, v.profile)
    c.uint.preencode(state, v.profileAt)
    c.uint.preencode(state, v.rooms.length)
    for (const r of v.rooms) accountRoom.preencode(state, r)
    c.uint.preencode(state, v.reads.length)
    for (const r of v.reads) accountRead.preencode(state, r)
    if (v.social) socialField.preencode(state, v.social)
  },
  encode(state, v) {
    c.uint.encode(state, VIEW_VERSION)
    profileFields.encode(state, v.profile)
    c.uint.encode(state, v.profileAt)
    c.uint.encode(state, v.rooms.length)
    for (const r of v.rooms) accountRoom.encode(state, r)
    c.uint.encode(state, v.reads.length)
    for (const r of v.reads) accountRead.encode(state, r)
    if (v.social) socialField.encode(state, v.social)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== VIEW_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`account view v${version}`)
    const profile = profileFields.decode(state)
    const profileAt = c.uint.decode(state)
    const count = c.uint.decode(state)
    if (count > MAX_ACCOUNT_ROOMS) throw BackspaceError.DECODE_FAILED('too many rooms in an account view')
    const rooms: AccountRoom[] = []
    for (let i = 0; i < count; i++) rooms.push(accountRoom.decode(state))
    const reads: AccountRead[] = []
    if (state.start < state.end) {
      const n = c.uint.decode(state)
      if (n > MAX_ACCOUNT_ROOMS) throw BackspaceError.DECODE_FAILED('too many read positions in an account view')
      for (let i = 0; i < n; i++) reads.push(accountRead.decode(state))
    }
    const social = state.start < state.end ? socialField.decode(state) : undefined
    // Fields a later build appends are skipped.
    state.start = state.end
    return social ? { profile, profileAt, rooms, reads, social } : { profile, profileAt, rooms, reads }
  }
}

/** The room secret of an account's log: only holders of the account key derive it. */
export function accountLogSecret(accountKey: Buffer): Buffer {
  return hash([NS_ACCOUNT_LOG], accountKey)
}

export interface AccountLogEvents {
  /** The merged view changed because of another device's record. */
  update: [AccountView]
  /** A device of the identity wrote to the log: its verified certificate. */
  certificate: [DeviceCertificate]
  /** A verified revocation of one of the identity's devices. */
  revocation: [DeviceRevocation]
  error: [Error]
  close: []
}

/**
 * The account log of this identity, as one device sees it. `view` is the merged account;
 * `publish` writes this device's view after a local change.
 */
export class AccountLog extends Resource<AccountLogEvents>() {
  readonly room: Room
  private readonly now: () => number
  private readonly ttl: number
  // The merged view: rooms by topic hex, and the profile with its time.
  private readonly rooms = new Map<string, AccountRoom>()
  private profile: ProfileFields | null = null
  // The furthest read position any device reached, by topic hex.
  private readonly reads = new Map<string, AccountRead>()
  private profileAt = 0
  // Contacts and blocks, by identity key hex.
  private readonly contacts = new Map<string, ContactEntry>()
  private readonly blocks = new Map<string, BlockEntry>()
  private readonly relays = new Map<string, RelayEntry>()
  // When this device last wrote its view; it writes again before that expires.
  private lastPublished = 0
  private lastPublishedBytes: Buffer | null = null
  // This device's key: its own records are not news.
  private readonly device: Buffer

  constructor(ctx: Omit<RoomContext, 'extension'>, state: RoomState) {
    super()
    this.now = ctx.now
    this.ttl = ctx.ttl
    this.device = ctx.device.certificate.device
    this.room = new Room(
      {
        ...ctx,
        extension: {
          kinds: new Set([MessageType.ACCOUNT]),
          ownIdentityOnly: true,
          onrecord: (record, meta) => {
            if (meta.certificate) this.emit('certificate', meta.certificate)
            this.onRecord(record, meta.device, meta.emit)
          },
          onrevocation: (revocation) => this.emit('revocation', revocation)
        }
      },
      { ...state, kind: RoomKind.NAMED }
    )
    this.room.on('error', (err) => this.emit('error', err))
  }

  /** A new account log state for `accountKey`. */
  static state(accountKey: Buffer, now: number, ttl: number): RoomState {
    return { kind: RoomKind.ACCOUNT, secret: accountLogSecret(accountKey), name: 'account', joinedAt: now, ttl, feeds: [] }
  }

  /** The topic of an account log, to tell its saved state apart. */
  static topicOf(state: RoomState): string {
    return deriveRoomKeys(state.secret).topic.toString('hex')
  }

  override async _open(): Promise<void> {
    await this.room.ready()
  }

  override async _close(): Promise<void> {
    await this.room.close()
  }

  /** The merged account. */
  view(): AccountView {
    return {
      profile: this.profile ?? { name: '', status: '', away: null },
      profileAt: this.profileAt,
      rooms: [...this.rooms.values()],
      reads: [...this.reads.values()],
      social: { contacts: [...this.contacts.values()], blocks: [...this.blocks.values()], relays: [...this.relays.values()] }
    }
  }

  /** The record the node persists for this log. */
  saved(): RoomState {
    return { ...this.room.state(), kind: RoomKind.ACCOUNT }
  }

  /**
   * Merges this device's own view (its rooms now, rooms it left, its profile) and writes the
   * merged view to the log if it says anything new, or if the last one is half a TTL old.
   */
  async publish(local: AccountView): Promise<void> {
    this.merge(local)
    const now = this.now()
    const view = this.view()
    view.rooms = view.rooms.filter((r) => !r.left || r.at > now - LEFT_MEMORY).slice(-MAX_ACCOUNT_ROOMS)
    // Positions of rooms still joined only.
    const joined = new Set(view.rooms.filter((r) => !r.left).map((r) => deriveRoomKeys(r.secret).topic.toString('hex')))
    view.reads = view.reads.filter((r) => joined.has(r.topic.toString('hex'))).slice(-MAX_ACCOUNT_ROOMS)
    const bytes = c.encode(accountView, view)
    if (this.lastPublishedBytes && b4a.equals(bytes, this.lastPublishedBytes) && this.lastPublished > now - this.ttl / 2) return
    this.lastPublishedBytes = bytes
    this.lastPublished = now
    await this.room.appendRecord({ type: MessageType.ACCOUNT, text: '', payload: bytes })
  }

  private onRecord(record: MessageRecord, device: Buffer, emit: boolean): void {
    if (!record.payload) return
    let view: AccountView
    try {
      view = decodeStrict(accountView, record.payload, 'account view')
    } catch {
      return
    }
    if (b4a.equals(device, this.device)) this.lastPublished = Math.max(this.lastPublished, record.timestamp)
    void emit
    if (this.merge(view)) this.emit('update', this.view())
  }

  // Last writer wins, per room and for the profile. True if anything changed.
  private merge(view: AccountView): boolean {
    let changed = false
    for (const r of view.rooms) {
      const topic = deriveRoomKeys(r.secret).topic.toString('hex')
      const current = this.rooms.get(topic)
      if (current && (current.at > r.at || (current.at === r.at && (current.left || !r.left)))) continue
      if (current && current.at === r.at && current.left === r.left) continue
      this.rooms.set(topic, r)
      changed = true
    }
    if (view.profileAt > this.profileAt) {
      this.profile = view.profile
      this.profileAt = view.profileAt
      changed = true
    }
    for (const r of view.reads) {
      const topic = r.topic.toString('hex')
      const current = this.reads.get(topic)
      if (current && comparePositions(current, r) >= 0) continue
      this.reads.set(topic, r)
      changed = true
    }
    if (view.social && mergeSocial(this.contacts, this.blocks, this.relays, view.social)) changed = true
    return changed
  }
}
