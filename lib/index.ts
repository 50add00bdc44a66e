import c from 'compact-encoding'
import fs from 'fs/promises'
import path from 'path'
import Corestore from 'corestore'
import type Hyperswarm from 'hyperswarm'
import { BackspaceError } from './errors.js'
import {
  deriveAdmissionKeyPair,
  deriveLocalKey,
  deriveNamedRoomSecret,
  deriveRelayKeys,
  deriveRelaySecret,
  deriveDeviceRegistryKey,
  deriveRoomKeys,
  normalizeRoomName,
  ownedRoomSecret,
  randomBytes,
  type KeyPair
} from './crypto.js'
import {
  accountDirectory,
  accountExists,
  createAccount,
  fingerprint,
  Identity,
  loadAccountKeys,
  primaryKeys,
  assertAccountName,
  resolveStorage,
  type AccountKeys
} from './identity.js'
import { DEFAULT_ACCOUNT } from './accounts.js'
import { eraseDeleted, LocalState } from './state/local-state.js'
import { comparePositions, ReadPositions, type UnreadCounts } from './state/read-positions.js'
import { chatPrefsEntry, decodeEntry, MAX_INPUT_HISTORY, MAX_INPUT_LINE_BYTES, type ChatPrefs } from './state/codecs.js'
import { encodeCertificate, generateDeviceKeyPair, MAX_DEVICE_NAME_BYTES } from './identity/device.js'
import { DeviceRegistry, type DeviceKeys } from './identity/devices.js'
import { Devices } from './identity/device-manager.js'
import { LinkRequest, type DeviceGrant } from './identity/pairing.js'
import type { DeviceLink, LinkedRoom } from './identity/pairing-messages.js'
import {
  EMPTY_PROFILE,
  profileTextProblem,
  RoomKind,
  type ProfileFields,
  type RoomState
} from './messages.js'
import { createSwarm, parseBootstrap, ROOM_DIAL_LIMIT, roomDialBudget, type BootstrapNode } from './network.js'
import { Resource } from './resource.js'
import { makeScratch, removeStaleScratch } from './scratch.js'
import { nameProblem } from './display-name.js'
import { contactLinkOf, isDeviceLink, isInvite, isRelayLink, looksLikeLink, parseDeviceLink, parseInvite, parseRelayLink } from './links.js'
import { Social, type DmInfo, type Friend, type FriendRequest, type RelayInfo } from './social/social.js'
import { RelayServer, type RelayServerStats } from './social/relay-service.js'
import { checkRule, DEFAULT_RATE, type RateRule } from './room/rate-limit.js'
import { relayNodeLinkOf, relayLinkOf } from './links.js'
import { BlockState } from './social/codecs.js'
import { MAX_PAGE, Room } from './room/room.js'
import type { RelayContext, RoomContext, TopicLookup } from './room/context.js'
import { AccountLog, type AccountRead, type AccountRoom, type AccountView } from './account/account-log.js'
import { RelayedRoom } from './room/relayed.js'
import { MEMBER_QUOTA, QuotaLedger, quotaLimits, RELAY_QUOTA } from './room/quota.js'
import type { CreateRoomOptions, DeviceInfo, DeviceRequest, JoinOptions, Message, Profile, QuotaOptions } from './types.js'

export { BackspaceError, ERROR_CODES, isBackspaceError, type ErrorCode } from './errors.js'
export {
  Identity,
  fingerprint,
  listAccounts,
  accountExists,
  accountIsEncrypted,
  accountPublicKey,
  accountIsLinked,
  saveAccount,
  loadAccount,
  changeAccountPassword
} from './identity.js'
export { Devices, type InviteOptions } from './identity/device-manager.js'
export { accountDevices } from './identity/devices.js'
export { DEFAULT_ACCOUNT, resolveStorage } from './accounts.js'
export { Room } from './room/room.js'
export { isDeviceLink, isInvite, isRelayLink, isContactLink, parseContactLink } from './links.js'
export type { DmInfo, Friend, FriendRequest, SocialStats, RelayInfo } from './social/social.js'
export type { RelayServerStats } from './social/relay-service.js'
export { isRelayNodeLink } from './links.js'
export { DEFAULT_RATE, type RateRule } from './room/rate-limit.js'
export { LINK_TTL } from './identity/pairing.js'
export { RelayedRoom, type RelayedRoomStats } from './room/relayed.js'
export { isMention, mentionOf, mentionTag, resolveMentions, type MentionTarget } from './mentions.js'
export { displayName, nameProblem, MAX_DISPLAY_NAME_CHARS } from './display-name.js'
export { compareMessages } from './timeline.js'
export {
  ChatModel,
  CONFIRM_WORDS,
  NewPhrase,
  chatReducer,
  initialChatState,
  noticeLevel,
  selectEntries,
  NOTICE_LIMIT,
  OLDER_PAGE,
  type ChatAction,
  type ChatModelEvents,
  type ChatModelOptions,
  type ChatNotice,
  type ChatState,
  type Entry,
  type NoticeBody,
  type NoticePerson,
  type DmPeer,
  DEFAULT_SETTINGS,
  ROLE_MARKS,
  roleOf,
  roomOrder,
  orderedRooms,
  type RoomView,
  type Target,
  MEMBER_ACTIONS,
  memberActionRefusal,
  memberActions,
  type MemberAction
} from './chat/index.js'
export {
  COMMANDS,
  HELP_FOOTER,
  completeLine,
  defineCommand,
  describeDevice,
  findCommand,
  parseCommand,
  pointsAtMessage,
  roomLabel,
  roomTag,
  aloneNotice,
  runCommand,
  type RoomLabelInput,
  type ArgSpec,
  type Command,
  type CommandInfo,
  type CommandContext,
  type CommandMap,
  type CommandOutput,
  type CommandResult,
  type CommandScope,
  type CommandSpec,
  type CommandType,
  type CompletionInput,
  type Notice,
  type RoomListing
} from './commands.js'
export {
  describeMessageError,
  formatMessageRef,
  lastMessage,
  lastOwnMessage,
  lastReactedMessage,
  looksLikeMessageRef,
  messageHandle,
  messageOrderKey,
  messageRef,
  parseMessageRef,
  QUICK_REACTIONS,
  REACTION_NAMES,
  reactionEmoji,
  resolveMessageRef,
  shortRefs,
  type MessageAction,
  type MessageRef
} from './message-refs.js'
export { isEmoji } from './emoji.js'
export { normalizeRoomName } from './crypto.js'
export { parseBootstrap, type BootstrapNode } from './network.js'
export { bootstrapFromFlags, storageFromFlags } from './flags.js'
export { MAX_TEXT_BYTES, MAX_NAME_BYTES, MAX_STATUS_BYTES } from './messages.js'
export type * from './types.js'
export type * from './governance/types.js'
export type { ReadPosition, UnreadCounts } from './state/read-positions.js'
export { MAX_INPUT_HISTORY, type ChatPrefs } from './state/codecs.js'

// How long a change waits before the local state is saved, so that a burst shares one save;
// bookkeeping that every message moves (unread counts, expiry marks) waits longer.
const SAVE_DELAY = 200
const ROUTINE_SAVE_DELAY = 5000
// How long after blocks are cleared the storage is compacted, so a burst shares one.
const ERASE_DELAY = 1000
// How long read positions wait before the account log carries them to the other devices.
const ACCOUNT_READS_DELAY = 2000
/** How often an unreachable DHT is looked at again (its table refreshes by itself). */
const REACH_CHECK_MS = 5000
/**
 * How long after a room's first lookup its second one starts, in ms: the channels on the
 * connections the first one made have opened by then, so the second dials only what is left
 * of `roomDialLimit`.
 */
const LOOKUP_SETTLE_MS = 1000

/** Rooms a relay keeps at most, all users of `serveRelay()` together. */
export const MAX_SERVED_ROOMS = 4096

/** The longest any message lives, everywhere. */
export const MAX_TTL = 7 * 24 * 60 * 60 * 1000

