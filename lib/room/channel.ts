import b4a from 'b4a'
import c from 'compact-encoding'
import type Hypercore from 'hypercore'
import Protomux from 'protomux'
import { channelProof, connectionChannelId, seal, secretEquals, unseal, type ConnectionKeys } from '../crypto.js'
import { BackspaceError } from '../errors.js'
import {
  announcement,
  channelEnvelope,
  channelHandshake,
  type ChannelHandshake,
  decodeStrict,
  liveBlock,
  MAX_ANNOUNCED_WRITERS,
  presence,
  type Encoding,
  type LiveBlock,
  type Presence,
  type WriterAnnouncement
} from '../messages.js'
import { wipeNotice, type WipeNotice } from './wipe-notice.js'

export const PROTOCOL = 'backspace/room/v2'

/** A connection to a peer, as far as a room's channel needs it. */
export type Stream = object & ConnectionKeys

/** Who may open a room's channel, and who may read what is sent on it. */
export interface ChannelKeys {
  /** Keys the channel id on each connection (`connectionChannelId`). */
  channelIdKey: Buffer
  /** Seals writer announcements: members and relays hold it. */
  channelKey: Buffer
  /** Proves the relay secret when the channel opens: members and relays hold it. */
  relayProofKey: Buffer
  /** Proves the room secret when the channel opens: members only, so null for a relay. */
  memberProofKey: Buffer | null
  /** Seals live blocks and presence: members only, so null for a relay. */
  memberKey: Buffer | null
}

export interface DiscoveryHandlers {
  /** The channel opened and the peer's proof verified: it holds the room's relay secret at least. */
  onopen(channel: RoomChannel): void
  onclose(channel: RoomChannel): void
  onwriters(writers: WriterAnnouncement[], channel: RoomChannel): void
  /** A member sent a block it just stored (or passed on one it verified). */
  onlive(live: LiveBlock, channel: RoomChannel): void
  /** A member said who it is (its signature is not checked yet). */
  onpresence(presence: Presence, channel: RoomChannel): void
  /** A wipe notice (its signature is not checked yet). */
  onwipe(notice: WipeNotice, channel: RoomChannel): void
  /** An announcement did not decrypt or decode. It is dropped; the channel stays up. */
  onbadannouncement(error: BackspaceError): void
  /** The peer opened the channel with a proof that did not verify: the channel is closed. */
  onbadproof(): void
}

/**
 * A room's protomux channel on one connection. Members tell each other which writer cores
 * exist. The channel id is keyed by the relay secret and differs on every connection, and
 * the channel opens only once the peer proved, in its open, that it holds the relay secret
 * (a relay) or the room secret as well (a member): each end sends a MAC over its own Noise
 * key, then the peer's, so a proof echoed back does not verify. Nothing of the room is sent
 * or taken before the proof verified, and what only members may read goes to members only.
 */
export class RoomChannel {
  readonly remotePublicKey: Buffer
  /** This side's Noise key on the connection, which presence signatures cover. */
  readonly localPublicKey: Buffer
  /** The connection, on which the room's cores replicate once the channel is proven. */
  readonly stream: Stream
  private readonly channel: Protomux.Channel
  private readonly message: Protomux.Message<Buffer>
  private readonly live: Protomux.Message<Buffer>
  private readonly presence: Protomux.Message<Buffer>
  // Wipe notices, for relays (lib/room/wipe-notice.ts); last, so older builds ignore it.
  private readonly wipe: Protomux.Message<Buffer>
  private readonly key: Buffer
  private readonly memberKey: Buffer | null
  // Whether the peer's proof verified: until then the channel carries nothing either way.
  private verified: boolean
  // Whether the peer proved the room secret too (and this node holds it): member-only messages flow.
  private member_: boolean
  private device_: Buffer | null = null
  private deviceHex_: string | null = null

  private constructor(
    stream: Stream,
    channel: Protomux.Channel,
    messages: {
      message: Protomux.Message<Buffer>
      live: Protomux.Message<Buffer>
      presence: Protomux.Message<Buffer>
      wipe: Protomux.Message<Buffer>
    },
    key: Buffer,
    memberKey: Buffer | null
  ) {
    this.stream = stream
    this.channel = channel
    this.message = messages.message
    this.live = messages.live
    this.presence = messages.presence
    this.wipe = messages.wipe
    this.key = key
    this.memberKey = memberKey
    this.remotePublicKey = stream.remotePublicKey
    this.localPublicKey = stream.publicKey
    this.verified = false
    this.member_ = false
  }

