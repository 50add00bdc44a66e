// Linking a device by approval. The device that holds the identity (A) makes a one-time link;
// the new device (B) finds A on a topic derived from the link's secret, asks to join, and A's
// user approves or denies after comparing B's fingerprint. Approved, B receives a certificate
// and the account key, never the identity's secret.
//
// Only holders of the secret can open the pairing channel (its id derives from the secret and
// the connection's handshake hash, so it cannot be reused on another connection), and every
// frame is sealed with a key derived from the secret, one per direction. A never sends
// anything before a valid request: a peer that only knows the topic learns nothing.
import c from 'compact-encoding'
import b4a from 'b4a'
import Protomux from 'protomux'
import { BackspaceError } from '../errors.js'
import { hash, randomBytes, seal, sign, unseal, verify, type KeyPair } from '../crypto.js'
import { fingerprint, type Identity } from '../identity.js'
import { decodeStrict, type ProfileFields } from '../messages.js'
import { deviceLinkOf } from '../links.js'
import type { DeviceInfo, DeviceRequest } from '../types.js'
import {
  certifyDevice,
  decodeCertificate,
  decodeRevocation,
  encodeCertificate,
  encodeRevocation,
  verifyCertificate,
  type DeviceCertificate,
  type DeviceRevocation
} from './device.js'
import type { DeviceRegistry } from './devices.js'
import { pairingFrame, type DeviceLink, type LinkedRoom, type PairingFrame } from './pairing-messages.js'

export const PAIRING_PROTOCOL = 'backspace/device-pairing/v1'
/** How long a device link works. */
export const LINK_TTL = 10 * 60 * 1000
/** The largest frame the new device accepts (a grant carries the room list). */
const MAX_FRAME_BYTES = 256 * 1024
/** The largest frame the approver accepts: a request or a done, both small. */
const MAX_REQUEST_FRAME_BYTES = 1024
/** How long the approver waits for the new device to confirm that it saved the grant. */
const GRANT_ACK_TIMEOUT = 30_000
/** How long the new device waits past the expiry for an answer its request is owed. */
const EXPIRY_GRACE = 30_000
/** The new device looks the topic up again after this long, doubling up to the maximum. */
const LOOKUP_FIRST_DELAY = 1000
const LOOKUP_MAX_DELAY = 30_000
/** "Used already" answers one link gives, at most. */
const MAX_GONE_REPLIES = 32
/** Bad frames one invite takes before it gives up: a link under attack is a spent link. */
const MAX_REJECTED = 64

const NS = {
  topic: b4a.from('backspace/device-pairing/topic/v1'),
  channel: b4a.from('backspace/device-pairing/channel/v1'),
  id: b4a.from('backspace/device-pairing/id/v1'),
  request: b4a.from('backspace/device-pairing/request/v1'),
  reply: b4a.from('backspace/device-pairing/reply/v1'),
  signature: b4a.from('backspace/device-pairing/signature/v1'),
  identity: b4a.from('backspace/device-pairing/identity/v1')
}

/** A connection, as pairing sees it. */
export type PairingStream = object & {
  remotePublicKey: Buffer
  publicKey: Buffer
  handshakeHash?: Buffer | null
}

export interface PairingKeys {
  /** The Hyperswarm topic both devices join. DHT nodes see it; it reveals nothing of the secret. */
  topic: Buffer
  /** Binds request signatures to this link. */
  id: Buffer
  /** Seals frames from the new device to the approver. */
  requestKey: Buffer
  /** Seals frames from the approver to the new device. */
  replyKey: Buffer
}

export function derivePairingKeys(secret: Buffer): PairingKeys {
  return {
    topic: hash([NS.topic], secret),
    id: hash([NS.id], secret),
    requestKey: hash([NS.request], secret),
    replyKey: hash([NS.reply], secret)
  }
}

/** The channel id on one connection: unguessable without the secret, useless on another connection. */
export function pairingChannelId(secret: Buffer, handshakeHash: Buffer): Buffer {
  return hash([NS.channel, handshakeHash], secret)
}