export interface BackspaceOptions {
  /** Where accounts and rooms live. Defaults to the platform's data directory. */
  storage?: string
  /** Which account of the storage to use; created on first use. Default `default`. */
  account?: string
  /** Unlocks an encrypted account, or encrypts a new one. Without it a new key file is 0600. */
  password?: string
  /** Creates the account from this 24-word recovery phrase. */
  phrase?: string
  /** Creates the account from this hex seed or secret key. */
  secretKey?: string
  /** An ephemeral identity; nothing is written to disk. */
  incognito?: boolean
  /**
   * Makes this account a new device of an existing identity: a `backspace-device:` link from
   * `node.devices.invite()` on a device that holds the identity. `ready()` resolves once that
   * device approved this one and the account is saved; it rejects with DEVICE_LINK_DENIED,
   * DEVICE_LINK_EXPIRED or DEVICE_LINK_FAILED. The account must not exist yet.
   */
  link?: string
  /** A label for this device in the identity's device list (at most 64 bytes). */
  deviceName?: string
  /** DHT bootstrap nodes, as `{ host, port }` or `'host:port'`. Without it, the public DHT. */
  bootstrap?: ReadonlyArray<string | BootstrapNode>
  /** The clock, in ms since the epoch. Tests move it to expire messages. */
  now?: () => number
  /** How long messages live, in ms. At most, and by default, 7 days. */
  ttl?: number
  /** How often expired messages are pruned, in ms. Default one minute. */
  pruneInterval?: number
  /** Messages per writer loaded when a room opens or a writer is found. Default 50. */
  historyPage?: number
  /** How long paging back waits for peers to send a block, in ms. Default 5000. */
  fetchTimeout?: number
  /**
   * How long after a password room opens with nobody else seen its `alone` event comes, in
   * ms. Default 30 s.
   */
  aloneAfter?: number
  /**
   * Relay mode: the node keeps rooms (`keep()`) instead of joining them. It downloads and
   * serves every member's whole log until it expires, without the key to read it, so
   * members who are never online together still get each other's messages.
   */
  relay?: boolean
  /**
   * The most connections this node keeps open: inbound connections beyond it are closed at
   * once. The node dials three eighths of it itself (24 of 64) and keeps the rest for peers
   * that dial it, so a newcomer to a room larger than this still finds members with room for
   * it. Default 64.
   */
  maxPeers?: number
  /**
   * How long a connection may stay silent, in ms, before it is closed: nothing received from
   * the peer, not even the keep-alive every peer sends after 5 s without traffic. A connection
   * whose other end is gone (or which stopped passing packets) is otherwise kept for minutes,
   * while the transport backs off its retries, and this node takes the peer for online and
   * waits for it. Default 20 s; at least 10 s, twice the keep-alive, so that a healthy peer
   * with nothing to say is never closed.
   */
  connectionTimeout?: number
  /**
   * The most inbound connections from one IP address; more are closed at once. Default 16.
   * Peers behind one NAT share an address, so keep it well above one.
   */
  maxPeersPerIp?: number
  /**
   * How many members of each room this node dials itself. Past it, the node answers members
   * who dial it but looks for no more, so a member of a large room holds about twice this many
   * connections for it, and messages reach the rest by forwarding. Members who dial this node
   * do not count. Default 8; a room of up to nine members is a full mesh.
   */
  roomDialLimit?: number
  /**
   * Bytes of other peers' cores this node holds at most: per writer, per room, in all. A
   * writer past it is not fetched further, and `room.stats.quota` and a `quota` event say so.
   * Defaults: 64 MiB, 512 MiB and 2 GiB for a member; 64 MiB, 1 GiB and 8 GiB for a relay.
   */
  quota?: QuotaOptions
  /**
   * The rate limit in every room and DM, which this node holds its own sends to
   * (RATE_LIMITED) and applies to every writer it reads: default 15 messages in 10 s (by
   * the writers' own log order and stamps). `false` for none: bulk tools and tests only,
   * since readers with the default drop what goes past it.
   */
  rateLimit?: RateRule | false
}

/** `node.relays`: blind relays that hold inboxes and DMs for friends who are offline. */
export interface RelaysApi {
  /** Adds a relay by the `backspace-relay-node:` link `backspace relay --serve` prints. */
  add(link: string): Promise<void>
  list(): RelayInfo[]
  remove(link: string): Promise<void>
}

/** `node.friends`: requests, friends, and requests sent. */
export interface FriendsApi {
  /** Sends a friend request with one short message to a key (Buffer, hex, or contact link). */
  request(key: Buffer | string, text?: string): Promise<void>
  list(): Friend[]
  /** Ends a friendship: the DM closes and its data is deleted on this identity's devices. */
  remove(key: Buffer | string): Promise<void>
  /** Requests that arrived and wait for an answer. */
  requests(): FriendRequest[]
  /** Requests sent and not yet accepted. */
  sent(): Array<{ key: Buffer; name: string; fingerprint: string; text: string; at: number }>
}

/** How many members of each room a node dials by default (`BackspaceOptions.roomDialLimit`). */
export const DEFAULT_ROOM_DIAL_LIMIT = ROOM_DIAL_LIMIT

/** How many connections a node keeps by default (`BackspaceOptions.maxPeers`). */
export const DEFAULT_MAX_PEERS = 64
/** How long a connection may stay silent before it is closed, by default (`BackspaceOptions.connectionTimeout`). */
export const DEFAULT_CONNECTION_TIMEOUT = 20_000
/**
 * The shortest `connectionTimeout`: twice the keep-alive peers send after 5 s without traffic
 * (Hyperswarm's default), so that a healthy peer with nothing to say is never closed.
 */
export const MIN_CONNECTION_TIMEOUT = 10_000
/** How many inbound connections from one IP address a node keeps by default. */
export const DEFAULT_MAX_PEERS_PER_IP = 16

/** Node-wide counts, computed locally, reported nowhere. */
export interface NodeStats {
  /** Open connections to other peers. */
  peers: number
  rooms: number
  /** Writer cores across all rooms. */
  writers: number
  /** Messages loaded in memory across all rooms. */
  messages: number
  /** Blocks this node has sent to peers since it started: what it relayed. */
  relayed: number
  /** Inbound connections closed at once because of `maxPeers` or `maxPeersPerIp`. */
  refused: number
  /** Connections closed because nothing arrived on them for `connectionTimeout`. */
  timedOut: number
}

export interface NodeEvents {
  /** A room was joined, created or restored, or a DM with a friend opened (`room.kind === 'dm'`). */
  'room-add': [Room]
  /** A room was left or closed. */
  'room-remove': [Room]
  /** A connection to another peer opened or closed; the argument is how many are open. */
  connections: [number]
  /** The DHT network could be reached (true) or not (false): see `reachable`. */
  network: [boolean]
  /** This identity's profile changed (`setProfile`). */
  profile: [Profile]
  /** A room's unread counts or read position changed: a message arrived, or `markRead`. */
  unread: [roomId: string, counts: UnreadCounts]
  /**
   * A new device asks to join this identity through a link from `devices.invite()`. Compare
   * its fingerprint with the one the new device shows, then `approve()` or `deny()`. Without a
   * listener, requests are denied.
   */
  'device-request': [DeviceRequest]
  /** The identity's device list changed: a device was linked or revoked. */
  'device-update': [DeviceInfo[]]
  /**
   * A friend request arrived: only its text is shown until it is accepted. `accept()`,
   * `decline()` or `block()` it; requests from declined or blocked identities never come here.
   */
  'friend-request': [FriendRequest]
  /** Friends, requests, blocks, DMs or friends' online status changed. */
  'friend-update': []
  /** A background task failed; the node goes on. */
  error: [Error]
  ready: []
  close: []
}

type Stream = Hyperswarm.Connection

/**
 * A Backspace peer: one identity, its rooms, and one Hyperswarm. Every install is a full
 * peer; there is no server.
 *
 * ```ts
 * const node = new Backspace({ storage: dir })
 * await node.ready()
 * const room = await node.join('general')
 * room.on('message', (m) => console.log(m.text))
 * await room.send('hello')
 * ```
 */
export class Backspace extends Resource<NodeEvents>() {
  readonly storage: string | null
  readonly account: string
  readonly incognito: boolean
  readonly ttl: number

