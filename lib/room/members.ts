import b4a from 'b4a'
import { presenceSignable, sign, verify } from '../crypto.js'
import { displayName } from '../display-name.js'
import { fingerprint } from '../identity.js'
import { encodeProfile, type Presence, type ProfileFields } from '../messages.js'
import type { Member, Profile } from '../types.js'
import type { RoomChannel } from './channel.js'
import type { RoomContext, RoomSelf } from './context.js'
import type { Signers } from './signers.js'

export interface MemberState {
  key: Buffer
  /** `key` in hex, the members' map key: computed once, not for each block. */
  hex: string
  fingerprint: string
  profile: ProfileFields
  // The timestamp of the block the profile came from: older blocks never overwrite it.
  profileTime: number
  // The room channels on which this member proved its presence.
  channels: Set<RoomChannel>
}

/**
 * The members a room knows of: authors this node has read and members online now, each with
 * the latest profile it published. A member is online while it has proved its presence on an
 * open channel; the signature covers that connection, so a presence cannot be replayed.
 */
export class Members {
  private readonly members: Map<string, MemberState>
  // The entry `member()` returned last (entries are never removed).
  private last: MemberState | null = null
  private readonly room: RoomSelf
  private readonly ctx: Pick<RoomContext, 'identity' | 'profile' | 'now' | 'device'>
  // The room id that presence signatures cover.
  private readonly roomId: Buffer
  private readonly signers: Pick<Signers, 'signerOf' | 'isRevoked'>
  private readonly channels: Iterable<RoomChannel>
  private readonly stats: { badAnnouncements: number }

  constructor(
    room: RoomSelf,
    ctx: Pick<RoomContext, 'identity' | 'profile' | 'now' | 'device'>,
    roomId: Buffer,
    signers: Pick<Signers, 'signerOf' | 'isRevoked'>,
    channels: Iterable<RoomChannel>,
    stats: { badAnnouncements: number }
  ) {
    this.members = new Map()
    this.room = room
    this.ctx = ctx
    this.roomId = roomId
    this.signers = signers
    this.channels = channels
    this.stats = stats
    const self = this.member(ctx.identity.publicKey)
    self.profile = ctx.profile()
  }

  list(): Member[] {
    return [...this.members.values()].map((m) => this.view(m))
  }

  member(author: Buffer): MemberState {
    // Blocks come author after author: the last one answers without hex and a lookup.
    const last = this.last
    if (last !== null && (last.key === author || b4a.equals(last.key, author))) return last
    const hex = author.toString('hex')
    let m = this.members.get(hex)
    if (!m) {
      m = {
        key: author,
        hex,
        fingerprint: fingerprint(author),
        profile: { name: '', status: '', away: null },
        profileTime: 0,
        channels: new Set()
      }
      this.members.set(hex, m)
    }
    return (this.last = m)
  }

  view(m: MemberState): Member {
    const self = b4a.equals(m.key, this.ctx.identity.publicKey)
    const profile: Profile = self ? this.ctx.profile() : m.profile
    return {
      key: m.key,
      fingerprint: m.fingerprint,
      name: profile.name,
      status: profile.status,
      away: profile.away,
      online: self || m.channels.size > 0,
      self
    }
  }

  /**
   * A block by `author`, whose last record is stamped `time`, carried `profile`: if it is newer
   * than the one this node has, it replaces it. Returns the author's entry.
   */
  fromBlock(author: Buffer, wire: ProfileFields | null | undefined, time: number, self: boolean): MemberState {
    const member = this.member(author)
    // At the same millisecond as a presence, the block wins: a presence sent when the channel
    // opened must not hide the profile of a message written just after it.
    if (wire && !self && time >= member.profileTime) {
      const profile = shown(wire)
      const changed = !sameProfile(member.profile, profile)
      member.profile = profile
      member.profileTime = time
      // Every block carries the profile: only a change is news, not each message.
      if (changed) this.room.emit('member-update', this.view(member))
    }
    return member
  }

  /** This identity's profile changed: its own entry, and the members online, learn it now. */
  publishOwn(): void {
    const self = this.member(this.ctx.identity.publicKey)
    self.profile = this.ctx.profile()
    this.room.emit('member-update', this.view(self))
    for (const channel of this.channels) this.sendPresence(channel)
  }

  sendPresence(channel: RoomChannel): void {
    const { keyPair, certificate } = this.ctx.device
    const profile = this.ctx.profile()
    const signable = presenceSignable(this.roomId, channel.localPublicKey, encodeProfile(profile))
    channel.sendPresence({ author: certificate.identity, certificate, profile, signature: sign(signable, keyPair.secretKey) })
  }

  // A member proves who it is on this connection: the signature covers the connection's
  // Noise key, so a presence cannot be replayed by anyone else.
  onPresence(p: Presence, channel: RoomChannel): void {
    const signable = presenceSignable(this.roomId, channel.remotePublicKey, encodeProfile(p.profile))
    const signer = this.signers.signerOf({ author: p.author, certificate: p.certificate ?? null, seq: 0, records: [] })
    if (signer === null || this.signers.isRevoked(signer) || !verify(p.signature, signable, signer)) {
      this.stats.badAnnouncements++
      return
    }
    // The peer is this device: the cores it writes replicate with it (lib/room/topology.ts).
    channel.device = signer
    if (b4a.equals(p.author, this.ctx.identity.publicKey)) return
    const member = this.member(p.author)
    member.channels.add(channel)
    const now = this.ctx.now()
    if (now >= member.profileTime) {
      member.profile = shown(p.profile)
      member.profileTime = now
    }
    this.room.emit('member-update', this.view(member))
  }

  /** A channel closed: members who were online through it alone go offline. */
  disconnected(channel: RoomChannel): void {
    for (const member of this.members.values()) {
      if (member.channels.delete(channel) && member.channels.size === 0) {
        this.room.emit('member-update', this.view(member))
      }
    }
  }
}

// A profile as members see it: the name made safe to show (display-name.ts).
function shown(profile: ProfileFields): ProfileFields {
  const name = displayName(profile.name)
  return name === profile.name ? profile : { ...profile, name }
}

function sameProfile(a: ProfileFields, b: ProfileFields): boolean {
  return a.name === b.name && a.status === b.status && a.away === b.away
}
