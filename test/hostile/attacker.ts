// A wire-level attacker: its own Hyperswarm peer on the testnet, no Backspace code in the way.
// It takes the raw connections, sees every protomux channel a victim opens on them, and opens
// channels of its choosing with chosen ids, handshakes and frames: as a stranger who knows
// only a topic, or as a holder of a room's relay link.
import type { Test } from 'brittle'
import c from 'compact-encoding'
import HyperDHT from 'hyperdht'
import Hyperswarm from 'hyperswarm'
import Protomux from 'protomux'
import { channelProof, connectionChannelId, deriveRelayKeys } from '../../lib/crypto.js'
import { channelHandshake } from '../../lib/messages.js'
import { PROTOCOL } from '../../lib/room/channel.js'
import type { Testnet } from '../helpers/index.js'

export type Connection = Hyperswarm.Connection

/** Hypercore's replication protocol: a channel per core, its id the core's discovery key. */
export const HYPERCORE_PROTOCOL = 'hypercore/alpha'

/** A channel open the victim sent on one of the attacker's connections. */
export interface SeenOpen {
  conn: Connection
  protocol: string
  id: Buffer | null
}

/** Decides what the attacker does with an open from the victim: answer it, or let it be rejected. */
export type Responder = (open: SeenOpen) => RawChannel | null

/** A protomux channel the attacker holds: what arrived on it, and raw sends. */
export class RawChannel {
  readonly protocol: string
  readonly id: Buffer | null
  /** Frames received, by message type (0 announcements, 1 live, 2 presence on a room channel). */
  readonly frames: Array<{ type: number; data: Buffer }> = []
  /** The handshake the victim sent in its open, once both opens crossed. */
  remoteHandshake: Buffer | null = null
  /** Whether both ends opened (true) or it closed first (false). */
  readonly opened: Promise<boolean>
  readonly closed: Promise<void>
  private readonly channel: Protomux.Channel
  private readonly messages: Array<Protomux.Message<Buffer>>

  constructor(
    conn: Connection,
    opts: {
      protocol: string
      id: Buffer | null
      /** The handshake to open with; a function opens only once the victim's open is seen. */
      handshake: Buffer | ((remote: Buffer | null) => Buffer)
      messageTypes?: number
    }
  ) {
    this.protocol = opts.protocol
    this.id = opts.id
    let resolveOpened: (v: boolean) => void = () => {}
    let resolveClosed: () => void = () => {}
    this.opened = new Promise((resolve) => (resolveOpened = resolve))
    this.closed = new Promise((resolve) => (resolveClosed = resolve))
    const lazy = typeof opts.handshake === 'function' ? opts.handshake : null
    const mux = Protomux.from(conn)
    const channel = mux.createChannel({
      protocol: opts.protocol,
      id: opts.id,
      unique: false,
      handshake: c.raw,
      onopen: (handshake) => {
        this.remoteHandshake = (handshake as Buffer | null) ?? null
        if (lazy) channel!.open(lazy(this.remoteHandshake))
        resolveOpened(true)
      },
      onclose: () => {
        resolveOpened(false)
        resolveClosed()
      }
    })
    if (!channel) throw new Error('the attacker could not create the channel')
    this.channel = channel
    this.messages = []
    for (let type = 0; type < (opts.messageTypes ?? 3); type++) {
      this.messages.push(channel.addMessage({ encoding: c.raw, onmessage: (data: Buffer) => this.frames.push({ type, data }) }))
    }
    if (!lazy) channel.open(opts.handshake as Buffer)
  }

  send(type: number, data: Buffer): void {
    this.messages[type]?.send(data)
  }

  close(): void {
    this.channel.close()
  }
}

/** The attacker: one Hyperswarm, the connections it got, and every open the victim sent on them. */
export class Attacker {
  readonly swarm: Hyperswarm
  readonly connections: Connection[] = []
  readonly opens: SeenOpen[] = []
  /** Asked in turn for every open the victim sends; the first channel returned answers it. */
  readonly responders: Responder[] = []
  private readonly dht: HyperDHT
  private waiters: Array<(conn: Connection) => void> = []

