// Friends, requests, blocks and DMs: the social layer on top of rooms.
//
// - An identity's inbox is a room whose secret anyone who knows the identity key derives, one
//   per epoch (keys.ts). A sender writes a friend request there as an anonymous writer (a key
//   pair derived from its device secret, unlinkable to it), sealed to the recipient's X25519
//   key: readers of the inbox see only that some writer left a sealed box.
// - The request carries a random salt. Both sides derive the DM's room secret from their X25519
//   shared secret and that salt; it never travels. The sender watches the DM room at once; the
//   recipient opens it only on accept, and writes a DM_ACCEPT record there, which is how the
//   sender learns it. A declined or blocked sender learns nothing: nothing is ever written.
// - Contacts and blocks are in the account view, which the account log carries to every device
//   of the identity, with the DM secrets: a linked device (which never holds the identity's
//   secret key) reads and writes DMs with them, but only a device holding the identity key
//   sends or accepts requests.
import b4a from 'b4a'
import c from 'compact-encoding'
import { BackspaceError } from '../errors.js'
import { randomBytes, type KeyPair } from '../crypto.js'
import { certifyDevice } from '../identity/device.js'
import { fingerprint, Identity } from '../identity.js'
import { decodeStrict, EMPTY_PROFILE, MessageType, RoomKind, type MessageRecord, type RoomState } from '../messages.js'
import { backgroundError } from '../resource.js'
import type { RoomContext } from '../room/context.js'
import { Room } from '../room/room.js'
import type { ConnectionKeys } from '../crypto.js'
import {
  BlockState,
  ContactState,
  friendRequest,
  mergeSocial,
  requestTextProblem,
  signRequest,
  verifyRequest,
  type BlockEntry,
  type BlockStateValue,
  type ContactEntry,
  type RelayEntry,
  type SocialView,
  MAX_RELAYS
} from './codecs.js'
import { RelayClient, type KeepLink } from './relay-service.js'
import { deriveDmSecret, inboxEpoch, inboxSecret, inboxWriterSeed, labelledKeyPair, openSealed, sealTo, x25519PublicKey } from './keys.js'
import { isContactLink, parseContactLink, parseRelayLink, parseRelayNodeLink, relayNodeLinkOf } from '../links.js'

/** A friend, as `node.friends.list()` shows it. */
export interface Friend {
  key: Buffer
  name: string
  fingerprint: string
  /** One of their devices is connected in the DM now (presence only friends see). */
  online: boolean
  /** When the friendship began. */
  since: number
  blocked: boolean
}

/** A friend request that arrived: only its text is shown until it is accepted. */
export interface FriendRequest {
  from: Buffer
  /** The name the sender gave; not verified, shown next to the fingerprint. */
  name: string
  fingerprint: string
  text: string
  timestamp: number
  /** Accepts: both become friends, and the DM opens on both sides. */
  accept(): Promise<Room>
  /** Declines: later requests from this key are dropped unseen. The sender cannot tell. */
  decline(): Promise<void>
  /** Blocks the sender. */
  block(): Promise<void>
}

/** An open DM, for room lists. */
export interface DmInfo {
  key: Buffer
  name: string
  fingerprint: string
  room: Room
  online: boolean
}

/** Counts of what the social layer dropped, computed locally. */
export interface SocialStats {
  /** Inbox records that did not open, decode or verify, or were not for this identity. */
  rejected: number
  /** Requests from declined or blocked identities, dropped unseen. */
  ignored: number
}

/** A connection, as far as the social layer needs it. */
type Stream = object & ConnectionKeys

/** @internal What the social layer needs from its node. */
export interface SocialHost {
  now(): number
  readonly ttl: number
  identity(): Identity
  deviceSecretKey(): Buffer
  profileName(): string
  /** The node's room context, to build DM and inbox rooms from. */
  roomContext(): RoomContext
  /** This device's social view changed: the account log carries it to the other devices. */
  publish(): void
  request(req: FriendRequest): void
  /** Friends, requests or DMs changed. */
  update(): void
  dmOpened(room: Room): void
  dmClosed(room: Room): void
  /** A DM with a friend is open (and shows in room lists), or no longer. */
  dmShown(room: Room): void
  dmHidden(room: Room): void
  error(err: unknown): void
  /** Looks for peers on a topic without announcing it (a relay's). */
  findPeers(topic: Buffer): void
  leave(topic: Buffer): Promise<void>
  streams(): Iterable<Stream>
}

