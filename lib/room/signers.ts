import b4a from 'b4a'
import {
  certificateId,
  decodeRevocation,
  verifyCertificate,
  verifyRevocation,
  type DeviceCertificate,
  type DeviceRevocation
} from '../identity/device.js'
import type { BlockBody, MessageRecord } from '../messages.js'
import type { Message } from '../types.js'
import type { Feed } from './feed.js'

// Certificates verified once, by id; a room sees the same few again and again.
const MAX_CERT_CACHE = 4096

/** Where a revoked device's authority ends in this room. */
interface RevokedDevice {
  revokedAt: number
  /** Per writer core (hex) of that device, the length from which its blocks are void. */
  cuts: Map<string, number>
}

/** Where one core of a revoked device ends, as a revocation record carries it. */
export interface Cut {
  core: Buffer
  length: number
}

/**
 * Who may sign in a room: the device of a valid certificate (verified once, then cached), or
 * the author itself for blocks written before devices, until a revocation signed by its
 * identity ends the device's authority. Revocations come as records from members, or from
 * this node for its own identity's devices.
 */
export class Signers {
  private readonly certificates: Map<string, DeviceCertificate>
  // The certificate verified last: consecutive blocks nearly always carry the same one.
  private lastCertificate: DeviceCertificate | null
  // Certificates of devices seen writing, by device key hex, to check revocations against.
  private readonly deviceCertificates: Map<string, DeviceCertificate>
  // Devices revoked, by device key hex: their later blocks are rejected.
  private readonly revoked: Map<string, RevokedDevice>
  // When a revocation of this identity's devices was last carried in this room, by device hex.
  private readonly revocationCarried: Map<string, number>
  private readonly feeds: { get(hex: string): Feed | undefined; values(): Iterable<Feed> }
  // Takes shown messages back: a revocation withdraws what the device wrote after it.
  private readonly withdraw: (drop: (m: Message) => boolean) => void
  private readonly stats: { badAnnouncements: number }

  constructor(
    feeds: { get(hex: string): Feed | undefined; values(): Iterable<Feed> },
    withdraw: (drop: (m: Message) => boolean) => void,
    stats: { badAnnouncements: number }
  ) {
    this.certificates = new Map()
    this.lastCertificate = null
    this.deviceCertificates = new Map()
    this.revoked = new Map()
    this.revocationCarried = new Map()
    this.feeds = feeds
    this.withdraw = withdraw
    this.stats = stats
  }

  /**
   * The key that must have signed `body`: the device of a valid certificate (v2), or the
   * author itself (v1, written before devices). Null when the certificate does not verify.
   */
  signerOf(body: BlockBody): Buffer | null {
    const cert = body.certificate
    if (!cert) return body.author
    // The same device signs block after block: the last certificate seen answers at once.
    const last = this.lastCertificate
    // Blocks that carry the same certificate bytes share one decoded value (messages.ts).
    if (last === cert) return cert.device
    if (last !== null && b4a.equals(last.signature, cert.signature)) return sameCertificate(last, cert) ? cert.device : null
    const id = certificateId(cert.signature)
    const known = this.certificates.get(id)
    if (known) {
      if (!sameCertificate(known, cert)) return null
      this.lastCertificate = known
      return cert.device
    }
    if (!verifyCertificate(cert)) return null
    if (this.certificates.size >= MAX_CERT_CACHE) this.certificates.delete(this.certificates.keys().next().value!)
    this.certificates.set(id, cert)
    this.deviceCertificates.set(cert.device.toString('hex'), cert)
    this.lastCertificate = cert
    return cert.device
  }

  /** Whether the device was revoked at all (presence has no index or time to go by). */
  isRevoked(device: Buffer): boolean {
    return this.revoked.has(device.toString('hex'))
  }

  // Whether the device's authority had ended when it wrote this block: at or past where its
  // core was cut, or stamped at or after the revocation.
  isRevokedAt(device: Buffer, feed: Feed, index: number, body: BlockBody): boolean {
    if (this.revoked.size === 0) return false
    const r = this.revoked.get(device.toString('hex'))
    if (!r) return false
    const cut = r.cuts.get(feed.hex)
    if (cut !== undefined && index >= cut) return true
    return body.records[body.records.length - 1]!.timestamp >= r.revokedAt
  }