  private readonly options: BackspaceOptions
  private readonly bootstrap: BootstrapNode[] | null
  private readonly clock: () => number
  private _identity: Identity | null = null
  private keys: AccountKeys | null = null
  private deviceKeys_: DeviceKeys | null = null
  private registry: DeviceRegistry | null = null
  /** This identity's devices: link a new one, list them, revoke one. */
  readonly devices: Devices
  // With `link`: the link, and this new device's key pair, made up front so its fingerprint
  // can be shown while the other device decides.
  private readonly link: DeviceLink | null
  private readonly linkDevice: KeyPair | null
  private linkRequest: LinkRequest | null = null
  private store: Corestore | null = null
  private swarm: Hyperswarm | null = null
  // Whether the DHT answered: null until it bootstrapped, then its routing table has nodes or not.
  private reachable_: boolean | null = null
  // While the DHT is unreachable, how often its routing table is looked at again.
  private reachTimer: ReturnType<typeof setInterval> | null = null
  private localState: LocalState | null = null
  // Where rooms journal the sends they resolved before storing them (lib/room/journal.ts).
  private journal: { dir: string; key: Buffer } | null = null
  // Unread counts and read positions per room, fed by every room's messages.
  private readonly reads: ReadPositions
  private readonly rooms_ = new Map<string, Room>()
  private readonly relayed_ = new Map<string, RelayedRoom>()
  // Rooms closed without leaving: still persisted, and reopened with their state on join.
  private readonly parked = new Map<string, RoomState>()
  // Joins in flight by topic, so joining one room twice at once yields one Room.
  private readonly joining = new Map<string, Promise<Room>>()
  private readonly streams_ = new Set<Stream>()
  // Inbound connections open, per remote IP address, for `maxPeersPerIp`.
  private readonly inboundByHost = new Map<string, number>()
  private readonly maxPeers: number
  private readonly maxPeersPerIp: number
  private readonly connectionTimeout: number
  private readonly roomDialLimit: number
  private refused = 0
  private timedOut = 0
  private profile_: ProfileFields = { ...EMPTY_PROFILE }
  private relayed = 0
  private saveTimer: NodeJS.Timeout | null = null
  private saveAt = Infinity
  private pruneTimer: NodeJS.Timeout | null = null
  // Incognito keeps its cores in a RAM-backed directory, removed on close.
  private scratch: string | null = null
  // The account log, through which joined rooms and the profile follow the identity.
  private accountLog: AccountLog | null = null
  // A storage compaction scheduled after blocks were cleared, and the one under way.
  private eraseTimer: NodeJS.Timeout | null = null
  // A publish of the account view, batching read positions.
  private accountPublishTimer: NodeJS.Timeout | null = null
  private erasing: Promise<void> = Promise.resolve()
  // Rooms left on this device this session, so the account log carries the leave.
  private readonly leftRooms = new Map<string, AccountRoom>()
  // Bytes held of other peers' cores, against the quota, across all rooms.
  private readonly quota: QuotaLedger
  // When the profile was last set, so the latest profile among devices wins.
  private profileAt = 0
  // The rate limit of every room and DM; null for none.
  private readonly rateRule: RateRule | null
  // Friends, requests, blocks and DMs (lib/social); null for incognito and relays.
  private social_: Social | null = null
  /** Friend requests and friends. Not available incognito (INCOGNITO). */
  readonly friends: FriendsApi
  /** The relays that keep this account's inboxes and DMs for friends who are offline. */
  readonly relays: RelaysApi
  // Relay mode with `serveRelay()`: keeps rooms users holding its link ask it to keep.
  private relayServer: RelayServer | null = null

  constructor(opts: BackspaceOptions = {}) {
    super()
    if (opts === null || typeof opts !== 'object') throw BackspaceError.INVALID_ARGUMENT('options must be an object')
    const ttl = opts.ttl ?? MAX_TTL
    if (!Number.isFinite(ttl) || ttl <= 0 || ttl > MAX_TTL) {
      throw BackspaceError.INVALID_ARGUMENT(`ttl must be more than 0 and at most ${MAX_TTL} ms`)
    }
    this.options = opts
    try {
      this.rateRule = opts.rateLimit === undefined ? DEFAULT_RATE : opts.rateLimit === false ? null : checkRule(opts.rateLimit)
    } catch {
      throw BackspaceError.INVALID_ARGUMENT('rateLimit is { count, window } with a positive whole count, or false')
    }
    this.maxPeers = checkLimit('maxPeers', opts.maxPeers ?? DEFAULT_MAX_PEERS)
    this.maxPeersPerIp = checkLimit('maxPeersPerIp', opts.maxPeersPerIp ?? DEFAULT_MAX_PEERS_PER_IP)
    this.connectionTimeout = checkLimit('connectionTimeout', opts.connectionTimeout ?? DEFAULT_CONNECTION_TIMEOUT)
    if (this.connectionTimeout < MIN_CONNECTION_TIMEOUT) {
      throw BackspaceError.INVALID_ARGUMENT(`connectionTimeout must be at least ${MIN_CONNECTION_TIMEOUT} ms`)
    }
    this.roomDialLimit = checkLimit('roomDialLimit', opts.roomDialLimit ?? ROOM_DIAL_LIMIT)
    this.incognito = !!opts.incognito
    this.storage = this.incognito ? null : resolveStorage(opts.storage)
    this.account = opts.account ?? DEFAULT_ACCOUNT
    if (!this.incognito) assertAccountName(this.account)
    this.bootstrap = opts.bootstrap ? parseBootstrap(opts.bootstrap) : null
    this.clock = opts.now ?? Date.now
    this.ttl = ttl
    this.quota = new QuotaLedger(quotaLimits(opts.quota, opts.relay ? RELAY_QUOTA : MEMBER_QUOTA))
    this.reads = new ReadPositions((roomId, counts) => {
      this.changed(ROUTINE_SAVE_DELAY)
      this.emit('unread', roomId, counts)
    })
    if (opts.deviceName !== undefined) {
      if (typeof opts.deviceName !== 'string' || Buffer.byteLength(opts.deviceName) > MAX_DEVICE_NAME_BYTES) {
        throw BackspaceError.INVALID_ARGUMENT(`deviceName is a string of at most ${MAX_DEVICE_NAME_BYTES} bytes`)
      }
    }
    if (opts.link !== undefined) {
      if (this.incognito || opts.phrase || opts.secretKey || opts.relay) {
        throw BackspaceError.INVALID_ARGUMENT('a device link makes a new device: it takes no phrase, secret key, incognito or relay')
      }
      this.link = parseDeviceLink(opts.link)
      this.linkDevice = generateDeviceKeyPair()
    } else {
      this.link = null
      this.linkDevice = null
    }
    this.relays = {
      add: async (link) => (await this.whenSocial()).addRelay(link),
      list: () => this.social_?.relayList() ?? [],
      remove: async (link) => (await this.whenSocial()).removeRelay(link)
    }
    this.friends = {
      request: async (key, text = '') => (await this.whenSocial()).request(key, text),
      list: () => this.social_?.list() ?? [],
      remove: async (key) => (await this.whenSocial()).remove(key),
      requests: () => this.social_?.requests() ?? [],
      sent: () => this.social_?.sent() ?? []
    }
    this.devices = new Devices({
      incognito: this.incognito,
      whenOpen: () => this.whenOpen(),
      keys: () => this.keys!,
      registry: () => this.registry!,
      now: this.clock,
      join: (topic) => this.announce(topic),
      leave: (topic) => this.leaveTopic(topic),
      streams: () => this.streams_,
      profile: () => this.profile_,
      rooms: () => this.linkedRooms(),
      applyRevocation: async (revocation) => {
        const rooms: Room[] = this.rooms
        if (this.accountLog) rooms.push(this.accountLog.room)
        await Promise.all(rooms.map((r) => r.applyRevocation(revocation)))
      },
      request: (req) => {
        if (this.listenerCount('device-request') === 0) return false
        this.emit('device-request', req)
        return true
      }
    })
  }

  /** This node's identity. Available once `ready()` resolved. */
  get identity(): Identity {
    if (!this._identity) throw BackspaceError.NOT_READY()
    return this._identity
  }

  /** The identity public key (32 bytes). */
  get publicKey(): Buffer {
    return this.identity.publicKey
  }

  /**
   * This device: each install of an account is its own device, certified by the identity.
   * `primary` when it holds the recovery phrase; `revoked` once the identity revoked it (it
   * should then stop writing). Available once `ready()` resolved.
   */
  get device(): DeviceInfo {
    if (!this.keys || !this.registry) throw BackspaceError.NOT_READY()
    return this.registry.info(this.keys.device.publicKey)!
  }

  /**
   * With `link`, before the other device approves: this new device's key and fingerprint, for
   * the user to compare with what the approving device shows. Null otherwise.
   */
  get linking(): { key: Buffer; fingerprint: string; expiresAt: number } | null {
    if (!this.link || !this.linkDevice || this.keys) return null
    const key = this.linkDevice.publicKey
    return { key, fingerprint: fingerprint(key), expiresAt: this.link.expiresAt }
  }

  /** @internal The account key every device of this identity shares. */
  get accountKey(): Buffer {
    if (!this.keys) throw BackspaceError.NOT_READY()
    return this.keys.accountKey
  }

  /** @internal What rooms need to write as this device and verify the chain to the identity. */
  get deviceKeys(): DeviceKeys {
    if (!this.deviceKeys_) throw BackspaceError.NOT_READY()
    return this.deviceKeys_
  }

  /** @internal The identity's known devices and revocations, for rooms to consult and feed. */
  get deviceRegistry(): DeviceRegistry {
    if (!this.registry) throw BackspaceError.NOT_READY()
    return this.registry
  }