/** What a link commits to about the identity that made it: the new device checks its grant against it. */
export function identityCheck(secret: Buffer, identityKey: Buffer): Buffer {
  return hash([NS.identity, identityKey], secret, 16)
}

/** What the new device signs: this link, this connection, its key and its name. */
export function requestSignable(id: Buffer, handshakeHash: Buffer, device: Buffer, name: string): Buffer {
  return b4a.concat([NS.signature, id, handshakeHash, device, c.encode(c.string, name)])
}

/** The pairing channel on one connection: sealed frames in and out, nothing else. */
class PairingChannel {
  readonly stream: PairingStream
  private readonly channel: Protomux.Channel
  private readonly message: Protomux.Message<Buffer>

  private constructor(stream: PairingStream, channel: Protomux.Channel, message: Protomux.Message<Buffer>) {
    this.stream = stream
    this.channel = channel
    this.message = message
  }

  static open(
    stream: PairingStream,
    id: Buffer,
    handlers: { onopen(ch: PairingChannel): void; onframe(box: Buffer, ch: PairingChannel): void; onclose(ch: PairingChannel): void }
  ): PairingChannel | null {
    const mux = Protomux.from(stream)
    let self: PairingChannel | null = null
    const channel = mux.createChannel({
      protocol: PAIRING_PROTOCOL,
      id,
      unique: true,
      onopen: () => handlers.onopen(self!),
      onclose: () => handlers.onclose(self!)
    })
    if (channel === null) return null
    // Raw bytes: a decoder that throws would make protomux destroy the whole connection.
    const message = channel.addMessage({
      encoding: c.raw,
      onmessage: (box: Buffer) => {
        try {
          handlers.onframe(box, self!)
        } catch {
          // Handlers contain their own failures; a bug must not tear the connection down.
          self!.close()
        }
      }
    })
    self = new PairingChannel(stream, channel, message)
    channel.open()
    return self
  }

  get closed(): boolean {
    return this.channel.closed
  }

  send(frame: PairingFrame, key: Buffer): boolean {
    if (this.channel.closed) return false
    this.message.send(seal(c.encode(pairingFrame, frame), key))
    return true
  }

  close(): void {
    if (!this.channel.closed) this.channel.close()
  }
}

/** Opens a sealed frame; null when it is too large, does not open or does not decode. */
function openFrame(box: Buffer, key: Buffer, maxBytes: number): PairingFrame | null {
  if (box.byteLength > maxBytes) return null
  const plain = unseal(box, key)
  if (!plain) return null
  try {
    return decodeStrict(pairingFrame, plain, 'pairing frame')
  } catch {
    return null
  }
}

function handshakeOf(stream: PairingStream): Buffer | null {
  const h = stream.handshakeHash
  return b4a.isBuffer(h) && h.byteLength >= 32 ? h : null
}

// ---------------------------------------------------------------------------
// The approving device
// ---------------------------------------------------------------------------

/** @internal What an invite needs from its node. */
export interface InviteContext {
  /** The identity, with its secret: only a primary device makes invites. */
  readonly identity: Identity
  readonly registry: DeviceRegistry
  readonly accountKey: Buffer
  now(): number
  profile(): ProfileFields
  /** The rooms a new device receives. */
  rooms(): LinkedRoom[]
  /** Announces the topic (server side only); resolves once the announcement is in the DHT. */
  join(topic: Buffer): Promise<void>
  leave(topic: Buffer): Promise<void>
  streams(): Iterable<PairingStream>
  /** Hands a request to the user; false when nobody listens (the request is then denied). */
  request(req: DeviceRequest): boolean
  /** The invite ended (used and answered, expired, or closed). */
  ended(host: InviteHost): void
}

type Decision = { verb: 'approve'; result: Promise<DeviceInfo> } | { verb: 'deny'; result: Promise<void> }

interface Pending {
  channel: PairingChannel
  device: Buffer
  name: string
  decision: Decision | null
  // Why the invite ended before the user answered; every answer then fails with it.
  ended: Error | null
  // Resolves when the new device confirms it saved the grant.
  acked: (() => void) | null
  request: DeviceRequest
}

