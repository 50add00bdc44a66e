// Offline delivery: a user's relays. A `backspace relay --serve` prints a relay node link
// (`backspace-relay-node:`), a random secret S. Whoever holds the link finds the relay on a
// topic derived from S and, on a protomux channel whose id and open proofs are keyed by S and
// the connection's handshake (as room channels are), asks it to keep rooms by their relay
// links: the relay secret and the admission key, never a key that reads. The relay then keeps
// those rooms like any other (lib/room/relayed.ts): every member's core, whole, blind, until
// it expires by the time the relay received it, within its byte quota.
//
// The user's node asks its relays to keep its inboxes, the inboxes its pending requests wait
// in, and its DMs: two friends who are never online together meet through a relay both use.
import b4a from 'b4a'
import c from 'compact-encoding'
import Protomux from 'protomux'
import { channelProof, connectionChannelId, hash, secretEquals, type ConnectionKeys } from '../crypto.js'
import { BackspaceError } from '../errors.js'
import { decodeStrict, type Encoding } from '../messages.js'

/** A connection, as far as the keep channel needs it. */
type Stream = object & ConnectionKeys

export const KEEP_PROTOCOL = 'backspace/keep/v1'
/** Rooms one keep message may name. */
export const MAX_KEEP_LINKS = 64
/** Rooms one connection may ask a relay to keep; more are refused and counted. */
export const MAX_KEEPS_PER_CONNECTION = 256

const NS = {
  topic: b4a.from('backspace/relay-node/topic/v1'),
  id: b4a.from('backspace/relay-node/id/v1'),
  proof: b4a.from('backspace/relay-node/proof/v1')
}

export interface RelayNodeKeys {
  topic: Buffer
  idKey: Buffer
  proofKey: Buffer
}

export function relayNodeKeys(secret: Buffer): RelayNodeKeys {
  return { topic: hash([NS.topic], secret), idKey: hash([NS.id], secret), proofKey: hash([NS.proof], secret) }
}

/** What a relay node link holds. */
export interface RelayNode {
  secret: Buffer
}

const NODE_VERSION = 1

export const relayNodeRecord: Encoding<RelayNode> = {
  preencode(state, v) {
    c.uint.preencode(state, NODE_VERSION)
    c.fixed32.preencode(state, v.secret)
  },
  encode(state, v) {
    c.uint.encode(state, NODE_VERSION)
    c.fixed32.encode(state, v.secret)
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== NODE_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`relay node link v${version}`)
    return { secret: c.fixed32.decode(state) }
  }
}

/** One room to keep: its relay secret and admission public key, as in a relay link. */
export interface KeepLink {
  relaySecret: Buffer
  admissionKey: Buffer
}

const KEEP_VERSION = 1

export const keepMessage: Encoding<KeepLink[]> = {
  preencode(state, links) {
    c.uint.preencode(state, KEEP_VERSION)
    c.uint.preencode(state, links.length)
    for (const l of links) {
      c.fixed32.preencode(state, l.relaySecret)
      c.fixed32.preencode(state, l.admissionKey)
    }
  },
  encode(state, links) {
    c.uint.encode(state, KEEP_VERSION)
    c.uint.encode(state, links.length)
    for (const l of links) {
      c.fixed32.encode(state, l.relaySecret)
      c.fixed32.encode(state, l.admissionKey)
    }
  },
  decode(state) {
    const version = c.uint.decode(state)
    if (version !== KEEP_VERSION) throw BackspaceError.UNSUPPORTED_VERSION(`keep message v${version}`)
    const n = c.uint.decode(state)
    if (n > MAX_KEEP_LINKS) throw BackspaceError.DECODE_FAILED('too many rooms in a keep message')
    const links: KeepLink[] = []
    for (let i = 0; i < n; i++) links.push({ relaySecret: c.fixed32.decode(state), admissionKey: c.fixed32.decode(state) })
    return links
  }
}

/** A channel to one relay (client) or from one user (server) on one connection. */
class KeepChannel {
  readonly stream: Stream
  verified = false
  private readonly channel: Protomux.Channel
  private readonly message: Protomux.Message<Buffer>

  private constructor(stream: Stream, channel: Protomux.Channel, message: Protomux.Message<Buffer>) {
    this.stream = stream
    this.channel = channel
    this.message = message
  }