  /** A `backspace-contact:` link with this identity's key and name: how others send a friend request. */
  get contactLink(): string {
    const name = this.profile_.name
    return contactLinkOf({ key: this.publicKey, name })
  }

  /** Blocks an identity: its requests, DMs and room messages are never shown. */
  async block(key: Buffer | string): Promise<void> {
    await (await this.whenSocial()).setBlock(key, BlockState.BLOCKED)
  }

  async unblock(key: Buffer | string): Promise<void> {
    await (await this.whenSocial()).setBlock(key, BlockState.NONE)
  }

  /** The identities this account blocked. */
  blocked(): Buffer[] {
    return this.social_?.blocked() ?? []
  }

  /**
   * The DM with a friend: a Room (send, messages, edit, delete, react, on('message')) that only
   * the two identities' devices read. NOT_FRIENDS until a request was accepted; BLOCKED while
   * blocked.
   */
  async dm(key: Buffer | string): Promise<Room> {
    return (await this.whenSocial()).dm(key)
  }

  /** Open DMs with friends, with unread counts and online status. */
  get dms(): Array<DmInfo & { unread: UnreadCounts }> {
    return (this.social_?.dmList() ?? []).map((d) => ({ ...d, unread: this.reads.get(d.room.id) }))
  }

  /** @internal What the social layer dropped. */
  get socialStats(): { rejected: number; ignored: number } {
    return this.social_ ? { ...this.social_.stats } : { rejected: 0, ignored: 0 }
  }

  private async whenSocial(): Promise<Social> {
    if (this.incognito) throw BackspaceError.INCOGNITO('an incognito identity has no friends, requests or DMs')
    await this.whenOpen()
    if (!this.social_) throw BackspaceError.NOT_ALLOWED('a relay has no friends, requests or DMs')
    return this.social_
  }

  /** The rooms this node is in. */
  get rooms(): Room[] {
    // In the order they were joined, so room numbers survive a restart (rooms reopen in parallel).
    return [...this.rooms_.values()].sort((a, b) => a.joinedAt - b.joinedAt)
  }

  /** The joined room with this `room.id`, if any. */
  room(id: string): Room | undefined {
    return this.rooms_.get(id)
  }

  /** Connections to other peers right now. */
  get connections(): number {
    return this.streams_.size
  }

  /** The clock this node stamps and expires messages with. */
  now(): number {
    return this.clock()
  }

  /** Closes the node. A link still waiting for approval is given up (NODE_CLOSED). */
  override close(): Promise<void> {
    // ready-resource waits for the open to finish before it closes: a link could wait minutes.
    if (!this.opened && this.linkRequest) void this.linkRequest.abort(BackspaceError.NODE_CLOSED())
    return super.close()
  }

  override async _open(): Promise<void> {
    try {
      await this.openResources()
    } catch (err) {
      // ready-resource does not call _close when _open fails: release what was opened.
      if (this.linkRequest) await this.linkRequest.abort(BackspaceError.NODE_CLOSED()).catch(() => {})
      if (this.swarm) await this.swarm.destroy().catch(() => {})
      if (this.localState) await this.localState.close().catch(() => {})
      if (this.store) await this.store.close().catch(() => {})
      if (this.scratch) await fs.rm(this.scratch, { recursive: true, force: true }).catch(() => {})
      throw err
    }
  }

  private async openResources(): Promise<void> {
    const opts = this.options
    let coresDir: string
    let accountDir: string | null = null
    let grant: DeviceGrant | null = null
    // An incognito node killed by SIGKILL could not remove its directory: the next start does.
    await removeStaleScratch()
    if (this.incognito) {
      const identity = Identity.generate()
      this.keys = primaryKeys(identity, { now: this.clock })
      // Members see the same Anon-##### name the UIs show for an incognito identity.
      this.profile_ = { name: identity.anonName, status: '', away: null }
      this.scratch = await makeScratch()
      coresDir = this.scratch
    } else {
      const storage = this.storage!
      if (this.link) {
        // The swarm comes first: the account exists only once the other device approved.
        this.openSwarm()
        grant = await this.linkAccount(storage)
      } else {
        this.keys = await openAccount(storage, this.account, opts, this.clock)
      }
      accountDir = accountDirectory(storage, this.account)
      coresDir = path.join(accountDir, 'cores')
    }
    const keys = this.keys!
    this._identity = keys.identity
    this.deviceKeys_ = {
      keyPair: keys.device,
      certificate: keys.certificate,
      certificateBytes: encodeCertificate(keys.certificate),
      identityKey: keys.identity.publicKey,
      accountKey: keys.accountKey
    }
    this.registry = new DeviceRegistry({
      own: keys.certificate,
      file: accountDir && path.join(accountDir, 'devices'),
      key: deriveDeviceRegistryKey(keys.accountKey),
      onchange: () => this.devicesChanged()
    })
    await this.registry.load()
    if (grant) {
      for (const cert of grant.devices) this.registry.add(cert)
      for (const rev of grant.revocations) this.registry.revoke(rev)
      await this.registry.save()
    }

    this.store = new Corestore(coresDir)
    await this.store.ready()

    // The local state is this device's: sealed with a key from its own device seed. Builds
    // before devices sealed it with a key from the identity seed; that key opens it once.
    const stateKey = deriveLocalKey(keys.device.secretKey)
    const legacyKey = keys.identity.canSign ? deriveLocalKey(keys.identity.secretKey) : undefined
    // Incognito keeps its state in memory: no store, nothing on disk.
    const store = this.incognito ? null : this.store
    const legacyFile = accountDir ? path.join(accountDir, 'state') : undefined
    this.localState = new LocalState({ store, key: stateKey, legacyFile, legacyKey })
    if (accountDir && !this.incognito) this.journal = { dir: path.join(accountDir, 'outbox'), key: stateKey }
    await this.localState.ready()
    if (!this.incognito) this.profile_ = this.localState.profile
    this.reads.load(this.localState.reads())
    const saved = this.localState.rooms()
    if (grant) {
      this.profile_ = grant.profile
      for (const room of grant.rooms) {
        const topic = deriveRoomKeys(room.secret).topic
        if (!saved.some((r) => deriveRoomKeys(r.secret).topic.equals(topic))) {
          saved.push(this.newRoomState(room.kind as RoomState['kind'], room.secret, room.name))
        }
      }
    }

    if (!this.swarm) this.openSwarm()

    const accountState = saved.find((r) => r.kind === RoomKind.ACCOUNT) ?? null
    await Promise.all(
      saved
        .filter((r) => r.kind !== RoomKind.ACCOUNT)
        .map((state) => {
          const relayed = state.kind === RoomKind.RELAYED
          // A relay only keeps rooms; a member only joins them. Other kinds wait, parked.
          if (relayed !== !!opts.relay) {
            const keys = relayed ? deriveRelayKeys(state.secret) : deriveRoomKeys(state.secret)
            this.parked.set(keys.topic.toString('hex'), state)
            return Promise.resolve()
          }
          const opening = relayed ? this.openRelayed(state) : this.openRoom(state, true)
          return opening.then(
            () => {},
            (err) => {
              // A room that fails to open is kept in the state, not silently dropped.
              const keys = relayed ? deriveRelayKeys(state.secret) : deriveRoomKeys(state.secret)
              this.parked.set(keys.topic.toString('hex'), state)
              this.backgroundError(err)
            }
          )
        })
    )

    if (!this.incognito && !opts.relay) await this.openAccountLog(accountState)

    const interval = opts.pruneInterval ?? 60_000
    this.pruneTimer = setInterval(() => this.pruneAll(), interval)
    this.pruneTimer.unref()
  }

  override async _close(): Promise<void> {
    if (this.reachTimer) clearInterval(this.reachTimer)
    this.reachTimer = null
    if (this.pruneTimer) clearInterval(this.pruneTimer)
    await this.devices.close()
    await Promise.allSettled(this.joining.values())
    if (this.accountPublishTimer) {
      // Read positions waiting to reach the other devices go now.
      clearTimeout(this.accountPublishTimer)
      this.accountPublishTimer = null
      if (this.accountLog) await this.accountLog.publish(this.localAccount()).catch((err) => this.backgroundError(err))
    }
    if (this.social_) await this.social_.close()
    if (this.accountLog) await this.accountLog.close()
    this.relayServer?.close()
    await Promise.all(this.rooms.map((r) => r.close()))
    await Promise.all(this.relayedRooms.map((r) => r.close()))
    if (this.saveTimer) clearTimeout(this.saveTimer)
    if (this.accountPublishTimer) clearTimeout(this.accountPublishTimer)
    await this.saveState()
    if (this.eraseTimer) {
      clearTimeout(this.eraseTimer)
      this.eraseTimer = null
      await this.eraseNow().catch((err) => this.backgroundError(err))
    }
    await this.erasing.catch(() => {})
    if (this.localState) await this.localState.close()
    await this.registry?.flush()
    if (this.swarm) await this.swarm.destroy()
    if (this.store) await this.store.close()
    if (this.scratch) await fs.rm(this.scratch, { recursive: true, force: true })
  }