/**
 * @internal One live invite on the approving device. It answers the first valid request and
 * nothing else; later ones hear "used" until the link expires, when it leaves the topic.
 */
export class InviteHost {
  readonly link: string
  readonly expiresAt: number
  /** Frames dropped because they were too large, did not open or decode, or did not verify. */
  rejected = 0
  private readonly ctx: InviteContext
  private readonly secret: Buffer
  private readonly keys: PairingKeys
  // A name the inviter chose for the new device, over the one it asks for.
  private readonly name: string | null
  private readonly unpairs = new Map<object, () => void>()
  private readonly channels = new Set<PairingChannel>()
  // Channels that already sent a request: one each.
  private readonly asked = new WeakSet<PairingChannel>()
  private used = false
  private closed = false
  private gone = 0
  private pending_: Pending | null = null
  private timer: NodeJS.Timeout | null = null

  constructor(ctx: InviteContext, opts: { name?: string | undefined; ttl?: number | undefined } = {}) {
    if (!ctx.identity.canSign) {
      throw BackspaceError.NOT_ALLOWED(
        'Only the device that holds the recovery phrase can link new devices; this one is linked'
      )
    }
    this.ctx = ctx
    this.secret = randomBytes(32)
    this.keys = derivePairingKeys(this.secret)
    this.name = opts.name ?? null
    // Whole seconds, as the link carries them.
    this.expiresAt = Math.ceil((ctx.now() + (opts.ttl ?? LINK_TTL)) / 1000) * 1000
    this.link = deviceLinkOf({
      secret: this.secret,
      expiresAt: this.expiresAt,
      identityCheck: identityCheck(this.secret, ctx.identity.publicKey)
    })
  }

  /** The request waiting for the user's answer, if any. */
  get pending(): DeviceRequest | null {
    return this.pending_ && this.pending_.decision === null ? this.pending_.request : null
  }

  /** Announces the invite; resolves once the new device can find this one. */
  async start(): Promise<void> {
    for (const stream of this.ctx.streams()) this.attach(stream)
    this.timer = setTimeout(() => this.expire(), Math.max(0, this.expiresAt - this.ctx.now()))
    this.timer.unref?.()
    await this.ctx.join(this.keys.topic)
  }

  /** Answers the new device's open of the pairing channel on `stream`. */
  attach(stream: PairingStream): void {
    if (this.closed || this.unpairs.has(stream)) return
    const handshake = handshakeOf(stream)
    if (!handshake) return
    const id = pairingChannelId(this.secret, handshake)
    const mux = Protomux.from(stream)
    mux.pair({ protocol: PAIRING_PROTOCOL, id }, () => this.accept(stream, id))
    this.unpairs.set(stream, () => mux.unpair({ protocol: PAIRING_PROTOCOL, id }))
    ;(stream as { once?(e: string, fn: () => void): void }).once?.('close', () => this.unpairs.delete(stream))
  }