  private constructor(testnet: Testnet, keyPair?: { publicKey: Buffer; secretKey: Buffer }) {
    this.dht = testnet.createNode()
    this.swarm = new Hyperswarm({ dht: this.dht, keyPair })
    this.swarm.on('connection', (conn: Connection) => this.take(conn))
  }

  static async create(t: Test, testnet: Testnet): Promise<Attacker> {
    const attacker = new Attacker(testnet)
    t.teardown(() => attacker.destroy())
    return attacker
  }

  /** Joins `topic` and resolves with the first connection made on it. */
  async join(topic: Buffer): Promise<Connection> {
    const next = this.nextConnection()
    this.swarm.join(topic, { server: true, client: true })
    return next
  }

  nextConnection(): Promise<Connection> {
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /**
   * Dials `publicKey` (a victim's swarm key) directly with a fresh key pair: a new connection
   * each time, as many as the attacker likes. Resolves with it once open, or null if refused.
   */
  async dial(publicKey: Buffer): Promise<Connection | null> {
    const conn = (this.dht as unknown as { connect(k: Buffer, o: object): Connection }).connect(publicKey, {
      keyPair: HyperDHT.keyPair()
    })
    conn.on('error', () => {})
    const open = await new Promise<boolean>((resolve) => {
      conn.once('open', () => resolve(true))
      conn.once('close', () => resolve(false))
    })
    if (!open) return null
    this.take(conn)
    return conn
  }

  /** The opens of `protocol` the victim sent on `conn`. */
  opensOf(conn: Connection, protocol = PROTOCOL): SeenOpen[] {
    return this.opens.filter((o) => o.conn === conn && o.protocol === protocol)
  }

  async destroy(): Promise<void> {
    await this.swarm.destroy()
  }

  private take(conn: Connection): void {
    conn.on('error', () => {})
    this.connections.push(conn)
    const mux = Protomux.from(conn)
    // Every protocol the victim may speak: each open is recorded, then offered to the responders.
    for (const protocol of [PROTOCOL, HYPERCORE_PROTOCOL]) {
      mux.pair({ protocol }, (id: unknown) => {
        const open = { conn, protocol, id: (id as Buffer | null) ?? null }
        this.opens.push(open)
        for (const responder of this.responders) if (responder(open)) return
      })
    }
    const waiters = this.waiters
    this.waiters = []
    for (const resolve of waiters) resolve(conn)
  }
}

/** A stranger's best try at a room channel: the victim's own open, with its proof echoed back. */
export function echo(open: SeenOpen): RawChannel | null {
  if (open.protocol !== PROTOCOL) return null
  return new RawChannel(open.conn, { protocol: PROTOCOL, id: open.id, handshake: (remote) => remote ?? Buffer.alloc(0) })
}

/**
 * A holder of a room's relay link, as its own client: it answers the room's channel with a
 * valid proof of the relay secret, and optionally a member proof made with a key it does not
 * have (a guess).
 */
export function relayHolder(relaySecret: Buffer, opts: { fakeMemberProof?: Buffer } = {}): Responder {
  const keys = deriveRelayKeys(relaySecret)
  return (open) => {
    if (open.protocol !== PROTOCOL || !open.id) return null
    const conn = open.conn
    if (!connectionChannelId(keys.channelIdKey, conn).equals(open.id)) return null
    const relayProof = channelProof(keys.relayProofKey, conn.publicKey, conn.remotePublicKey, conn)
    const handshake = c.encode(channelHandshake, { relayProof, memberProof: opts.fakeMemberProof ?? null })
    return new RawChannel(conn, { protocol: PROTOCOL, id: open.id, handshake })
  }
}

/** Resolves once `cond` holds, polling: some of what the attacker waits for emits no event. */
export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((resolve) => setTimeout(resolve, 20))
}