  /**
   * Joins a named room, or a private room by its invite. The room's keys come from the
   * normalised name and the password: another password is another room.
   */
  async join(nameOrInvite: string, opts: JoinOptions = {}): Promise<Room> {
    await this.whenOpen()
    if (this.options.relay) {
      throw BackspaceError.INVALID_ARGUMENT('a node in relay mode keeps rooms with keep(), it does not join them')
    }
    if (isRelayLink(nameOrInvite)) {
      throw BackspaceError.INVALID_INVITE('this is a relay link, which cannot read the room: give it to backspace relay --invite')
    }
    if (isDeviceLink(nameOrInvite)) {
      throw BackspaceError.INVALID_INVITE('this is a device link: start the new device with it (backspace --link-file FILE, or new Backspace({ link }))')
    }
    let state: RoomState
    if (isInvite(nameOrInvite)) {
      const inv = parseInvite(nameOrInvite)
      state = this.newRoomState(RoomKind.PRIVATE, inv.secret, inv.name || 'private room')
      // A v2 invite names the owner, and its secret is derived from it: the owner is verified.
      if (inv.owner) state.owner = inv.owner
    } else {
      if (looksLikeLink(nameOrInvite)) {
        throw BackspaceError.INVALID_INVITE('this looks like a link with a typo in its start; copy the whole backspace: link again')
      }
      const name = normalizeRoomName(nameOrInvite)
      if (opts.password !== undefined && typeof opts.password !== 'string') {
        throw BackspaceError.INVALID_ARGUMENT('password must be a string')
      }
      const secret = await deriveNamedRoomSecret(name, opts.password ?? '')
      state = this.newRoomState(RoomKind.NAMED, secret, name)
      if (opts.password) state.password = true
    }
    return this.openRoom(state)
  }

  /** The rooms this node keeps as a relay. */
  get relayedRooms(): RelayedRoom[] {
    return [...this.relayed_.values()]
  }

  /**
   * Relay mode: keeps a room's logs available without reading them. Takes a relay link
   * (`room.relayLink`), an invite, or a room name and password; from the last two only the
   * relay secret is kept, and the keys that read messages are never derived.
   */
  async keep(nameOrLink: string, opts: JoinOptions = {}): Promise<RelayedRoom> {
    await this.whenOpen()
    if (!this.options.relay) throw BackspaceError.INVALID_ARGUMENT('keep() needs a node in relay mode')
    let relaySecret: Buffer
    // The public half of the room's admission key, with which the relay checks writer cores.
    let admissionKey: Buffer | null = null
    let label = ''
    if (isRelayLink(nameOrLink)) {
      ;({ relaySecret, admissionKey = null } = parseRelayLink(nameOrLink))
    } else {
      let secret: Buffer
      if (isInvite(nameOrLink)) {
        const inv = parseInvite(nameOrLink)
        secret = inv.secret
        label = inv.name ? `~${inv.name}` : ''
      } else {
        const name = normalizeRoomName(nameOrLink)
        secret = await deriveNamedRoomSecret(name, opts.password ?? '')
        label = `#${name}`
      }
      relaySecret = deriveRelaySecret(secret)
      admissionKey = deriveAdmissionKeyPair(secret).publicKey
    }
    const state: RoomState = {
      kind: RoomKind.RELAYED,
      secret: relaySecret,
      name: label,
      joinedAt: this.clock(),
      ttl: this.ttl,
      feeds: [],
      admissionKey
    }
    return this.openRelayed(state)
  }

  /**
   * Relay mode: serves users who hold this relay's `backspace-relay-node:` link (returned):
   * they ask it to keep their inboxes and DMs, which it keeps blind like any room. The link's
   * secret is made once and kept in the account directory.
   */
  async serveRelay(): Promise<string> {
    await this.whenOpen()
    if (!this.options.relay) throw BackspaceError.INVALID_ARGUMENT('serveRelay() needs a node in relay mode')
    if (!this.relayServer) {
      const secret = await this.relayNodeSecret()
      const server = new RelayServer(secret, async ({ relaySecret, admissionKey }) => {
        const before = this.relayed_.size
        if (before >= MAX_SERVED_ROOMS) throw BackspaceError.NOT_ALLOWED('this relay keeps as many rooms as it may')
        await this.keep(relayLinkOf(relaySecret, admissionKey))
        return this.relayed_.size > before
      })
      this.relayServer = server
      for (const stream of this.streams_) server.attach(stream)
      await this.announce(server.keys.topic)
    }
    return relayNodeLinkOf({ secret: await this.relayNodeSecret() })
  }

  /** Relay mode: what users asked of `serveRelay()`. */
  get relayServerStats(): RelayServerStats | null {
    return this.relayServer ? { ...this.relayServer.stats } : null
  }

  private relaySecret_: Buffer | null = null

  private async relayNodeSecret(): Promise<Buffer> {
    if (this.relaySecret_) return this.relaySecret_
    if (this.incognito || this.storage === null) return (this.relaySecret_ = randomBytes(32))
    const file = path.join(accountDirectory(this.storage, this.account), 'relay-node')
    try {
      const bytes = await fs.readFile(file)
      if (bytes.byteLength === 32) return (this.relaySecret_ = bytes)
    } catch {}
    const secret = randomBytes(32)
    await fs.writeFile(file, secret, { mode: 0o600 })
    return (this.relaySecret_ = secret)
  }

  /** Creates a private room with a random secret. Share `room.invite` to let others in. */
  async createRoom(opts: CreateRoomOptions = {}): Promise<Room> {
    await this.whenOpen()
    const name = opts.name === undefined ? 'private room' : normalizeRoomName(opts.name)
    // Owned by its creator: the secret commits to the creator's identity (`ownedRoomSecret`).
    const owner = { identity: this.identity.publicKey, nonce: randomBytes(32) }
    const state = this.newRoomState(RoomKind.PRIVATE, ownedRoomSecret(owner.identity, owner.nonce), name)
    state.owner = owner
    return this.openRoom(state)
  }

  /** This identity's display name, status and away message, shown to members of its rooms. */
  get profile(): Profile {
    return this.profile_
  }

  /**
   * Changes this identity's profile and publishes it to every open room: online members see
   * it at once, and every block written from now on carries it. Stored encrypted.
   */
  async setProfile(patch: Partial<Profile>): Promise<Profile> {
    await this.whenOpen()
    if (patch === null || typeof patch !== 'object') throw BackspaceError.INVALID_ARGUMENT('profile must be an object')
    const next: ProfileFields = {
      name: patch.name === undefined ? this.profile_.name : checkText('name', patch.name),
      status: patch.status === undefined ? this.profile_.status : checkText('status', patch.status),
      away:
        patch.away === undefined ? this.profile_.away : patch.away === null ? null : checkText('away message', patch.away)
    }
    this.profile_ = Object.freeze(next)
    this.profileAt = this.clock()
    this.changed()
    this.publishAccount()
    this.emit('profile', this.profile_)
    await Promise.all(this.rooms.map((r) => r.publishProfile()))
    return this.profile_
  }

  /**
   * A room's messages from others that arrived after its read position, how many of them
   * mention this identity, and that position. Kept across restarts; zero for unknown rooms.
   */
  unread(roomId: string): UnreadCounts {
    if (typeof roomId !== 'string') throw BackspaceError.INVALID_ARGUMENT('roomId must be a string')
    return this.reads.get(roomId)
  }

  /**
   * Marks a joined room read up to `upTo` (one of its messages), or entirely. The position
   * only moves forward. Emits `unread` when the counts or the position change.
   */
  async markRead(roomId: string, upTo?: Message): Promise<UnreadCounts> {
    await this.whenOpen()
    const room = typeof roomId === 'string' ? (this.rooms_.get(roomId) ?? this.social_?.dmById(roomId)) : undefined
    if (!room) throw BackspaceError.INVALID_ARGUMENT('no joined room has this id')
    if (upTo !== undefined && !isMessageLike(upTo)) {
      throw BackspaceError.INVALID_ARGUMENT('upTo must be a message of this room')
    }
    // The latest page: its newest message when reading everything, else what is unread after upTo.
    const latest = await room.messages({ limit: upTo === undefined ? 1 : MAX_PAGE })
    if ((this.rooms_.get(roomId) ?? this.social_?.dmById(roomId)) !== room) return this.reads.get(roomId)
    const before = this.reads.get(roomId).position
    const counts = this.reads.markRead(roomId, upTo ?? null, latest)
    // Read on one device, read on all: the account log carries the position, soon.
    if (counts.position && (!before || comparePositions(counts.position, before) > 0)) this.publishAccountSoon()
    return counts
  }

