import fs from 'fs/promises'
import os from 'os'
import path from 'path'
import envPaths from 'env-paths'
import Corestore from 'corestore'
import type Hyperswarm from 'hyperswarm'
import { BackspaceError } from './errors.js'
import {
  deriveLocalKey,
  deriveNamedRoomSecret,
  deriveRelayKeys,
  deriveRelaySecret,
  deriveDeviceRegistryKey,
  deriveRoomKeys,
  keyPairFromSeed,
  normalizeRoomName,
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
  type AccountKeys
} from './identity.js'
import { encodeCertificate, MAX_DEVICE_NAME_BYTES } from './identity/device.js'
import { DeviceRegistry, type DeviceKeys } from './identity/devices.js'
import { Devices } from './identity/device-manager.js'
import { LinkRequest, type DeviceGrant } from './identity/pairing.js'
import type { DeviceLink, LinkedRoom } from './identity/pairing-messages.js'
import { LocalStateStore } from './local-state.js'
import {
  EMPTY_PROFILE,
  MAX_NAME_BYTES,
  MAX_STATUS_BYTES,
  RoomKind,
  type ProfileFields,
  type RoomState
} from './messages.js'
import { createSwarm, parseBootstrap, type BootstrapNode } from './network.js'
import { Resource } from './resource.js'
import { isDeviceLink, isInvite, isRelayLink, parseDeviceLink, parseInvite, parseRelayLink } from './links.js'
import { Room, type RoomContext } from './room.js'
import { RelayedRoom, type RelayContext } from './relayed-room.js'
import type { CreateRoomOptions, DeviceInfo, DeviceRequest, JoinOptions, Profile } from './types.js'

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
  loadAccount
} from './identity.js'
export { Devices, type InviteOptions } from './identity/device-manager.js'
export { accountDevices } from './identity/devices.js'
export { Room } from './room.js'
export { isDeviceLink, isInvite, isRelayLink } from './links.js'
export { LINK_TTL } from './identity/pairing.js'
export { RelayedRoom, type RelayedRoomStats } from './relayed-room.js'
export { isMention } from './mentions.js'
export { compareMessages } from './timeline.js'
export {
  COMMANDS,
  completeLine,
  describeDevice,
  parseCommand,
  roomLabel,
  runCommand,
  type Command,
  type CommandInfo,
  type CommandContext,
  type CommandResult,
  type Notice
} from './commands.js'
export { normalizeRoomName } from './crypto.js'
export { parseBootstrap, type BootstrapNode } from './network.js'
export { bootstrapFromFlags, storageFromFlags } from './flags.js'
export { MAX_TEXT_BYTES, MAX_NAME_BYTES, MAX_STATUS_BYTES } from './messages.js'
export type * from './types.js'

/** The longest any message lives, everywhere. */
export const MAX_TTL = 7 * 24 * 60 * 60 * 1000
export const DEFAULT_ACCOUNT = 'default'

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
   * Relay mode: the node keeps rooms (`keep()`) instead of joining them. It downloads and
   * serves every member's whole log until it expires, without the key to read it, so
   * members who are never online together still get each other's messages.
   */
  relay?: boolean
}

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
}

export interface NodeEvents {
  /** A room was joined, created or restored. */
  'room-add': [Room]
  /** A room was left or closed. */
  'room-remove': [Room]
  /** A connection to another peer opened or closed; the argument is how many are open. */
  connections: [number]
  /** This identity's profile changed (`setProfile`). */
  profile: [Profile]
  /**
   * A new device asks to join this identity through a link from `devices.invite()`. Compare
   * its fingerprint with the one the new device shows, then `approve()` or `deny()`. Without a
   * listener, requests are denied.
   */
  'device-request': [DeviceRequest]
  /** The identity's device list changed: a device was linked or revoked. */
  'device-update': [DeviceInfo[]]
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
  private stateStore: LocalStateStore | null = null
  private readonly rooms_ = new Map<string, Room>()
  private readonly relayed_ = new Map<string, RelayedRoom>()
  // Rooms closed without leaving: still persisted, and reopened with their state on join.
  private readonly parked = new Map<string, RoomState>()
  // Joins in flight by topic, so joining one room twice at once yields one Room.
  private readonly joining = new Map<string, Promise<Room>>()
  private readonly streams_ = new Set<Stream>()
  private profile_: ProfileFields = { ...EMPTY_PROFILE }
  private relayed = 0
  private saveTimer: NodeJS.Timeout | null = null
  private pruneTimer: NodeJS.Timeout | null = null
  // Incognito keeps its cores in a RAM-backed directory, removed on close.
  private scratch: string | null = null