/** A relay of the account, as `node.relays.list()` shows it. */
export interface RelayInfo {
  link: string
  /** Connected to it now. */
  connected: boolean
}

/** @internal The social layer of a node: `Backspace` makes one and exposes it as `friends`, `dm`, `block`, `relays`. */
export class Social {
  readonly stats: SocialStats = { rejected: 0, ignored: 0 }
  private readonly host: SocialHost
  private readonly contacts = new Map<string, ContactEntry>()
  private readonly blocks = new Map<string, BlockEntry>()
  private readonly relays = new Map<string, RelayEntry>()
  // The relays connected to, by secret hex.
  private readonly clients = new Map<string, RelayClient>()
  // This identity's inboxes by epoch (only on a device that holds the identity key).
  private readonly inboxes = new Map<number, Room>()
  // Others' inboxes in which a request of this device waits, by recipient key hex.
  private readonly outboxes = new Map<string, Room>()
  // DM rooms by the other identity's key hex: friends, and requests sent (watching for accept).
  private readonly dms = new Map<string, Room>()
  private readonly opening = new Map<string, Promise<Room>>()
  // Requests shown this session (from + salt), so a reload does not show one twice.
  private readonly shown = new Set<string>()
  // Requests waiting for an answer, by sender key hex.
  private readonly pending = new Map<string, FriendRequest>()
  // DM rooms shown to the node's room lists (open, with a friend).
  private readonly shownDms = new Set<Room>()
  private closed = false
  // Rooms being closed or left in the background: close() waits for them.
  private readonly closings = new Set<Promise<void>>()

  constructor(host: SocialHost) {
    this.host = host
  }

  // ---------------------------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------------------------

  /** This device's view of contacts and blocks, for the account log. */
  view(): SocialView {
    return { contacts: [...this.contacts.values()], blocks: [...this.blocks.values()], relays: [...this.relays.values()] }
  }

  /** Another device changed the account (or it was read on open): merge, then open and close rooms. */
  reconcile(view: SocialView | undefined): void {
    if (this.closed) return
    if (view && mergeSocial(this.contacts, this.blocks, this.relays, view)) this.host.update()
    this.sync()
  }

  /** Opens what the view says is open: inboxes, DMs of friends, requests waiting, relays. */
  sync(): void {
    if (this.closed) return
    this.syncRelays()
    const me = this.host.identity()
    if (me.canSign) {
      const now = inboxEpoch(this.host.now())
      for (const epoch of [now, now - 1]) if (!this.inboxes.has(epoch)) this.openInbox(epoch)
      for (const [epoch, room] of this.inboxes) {
        if (epoch < now - 1) {
          this.inboxes.delete(epoch)
          this.track(room.leave())
        }
      }
    }
    for (const [hex, entry] of this.contacts) {
      const blocked = this.isBlockedHex(hex)
      const wanted = !blocked && (entry.state === ContactState.FRIEND || (entry.state === ContactState.OUTGOING && !this.expired(entry)))
      const room = this.dms.get(hex)
      if (wanted && !room) this.openDm(entry).catch((err) => this.host.error(err))
      if (!wanted && room) this.closeDm(hex, entry.state === ContactState.REMOVED)
      const outbox = this.outboxes.get(hex)
      const waiting = entry.state === ContactState.OUTGOING && !blocked && !this.expired(entry)
      if (waiting && !outbox && me.canSign) this.openOutbox(entry, false).catch((err) => this.host.error(err))
      if (!waiting && outbox) {
        this.outboxes.delete(hex)
        this.track(outbox.close())
      }
    }
  }

