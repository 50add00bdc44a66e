// The contracts around a room: what it needs from its node, and what its parts see of it.
import type Corestore from 'corestore'
import type { KeyPair } from '../crypto.js'
import type { DeviceCertificate, DeviceRevocation } from '../identity/device.js'
import type { Identity } from '../identity.js'
import type { MessageRecord, ProfileFields } from '../messages.js'
import type { TypedResource } from '../resource.js'
import type { RoomEvents } from '../types.js'
import type { Stream } from './channel.js'
import type { QuotaLedger } from './quota.js'
import type { RelayedRoom } from './relayed.js'
import type { Room } from './room.js'

/** @internal A room's lookup of its topic on the DHT. */
export interface TopicLookup {
  /**
   * `count` of the room's channels are on connections this node dialled: its lookups dial
   * at most `roomDialLimit` less that many more members (lib/network.ts `roomDialBudget`).
   */
  dialled(count: number): void
}

/** @internal What rooms and relayed rooms both need from their node. */
export interface NodeContext<R> {
  readonly store: Corestore
  now(): number
  readonly ttl: number
  /** Announces and looks up the topic; a relay dials every member it finds. */
  join(topic: Buffer): void
  leave(topic: Buffer): Promise<void>
  streams(): Iterable<Stream>
  /**
   * Something persistent changed; the node saves its state soon. `routine`: bookkeeping that
   * every block moves (expiry marks, how far a core was read), saved less often: after a crash
   * it is worked out again.
   */
  changed(routine?: boolean): void
  /** The room closed; with `forget` it was left and must not be restored. */
  closed(room: R, forget: boolean): void
  /** A block of this room was sent to a peer. */
  uploaded(): void
  /**
   * Blocks were cleared (expired, deleted, or the room left): the node compacts its storage
   * soon, so their ciphertext leaves the disk rather than lingering in RocksDB's files.
   */
  erased(): void
  /** The node's byte quotas, shared by all its rooms. */
  readonly quota: QuotaLedger
}

/** @internal What a relayed room needs from its node. */
export interface RelayContext extends NodeContext<RelayedRoom> {
  /** Every room the relay keeps: over the total quota, the oldest data of any goes first. */
  relayedRooms?(): Iterable<RelayedRoom>
}

/** @internal What a room needs from its node. */
export interface RoomContext extends NodeContext<Room> {
  /** Announces and looks up the room's topic, dialling a bounded number of its members. */
  joinRoom(topic: Buffer): TopicLookup
  readonly identity: Identity
  /** Messages per writer fetched when a writer is first seen or on start. */
  readonly historyPage: number
  /** How long paging back waits for a block from peers. */
  readonly fetchTimeout: number
  /** How long after opening a password room with nobody else seen emits `alone`. */
  readonly aloneAfter: number
  /** This identity's current profile, carried by every block it writes. */
  profile(): ProfileFields
  /** This node's device: its key pair signs blocks, its certificate ties it to the identity. */
  readonly device: RoomDevice
  /** Revocations of this identity's own devices, to carry to the room's members. */
  revocations(): DeviceRevocation[]
  /** The rate limit of the room's writers (lib/room/rate-limit.ts): default 15 in 10 s; null for none. */
  readonly rateLimit?: import('./rate-limit.js').RateRule | null
  /** Authors this identity blocked: their messages are kept but never shown (lib/social). */
  hidden?(author: Buffer): boolean
  /**
   * Where each room's outbox journal goes (lib/room/journal.ts), and the device's local key
   * that seals it; null when nothing goes to disk (incognito).
   */
  readonly journal: { readonly dir: string; readonly key: Buffer } | null
  /** For a log that is not a chat room (the account log): its own record kinds and rules. */
  readonly extension?: RoomExtension
}

/** @internal Record kinds a room's owner applies itself, and who may write them. */
export interface RoomExtension {
  readonly kinds: ReadonlySet<number>
  /** Only devices of this node's identity may write to the log. */
  readonly ownIdentityOnly: boolean
  onrecord(
    record: MessageRecord,
    meta: { id: string; author: Buffer; device: Buffer; certificate: DeviceCertificate | null; emit: boolean }
  ): void
  /** A verified revocation of one of the identity's devices was read. */
  onrevocation?(revocation: DeviceRevocation): void
}

/** @internal The device a room writes as. */
export interface RoomDevice {
  readonly keyPair: KeyPair
  readonly certificate: DeviceCertificate
}

/**
 * What the parts of a room see of the room itself: whether it is open or closing, and its
 * events. Nothing else: parts talk to each other through their own small interfaces.
 */
export type RoomSelf = Pick<TypedResource<RoomEvents>, 'opened' | 'closing' | 'emit' | 'listenerCount'>
