// `node.devices`: the identity's devices as the API shows them. Linking, listing and revoking;
// the node supplies the swarm, the rooms and its events.
import b4a from 'b4a'
import { BackspaceError } from '../errors.js'
import type { AccountKeys } from '../identity.js'
import type { ProfileFields } from '../messages.js'
import type { DeviceInfo, DeviceInvite, DeviceRequest } from '../types.js'
import { MAX_DEVICE_NAME_BYTES, revokeDevice, type DeviceRevocation } from './device.js'
import type { DeviceRegistry } from './devices.js'
import { InviteHost, type PairingStream } from './pairing.js'
import type { LinkedRoom } from './pairing-messages.js'

/** @internal What `node.devices` needs from its node. */
export interface DevicesContext {
  readonly incognito: boolean
  /** Waits for the node to be open; throws NODE_CLOSED once it closes. */
  whenOpen(): Promise<void>
  keys(): AccountKeys
  registry(): DeviceRegistry
  now(): number
  /** Announces `topic`; resolves once the announcement is in the DHT. */
  join(topic: Buffer): Promise<void>
  leave(topic: Buffer): Promise<void>
  streams(): Iterable<PairingStream>
  profile(): ProfileFields
  rooms(): LinkedRoom[]
  /** Carries a revocation to every open room. */
  applyRevocation(revocation: DeviceRevocation): Promise<void>
  /** Emits `device-request`; false when nobody listens. */
  request(req: DeviceRequest): boolean
}

export interface InviteOptions {
  /** The name to certify the new device with, instead of the one it asks for. */
  name?: string
}

/** This identity's devices: link a new one, list them, revoke one. */
export class Devices {
  private readonly ctx: DevicesContext
  private readonly hosts = new Set<InviteHost>()
  private closed = false
  // Frames dropped by invites that have ended.
  private endedRejected = 0

  /** @internal */
  constructor(ctx: DevicesContext) {
    this.ctx = ctx
  }

  /**
   * Makes a one-time link for a new device, valid for 10 minutes. The new device starts with
   * it (`new Backspace({ link })`); this node then emits `device-request` with the new device's
   * fingerprint, and the user approves or denies. Only a primary device (one that holds the
   * recovery phrase) can do this: NOT_ALLOWED on a linked device, INCOGNITO when incognito.
   */
  async invite(opts: InviteOptions = {}): Promise<DeviceInvite> {
    await this.ctx.whenOpen()
    if (this.ctx.incognito) throw BackspaceError.INCOGNITO('An incognito identity cannot have other devices')
    if (opts === null || typeof opts !== 'object') throw BackspaceError.INVALID_ARGUMENT('options must be an object')
    if (opts.name !== undefined && (typeof opts.name !== 'string' || b4a.byteLength(opts.name) > MAX_DEVICE_NAME_BYTES)) {
      throw BackspaceError.INVALID_ARGUMENT(`a device name is a string of at most ${MAX_DEVICE_NAME_BYTES} bytes`)
    }
    if (this.closed) throw BackspaceError.NODE_CLOSED()
    const keys = this.ctx.keys()
    const registry = this.ctx.registry()
    const host = new InviteHost(
      {
        identity: keys.identity,
        registry,
        accountKey: keys.accountKey,
        now: () => this.ctx.now(),
        profile: () => this.ctx.profile(),
        rooms: () => this.ctx.rooms(),
        join: (topic) => this.ctx.join(topic),
        leave: (topic) => this.ctx.leave(topic),
        streams: () => this.ctx.streams(),
        request: (req) => this.ctx.request(req),
        ended: (h) => {
          this.endedRejected += h.rejected
          this.hosts.delete(h)
        }
      },
      { name: opts.name }
    )
    this.hosts.add(host)
    try {
      await host.start()
    } catch (err) {
      await host.close()
      throw err
    }
    return Object.freeze({ link: host.link, expiresAt: host.expiresAt })
  }

  /** The identity's devices this node knows, oldest first; `current` marks this one. */
  async list(): Promise<DeviceInfo[]> {
    await this.ctx.whenOpen()
    return this.ctx.registry().list()
  }

  /**
   * Revokes a device of this identity (its key, as a Buffer or hex, or its fingerprint): blocks
   * it writes from now on are refused by every member who learns of it, and every open room
   * carries the revocation to its members. DEVICE_NOT_FOUND for a device this node does not
   * know; NOT_ALLOWED for a linked device revoking a primary one, or a primary device revoking
   * itself. A linked device revoking itself logs it out of the identity.
   */
  async revoke(key: Buffer | string): Promise<void> {
    await this.ctx.whenOpen()
    const registry = this.ctx.registry()
    const target = this.find(key)
    const keys = this.ctx.keys()
    const self = b4a.equals(target.key, keys.device.publicKey)
    const primary = keys.identity.canSign
    if (target.primary && !primary) {
      throw BackspaceError.NOT_ALLOWED('A linked device cannot revoke a device that holds the recovery phrase')
    }
    if (self && primary) {
      throw BackspaceError.NOT_ALLOWED('This device holds the recovery phrase: it cannot revoke itself')
    }
    if (target.revoked) return
    const revocation = primary
      ? revokeDevice({ identity: keys.identity }, target.key, this.ctx.now())
      : revokeDevice({ device: keys.device, certificate: keys.certificate }, target.key, this.ctx.now())
    if (!registry.revoke(revocation)) {
      throw BackspaceError.NOT_ALLOWED('The revocation was refused')
    }
    await registry.save()
    await this.ctx.applyRevocation(revocation)
  }

  /** The latest request that waits for an answer, for UIs that answer by command. */
  get pending(): DeviceRequest | null {
    let latest: DeviceRequest | null = null
    for (const host of this.hosts) latest = host.pending ?? latest
    return latest
  }

  /** @internal Answers pairing opens on a new connection. */
  attach(stream: PairingStream): void {
    if (this.closed) return
    for (const host of this.hosts) host.attach(stream)
  }

  /** @internal Ends every live invite. */
  async close(): Promise<void> {
    this.closed = true
    await Promise.all([...this.hosts].map((h) => h.close()))
  }

  /** @internal Frames every live invite dropped, for tests and stats. */
  get rejected(): number {
    let n = 0
    for (const host of this.hosts) n += host.rejected
    return n + this.endedRejected
  }

  private find(key: Buffer | string): DeviceInfo {
    const devices = this.ctx.registry().list()
    if (b4a.isBuffer(key)) {
      const found = devices.find((d) => b4a.equals(d.key, key))
      if (!found) throw BackspaceError.DEVICE_NOT_FOUND()
      return found
    }
    if (typeof key !== 'string' || key.trim() === '') {
      throw BackspaceError.INVALID_ARGUMENT('a device is named by its key (hex) or its fingerprint')
    }
    const text = key.trim().toLowerCase()
    const matches = devices.filter((d) => d.key.toString('hex') === text || d.fingerprint === text)
    if (matches.length !== 1) throw BackspaceError.DEVICE_NOT_FOUND(`No device of this identity is ${key.trim()}`)
    return matches[0]!
  }
}