  private track(closing: Promise<void>): void {
    const p = closing.catch((err) => this.host.error(err)).finally(() => this.closings.delete(p))
    this.closings.add(p)
  }

  private expired(entry: ContactEntry): boolean {
    return entry.since + this.host.ttl < this.host.now()
  }

  isBlocked(key: Buffer): boolean {
    // Asked for the author of every message shown: most accounts block nobody.
    if (this.blocks.size === 0) return false
    return this.isBlockedHex(key.toString('hex'))
  }

  private isBlockedHex(hex: string): boolean {
    return this.blocks.get(hex)?.state === BlockState.BLOCKED
  }

  /** Every room of the social layer, to attach to new connections and prune. */
  rooms(): Room[] {
    return [...this.inboxes.values(), ...this.outboxes.values(), ...this.dms.values()]
  }

  attach(stream: Stream): void {
    for (const room of this.rooms()) room.attach(stream)
    for (const client of this.clients.values()) client.attach(stream)
  }

  async close(): Promise<void> {
    this.closed = true
    for (const client of this.clients.values()) client.close()
    this.clients.clear()
    await Promise.allSettled(this.opening.values())
    await Promise.allSettled(this.closings)
    const rooms = this.rooms()
    this.inboxes.clear()
    this.outboxes.clear()
    await Promise.allSettled(rooms.map((r) => r.close()))
  }

  // ---------------------------------------------------------------------------------------------
  // Friends
  // ---------------------------------------------------------------------------------------------

  list(): Friend[] {
    const out: Friend[] = []
    for (const [hex, e] of this.contacts) {
      if (e.state !== ContactState.FRIEND) continue
      out.push({
        key: e.key,
        name: this.nameOf(hex) || e.name,
        fingerprint: fingerprint(e.key),
        online: this.online(hex),
        since: e.since,
        blocked: this.isBlockedHex(hex)
      })
    }
    return out.sort((a, b) => a.since - b.since)
  }

  /** Requests sent that have not been accepted (that this identity knows of). */
  sent(): Array<{ key: Buffer; name: string; fingerprint: string; text: string; at: number }> {
    return [...this.contacts.values()]
      .filter((e) => e.state === ContactState.OUTGOING && !this.expired(e))
      .map((e) => ({ key: e.key, name: e.name, fingerprint: fingerprint(e.key), text: e.text, at: e.since }))
  }

  /** Requests that arrived and wait for an answer. */
  requests(): FriendRequest[] {
    return [...this.pending.values()]
  }

  isFriend(key: Buffer): boolean {
    return this.contacts.get(key.toString('hex'))?.state === ContactState.FRIEND
  }

  // The name a friend goes by now, as their blocks in the DM say.
  private nameOf(hex: string): string {
    const room = this.dms.get(hex)
    return room?.members().find((m) => !m.self && m.key.toString('hex') === hex)?.name ?? ''
  }

  private online(hex: string): boolean {
    const room = this.dms.get(hex)
    if (!room || !room.opened || room.closing) return false
    return room.members().some((m) => !m.self && m.online && m.key.toString('hex') === hex)
  }