  /** The room's channel id on `stream`. */
  static idOn(stream: Stream, keys: Pick<ChannelKeys, 'channelIdKey'>): Buffer {
    return connectionChannelId(keys.channelIdKey, stream)
  }

  /**
   * Calls `onremoteopen` whenever the peer on `stream` opens this room's channel. Without it,
   * protomux rejects an open for a channel this side has not created yet, and two members
   * who join a room at different times on one connection would never meet in it.
   */
  static pair(stream: object, channelId: Buffer, onremoteopen: () => void): () => void {
    const mux = Protomux.from(stream)
    mux.pair({ protocol: PROTOCOL, id: channelId }, onremoteopen)
    return () => mux.unpair({ protocol: PROTOCOL, id: channelId })
  }

  /** Opens the room's channel on `stream`, or returns null if it is already open there. */
  static open(stream: Stream, keys: ChannelKeys, handlers: DiscoveryHandlers): RoomChannel | null {
    const mux = Protomux.from(stream)
    let self: RoomChannel | null = null
    const channel = mux.createChannel({
      protocol: PROTOCOL,
      id: RoomChannel.idOn(stream, keys),
      unique: true,
      // Raw bytes, decoded here: a handshake decoder that throws would tear the connection down.
      handshake: c.raw,
      onopen: (handshake) => {
        const member = checkProof(handshake, keys, stream)
        if (member === null) {
          handlers.onbadproof()
          self!.close()
          return
        }
        self!.verified = true
        self!.member_ = member
        handlers.onopen(self!)
      },
      onclose: () => handlers.onclose(self!)
    })
    if (channel === null) return null
    // Every message on the channel is sealed, then encoded: one way to receive them all.
    const sealed = <T>(key: Buffer | null, enc: Encoding<T>, what: string, deliver: (value: T) => void) =>
      channel.addMessage({
        encoding: channelEnvelope,
        onmessage: (box: Buffer) => {
          // Protomux delivers what came with the open even if the proof failed and closed it.
          if (!self!.verified || channel.closed) return
          // A handler that throws would tear down the whole connection: contain everything.
          let value: T
          try {
            // What only members may read, from a peer that did not prove the room secret (or
            // to a relay, which has no member key), is dropped unread.
            if (key === null || (key === keys.memberKey && !self!.member_)) {
              throw BackspaceError.DECODE_FAILED(`${what} from a peer that is not a member`)
            }
            const plain = unseal(box, key)
            if (!plain) throw BackspaceError.DECODE_FAILED(`${what} does not decrypt`)
            value = decodeStrict(enc, plain, what)
          } catch (err) {
            handlers.onbadannouncement(toCoded(err))
            return
          }
          deliver(value)
        }
      })
    const message = sealed(keys.channelKey, announcement, 'announcement', (a) => handlers.onwriters(a.writers, self!))
    const live = sealed(keys.memberKey, liveBlock, 'live block', (l) => handlers.onlive(l, self!))
    const presenceMessage = sealed(keys.memberKey, presence, 'presence', (p) => handlers.onpresence(p, self!))
    const wipe = sealed(keys.channelKey, wipeNotice, 'wipe notice', (n) => handlers.onwipe(n, self!))
    self = new RoomChannel(stream, channel, { message, live, presence: presenceMessage, wipe }, keys.channelKey, keys.memberKey)
    const local = stream.publicKey
    const remote = stream.remotePublicKey
    channel.open(
      c.encode(channelHandshake, {
        relayProof: channelProof(keys.relayProofKey, local, remote, stream),
        memberProof: keys.memberProofKey ? channelProof(keys.memberProofKey, local, remote, stream) : null
      })
    )
    return self
  }

  /** Open, and the peer's proof verified. */
  get opened(): boolean {
    return this.verified && this.channel.opened && !this.channel.closed
  }

  /** The peer's device, once a presence it signed for this connection verified (lib/room/members.ts). */
  get device(): Buffer | null {
    return this.device_
  }