  /**
   * What a chat screen restores on the next start: the room shown last and the lines typed.
   * Kept in the local state, encrypted like the rest (in memory only when incognito).
   */
  async chatPrefs(): Promise<ChatPrefs> {
    await this.whenOpen()
    const value = this.localState ? await this.localState.getEntry('setting', 'chat') : null
    if (value === null) return { lastRoom: '', history: [] }
    try {
      return decodeEntry(chatPrefsEntry, value, 'chat prefs')
    } catch {
      // Damaged or from a newer build: start without it rather than fail the screen.
      return { lastRoom: '', history: [] }
    }
  }

  /** Stores `prefs` (see `chatPrefs`): the last MAX_INPUT_HISTORY lines, long ones left out. */
  async saveChatPrefs(prefs: ChatPrefs): Promise<void> {
    await this.whenOpen()
    if (!prefs || typeof prefs.lastRoom !== 'string' || !Array.isArray(prefs.history)) {
      throw BackspaceError.INVALID_ARGUMENT('prefs must be { lastRoom, history }')
    }
    const lastRoom = /^[0-9a-f]{64}$/.test(prefs.lastRoom) ? prefs.lastRoom : ''
    const history = prefs.history
      .filter((l): l is string => typeof l === 'string' && Buffer.byteLength(l) <= MAX_INPUT_LINE_BYTES)
      .slice(-MAX_INPUT_HISTORY)
    if (!this.localState) return
    await this.localState.putEntry('setting', 'chat', c.encode(chatPrefsEntry, { lastRoom, history }))
  }

  /** Counts for status bars and relays. */
  stats(): NodeStats {
    let writers = 0
    let messages = 0
    for (const room of this.rooms_.values()) {
      writers += room.stats.writers
      messages += room.stats.messages
    }
    for (const room of this.relayed_.values()) writers += room.stats.writers
    const rooms = this.rooms_.size + this.relayed_.size
    return { peers: this.streams_.size, rooms, writers, messages, relayed: this.relayed, refused: this.refused, timedOut: this.timedOut }
  }

  /** Bytes this node's account uses on disk (0 for incognito). Walks the directory. */
  async diskUsage(): Promise<number> {
    if (this.incognito || this.storage === null) return 0
    return directorySize(accountDirectory(this.storage, this.account))
  }

  /** Prunes expired messages in every room now. It also runs every `pruneInterval`. */
  async prune(): Promise<void> {
    await this.whenOpen()
    const social = this.social_?.rooms() ?? []
    await Promise.all([...this.rooms.map((r) => r.prune()), ...this.relayedRooms.map((r) => r.prune()), ...social.map((r) => r.prune())])
  }

  private newRoomState(kind: RoomState['kind'], secret: Buffer, name: string): RoomState {
    return { kind, secret, name, joinedAt: this.clock(), ttl: this.ttl, feeds: [] }
  }

  private async openRelayed(fresh: RoomState): Promise<RelayedRoom> {
    const topicHex = deriveRelayKeys(fresh.secret).topic.toString('hex')
    const existing = this.relayed_.get(topicHex)
    // Kept from a link without the admission key, and given one now: reopened with it.
    if (existing && (existing.stats.checked || !fresh.admissionKey)) return existing
    if (existing) await existing.close()
    const parked = this.parked.get(topicHex)
    const state = parked ? { ...parked, admissionKey: parked.admissionKey ?? fresh.admissionKey ?? null } : fresh
    const room = new RelayedRoom(this.relayContext(), state)
    room.on('error', (err) => this.backgroundError(err))
    this.relayed_.set(topicHex, room)
    try {
      await room.ready()
    } catch (err) {
      this.relayed_.delete(topicHex)
      await room.close().catch(() => {})
      throw err
    }
    this.parked.delete(topicHex)
    this.changed()
    return room
  }

  /** What rooms and relayed rooms both get from the node. */
  private sharedContext(): Omit<RelayContext, 'closed'> {
    return {
      store: this.store!,
      now: this.clock,
      ttl: this.ttl,
      join: (topic) => this.joinTopic(topic),
      leave: (topic) => this.leaveTopic(topic),
      streams: () => this.streams_,
      changed: (routine) => this.changed(routine ? ROUTINE_SAVE_DELAY : SAVE_DELAY),
      uploaded: () => {
        this.relayed++
      },
      erased: () => this.scheduleErase(),
      quota: this.quota
    }
  }

  private relayContext(): RelayContext {
    return {
      ...this.sharedContext(),
      closed: (room, forget) => this.roomClosed(this.relayed_, room, forget),
      relayedRooms: () => this.relayed_.values()
    }
  }

  /** A room or relayed room closed: forget it if it was left, else park its state. */
  private roomClosed<R extends { id: string; state(): RoomState }>(
    rooms: Map<string, R>,
    room: R,
    forget: boolean
  ): boolean {
    if (rooms.get(room.id) !== room) return false
    rooms.delete(room.id)
    if (forget) this.parked.delete(room.id)
    else this.parked.set(room.id, room.state())
    if (forget) this.scheduleErase()
    this.changed()
    return true
  }

  /**
   * Cleared blocks stay in RocksDB's files until it compacts them. Soon after blocks were
   * cleared (expired, deleted, a room left), the whole storage is compacted with forced blob
   * garbage collection, so their ciphertext leaves the disk. One compaction at a time; the
   * clears of a burst share one.
   */
  private scheduleErase(): void {
    if (this.incognito || this.closing || this.eraseTimer) return
    this.eraseTimer = setTimeout(() => {
      this.eraseTimer = null
      this.eraseNow().catch((err) => this.backgroundError(err))
    }, ERASE_DELAY)
    this.eraseTimer.unref()
  }

  /** @internal Compacts the storage now (after any compaction under way); tests await it. */
  async eraseNow(): Promise<void> {
    if (!this.store || this.incognito) return
    // eraseDeleted queues erases per storage: the latest one ends after every earlier one.
    this.erasing = eraseDeleted(this.store)
    await this.erasing
  }

  /** Opens a room; `restored` when it comes from the saved state (so it is saved already). */
  private async openRoom(fresh: RoomState, restored = false): Promise<Room> {
    const topicHex = deriveRoomKeys(fresh.secret).topic.toString('hex')
    const existing = this.rooms_.get(topicHex) ?? this.joining.get(topicHex)
    if (existing) return existing
    const parked = this.parked.get(topicHex)
    // A room parked from an older invite learns its owner from a v2 invite.
    const state = parked ? (parked.owner || !fresh.owner ? parked : { ...parked, owner: fresh.owner }) : fresh

    const opening = (async () => {
      const room = new Room(this.roomContext(), state)
      // From the start: a room delivers live messages as soon as it opens.
      const id = room.id
      room.onDelivered((m) => this.reads.message(id, m))
      room.on('message-withdrawn', (m) => this.reads.withdrawn(id, m))
      try {
        await room.ready()
      } catch (err) {
        await room.close().catch(() => {})
        throw err
      }
      if (this.closing) {
        await room.close()
        throw BackspaceError.NODE_CLOSED()
      }
      const isNew = !restored && !this.parked.has(topicHex)
      this.parked.delete(topicHex)
      this.rooms_.set(topicHex, room)
      this.leftRooms.delete(topicHex)
      // A room just joined is saved before join() resolves: messages sent in it right away
      // must not outlive, on disk, the record of the room they belong to (a crash in the
      // next 200 ms lost the room and with it every acknowledged message).
      if (isNew && !this.incognito) await this.saveState()
      else this.changed()
      this.emit('room-add', room)
      this.publishAccount()
      return room
    })()
    this.joining.set(topicHex, opening)
    try {
      return await opening
    } finally {
      this.joining.delete(topicHex)
    }
  }