  async request(to: Buffer | string, text: string): Promise<void> {
    const { key, name } = parseKey(to)
    const me = this.host.identity()
    if (b4a.equals(key, me.publicKey)) throw BackspaceError.INVALID_ARGUMENT('this is your own key')
    if (typeof text !== 'string') throw BackspaceError.INVALID_ARGUMENT('text must be a string')
    const problem = requestTextProblem(text)
    if (problem) throw BackspaceError.INVALID_ARGUMENT(problem)
    if (this.isBlocked(key)) throw BackspaceError.BLOCKED()
    if (!me.canSign) {
      throw BackspaceError.NOT_ALLOWED('friend requests are sent and accepted on a device that holds the identity (restored from its phrase)')
    }
    if (!x25519PublicKey(key)) throw BackspaceError.INVALID_ARGUMENT('this is not a valid identity key')
    const hex = key.toString('hex')
    const existing = this.contacts.get(hex)
    if (existing?.state === ContactState.FRIEND) return
    // Asked already, and they asked too: accepting theirs is the answer.
    const theirs = this.pending.get(hex)
    if (theirs) {
      await theirs.accept()
      return
    }
    const salt = randomBytes(32)
    const secret = deriveDmSecret(keyPairOf(me), key, salt)
    if (!secret) throw BackspaceError.INVALID_ARGUMENT('this is not a valid identity key')
    const now = this.host.now()
    // Declining or blocking them before is undone by asking them.
    const block = this.blocks.get(hex)
    if (block && block.state !== BlockState.NONE) this.blocks.set(hex, { key, state: BlockState.NONE, at: now })
    const entry: ContactEntry = { key, state: ContactState.OUTGOING, name, salt, secret, since: now, at: now, text }
    this.contacts.set(hex, entry)
    const old = this.outboxes.get(hex)
    if (old) {
      this.outboxes.delete(hex)
      await old.close()
    }
    const oldDm = this.dms.get(hex)
    if (oldDm) this.closeDm(hex, false)
    await this.openOutbox(entry, true)
    this.host.publish()
    this.host.update()
    this.sync()
  }

  async remove(key: Buffer | string): Promise<void> {
    const k = parseKey(key).key
    const hex = k.toString('hex')
    const e = this.contacts.get(hex)
    if (!e || e.state === ContactState.REMOVED) return
    this.contacts.set(hex, { ...e, state: ContactState.REMOVED, at: Math.max(this.host.now(), e.at + 1) })
    this.host.publish()
    this.sync()
    this.host.update()
  }

  async setBlock(key: Buffer | string, state: BlockStateValue): Promise<void> {
    const k = parseKey(key).key
    if (b4a.equals(k, this.host.identity().publicKey)) throw BackspaceError.INVALID_ARGUMENT('this is your own key')
    const hex = k.toString('hex')
    const cur = this.blocks.get(hex)
    if ((cur?.state ?? BlockState.NONE) === state) return
    this.blocks.set(hex, { key: k, state, at: Math.max(this.host.now(), (cur?.at ?? 0) + 1) })
    if (state !== BlockState.NONE) this.pending.delete(hex)
    this.host.publish()
    this.sync()
    this.host.update()
  }

  blocked(): Buffer[] {
    return [...this.blocks.values()].filter((b) => b.state === BlockState.BLOCKED).map((b) => b.key)
  }

  // ---------------------------------------------------------------------------------------------
  // Relays
  // ---------------------------------------------------------------------------------------------

  async addRelay(link: string): Promise<void> {
    const { secret } = parseRelayNodeLink(link)
    const hex = secret.toString('hex')
    const cur = this.relays.get(hex)
    if (cur && !cur.removed) return
    if ([...this.relays.values()].filter((r) => !r.removed).length >= MAX_RELAYS) {
      throw BackspaceError.INVALID_ARGUMENT(`at most ${MAX_RELAYS} relays`)
    }
    this.relays.set(hex, { secret, removed: false, at: Math.max(this.host.now(), (cur?.at ?? 0) + 1) })
    this.host.publish()
    this.sync()
    this.host.update()
  }

  async removeRelay(link: string): Promise<void> {
    const { secret } = parseRelayNodeLink(link)
    const hex = secret.toString('hex')
    const cur = this.relays.get(hex)
    if (!cur || cur.removed) return
    this.relays.set(hex, { secret, removed: true, at: Math.max(this.host.now(), cur.at + 1) })
    this.host.publish()
    this.sync()
    this.host.update()
  }

  relayList(): RelayInfo[] {
    return [...this.relays.values()]
      .filter((r) => !r.removed)
      .map((r) => ({ link: relayNodeLinkOf({ secret: r.secret }), connected: this.clients.get(r.secret.toString('hex'))?.connected ?? false }))
  }

  private roomsChanged(): void {
    for (const client of this.clients.values()) client.update()
  }