  set device(key: Buffer | null) {
    this.device_ = key
    this.deviceHex_ = key === null ? null : b4a.toString(key, 'hex')
  }

  /** `device` as hex. */
  get deviceHex(): string | null {
    return this.deviceHex_
  }

  /** Whether the peer proved the room secret (a member), not only the relay secret. */
  get member(): boolean {
    return this.member_
  }

  /** Sends writer announcements, split so no message exceeds the decoder's bound. */
  announce(writers: WriterAnnouncement[]): void {
    if (!this.verified || this.channel.closed) return
    for (let i = 0; i < writers.length; i += MAX_ANNOUNCED_WRITERS) {
      const chunk = writers.slice(i, i + MAX_ANNOUNCED_WRITERS)
      this.message.send(seal(c.encode(announcement, { writers: chunk }), this.key))
    }
  }

  /** Sends a block this node just stored, ahead of Hypercore's replication. */
  sendLive(value: LiveBlock): void {
    if (!this.member_ || this.channel.closed || this.memberKey === null) return
    this.live.send(seal(c.encode(liveBlock, value), this.memberKey))
  }

  /** Tells the member who this node is, signed for this connection. */
  sendPresence(value: Presence): void {
    if (!this.member_ || this.channel.closed || this.memberKey === null) return
    this.presence.send(seal(c.encode(presence, value), this.memberKey))
  }

  /** Tells a relay which blocks a wipe deleted: only to peers that are not members. */
  sendWipe(notice: WipeNotice): void {
    if (!this.verified || this.member_ || this.channel.closed) return
    this.wipe.send(seal(c.encode(wipeNotice, notice), this.key))
  }

  close(): void {
    if (!this.channel.closed) this.channel.close()
  }
}

/**
 * The connections on which a room answers its peers' opens of its channel (see
 * `RoomChannel.pair`), so that it can stop answering when it closes.
 */
export class Pairings {
  private readonly unpairs = new Map<object, () => void>()

  /** Pairs `stream` once; `onremoteopen` runs on every open from the peer. */
  add(stream: object, channelId: Buffer, onremoteopen: () => void): void {
    if (this.unpairs.has(stream)) return
    this.unpairs.set(stream, RoomChannel.pair(stream, channelId, onremoteopen))
    ;(stream as { once?(e: string, fn: () => void): void }).once?.('close', () => this.unpairs.delete(stream))
  }

  clear(): void {
    for (const unpair of this.unpairs.values()) unpair()
    this.unpairs.clear()
  }
}

/** What a room does with its channels and what arrives on them. */
export interface ChannelHandlers {
  /** The room's cores: they replicate on a connection once its channel is proven, and only then. */
  cores(): Iterable<Hypercore>
  /** Places the cores on a channel just proven, instead of replicating every one (lib/room/topology.ts). */
  place?(channel: RoomChannel): void
  /** A channel opened, its peer proved the room, and it counts as a peer. */
  open(channel: RoomChannel): void
  /** A channel that was open closed. */
  close(channel: RoomChannel): void
  writers(writers: WriterAnnouncement[]): void
  /** Members only: a relay cannot read live blocks. */
  live?(live: LiveBlock, channel: RoomChannel): void
  /** Members only: a relay cannot read presence. */
  presence?(presence: Presence, channel: RoomChannel): void
  /** Relays only: a member's notice of a wipe. */
  wipe?(notice: WipeNotice, channel: RoomChannel): void
}

/**
 * A room's channels, one per connection on which a peer is in the room too, and the
 * pairings that answer a peer who opens the channel first. Rooms and relays both use it.
 */
export class RoomChannels implements Iterable<RoomChannel> {
  private readonly channels: Set<RoomChannel>
  // Per connection, the function that stops answering the peer's opens of this room's channel.
  private readonly pairings: Pairings
  private readonly keys: ChannelKeys
  private readonly handlers: ChannelHandlers
  // Whether the room takes channels, and what arrives on them: not before it opens nor once closing.
  private readonly active: () => boolean
  private readonly stats: ChannelStats

  constructor(
    keys: ChannelKeys,
    active: () => boolean,
    stats: ChannelStats,
    handlers: ChannelHandlers
  ) {
    this.channels = new Set()
    this.pairings = new Pairings()
    this.keys = keys
    this.handlers = handlers
    this.active = active
    this.stats = stats
  }