  /**
   * Ends the invite: the link stops working, and an unanswered request is refused, with
   * DEVICE_LINK_EXPIRED at expiry and NODE_CLOSED when the node closes.
   */
  async close(reason: 'expired' | 'closed' = 'closed'): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    for (const unpair of this.unpairs.values()) unpair()
    this.unpairs.clear()
    const pending = this.pending_
    if (pending && pending.decision === null) {
      pending.ended =
        reason === 'expired'
          ? BackspaceError.DEVICE_LINK_EXPIRED('The link expired before the request was answered')
          : BackspaceError.NODE_CLOSED()
      // The new device hears that the link is spent, rather than wait for its own expiry.
      pending.channel.send({ type: 'gone' }, this.keys.replyKey)
    }
    // Closing the channels also ends a wait for the new device's confirmation, as failed.
    pending?.channel.close()
    for (const channel of this.channels) channel.close()
    this.channels.clear()
    this.ctx.ended(this)
    await this.ctx.leave(this.keys.topic)
  }

  private expire(): void {
    void this.close('expired')
  }

  private accept(stream: PairingStream, id: Buffer): void {
    if (this.closed) return
    PairingChannel.open(stream, id, {
      onopen: (channel) => {
        if (this.closed) return channel.close()
        this.channels.add(channel)
      },
      onframe: (box, channel) => this.onframe(box, channel),
      onclose: (channel) => {
        this.channels.delete(channel)
        const pending = this.pending_
        if (pending && pending.channel === channel) pending.acked?.()
      }
    })
  }

  private onframe(box: Buffer, channel: PairingChannel): void {
    const frame = openFrame(box, this.keys.requestKey, MAX_REQUEST_FRAME_BYTES)
    if (frame === null) return this.reject(channel)
    if (frame.type === 'done') {
      const pending = this.pending_
      if (!pending || pending.channel !== channel || pending.decision?.verb !== 'approve') return this.reject(channel)
      pending.acked?.()
      return
    }
    if (frame.type !== 'request' || this.asked.has(channel)) return this.reject(channel)
    this.asked.add(channel)
    const handshake = handshakeOf(channel.stream)
    const signable = handshake && requestSignable(this.keys.id, handshake, frame.device, frame.name)
    if (!signable || !verify(frame.signature, signable, frame.device)) return this.reject(channel)
    if (this.used || this.closed || this.ctx.now() >= this.expiresAt) {
      // Whoever holds the link hears that it is spent, a bounded number of times.
      if (this.gone++ < MAX_GONE_REPLIES) channel.send({ type: 'gone' }, this.keys.replyKey)
      channel.close()
      return
    }
    // The link works once, whatever the answer.
    this.used = true
    this.ask(channel, frame.device, frame.name)
  }

  private reject(channel: PairingChannel): void {
    this.rejected++
    channel.close()
    if (this.rejected >= MAX_REJECTED) void this.close()
  }

  private ask(channel: PairingChannel, device: Buffer, name: string): void {
    const request: DeviceRequest = Object.freeze({
      key: device,
      fingerprint: fingerprint(device),
      name,
      approve: () => this.decide('approve') as Promise<DeviceInfo>,
      deny: () => this.decide('deny') as Promise<void>
    })
    this.pending_ = { channel, device, name, decision: null, ended: null, acked: null, request }
    if (!this.ctx.request(request)) void request.deny()
  }

  private decide(verb: 'approve' | 'deny'): Promise<DeviceInfo | void> {
    const pending = this.pending_!
    if (pending.ended) return Promise.reject(pending.ended)
    if (pending.decision) {
      if (pending.decision.verb === verb) return pending.decision.result
      return Promise.reject(BackspaceError.NOT_ALLOWED(`The request was already ${pending.decision.verb === 'approve' ? 'approved' : 'denied'}`))
    }
    if (verb === 'deny') {
      pending.channel.send({ type: 'deny' }, this.keys.replyKey)
      pending.channel.close()
      const result = Promise.resolve()
      pending.decision = { verb, result }
      return result
    }
    const result = this.grant(pending)
    pending.decision = { verb, result }
    return result
  }

  private async grant(pending: Pending): Promise<DeviceInfo> {
    try {
      if (pending.channel.closed) {
        throw BackspaceError.DEVICE_LINK_FAILED('The new device disconnected before the approval')
      }
      const certificate = certifyDevice(this.ctx.identity, pending.device, {
        createdAt: this.ctx.now(),
        primary: false,
        name: this.name ?? pending.name
      })
      const acked = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), GRANT_ACK_TIMEOUT)
        pending.acked = () => {
          clearTimeout(timer)
          pending.acked = null
          resolve(!pending.channel.closed)
        }
      })
      // Kept before it is sent: a device that may hold a certificate must be listed, to be
      // revocable. A key listed already (a revoked device coming back) gets no new certificate.
      if (!this.ctx.registry.add(certificate)) {
        throw BackspaceError.DEVICE_LINK_FAILED('This device key is listed already, or the device list is full')
      }
      const info = this.ctx.registry.info(pending.device)!
      pending.channel.send(
        {
          type: 'grant',
          certificate: encodeCertificate(certificate),
          accountKey: this.ctx.accountKey,
          profile: this.ctx.profile(),
          rooms: this.ctx.rooms(),
          devices: this.ctx.registry.list().map((d) => encodeCertificate(this.ctx.registry.certificate(d.key)!)),
          revocations: this.ctx.registry
            .list()
            .flatMap((d) => {
              const rev = this.ctx.registry.isRevoked(d.key)
              return rev ? [encodeRevocation(rev)] : []
            })
        },
        this.keys.replyKey
      )
      if (!(await acked)) {
        throw BackspaceError.DEVICE_LINK_FAILED(
          'The new device did not confirm the link; it is listed, and can be revoked if it never appears'
        )
      }
      return info
    } finally {
      pending.channel.close()
    }
  }
}