  private syncRelays(): void {
    for (const [hex, entry] of this.relays) {
      const client = this.clients.get(hex)
      if (!entry.removed && !client) {
        const fresh = new RelayClient(entry.secret, () => this.keepLinks())
        this.clients.set(hex, fresh)
        for (const stream of this.host.streams()) fresh.attach(stream)
        this.host.findPeers(fresh.keys.topic)
      } else if (entry.removed && client) {
        this.clients.delete(hex)
        client.close()
        this.host.leave(client.keys.topic).catch((err) => this.host.error(err))
      }
    }
    for (const client of this.clients.values()) client.update()
  }

  // What this account asks its relays to keep: its inboxes, the inboxes its requests wait in,
  // its DMs. Relay links only: a relay never gets a key that reads.
  private keepLinks(): KeepLink[] {
    const links: KeepLink[] = []
    for (const room of this.rooms()) {
      const { relaySecret, admissionKey } = parseRelayLink(room.relayLink)
      if (admissionKey) links.push({ relaySecret, admissionKey })
    }
    return links
  }

  // ---------------------------------------------------------------------------------------------
  // DMs
  // ---------------------------------------------------------------------------------------------

  async dm(key: Buffer | string): Promise<Room> {
    const k = parseKey(key).key
    const hex = k.toString('hex')
    if (this.isBlockedHex(hex)) throw BackspaceError.BLOCKED()
    const entry = this.contacts.get(hex)
    if (!entry || entry.state !== ContactState.FRIEND) throw BackspaceError.NOT_FRIENDS()
    const room = this.dms.get(hex)
    if (room) {
      await room.ready()
      return room
    }
    return this.openDm(entry)
  }

  /** The open DMs with friends. */
  dmList(): DmInfo[] {
    const out: DmInfo[] = []
    for (const [hex, room] of this.dms) {
      const e = this.contacts.get(hex)
      if (!e || e.state !== ContactState.FRIEND) continue
      out.push({ key: e.key, name: this.nameOf(hex) || e.name, fingerprint: fingerprint(e.key), room, online: this.online(hex) })
    }
    return out
  }

  /** The DM room with this id (`room.id`), if open and with a friend. */
  dmById(id: string): Room | undefined {
    for (const [hex, room] of this.dms) if (room.id === id && this.isFriend(Buffer.from(hex, 'hex'))) return room
    return undefined
  }

  private openDm(entry: ContactEntry): Promise<Room> {
    const hex = entry.key.toString('hex')
    const existing = this.dms.get(hex)
    if (existing) return existing.ready().then(() => existing)
    const inFlight = this.opening.get('dm:' + hex)
    if (inFlight) return inFlight
    const me = this.host.identity().publicKey
    const peer = entry.key
    const base = this.host.roomContext()
    const ctx: RoomContext = {
      ...base,
      // Only the two identities write in a DM; anything else is never shown.
      hidden: (author) => !b4a.equals(author, peer) && (!b4a.equals(author, me) || this.isBlockedHex(hex)),
      extension: {
        kinds: new Set([MessageType.DM_ACCEPT]),
        ownIdentityOnly: false,
        onrecord: (_record, meta) => this.onAccept(hex, meta.author)
      },
      closed: (room) => {
        if (this.dms.get(hex) === room) this.dms.delete(hex)
        if (this.shownDms.delete(room)) this.host.dmHidden(room)
        this.host.dmClosed(room)
      }
    }
    const state: RoomState = {
      kind: RoomKind.DM,
      secret: entry.secret,
      name: entry.name || fingerprint(entry.key),
      joinedAt: entry.since,
      ttl: this.host.ttl,
      feeds: []
    }
    const room = new Room(ctx, state)
    room.on('error', (err) => this.host.error(err))
    room.on('member-update', () => this.host.update())
    this.dms.set(hex, room)
    this.host.dmOpened(room)
    const opening = room
      .ready()
      .then(() => {
        this.roomsChanged()
        this.show(hex)
        return room
      })
      .finally(() => this.opening.delete('dm:' + hex))
    this.opening.set('dm:' + hex, opening)
    return opening
  }