  private roomContext(): RoomContext {
    return {
      ...this.sharedContext(),
      joinRoom: (topic) => this.joinRoomTopic(topic),
      journal: this.journal,
      identity: this.identity,
      historyPage: this.options.historyPage ?? 50,
      device: { keyPair: this.deviceKeys.keyPair, certificate: this.deviceKeys.certificate },
      revocations: () => this.registry?.allRevocations() ?? [],
      fetchTimeout: this.options.fetchTimeout ?? 5000,
      aloneAfter: this.options.aloneAfter ?? 30_000,
      profile: () => this.profile_,
      rateLimit: this.rateRule,
      hidden: (author) => this.social_?.isBlocked(author) ?? false,
      closed: (room, forget) => {
        if (!this.roomClosed(this.rooms_, room, forget)) return
        if (forget) this.reads.delete(room.id)
        this.emit('room-remove', room)
        if (!forget || this.closing) return
        const state = room.state()
        const kind = state.kind === RoomKind.PRIVATE ? RoomKind.PRIVATE : RoomKind.NAMED
        this.leftRooms.set(room.id, { kind, secret: state.secret, name: state.name, joinedAt: state.joinedAt, left: true, at: this.clock() })
        this.publishAccount()
      }
    }
  }


  private async openAccountLog(saved: RoomState | null): Promise<void> {
    // Every device of the identity holds the account key, nobody else does. A primary
    // device derives it from the identity, so one restored from the phrase finds the log.
    const state = saved ?? AccountLog.state(this.deviceKeys.accountKey, this.clock(), this.ttl)
    const log = new AccountLog({ ...this.roomContext(), closed: () => {} }, state)
    log.on('error', (err) => this.backgroundError(err))
    log.on('update', (view) => this.reconcile(view))
    // The identity's devices, as its own devices' blocks and revocations show them.
    log.on('certificate', (cert) => this.registry?.add(cert))
    log.on('revocation', (rev) => this.registry?.revoke(rev))
    await log.ready()
    this.accountLog = log
    this.social_ = new Social({
      now: this.clock,
      ttl: this.ttl,
      identity: () => this.identity,
      deviceSecretKey: () => this.deviceKeys.keyPair.secretKey,
      profileName: () => this.profile_.name,
      roomContext: () => this.roomContext(),
      publish: () => this.publishAccount(),
      request: (req) => this.emit('friend-request', req),
      update: () => {
        if (!this.closing) this.emit('friend-update')
      },
      dmOpened: (room) => {
        const id = room.id
        room.onDelivered((m) => this.reads.message(id, m))
        room.on('message-withdrawn', (m) => this.reads.withdrawn(id, m))
      },
      dmClosed: () => this.changed(),
      dmShown: (room) => {
        if (!this.closing) this.emit('room-add', room)
      },
      dmHidden: (room) => {
        if (!this.closing) this.emit('room-remove', room)
      },
      error: (err) => this.backgroundError(err),
      findPeers: (topic) => {
        this.joinTopic(topic, { server: false, client: true })
      },
      leave: (topic) => this.leaveTopic(topic),
      streams: () => this.streams_
    })
    this.reconcile(log.view())
    this.publishAccount()
  }

  // This device's own account: the rooms it is in, the rooms it left, its profile.
  private localAccount(): AccountView {
    const rooms: AccountRoom[] = [...this.leftRooms.values()]
    for (const room of this.rooms_.values()) {
      const state = room.state()
      const kind = state.kind === RoomKind.PRIVATE ? RoomKind.PRIVATE : RoomKind.NAMED
      rooms.push({ kind, secret: state.secret, name: state.name, joinedAt: state.joinedAt, left: false, at: state.joinedAt })
    }
    const reads: AccountRead[] = []
    for (const room of this.rooms_.values()) {
      const position = this.reads.get(room.id).position
      if (position) reads.push({ topic: room.topic, timestamp: position.timestamp, id: position.id })
    }
    const view: AccountView = { profile: this.profile_, profileAt: this.profileAt, rooms, reads }
    if (this.social_) view.social = this.social_.view()
    return view
  }

  // Read positions move often (a UI marks the shown room read as messages arrive): they reach
  // the account log in one record a few seconds later, not one per message.
  private publishAccountSoon(): void {
    if (this.accountPublishTimer || this.closing) return
    this.accountPublishTimer = setTimeout(() => {
      this.accountPublishTimer = null
      this.publishAccount()
    }, ACCOUNT_READS_DELAY)
    this.accountPublishTimer.unref()
  }

  private publishAccount(): void {
    const log = this.accountLog
    if (!log || this.closing) return
    log.publish(this.localAccount()).catch((err) => this.backgroundError(err))
    this.changed()
  }

  // Another device changed the account: join what it joined, leave what it left, take its profile.
  private reconcile(view: AccountView): void {
    if (this.closing) return
    for (const r of view.rooms) {
      const topic = deriveRoomKeys(r.secret).topic.toString('hex')
      const room = this.rooms_.get(topic)
      if (r.left) {
        if (room && room.joinedAt <= r.at) room.leave().catch((err) => this.backgroundError(err))
        continue
      }
      if (room || this.joining.has(topic)) continue
      const left = this.leftRooms.get(topic)
      if (left && left.at >= r.at) continue
      const state = this.newRoomState(r.kind, r.secret, r.name)
      state.joinedAt = r.joinedAt
      this.openRoom(state).catch((err) => this.backgroundError(err))
    }
    for (const r of view.reads) {
      const roomId = r.topic.toString('hex')
      const room = this.rooms_.get(roomId)
      const local = this.reads.get(roomId).position
      if (!room || (local && comparePositions(local, r) >= 0)) continue
      const position = { timestamp: r.timestamp, id: r.id }
      room
        .messages({ limit: MAX_PAGE })
        .then((latest) => {
          if (this.rooms_.get(roomId) === room) this.reads.markRead(roomId, position, latest)
        })
        .catch((err) => this.backgroundError(err))
    }
    if (view.profileAt > this.profileAt) {
      this.profileAt = view.profileAt
      this.profile_ = Object.freeze({ ...view.profile })
      this.changed()
      this.emit('profile', this.profile_)
      for (const room of this.rooms_.values()) room.publishProfile().catch((err) => this.backgroundError(err))
    }
    this.social_?.reconcile(view.social)
  }

  private joinTopic(
    topic: Buffer,
    opts: { server: boolean; client: boolean; limit?: number } = { server: true, client: true },
    settle = 0
  ): Hyperswarm.Discovery {
    const discovery = this.swarm!.join(topic, opts)
    // Two peers that join at the same moment can each look the topic up before the other's
    // announcement lands, and would then wait for Hyperswarm's next refresh, minutes away.
    // One more lookup once this node's own announcement is in closes that window. A refresh
    // sets the lookup's limit, so it passes the one in force then, `settle` ms after the first
    // lookup's connections were made: long enough for a room to count their channels.
    const again = (): void => {
      if (this.closing) return
      discovery.refresh({ ...opts, limit: discovery.discovery?.limit ?? opts.limit }).catch(() => {})
    }
    discovery
      .flushed()
      .then(() => {
        if (settle === 0) return again()
        setTimeout(again, settle).unref?.()
      })
      .catch(() => {})
    return discovery
  }

  /**
   * A room's topic: announced, and looked up dialling at most `roomDialLimit` of its members
   * (lib/network.ts ROOM_DIAL_LIMIT). Hyperswarm reads a topic's limit as each lookup starts,
   * its own refresh every ten minutes included, so the room keeps it at what it may still dial.
   */
  private joinRoomTopic(topic: Buffer): TopicLookup {
    const discovery = this.joinTopic(topic, { server: true, client: true, limit: this.roomDialLimit }, LOOKUP_SETTLE_MS)
    return {
      dialled: (count) => {
        if (discovery.discovery) discovery.discovery.limit = roomDialBudget(this.roomDialLimit, count)
      }
    }
  }

  /** Announces `topic` as a server only, and resolves once peers can find this node on it. */
  private async announce(topic: Buffer): Promise<void> {
    await this.whenOpen()
    await this.swarm!.join(topic, { server: true, client: false }).flushed()
  }

  private async leaveTopic(topic: Buffer): Promise<void> {
    if (this.closing || !this.swarm) return // the swarm is destroyed as a whole
    await this.swarm.leave(topic).catch(() => {})
  }

  private openSwarm(): void {
    const swarm = (this.swarm = createSwarm(this.bootstrap, { maxPeers: this.maxPeers }))
    swarm.on('connection', (conn: Stream) => this.onConnection(conn))
    swarm.dht.fullyBootstrapped().then(
      () => {
        this.checkReachable()
        // Checked again until it answers: the DHT keeps refreshing its table by itself.
        this.reachTimer = setInterval(() => this.checkReachable(), REACH_CHECK_MS)
        this.reachTimer.unref?.()
      },
      () => {}
    )
  }

  /**
   * Whether the DHT network can be reached: null until bootstrapping finished, then false
   * when no bootstrap or DHT node answered (nobody can be found), true once one does.
   */
  get reachable(): boolean | null {
    return this.reachable_
  }

