import c from 'compact-encoding'
import Protomux from 'protomux'
import { seal, unseal } from './crypto.js'
import { BackspaceError } from './errors.js'
import {
  announcement,
  channelEnvelope,
  decodeStrict,
  liveBlock,
  MAX_ANNOUNCED_WRITERS,
  presence,
  type LiveBlock,
  type Presence,
  type WriterAnnouncement
} from './messages.js'

export const PROTOCOL = 'backspace/room/v1'

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
    stream: object & { remotePublicKey: Buffer; publicKey: Buffer },
    ids: { channelId: Buffer; channelKey: Buffer; memberKey: Buffer | null },
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
    const message = channel.addMessage({
      encoding: channelEnvelope,
      onmessage: (box: Buffer) => {
        // A handler that throws would tear down the whole connection: contain everything.
        let writers: WriterAnnouncement[]
        try {
          const plain = unseal(box, ids.channelKey)
          if (!plain) throw BackspaceError.DECODE_FAILED('announcement does not decrypt')
          writers = decodeStrict(announcement, plain, 'announcement').writers
        } catch (err) {
          handlers.onbadannouncement(toCoded(err))
          return
        }
        handlers.onwriters(writers, self!)
      }
    })
    const live = channel.addMessage({
      encoding: channelEnvelope,
      onmessage: (box: Buffer) => {
        // A relay has no member key: what only members may read, it drops unread.
        if (ids.memberKey === null) return
        let value: LiveBlock
        try {
          const plain = unseal(box, ids.memberKey)
          if (!plain) throw BackspaceError.DECODE_FAILED('live block does not decrypt')
          value = decodeStrict(liveBlock, plain, 'live block')
        } catch (err) {
          handlers.onbadannouncement(toCoded(err))
          return
        }
        handlers.onlive(value)
      }
    })
    const presenceMessage = channel.addMessage({
      encoding: channelEnvelope,
      onmessage: (box: Buffer) => {
        if (ids.memberKey === null) return
        let value: Presence
        try {
          const plain = unseal(box, ids.memberKey)
          if (!plain) throw BackspaceError.DECODE_FAILED('presence does not decrypt')
          value = decodeStrict(presence, plain, 'presence')
        } catch (err) {
          handlers.onbadannouncement(toCoded(err))
          return
        }
        handlers.onpresence(value, self!)
      }
    })
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

function toCoded(err: unknown): BackspaceError {
  if (err instanceof BackspaceError) return err
  return BackspaceError.DECODE_FAILED((err as Error)?.message ?? String(err), err)
}