  // Tells the node a DM is one with a friend, once it is open.
  private show(hex: string): void {
    const room = this.dms.get(hex)
    if (!room || !room.opened || room.closing || this.shownDms.has(room) || !this.isFriend(Buffer.from(hex, 'hex'))) return
    this.shownDms.add(room)
    this.host.dmShown(room)
  }

  private closeDm(hex: string, leave: boolean): void {
    const room = this.dms.get(hex)
    if (!room) return
    this.dms.delete(hex)
    this.track(leave ? room.leave() : room.close())
  }

  // A DM_ACCEPT from the other identity: a request this identity sent was accepted.
  private onAccept(hex: string, author: Buffer): void {
    if (author.toString('hex') !== hex) return
    const e = this.contacts.get(hex)
    if (!e || e.state !== ContactState.OUTGOING) return
    const now = this.host.now()
    this.contacts.set(hex, { ...e, state: ContactState.FRIEND, since: now, at: Math.max(now, e.at + 1), text: '' })
    this.show(hex)
    this.host.publish()
    this.host.update()
    this.sync()
  }

  // ---------------------------------------------------------------------------------------------
  // Inboxes
  // ---------------------------------------------------------------------------------------------

  // A room in an inbox, written as an anonymous identity of this device.
  private inboxRoom(secret: Buffer, salt: Buffer, onrecord: RoomContext['extension']): Room {
    const seed = inboxWriterSeed(this.host.deviceSecretKey(), secret, salt)
    const anon = Identity.fromSeed(seed)
    const device = labelledKeyPair(seed, 'device')
    const base = this.host.roomContext()
    const ctx: RoomContext = {
      ...base,
      identity: anon,
      device: { keyPair: device, certificate: certifyDevice(anon, device.publicKey, { createdAt: 0, primary: true }) },
      revocations: () => [],
      profile: () => EMPTY_PROFILE,
      hidden: () => false,
      ...(onrecord ? { extension: onrecord } : {}),
      closed: () => {}
    }
    const room = new Room(ctx, { kind: RoomKind.DM, secret, name: 'inbox', joinedAt: this.host.now(), ttl: this.host.ttl, feeds: [] })
    room.on('error', (err) => this.host.error(err))
    return room
  }

  private openInbox(epoch: number): void {
    const me = this.host.identity()
    const secret = inboxSecret(me.publicKey, epoch)
    const room = this.inboxRoom(secret, b4a.alloc(32), {
      kinds: new Set([MessageType.FRIEND_REQUEST]),
      ownIdentityOnly: false,
      onrecord: (record) => this.onRequestRecord(record)
    })
    this.inboxes.set(epoch, room)
    room.ready().then(
      () => this.roomsChanged(),
      (err) => this.host.error(err)
    )
  }

  // Writes (or, after a restart, reopens) this device's request in the recipient's inbox.
  private async openOutbox(entry: ContactEntry, send: boolean): Promise<void> {
    const hex = entry.key.toString('hex')
    const secret = inboxSecret(entry.key, inboxEpoch(entry.since))
    const room = this.inboxRoom(secret, entry.salt, undefined)
    this.outboxes.set(hex, room)
    await room.ready()
    this.roomsChanged()
    if (!send) return
    const me = this.host.identity()
    const signed = signRequest(
      { from: me.publicKey, to: entry.key, salt: entry.salt, timestamp: entry.since, name: this.host.profileName(), text: entry.text },
      me.secretKey
    )
    const sealed = sealTo(c.encode(friendRequest, signed), entry.key)
    if (!sealed) throw BackspaceError.INVALID_ARGUMENT('this is not a valid identity key')
    await room.appendRecord({ type: MessageType.FRIEND_REQUEST, text: '', payload: sealed })
  }