  /** A revocation record by `author`, as a member's log carries it. */
  onRevokeRecord(record: MessageRecord, author: Buffer): DeviceRevocation | null {
    if (!record.revocation) return null
    let revocation: DeviceRevocation
    try {
      revocation = decodeRevocation(record.revocation)
    } catch {
      this.stats.badAnnouncements++
      return null
    }
    // Only the identity's own word, checked by its signature chain, revokes its devices.
    if (!b4a.equals(revocation.identity, author)) return null
    const target = this.deviceCertificates.get(revocation.device.toString('hex')) ?? null
    if (!verifyRevocation(revocation, target)) {
      this.stats.badAnnouncements++
      return null
    }
    const cuts = new Map<string, number>()
    for (const cut of record.cuts ?? []) cuts.set(cut.core.toString('hex'), cut.length)
    const hex = revocation.device.toString('hex')
    this.revocationCarried.set(hex, Math.max(this.revocationCarried.get(hex) ?? 0, record.timestamp))
    this.revoke(revocation, cuts)
    return revocation
  }

  /**
   * Revokes one of this identity's own devices here, where this node sees its cores end.
   * Returns those ends, for the record that carries the revocation to the members.
   */
  revokeOwn(revocation: DeviceRevocation): Cut[] {
    this.revoke(revocation, this.cutsOf(revocation.device))
    return [...(this.revoked.get(revocation.device.toString('hex'))?.cuts ?? [])].map(([hex, length]) => ({
      core: b4a.from(hex, 'hex'),
      length
    }))
  }

  // Revocation records expire with the TTL like everything else, so each device carries its
  // identity's revocations again once the last record of one is half a TTL old: a revoked
  // device never gets its authority back by waiting.
  dueToCarry(revocations: DeviceRevocation[], now: number, ttl: number): DeviceRevocation[] {
    const due: DeviceRevocation[] = []
    for (const revocation of revocations) {
      const carried = this.revocationCarried.get(revocation.device.toString('hex')) ?? 0
      if (carried > now - ttl / 2) continue
      this.revocationCarried.set(revocation.device.toString('hex'), now)
      due.push(revocation)
    }
    return due
  }

  // Records a revocation and withdraws what the device wrote after it.
  private revoke(revocation: DeviceRevocation, cuts: Map<string, number>): void {
    const hex = revocation.device.toString('hex')
    const current = this.revoked.get(hex)
    const entry: RevokedDevice = current ?? { revokedAt: revocation.revokedAt, cuts: new Map() }
    entry.revokedAt = Math.min(entry.revokedAt, revocation.revokedAt)
    for (const [core, length] of cuts) {
      const was = entry.cuts.get(core)
      entry.cuts.set(core, was === undefined ? length : Math.min(was, length))
    }
    this.revoked.set(hex, entry)
    const device = revocation.device
    this.withdraw((m) => b4a.equals(m.device, device) && (m.timestamp >= entry.revokedAt || this.pastCut(m, entry)))
  }

  private pastCut(m: Message, entry: RevokedDevice): boolean {
    for (const [core, length] of entry.cuts) {
      const feed = this.feeds.get(core)
      if (feed && m.id.startsWith(feed.idPrefix) && (feed.blockOf(m.seq) ?? -1) >= length) return true
    }
    return false
  }

  // This node's view of where a device's cores in this room end.
  private cutsOf(device: Buffer): Map<string, number> {
    const cuts = new Map<string, number>()
    for (const feed of this.feeds.values()) {
      if (feed.owner && b4a.equals(feed.owner, device)) cuts.set(feed.hex, feed.core.length)
    }
    return cuts
  }
}

function sameCertificate(a: DeviceCertificate, b: DeviceCertificate): boolean {
  return (
    b4a.equals(a.identity, b.identity) &&
    b4a.equals(a.device, b.device) &&
    a.createdAt === b.createdAt &&
    a.primary === b.primary &&
    a.name === b.name &&
    b4a.equals(a.signature, b.signature)
  )
}