  get size(): number {
    return this.channels.size
  }

  [Symbol.iterator](): Iterator<RoomChannel> {
    return this.channels.values()
  }

  /** Opens the room's channel on a connection, and answers the peer's opens of it from now on. */
  attach(stream: Stream): void {
    if (!this.active()) return
    this.pairings.add(stream, RoomChannel.idOn(stream, this.keys), () => this.attach(stream))
    RoomChannel.open(stream, this.keys, {
      onopen: (channel) => {
        if (!this.active()) return channel.close()
        this.channels.add(channel)
        this.stats.peers = this.channels.size
        if (this.handlers.place) this.handlers.place(channel)
        else for (const core of this.handlers.cores()) replicateOn(core, stream)
        this.handlers.open(channel)
      },
      onclose: (channel) => {
        if (!this.channels.delete(channel)) return
        this.stats.peers = this.channels.size
        this.handlers.close(channel)
      },
      onwriters: (writers) => {
        if (this.active()) this.handlers.writers(writers)
      },
      onlive: (live, channel) => {
        if (this.active() && this.channels.has(channel)) this.handlers.live?.(live, channel)
      },
      onpresence: (p, channel) => {
        if (this.active() && this.channels.has(channel)) this.handlers.presence?.(p, channel)
      },
      onwipe: (notice, channel) => {
        if (this.active() && this.channels.has(channel)) this.handlers.wipe?.(notice, channel)
      },
      onbadannouncement: () => {
        this.stats.badAnnouncements++
      },
      onbadproof: () => {
        this.stats.badProofs++
      }
    })
  }

  /** Replicates a core the room just opened on every connection where the room is proven. */
  replicate(core: Hypercore): void {
    for (const channel of this.channels) replicateOn(core, channel.stream)
  }

  /** Tells every peer of these writers. */
  announce(writers: WriterAnnouncement[]): void {
    for (const channel of this.channels) channel.announce(writers)
  }

  /** Stops answering peers and closes every channel. */
  close(): void {
    this.pairings.clear()
    for (const channel of this.channels) channel.close()
    this.channels.clear()
  }
}

/** What a room's channels count. */
export interface ChannelStats {
  /** Channels open to peers that proved the room. */
  peers: number
  badAnnouncements: number
  /** Opens of the room's channel whose proof did not verify; each closed that channel only. */
  badProofs: number
}

// What the peer's open proves: null when it proves nothing (the channel must close), true for
// a member, false for a relay (or, on a relay, for anyone with the relay secret).
function checkProof(handshake: unknown, keys: ChannelKeys, stream: Stream): boolean | null {
  if (!b4a.isBuffer(handshake)) return null
  let proof: ChannelHandshake
  try {
    proof = decodeStrict(channelHandshake, handshake, 'channel handshake')
  } catch {
    return null
  }
  const local = stream.publicKey
  const remote = stream.remotePublicKey
  if (!secretEquals(proof.relayProof, channelProof(keys.relayProofKey, remote, local, stream))) return null
  // A relay cannot check a member's proof, and needs nothing it would give.
  if (keys.memberProofKey === null || proof.memberProof === null) return false
  return secretEquals(proof.memberProof, channelProof(keys.memberProofKey, remote, local, stream)) ? true : null
}

/**
 * Attaches one core to the connection, through Hypercore's own per-core protomux channel. Nothing
 * else attaches cores to connections (no `store.replicate`), so a peer replicates only the
 * cores of rooms it proved, and cannot make this node open a core by asking for its discovery key.
 */
export function replicateOn(core: Hypercore, stream: object): Promise<void> | void {
  if (core.closing || core.closed) return
  // Hypercore destroys the whole connection if a core it attaches fails to open: attach opened ones.
  if (core.opened) {
    core.replicate(stream)
    return
  }
  return core.ready().then(
    () => {
      if (!core.closing && !(stream as { destroyed?: boolean }).destroyed) core.replicate(stream)
    },
    // The core's owner sees the failure on its own ready(); this connection just goes without it.
    () => {}
  )
}

function toCoded(err: unknown): BackspaceError {
  if (err instanceof BackspaceError) return err
  return BackspaceError.DECODE_FAILED((err as Error)?.message ?? String(err), err)
}