  private onRequestRecord(record: MessageRecord): void {
    if (this.closed) return
    const me = this.host.identity()
    const plain = record.payload ? openSealed(record.payload, keyPairOf(me)) : null
    let req
    try {
      if (!plain) throw BackspaceError.DECODE_FAILED('not sealed to this identity')
      req = decodeStrict(friendRequest, plain, 'friend request')
      if (!b4a.equals(req.to, me.publicKey)) throw BackspaceError.DECODE_FAILED('for another identity')
      if (b4a.equals(req.from, me.publicKey)) throw BackspaceError.DECODE_FAILED('from this identity')
      if (!verifyRequest(req)) throw BackspaceError.BAD_SIGNATURE('friend request')
    } catch {
      this.stats.rejected++
      return
    }
    if (req.timestamp + this.host.ttl < this.host.now()) return
    const hex = req.from.toString('hex')
    const seen = hex + req.salt.toString('hex')
    if (this.shown.has(seen)) return
    this.shown.add(seen)
    const block = this.blocks.get(hex)
    // A declined or blocked sender's requests are dropped unseen (unless they were declined
    // before the request was written: a new request after a decline is dropped as well).
    if (block && block.state !== BlockState.NONE) {
      this.stats.ignored++
      return
    }
    const contact = this.contacts.get(hex)
    if (contact?.state === ContactState.FRIEND && b4a.equals(contact.salt, req.salt)) return
    if (contact?.state === ContactState.FRIEND && contact.since >= req.timestamp) return
    const from = req.from
    const salt = req.salt
    const name = req.name
    let answered = false
    const answer = (): void => {
      if (answered) throw BackspaceError.NOT_ALLOWED('this request was answered already')
      answered = true
      if (this.pending.get(hex) === request) this.pending.delete(hex)
    }
    const request: FriendRequest = {
      from,
      name,
      fingerprint: fingerprint(from),
      text: req.text,
      timestamp: req.timestamp,
      accept: async () => {
        answer()
        return this.accept(from, salt, name)
      },
      decline: async () => {
        answer()
        await this.setBlock(from, BlockState.DECLINED)
      },
      block: async () => {
        answer()
        await this.setBlock(from, BlockState.BLOCKED)
      }
    }
    this.pending.set(hex, request)
    this.host.update()
    this.host.request(request)
  }

  private async accept(from: Buffer, salt: Buffer, name: string): Promise<Room> {
    const me = this.host.identity()
    const secret = deriveDmSecret(keyPairOf(me), from, salt)
    if (!secret) throw BackspaceError.INVALID_ARGUMENT('this is not a valid identity key')
    const hex = from.toString('hex')
    const now = this.host.now()
    const cur = this.contacts.get(hex)
    const block = this.blocks.get(hex)
    if (block && block.state !== BlockState.NONE) this.blocks.set(hex, { key: from, state: BlockState.NONE, at: now })
    const entry: ContactEntry = { key: from, state: ContactState.FRIEND, name, salt, secret, since: now, at: Math.max(now, (cur?.at ?? 0) + 1), text: '' }
    this.contacts.set(hex, entry)
    const old = this.dms.get(hex)
    if (old) this.closeDm(hex, false)
    const room = await this.openDm(entry)
    await room.appendRecord({ type: MessageType.DM_ACCEPT, text: '' })
    this.host.publish()
    this.host.update()
    this.sync()
    return room
  }
}

function keyPairOf(identity: Identity): KeyPair {
  return { publicKey: identity.publicKey, secretKey: identity.secretKey }
}

/** An identity key from a Buffer, 64 hex digits or a contact link, with the name the link gives. */
export function parseKey(value: Buffer | string): { key: Buffer; name: string } {
  if (b4a.isBuffer(value)) {
    if (value.byteLength !== 32) throw BackspaceError.INVALID_ARGUMENT('an identity key is 32 bytes')
    return { key: b4a.from(value), name: '' }
  }
  if (typeof value !== 'string') throw BackspaceError.INVALID_ARGUMENT('a key is a Buffer, 64 hex digits or a contact link')
  const text = value.trim()
  if (isContactLink(text)) return parseContactLink(text)
  if (/^[0-9a-f]{64}$/i.test(text)) return { key: b4a.from(text, 'hex'), name: '' }
  throw BackspaceError.INVALID_ARGUMENT('a key is a Buffer, 64 hex digits or a contact link')
}