  constructor(opts: BackspaceOptions = {}) {
    super()
    if (opts === null || typeof opts !== 'object') throw BackspaceError.INVALID_ARGUMENT('options must be an object')
    const ttl = opts.ttl ?? MAX_TTL
    if (!Number.isFinite(ttl) || ttl <= 0 || ttl > MAX_TTL) {
      throw BackspaceError.INVALID_ARGUMENT(`ttl must be more than 0 and at most ${MAX_TTL} ms`)
    }
    this.options = opts
    this.incognito = !!opts.incognito
    this.storage = this.incognito ? null : path.resolve(opts.storage ?? envPaths('backspace', { suffix: '' }).data)
    this.account = opts.account ?? DEFAULT_ACCOUNT
    if (!this.incognito) assertAccountName(this.account)
    this.bootstrap = opts.bootstrap ? parseBootstrap(opts.bootstrap) : null
    this.clock = opts.now ?? Date.now
    this.ttl = ttl
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
      this.linkDevice = keyPairFromSeed(randomBytes(32))
    } else {
      this.link = null
      this.linkDevice = null
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
        await Promise.all(this.rooms.map((r) => r.applyRevocation(revocation)))
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
    if (this.incognito) {
      const identity = Identity.generate()
      this.keys = primaryKeys(identity, { now: this.clock })
      // Members see the same Anon##### name the UIs show for an incognito identity.
      this.profile_ = { name: identity.anonName, status: '', away: null }
      const ram = await isDirectory('/dev/shm')
      this.scratch = await fs.mkdtemp(path.join(ram ? '/dev/shm' : os.tmpdir(), 'backspace-incognito-'))
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
    // A linked device has no identity secret: its local state is sealed with its own key.
    const localKey = deriveLocalKey(keys.identity.canSign ? keys.identity.secretKey : keys.device.secretKey)
    this.stateStore = new LocalStateStore(accountDir && path.join(accountDir, 'state'), localKey)

    const saved = await this.stateStore.load()
    if (!this.incognito) this.profile_ = saved.profile
    if (grant) {
      this.profile_ = grant.profile
      for (const room of grant.rooms) {
        const topic = deriveRoomKeys(room.secret).topic
        if (!saved.rooms.some((r) => deriveRoomKeys(r.secret).topic.equals(topic))) {
          saved.rooms.push(this.newRoomState(room.kind as RoomState['kind'], room.secret, room.name))
        }
      }
    }
    this.store = new Corestore(coresDir)
    await this.store.ready()
    // Connections made while linking replicate from now on.
    for (const conn of this.streams_) this.store.replicate(conn)

    if (!this.swarm) this.openSwarm()

    await Promise.all(
      saved.rooms.map((state) => {
        const relayed = state.kind === RoomKind.RELAYED
        // A relay only keeps rooms; a member only joins them. Other kinds wait, parked.
        if (relayed !== !!opts.relay) {
          const keys = relayed ? deriveRelayKeys(state.secret) : deriveRoomKeys(state.secret)
          this.parked.set(keys.topic.toString('hex'), state)
          return Promise.resolve()
        }
        const opening = relayed ? this.openRelayed(state) : this.openRoom(state)
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

    const interval = opts.pruneInterval ?? 60_000
    this.pruneTimer = setInterval(() => this.pruneAll(), interval)
    this.pruneTimer.unref()
  }

  override async _close(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer)
    await this.devices.close()
    await Promise.allSettled(this.joining.values())
    await Promise.all(this.rooms.map((r) => r.close()))
    await Promise.all(this.relayedRooms.map((r) => r.close()))
    if (this.saveTimer) clearTimeout(this.saveTimer)
    await this.saveState()
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
      throw BackspaceError.INVALID_INVITE('this is a device link: start the new device with it (backspace --link LINK)')
    }
    let state: RoomState
    if (isInvite(nameOrInvite)) {
      const inv = parseInvite(nameOrInvite)
      state = this.newRoomState(RoomKind.PRIVATE, inv.secret, inv.name || 'private room')
    } else {
      const name = normalizeRoomName(nameOrInvite)
      if (opts.password !== undefined && typeof opts.password !== 'string') {
        throw BackspaceError.INVALID_ARGUMENT('password must be a string')
      }
      const secret = await deriveNamedRoomSecret(name, opts.password ?? '')
      state = this.newRoomState(RoomKind.NAMED, secret, name)
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
    let label = ''
    if (isRelayLink(nameOrLink)) {
      relaySecret = parseRelayLink(nameOrLink)
    } else if (isInvite(nameOrLink)) {
      const inv = parseInvite(nameOrLink)
      relaySecret = deriveRelaySecret(inv.secret)
      label = inv.name ? `~${inv.name}` : ''
    } else {
      const name = normalizeRoomName(nameOrLink)
      relaySecret = deriveRelaySecret(await deriveNamedRoomSecret(name, opts.password ?? ''))
      label = `#${name}`
    }
    const state: RoomState = { kind: RoomKind.RELAYED, secret: relaySecret, name: label, joinedAt: this.clock(), ttl: this.ttl, feeds: [] }
    return this.openRelayed(state)
  }

  /** Creates a private room with a random secret. Share `room.invite` to let others in. */
  async createRoom(opts: CreateRoomOptions = {}): Promise<Room> {
    await this.whenOpen()
    const name = opts.name === undefined ? 'private room' : normalizeRoomName(opts.name)
    return this.openRoom(this.newRoomState(RoomKind.PRIVATE, randomBytes(32), name))
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
      name: patch.name === undefined ? this.profile_.name : checkText('name', patch.name, MAX_NAME_BYTES),
      status: patch.status === undefined ? this.profile_.status : checkText('status', patch.status, MAX_STATUS_BYTES),
      away:
        patch.away === undefined
          ? this.profile_.away
          : patch.away === null
            ? null
            : checkText('away message', patch.away, MAX_STATUS_BYTES)
    }
    if (next.name.startsWith('@')) throw BackspaceError.INVALID_ARGUMENT('a name cannot start with @')
    this.profile_ = Object.freeze(next)
    this.changed()
    this.emit('profile', this.profile_)
    await Promise.all(this.rooms.map((r) => r.publishProfile()))
    return this.profile_
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
    return { peers: this.streams_.size, rooms, writers, messages, relayed: this.relayed }
  }

  /** Bytes this node's account uses on disk (0 for incognito). Walks the directory. */
  async diskUsage(): Promise<number> {
    if (this.incognito || this.storage === null) return 0
    return directorySize(accountDirectory(this.storage, this.account))
  }

  /** Prunes expired messages in every room now. It also runs every `pruneInterval`. */
  async prune(): Promise<void> {
    await this.whenOpen()
    await Promise.all([...this.rooms.map((r) => r.prune()), ...this.relayedRooms.map((r) => r.prune())])
  }

  private newRoomState(kind: RoomState['kind'], secret: Buffer, name: string): RoomState {
    return { kind, secret, name, joinedAt: this.clock(), ttl: this.ttl, feeds: [] }
  }

  private async openRelayed(fresh: RoomState): Promise<RelayedRoom> {
    const topicHex = deriveRelayKeys(fresh.secret).topic.toString('hex')
    const existing = this.relayed_.get(topicHex)
    if (existing) return existing
    const state = this.parked.get(topicHex) ?? fresh
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
      changed: () => this.changed(),
      uploaded: () => {
        this.relayed++
      }
    }
  }

  private relayContext(): RelayContext {
    return { ...this.sharedContext(), closed: (room, forget) => this.roomClosed(this.relayed_, room, forget) }
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
    this.changed()
    return true
  }

  private async openRoom(fresh: RoomState): Promise<Room> {
    const topicHex = deriveRoomKeys(fresh.secret).topic.toString('hex')
    const existing = this.rooms_.get(topicHex) ?? this.joining.get(topicHex)
    if (existing) return existing
    const state = this.parked.get(topicHex) ?? fresh

    const opening = (async () => {
      const room = new Room(this.roomContext(), state)
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
      this.parked.delete(topicHex)
      this.rooms_.set(topicHex, room)
      this.changed()
      this.emit('room-add', room)
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
      identity: this.identity,
      historyPage: this.options.historyPage ?? 50,
      fetchTimeout: this.options.fetchTimeout ?? 5000,
      profile: () => this.profile_,
      closed: (room, forget) => {
        if (this.roomClosed(this.rooms_, room, forget)) this.emit('room-remove', room)
      }
    }
  }


  private joinTopic(topic: Buffer, opts = { server: true, client: true }): Hyperswarm.Discovery {
    const discovery = this.swarm!.join(topic, opts)
    // Two peers that join at the same moment can each look the topic up before the other's
    // announcement lands, and would then wait for Hyperswarm's next refresh, minutes away.
    // One more lookup once this node's own announcement is in closes that window.
    discovery
      .flushed()
      .then(() => (this.closing ? undefined : discovery.refresh(opts)))
      .catch(() => {})
    return discovery
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
    const swarm = (this.swarm = createSwarm(this.bootstrap))
    swarm.on('connection', (conn: Stream) => this.onConnection(conn))
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
    conn.on('error', () => {})
    if (this.closing) {
      conn.destroy()
      return
    }
    this.streams_.add(conn)
    this.emit('connections', this.streams_.size)
    conn.once('close', () => {
      this.streams_.delete(conn)
      if (!this.closing) this.emit('connections', this.streams_.size)
    })
    // While a new device links, there is no store yet: it replicates once it opens.
    this.store?.replicate(conn)
    this.linkRequest?.attach(conn)
    this.devices.attach(conn)
    for (const room of this.rooms_.values()) room.attach(conn)
    for (const room of this.relayed_.values()) room.attach(conn)
    // Rooms still opening attach themselves to existing streams when they finish.
  }

  private changed(): void {
    if (this.incognito || this.saveTimer || this.closing) return
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null
      this.saveState().catch((err) => this.backgroundError(err))
    }, 200)
  }

  private async saveState(): Promise<void> {
    if (!this.stateStore || this.incognito) return
    const rooms = [...this.rooms_.values(), ...this.relayed_.values()]
      .map((r) => r.state())
      .concat([...this.parked.values()])
    await this.stateStore.save({ rooms, profile: this.profile_ })
  }

  private pruneAll(): void {
    for (const room of this.rooms_.values()) room.prune().catch((err) => this.backgroundError(err))
    for (const room of this.relayed_.values()) room.prune().catch((err) => this.backgroundError(err))
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

function checkText(what: string, value: unknown, maxBytes: number): string {
  if (typeof value !== 'string') throw BackspaceError.INVALID_ARGUMENT(`${what} must be a string`)
  const text = value.trim()
  if (/[\u0000-\u001f\u007f]/.test(text)) throw BackspaceError.INVALID_ARGUMENT(`${what} cannot hold control characters`)
  if (Buffer.byteLength(text) > maxBytes) throw BackspaceError.INVALID_ARGUMENT(`${what} is longer than ${maxBytes} bytes`)
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

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await fs.stat(dir)).isDirectory()
  } catch {
    return false
  }
}

export default Backspace