// ---------------------------------------------------------------------------
// The new device
// ---------------------------------------------------------------------------

/** What the new device receives when it is approved. */
export interface DeviceGrant {
  certificate: DeviceCertificate
  accountKey: Buffer
  profile: ProfileFields
  rooms: LinkedRoom[]
  /** The identity's other devices and revocations, unverified: the registry checks each. */
  devices: DeviceCertificate[]
  revocations: DeviceRevocation[]
}

/** @internal What a link request needs from its node. */
export interface LinkRequestContext {
  now(): number
  /** Looks the topic up (client side only); the function it returns looks again. */
  join(topic: Buffer): () => void
  leave(topic: Buffer): Promise<void>
  streams(): Iterable<PairingStream>
}

/**
 * @internal The new device's side: asks on every connection where the pairing channel opens,
 * and settles on the first answer that verifies.
 */
export class LinkRequest {
  readonly device: KeyPair
  readonly name: string
  readonly expiresAt: number
  /** Frames dropped because they were too large, did not open or decode, or did not verify. */
  rejected = 0
  private readonly ctx: LinkRequestContext
  private readonly link: DeviceLink
  private readonly keys: PairingKeys
  private readonly channels = new Set<PairingChannel>()
  private readonly attached = new WeakSet<object>()
  // Channels on which the request went out: one closing unanswered fails the link.
  private readonly asked = new WeakSet<PairingChannel>()
  private winner: PairingChannel | null = null
  private settled = false
  private timer: NodeJS.Timeout | null = null
  // Looks the topic up again, with backoff, until a request went out: the approver's
  // announcement may land just after the first lookup.
  private lookupTimer: NodeJS.Timeout | null = null
  private lookupDelay = LOOKUP_FIRST_DELAY
  private requested = false
  private resolve!: (grant: DeviceGrant) => void
  private reject!: (err: Error) => void
  readonly result: Promise<DeviceGrant>

  constructor(ctx: LinkRequestContext, link: DeviceLink, device: KeyPair, name: string) {
    this.ctx = ctx
    this.link = link
    this.keys = derivePairingKeys(link.secret)
    this.device = device
    this.name = name
    this.expiresAt = link.expiresAt
    this.result = new Promise<DeviceGrant>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    this.result.catch(() => {})
  }

  start(): void {
    if (this.ctx.now() >= this.expiresAt) {
      return this.fail(BackspaceError.DEVICE_LINK_EXPIRED('The link has expired; make a new one on the other device'))
    }
    const lookup = this.ctx.join(this.keys.topic)
    const again = () => {
      if (this.settled || this.requested) return
      lookup()
      this.lookupDelay = Math.min(this.lookupDelay * 2, LOOKUP_MAX_DELAY)
      this.lookupTimer = setTimeout(again, this.lookupDelay)
      this.lookupTimer.unref?.()
    }
    this.lookupTimer = setTimeout(again, this.lookupDelay)
    this.lookupTimer.unref?.()
    for (const stream of this.ctx.streams()) this.attach(stream)
    this.timer = setTimeout(
      () => this.fail(BackspaceError.DEVICE_LINK_EXPIRED('The link expired before the other device answered')),
      Math.max(0, this.expiresAt - this.ctx.now()) + EXPIRY_GRACE
    )
    this.timer.unref?.()
  }