  private checkReachable(): void {
    if (this.closing || !this.swarm) return
    const reachable = this.swarm.dht.table.size > 0
    if (reachable === this.reachable_) return
    this.reachable_ = reachable
    this.emit('network', reachable)
  }

  /**
   * Asks the device that made the link to approve this one, and saves the account it grants:
   * a linked device, with the identity's public key only.
   */
  private async linkAccount(storage: string): Promise<DeviceGrant> {
    if (await accountExists(storage, this.account)) {
      throw BackspaceError.ACCOUNT_EXISTS(`Account "${this.account}" exists; link the new device into another account`)
    }
    const device = this.linkDevice!
    const request = (this.linkRequest = new LinkRequest(
      {
        now: this.clock,
        join: (topic) => {
          const opts = { server: false, client: true }
          const discovery = this.joinTopic(topic, opts)
          return () => void discovery.refresh(opts).catch(() => {})
        },
        leave: (topic) => this.leaveTopic(topic),
        streams: () => this.streams_
      },
      this.link!,
      device,
      this.options.deviceName ?? ''
    ))
    if (this.closing) throw BackspaceError.NODE_CLOSED()
    request.start()
    const grant = await request.result
    const keys: AccountKeys = {
      identity: Identity.fromPublicKey(grant.certificate.identity),
      device,
      certificate: grant.certificate,
      accountKey: grant.accountKey
    }
    try {
      await createAccount(storage, this.account, keys, { password: this.options.password })
    } catch (err) {
      await request.abort(err as Error)
      throw err
    }
    await request.done()
    this.linkRequest = null
    this.keys = keys
    return grant
  }

  /** The rooms a newly linked device receives: named and private ones, not relayed ones. */
  private linkedRooms(): LinkedRoom[] {
    const states = [...this.rooms_.values()].map((r) => r.state()).concat([...this.parked.values()])
    return states
      .filter((s) => s.kind === RoomKind.NAMED || s.kind === RoomKind.PRIVATE)
      .map((s) => ({ kind: s.kind, secret: s.secret, name: s.name }))
  }

  private devicesChanged(): void {
    const registry = this.registry
    if (!registry) return
    registry.save().catch((err) => this.backgroundError(err))
    if (this.opened && !this.closing) this.emit('device-update', registry.list())
  }

  private onConnection(conn: Stream): void {
    // A peer resetting its connection is normal; it must never crash the process.
    conn.on('error', (err: Error) => {
      // Hyperswarm's secret stream ends a connection silent for `connectionTimeout` so.
      if (err?.message === 'Stream timed out') this.timedOut++
    })
    if (this.closing) {
      conn.destroy()
      return
    }
    // Hyperswarm's maxPeers bounds the connections this node makes, not the ones it accepts.
    const host = conn.isInitiator ? null : remoteHost(conn)
    if (host !== null) {
      const fromHost = this.inboundByHost.get(host) ?? 0
      if (this.streams_.size >= this.maxPeers || fromHost >= this.maxPeersPerIp) {
        this.refused++
        conn.destroy()
        return
      }
      this.inboundByHost.set(host, fromHost + 1)
    }
    // A peer that is gone without a word (or a path that stopped passing packets) goes quiet:
    // every live peer sends something at least every 5 s (Hyperswarm's keep-alive).
    conn.setTimeout(this.connectionTimeout)
    this.streams_.add(conn)
    this.emit('connections', this.streams_.size)
    // Each room shared over this connection listens for its close (its channel's pairing), so
    // two nodes with ten rooms in common passed Node's default of ten listeners and printed a
    // MaxListenersExceededWarning into the terminal. They are bounded by the rooms and go with
    // the connection.
    ;(conn as unknown as { setMaxListeners?(n: number): void }).setMaxListeners?.(0)
    conn.once('close', () => {
      this.streams_.delete(conn)
      if (host !== null) {
        const left = (this.inboundByHost.get(host) ?? 1) - 1
        if (left > 0) this.inboundByHost.set(host, left)
        else this.inboundByHost.delete(host)
      }
      if (!this.closing) this.emit('connections', this.streams_.size)
    })
    // No `store.replicate(conn)`: each room attaches its own cores to a connection once the
    // peer proved the room on its channel (lib/room/channel.ts), so a connection costs the
    // same whatever number of cores this node holds, and a peer cannot make this node open a
    // core from storage by asking for its discovery key.
    this.linkRequest?.attach(conn)
    this.devices.attach(conn)
    for (const room of this.rooms_.values()) room.attach(conn)
    for (const room of this.relayed_.values()) room.attach(conn)
    this.accountLog?.room.attach(conn)
    this.social_?.attach(conn)
    this.relayServer?.attach(conn)
    // Rooms still opening attach themselves to existing streams when they finish.
  }

  // Saves the local state soon: `delay` ms from now, or sooner if a save is due sooner.
  private changed(delay = SAVE_DELAY): void {
    if (this.incognito || this.closing) return
    const at = Date.now() + delay
    if (this.saveTimer) {
      if (at >= this.saveAt) return
      clearTimeout(this.saveTimer)
    }
    this.saveAt = at
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null
      this.saveAt = Infinity
      this.saveState().catch((err) => this.backgroundError(err))
    }, delay)
  }

  private async saveState(): Promise<void> {
    if (!this.localState || this.incognito) return
    const rooms = [...this.rooms_.values(), ...this.relayed_.values()]
      .map((r) => r.state())
      .concat([...this.parked.values()])
    if (this.accountLog) rooms.push(this.accountLog.saved())
    await this.localState.save({ rooms, profile: this.profile_, reads: this.reads.entries() })
  }

  private pruneAll(): void {
    for (const room of this.rooms_.values()) room.prune().catch((err) => this.backgroundError(err))
    for (const room of this.relayed_.values()) room.prune().catch((err) => this.backgroundError(err))
    for (const room of this.social_?.rooms() ?? []) room.prune().catch((err) => this.backgroundError(err))
    this.social_?.sync()
  }

  private async whenOpen(): Promise<void> {
    if (this.closing) throw BackspaceError.NODE_CLOSED()
    if (!this.opened) await this.ready()
    if (this.closing) throw BackspaceError.NODE_CLOSED()
  }

  private backgroundError(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err as Error)
  }
}

/**
 * Opens the account, or creates it: from the phrase or secret key when given (a new primary
 * device of that identity), else with a new identity.
 */
async function openAccount(
  storage: string,
  account: string,
  opts: BackspaceOptions,
  now: () => number
): Promise<AccountKeys> {
  const imported = opts.phrase
    ? Identity.fromPhrase(opts.phrase)
    : opts.secretKey
      ? Identity.fromSecretKey(opts.secretKey)
      : null
  const deviceOpts = { password: opts.password, deviceName: opts.deviceName, now }
  if (await accountExists(storage, account)) {
    const keys = await loadAccountKeys(storage, account, deviceOpts)
    if (imported && !imported.publicKey.equals(keys.identity.publicKey)) {
      throw BackspaceError.ACCOUNT_EXISTS(`Account "${account}" already holds another identity`)
    }
    return keys
  }
  const keys = primaryKeys(imported ?? Identity.generate(), deviceOpts)
  await createAccount(storage, account, keys, { password: opts.password })
  return keys
}

function checkLimit(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw BackspaceError.INVALID_ARGUMENT(`${what} must be a positive integer`)
  }
  return value
}

// The address an inbound connection came from; every connection from an unknown one counts as one.
function remoteHost(conn: Stream): string {
  const host = (conn.rawStream as { remoteHost?: unknown } | null)?.remoteHost
  return typeof host === 'string' ? host : ''
}

function isMessageLike(m: unknown): m is Message {
  const { id, timestamp } = (m ?? {}) as Partial<Message>
  return typeof id === 'string' && typeof timestamp === 'number'
}

function checkText(what: 'name' | 'status' | 'away message', value: unknown): string {
  if (typeof value !== 'string') throw BackspaceError.INVALID_ARGUMENT(`${what} must be a string`)
  const text = value.normalize('NFC').trim()
  if (what === 'name') {
    const problem = nameProblem(text)
    if (problem) throw BackspaceError.INVALID_NAME(`${problem}; it would not show as typed`)
    return text
  }
  const problem = profileTextProblem(what, text)
  if (problem) throw BackspaceError.INVALID_ARGUMENT(problem)
  return text
}

async function directorySize(dir: string): Promise<number> {
  let total = 0
  let entries: import('fs').Dirent[]
  try {
    entries = await fs.readdir(dir, { withFileTypes: true })
  } catch {
    return 0
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) total += await directorySize(full)
    else if (entry.isFile()) total += (await fs.stat(full).catch(() => null))?.size ?? 0
  }
  return total
}

export default Backspace