  static open(
    stream: Stream,
    keys: RelayNodeKeys,
    handlers: { onopen(ch: KeepChannel): void; onclose(ch: KeepChannel): void; onkeep?(links: KeepLink[], ch: KeepChannel): void; onbad(): void }
  ): KeepChannel | null {
    const mux = Protomux.from(stream)
    let self: KeepChannel | null = null
    const channel = mux.createChannel({
      protocol: KEEP_PROTOCOL,
      id: connectionChannelId(keys.idKey, stream),
      unique: true,
      handshake: c.raw,
      onopen: (proof: unknown) => {
        const expected = channelProof(keys.proofKey, stream.remotePublicKey, stream.publicKey, stream)
        if (!b4a.isBuffer(proof) || !secretEquals(proof, expected)) {
          handlers.onbad()
          self!.close()
          return
        }
        self!.verified = true
        handlers.onopen(self!)
      },
      onclose: () => handlers.onclose(self!)
    })
    if (channel === null) return null
    const message = channel.addMessage({
      encoding: c.raw,
      onmessage: (bytes: Buffer) => {
        if (!self!.verified || channel.closed || !handlers.onkeep) return
        let links: KeepLink[]
        try {
          links = decodeStrict(keepMessage, bytes, 'keep message')
        } catch {
          handlers.onbad()
          return
        }
        handlers.onkeep(links, self!)
      }
    })
    self = new KeepChannel(stream, channel, message)
    channel.open(channelProof(keys.proofKey, stream.publicKey, stream.remotePublicKey, stream))
    return self
  }

  send(links: KeepLink[]): void {
    if (!this.verified || this.channel.closed) return
    for (let i = 0; i < links.length; i += MAX_KEEP_LINKS) {
      this.message.send(c.encode(keepMessage, links.slice(i, i + MAX_KEEP_LINKS)))
    }
  }

  close(): void {
    if (!this.channel.closed) this.channel.close()
  }
}

export interface RelayServerStats {
  /** Rooms kept because a user asked. */
  kept: number
  /** Keep requests refused: past the per-connection bound, or failing. */
  refused: number
  /** Channel opens or messages that did not verify or decode. */
  bad: number
}

/**
 * The relay's side: pairs the keep channel on every connection, checks the user's proof, and
 * keeps what it is asked to keep, at most MAX_KEEPS_PER_CONNECTION rooms per connection.
 */
export class RelayServer {
  readonly keys: RelayNodeKeys
  readonly stats: RelayServerStats = { kept: 0, refused: 0, bad: 0 }
  private readonly keep: (link: KeepLink) => Promise<boolean>
  private readonly channels = new Set<KeepChannel>()

  constructor(secret: Buffer, keep: (link: KeepLink) => Promise<boolean>) {
    this.keys = relayNodeKeys(secret)
    this.keep = keep
  }

  attach(stream: Stream): void {
    const id = connectionChannelId(this.keys.idKey, stream)
    const mux = Protomux.from(stream)
    const open = (): void => {
      let asked = 0
      KeepChannel.open(stream, this.keys, {
        onopen: (ch) => this.channels.add(ch),
        onclose: (ch) => this.channels.delete(ch),
        onbad: () => this.stats.bad++,
        onkeep: (links) => {
          for (const link of links) {
            if (asked >= MAX_KEEPS_PER_CONNECTION) {
              this.stats.refused++
              continue
            }
            asked++
            this.keep(link).then(
              (isNew) => {
                if (isNew) this.stats.kept++
              },
              () => this.stats.refused++
            )
          }
        }
      })
    }
    mux.pair({ protocol: KEEP_PROTOCOL, id }, open)
    ;(stream as unknown as { once(e: string, f: () => void): void }).once('close', () => mux.unpair({ protocol: KEEP_PROTOCOL, id }))
  }

  close(): void {
    for (const ch of this.channels) ch.close()
    this.channels.clear()
  }
}

/**
 * A user's side for one relay: opens the keep channel on every connection (only the relay
 * answers it), and once the relay proved the link, sends it every room to keep.
 */
export class RelayClient {
  readonly keys: RelayNodeKeys
  readonly secret: Buffer
  private readonly links: () => KeepLink[]
  private readonly channels = new Set<KeepChannel>()
  // Rooms sent to the relay on each channel, by relay secret hex.
  private readonly sentOn = new WeakMap<KeepChannel, Set<string>>()

  constructor(secret: Buffer, links: () => KeepLink[]) {
    this.secret = secret
    this.keys = relayNodeKeys(secret)
    this.links = links
  }

  /** Connected to the relay now. */
  get connected(): boolean {
    return this.channels.size > 0
  }

  attach(stream: Stream): void {
    KeepChannel.open(stream, this.keys, {
      onopen: (ch) => {
        this.channels.add(ch)
        this.flush(ch)
      },
      onclose: (ch) => this.channels.delete(ch),
      onbad: () => {}
    })
  }

  /** Sends the relay any room it was not asked to keep yet on its open channels. */
  update(): void {
    for (const ch of this.channels) this.flush(ch)
  }

  private flush(ch: KeepChannel): void {
    let sent = this.sentOn.get(ch)
    if (!sent) this.sentOn.set(ch, (sent = new Set()))
    const fresh = this.links().filter((l) => !sent.has(l.relaySecret.toString('hex')))
    for (const l of fresh) sent.add(l.relaySecret.toString('hex'))
    if (fresh.length > 0) ch.send(fresh)
  }

  close(): void {
    for (const ch of this.channels) ch.close()
    this.channels.clear()
  }
}