  /** Opens the pairing channel on `stream`; it opens only if the peer holds the link too. */
  attach(stream: PairingStream): void {
    if (this.settled || this.attached.has(stream)) return
    const handshake = handshakeOf(stream)
    if (!handshake) return
    this.attached.add(stream)
    const channel = PairingChannel.open(stream, pairingChannelId(this.link.secret, handshake), {
      onopen: (ch) => {
        if (this.settled) return ch.close()
        const signature = sign(requestSignable(this.keys.id, handshake, this.device.publicKey, this.name), this.device.secretKey)
        ch.send({ type: 'request', device: this.device.publicKey, name: this.name, signature }, this.keys.requestKey)
        this.asked.add(ch)
        this.requested = true
      },
      onframe: (box, ch) => this.onframe(box, ch),
      onclose: (ch) => {
        this.channels.delete(ch)
        if (!this.settled && this.asked.has(ch)) {
          this.fail(BackspaceError.DEVICE_LINK_FAILED('The other device went away before it answered'))
        }
      }
    })
    if (channel) this.channels.add(channel)
  }

  /** The grant is saved: tells the approver, then closes every pairing channel. */
  async done(): Promise<void> {
    this.winner?.send({ type: 'done' }, this.keys.requestKey)
    await this.stop()
  }

  /** Gives up, with `err` as the result if nothing settled yet. */
  async abort(err: Error): Promise<void> {
    this.fail(err)
    await this.stop()
  }

  private async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    if (this.lookupTimer) clearTimeout(this.lookupTimer)
    this.timer = null
    for (const channel of this.channels) channel.close()
    this.channels.clear()
    await this.ctx.leave(this.keys.topic)
  }

  private onframe(box: Buffer, channel: PairingChannel): void {
    if (this.settled) return
    const frame = openFrame(box, this.keys.replyKey, MAX_FRAME_BYTES)
    if (frame === null || !this.asked.has(channel)) return this.drop(channel)
    switch (frame.type) {
      case 'grant': {
        const grant = this.verifyGrant(frame)
        if (!grant) return this.drop(channel)
        this.settled = true
        this.winner = channel
        if (this.timer) clearTimeout(this.timer)
        this.resolve(grant)
        return
      }
      case 'deny':
        return this.fail(BackspaceError.DEVICE_LINK_DENIED('The other device denied this one'))
      case 'gone':
        return this.fail(BackspaceError.DEVICE_LINK_EXPIRED('The link was already used or has expired; make a new one'))
      default:
        return this.drop(channel)
    }
  }

  private verifyGrant(frame: Extract<PairingFrame, { type: 'grant' }>): DeviceGrant | null {
    let certificate: DeviceCertificate
    try {
      certificate = decodeCertificate(frame.certificate)
    } catch {
      return null
    }
    const ok =
      b4a.equals(certificate.device, this.device.publicKey) &&
      !certificate.primary &&
      b4a.equals(identityCheck(this.link.secret, certificate.identity), this.link.identityCheck) &&
      // Verified last: the cheap checks turn most forgeries away first.
      verifyCertificate(certificate)
    if (!ok) return null
    return {
      certificate,
      accountKey: frame.accountKey,
      profile: frame.profile,
      rooms: frame.rooms,
      devices: frame.devices.flatMap((b) => tryDecode(decodeCertificate, b)),
      revocations: frame.revocations.flatMap((b) => tryDecode(decodeRevocation, b))
    }
  }

  private drop(channel: PairingChannel): void {
    this.rejected++
    this.asked.delete(channel)
    channel.close()
  }

  private fail(err: Error): void {
    if (this.settled) return
    this.settled = true
    if (this.timer) clearTimeout(this.timer)
    if (this.lookupTimer) clearTimeout(this.lookupTimer)
    this.reject(err)
  }
}

function tryDecode<T>(decode: (buf: Buffer) => T, buf: Buffer): T[] {
  try {
    return [decode(buf)]
  } catch {
    return []
  }
}
