import c from 'compact-encoding'
import Protomux from 'protomux'
import { seal, unseal } from '../crypto.js'
import { BackspaceError } from '../errors.js'
import {
  announcement,
  channelEnvelope,
  decodeStrict,
  liveBlock,
  MAX_ANNOUNCED_WRITERS,
  presence,
  type Encoding,
  type LiveBlock,
  type Presence,
  type WriterAnnouncement
} from '../messages.js'

export const PROTOCOL = 'backspace/room/v1'

/** A connection to a peer, as far as a room's channel needs it. */
export type Stream = object & { remotePublicKey: Buffer; publicKey: Buffer }

/** Who may open a room's channel (its id), and who may read what is sent on it. */
export interface ChannelKeys {
  channelId: Buffer
  /** Seals writer announcements: members and relays hold it. */
  channelKey: Buffer
  /** Seals live blocks and presence: members only, so null for a relay. */
  memberKey: Buffer | null
}

export interface DiscoveryHandlers {
  /** The channel opened: the remote peer is a member of the room too. */
  onopen(channel: RoomChannel): void
  onclose(channel: RoomChannel): void
  onwriters(writers: WriterAnnouncement[], channel: RoomChannel): void
  /** A member sent a block it just stored. */
  onlive(live: LiveBlock): void
  /** A member said who it is (its signature is not checked yet). */
  onpresence(presence: Presence, channel: RoomChannel): void
  /** An announcement did not decrypt or decode. It is dropped; the channel stays up. */
  onbadannouncement(error: BackspaceError): void
}

/**
 * A room's protomux channel on one connection. Members tell each other which writer cores
 * exist. Only holders of the room secret can open the channel (its id is derived from the
 * secret), and every announcement is sealed with the room's channel key as well.
 */
export class RoomChannel {
  readonly remotePublicKey: Buffer
  /** This side's Noise key on the connection, which presence signatures cover. */
  readonly localPublicKey: Buffer
  private readonly channel: Protomux.Channel
  private readonly message: Protomux.Message<Buffer>
  private readonly live: Protomux.Message<Buffer>
  private readonly presence: Protomux.Message<Buffer>
  private readonly key: Buffer
  private readonly memberKey: Buffer | null

  private constructor(
    channel: Protomux.Channel,
    messages: { message: Protomux.Message<Buffer>; live: Protomux.Message<Buffer>; presence: Protomux.Message<Buffer> },
    key: Buffer,
    memberKey: Buffer | null,
    keys: { remote: Buffer; local: Buffer }
  ) {
    this.channel = channel
    this.message = messages.message
    this.live = messages.live
    this.presence = messages.presence
    this.key = key
    this.memberKey = memberKey
    this.remotePublicKey = keys.remote
    this.localPublicKey = keys.local
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
  static open(
    stream: Stream,
    ids: ChannelKeys,
    handlers: DiscoveryHandlers
  ): RoomChannel | null {
    const mux = Protomux.from(stream)
    let self: RoomChannel | null = null
    const channel = mux.createChannel({
      protocol: PROTOCOL,
      id: ids.channelId,
      unique: true,
      onopen: () => handlers.onopen(self!),
      onclose: () => handlers.onclose(self!)
    })
    if (channel === null) return null
    // Every message on the channel is sealed, then encoded: one way to receive them all.
    const sealed = <T>(key: Buffer | null, enc: Encoding<T>, what: string, deliver: (value: T) => void) =>
      channel.addMessage({
        encoding: channelEnvelope,
        onmessage: (box: Buffer) => {
          // A relay has no member key: what only members may read, it drops unread.
          if (key === null) return
          // A handler that throws would tear down the whole connection: contain everything.
          let value: T
          try {
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
    const message = sealed(ids.channelKey, announcement, 'announcement', (a) => handlers.onwriters(a.writers, self!))
    const live = sealed(ids.memberKey, liveBlock, 'live block', (l) => handlers.onlive(l))
    const presenceMessage = sealed(ids.memberKey, presence, 'presence', (p) => handlers.onpresence(p, self!))
    self = new RoomChannel(
      channel,
      { message, live, presence: presenceMessage },
      ids.channelKey,
      ids.memberKey,
      { remote: stream.remotePublicKey, local: stream.publicKey }
    )
    channel.open()
    return self
  }

  get opened(): boolean {
    return this.channel.opened
  }

  /** Sends writer announcements, split so no message exceeds the decoder's bound. */
  announce(writers: WriterAnnouncement[]): void {
    if (this.channel.closed) return
    for (let i = 0; i < writers.length; i += MAX_ANNOUNCED_WRITERS) {
      const chunk = writers.slice(i, i + MAX_ANNOUNCED_WRITERS)
      this.message.send(seal(c.encode(announcement, { writers: chunk }), this.key))
    }
  }

  /** Sends a block this node just stored, ahead of Hypercore's replication. */
  sendLive(value: LiveBlock): void {
    if (this.channel.closed || this.memberKey === null) return
    this.live.send(seal(c.encode(liveBlock, value), this.memberKey))
  }

  /** Tells the member who this node is, signed for this connection. */
  sendPresence(value: Presence): void {
    if (this.channel.closed || this.memberKey === null) return
    this.presence.send(seal(c.encode(presence, value), this.memberKey))
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
  /** A channel opened and counts as a peer. */
  open(channel: RoomChannel): void
  /** A channel that was open closed. */
  close(channel: RoomChannel): void
  writers(writers: WriterAnnouncement[]): void
  /** Members only: a relay cannot read live blocks. */
  live?(live: LiveBlock): void
  /** Members only: a relay cannot read presence. */
  presence?(presence: Presence, channel: RoomChannel): void
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
  private readonly stats: { peers: number; badAnnouncements: number }

  constructor(
    keys: ChannelKeys,
    active: () => boolean,
    stats: { peers: number; badAnnouncements: number },
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
    this.pairings.add(stream, this.keys.channelId, () => this.attach(stream))
    RoomChannel.open(stream, this.keys, {
      onopen: (channel) => {
        if (!this.active()) return channel.close()
        this.channels.add(channel)
        this.stats.peers = this.channels.size
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
      onlive: (live) => {
        if (this.active()) this.handlers.live?.(live)
      },
      onpresence: (p, channel) => {
        if (this.active() && this.channels.has(channel)) this.handlers.presence?.(p, channel)
      },
      onbadannouncement: () => {
        this.stats.badAnnouncements++
      }
    })
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

function toCoded(err: unknown): BackspaceError {
  if (err instanceof BackspaceError) return err
  return BackspaceError.DECODE_FAILED((err as Error)?.message ?? String(err), err)
}
