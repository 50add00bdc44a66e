import b4a from 'b4a'
import { clearBlocks } from './clear-blocks.js'
import type Hypercore from 'hypercore'
import { BackspaceError } from '../errors.js'
import { deriveRoomKeys, deriveWriterKeyPair, ownedRoomSecret, type KeyPair, type RoomKeys } from '../crypto.js'
import { encodeRevocation, type DeviceRevocation } from '../identity/device.js'
import { inviteLink, relayLinkOf } from '../links.js'
import {
  holdsGovernance,
  MAX_RECORD_BYTES,
  MAX_TEXT_BYTES,
  messageTextProblem,
  MessageType,
  RoomKind,
  type FeedState,
  type MessageRecord,
  type RoomOwner,
  type RoomState
} from '../messages.js'
import { backgroundError, Resource } from '../resource.js'
import type { Member, Message, MessagesOptions, QuotaScope, RoomEvents, RoomKindName, RoomStats, SendOptions } from '../types.js'
import { ApplyStage } from './apply.js'
import { Topology } from './topology.js'
import { RoomChannels, type Stream } from './channel.js'
import type { RoomContext, TopicLookup } from './context.js'
import { Expiry } from './expiry.js'
import { stampedEncryption } from './expiry-stamp.js'
import { boundDevice, decodeBodyOrNull, Feed, parseMessageId } from './feed.js'
import { History } from './history.js'
import { Ingest, Rejections } from './ingest.js'
import { LivePath } from './live.js'
import { Members } from './members.js'
import { OutboxJournal } from './journal.js'
import { Outbox } from './outbox.js'
import { Records } from './records.js'
import { isEmoji } from '../emoji.js'
import { Signers } from './signers.js'
import { discardCore, MAX_UNPROVEN, MAX_WRITERS, WriterSet } from './writers.js'
import { makeWipeNotice, type WipeNotice } from './wipe-notice.js'
import { makeProof, MAX_CORES_PER_IDENTITY, MemberProofs, type Admission } from './admission.js'
import { byteSpan, isOversizedBlock, provesOversized } from './quota.js'
import { Governance } from '../governance/governance.js'
import { GovernanceChain } from '../governance/chain.js'
import type { KeyEpochStats, Moderation, Role, RoomSettings } from '../governance/types.js'
import { DEFAULT_RATE, RateLimit } from './rate-limit.js'
import { Epochs } from './epochs.js'

// Blocks of a core on trial (no proof yet) fetched to see whether one verifies.
const TRIAL_BLOCKS = 4
// How long closing a room waits, at most, for its copies of blocks it showed live (LivePath.storeShown).
const STORE_ON_CLOSE_MS = 1000
// Closing waits for peers to take this node's core only if it appended this recently (ms).
const RECENT_APPEND_MS = 2000

export const MAX_PAGE = 1000

/**
 * A joined room. Each member writes an encrypted Hypercore; the room replicates every
 * member's core, verifies every message and keeps the loaded ones in one agreed order.
 */
export class Room extends Resource<RoomEvents>() {
  /** The normalised name of a named room, or the label of a private one. */
  readonly name: string
  readonly kind: RoomKindName
  /**
   * A named room joined with a password. Another password makes another room with the same
   * name, so UIs mark these rooms and tell same-named ones apart (`roomLabel`).
   */
  readonly locked: boolean
  /** The Hyperswarm topic. Public by nature: DHT nodes see it. */
  readonly topic: Buffer
  readonly joinedAt: number
  readonly stats: RoomStats

  private readonly ctx: RoomContext
  // The node's TTL, which the room's own setting can only shorten.
  private readonly nodeTtl: number
  private readonly secret: Buffer
  // A room made by createRoom(): its owner and the nonce of its secret, for v2 invites.
  private readonly ownerRecord: RoomOwner | null
  private readonly keys: RoomKeys
  // Per device and room: two devices of one identity never write the same core, and nobody
  // can link a device's cores across rooms.
  private readonly writerKeyPair: KeyPair
  // The persisted feed records to restore on open, consumed by _open.
  private restore: FeedState[]
  private forget: boolean

  // The parts, each the one owner of its concern (see lib/room/*.ts).
  // The apply stage: the only place where verified records become messages and their state.
  private readonly apply: ApplyStage
  private readonly channels: RoomChannels
  // Which connections each core replicates on.
  private readonly topology: Topology
  private readonly writers: WriterSet<Feed>
  // Admitted cores' identities by the cores' first 16 bytes (hex); rebuilt when writers change.
  private coreOwners: Map<string, string> | null = null
  private readonly signers: Signers
  // The members this node knows of; `members()` is the public view of it.
  private readonly roster: Members
  private readonly rejections: Rejections
  private readonly records: Records
  private readonly live: LivePath
  private readonly ingest: Ingest
  private readonly outbox: Outbox
  private readonly history: History
  private readonly expiry: Expiry
  // Runs once after opening a password room, to say `alone` if nobody else has been seen.
  private aloneTimer: ReturnType<typeof setTimeout> | null
  // The room's lookup of its topic, once opened: told how many members this node dialled.
  private lookup: TopicLookup | null = null
  private alone_ = false
  // Checks the proofs that a member made a core, announced or restored.
  private readonly proofs: MemberProofs
  // Writers held back by the quota now: `stats.quota.reached` is set while there are any.
  private readonly heldBack: Set<string>
  // Owner, roles, bans and settings, from the operations in members' logs (lib/governance/).
  private readonly governance: Governance
  /** @internal The room's rate limit (lib/room/rate-limit.ts). */
  readonly rate: RateLimit
  // Each writer's pointers back to its earlier governance blocks, followed past the loaded window.
  private readonly chain: GovernanceChain
  // Key epochs, in rooms made by createRoom (lib/room/epochs.ts); null in named rooms and logs.
  private readonly epochs: Epochs | null
  // Which blocks the room's wipes selected, from governance; null before any wipe.
  private wiped: ((feed: Feed, index: number) => boolean) | null = null

  /** @internal Rooms are made by `Backspace.join` and `Backspace.createRoom`. */
  constructor(nodeCtx: RoomContext, state: RoomState) {
    super()
    // Every part of the room reads its TTL here: the node's, or the room's setting if shorter
    // (issue 12). One place, so expiry, ingest, history and the own core's stamps agree.
    const ctx: RoomContext = Object.create(nodeCtx, {
      ttl: { enumerable: true, get: () => roomTtl(nodeCtx.ttl, this.governance as Governance | undefined) }
    })
    this.nodeTtl = nodeCtx.ttl
    this.ctx = ctx
    this.secret = state.secret
    // Only an owner the secret really commits to counts (a restored state is ours, but check).
    this.ownerRecord =
      state.owner && b4a.equals(ownedRoomSecret(state.owner.identity, state.owner.nonce), state.secret) ? state.owner : null
    this.keys = deriveRoomKeys(state.secret)
    this.name = state.name
    this.kind = state.kind === RoomKind.PRIVATE ? 'private' : state.kind === RoomKind.DM ? 'dm' : 'named'
    this.locked = this.kind === 'named' && state.password === true
    this.aloneTimer = null
    this.topic = this.keys.topic
    this.joinedAt = state.joinedAt
    this.writerKeyPair = deriveWriterKeyPair(ctx.device.keyPair.secretKey, state.secret)
    this.restore = state.feeds
    this.forget = false
    this.stats = {
      writers: 0,
      peers: 0,
      messages: 0,
      rejected: { malformed: 0, 'invalid-signature': 0, oversized: 0, unsupported: 0, 'unauthorized-device': 0, forbidden: 0, 'unknown-kind': 0, governance: 0 },
      badAnnouncements: 0,
      badProofs: 0,
      uploaded: 0,
      delivered: 0,
      ownBlocks: 0,
      admission: { unproven: 0, refused: 0, evicted: 0 },
      quota: { used: 0, reached: null, refused: 0, oversized: 0 },
      rateLimited: 0
    }

    const { keys, stats } = this
    this.proofs = new MemberProofs(keys)
    this.heldBack = new Set()
    this.rate = new RateLimit(ctx.rateLimit === undefined ? DEFAULT_RATE : ctx.rateLimit)
    this.apply = new ApplyStage(ctx.identity.publicKey, () => ctx.profile().name, () => this.roster.list())
    this.channels = new RoomChannels(
      {
        channelIdKey: keys.channelIdKey,
        channelKey: keys.channelKey,
        relayProofKey: keys.relayProofKey,
        memberProofKey: keys.memberProofKey,
        memberKey: keys.memberKey
      },
      () => !this.closing && this.outbox.own !== null,
      stats,
      {
        cores: () => [...this.writers.values()].map((f) => f.core),
        place: (channel) => this.topology.opened(channel),
        open: (channel) => {
          channel.announce(this.writers.announcements())
          // A relay learns of wipes from each member it meets (lib/room/wipe-notice.ts).
          if (!channel.member) for (const notice of this.wipeNotices()) channel.sendWipe(notice)
          this.roster.sendPresence(channel)
          this.history.connections()
          this.countDialled()
          this.emit('peer-add', channel.remotePublicKey)
        },
        close: (channel) => {
          this.roster.disconnected(channel)
          // A writer may have gone with it: its cores are needed from the others now.
          this.topology.soon()
          this.history.connections()
          this.countDialled()
          this.emit('peer-remove', channel.remotePublicKey)
        },
        writers: (writers) => this.writers.onAnnouncement(writers),
        live: (live, channel) => this.live.receive(live, channel),
        presence: (p, channel) => {
          this.roster.onPresence(p, channel)
          this.topology.soon({ channel })
        }
      }
    )
    this.writers = new WriterSet<Feed>(
      this.channels,
      stats,
      {
        open: (key, admission) => this.openRemoteFeed(key, null, admission),
        announced: (feed, _hinted, length) => {
          // Longer than this node holds it: an idle core is taken from more members again.
          if (length > feed.core.length) this.topology.heard(feed)
          this.history.pump(feed)
        },
        added: (feeds) => {
          this.membersChanged()
          for (const feed of feeds) {
            // A core on trial whose proof came later, naming its device both ways.
            if (feed.owner === null && (feed.owner = boundDevice(false, feed.admission)) !== null) this.topology.soon({ feed })
            this.emit('writer-add', feed.key)
          }
          ctx.changed()
          this.epochs?.onDevice()
        },
        removed: (feed) => {
          this.coreOwners = null
          this.discard(feed)
        },
        heard: (keys) => {
          // A member who has written nothing yet: known and counted (and saved), and given the
          // room's key.
          this.membersChanged()
          ctx.changed()
          for (const key of keys) this.emit('writer-add', key)
          this.epochs?.onDevice()
        },
        woke: (feeds) => {
          // Known to be empty until now: all its blocks are new, not history to page through.
          for (const feed of feeds) feed.fresh = false
          ctx.changed()
        }
      },
      {
        lazy: true,
        checker: this.proofs,
        maxUnproven: MAX_UNPROVEN,
        trials: true,
        // The account log's cores are all one identity's, one per device.
        perIdentity: ctx.extension ? MAX_WRITERS : MAX_CORES_PER_IDENTITY
      }
    )
    this.topology = new Topology(this.channels, () => this.writers.values(), {
      // A peer that may have narrowed a core learns that it grew (lib/room/topology.ts).
      tell: (feed, channels) => {
        const writers = this.writers.announcements([feed])
        if (writers.length > 0) for (const channel of channels) channel.announce(writers)
      }
    })
    this.signers = new Signers(this.writers, (drop) => this.records.withdraw(drop), stats)
    this.roster = new Members(this, ctx, keys.id, this.signers, this.channels, stats)
    this.rejections = new Rejections(this, stats)
    this.records = new Records(this, ctx, this.apply, this.roster, this.signers, this.rejections, stats, this.rate)
    this.governance = new Governance({
      identity: ctx.identity.publicKey,
      fixedOwner: this.ownerRecord?.identity ?? null,
      roomId: this.keys.id,
      feeds: () => this.writers.values(),
      quiet: () => [...this.writers.sleepers()].map((d) => d.key),
      coreOwner: (core) => this.ownersOfCores().get(core),
      append: (record, follow) => this.appendRecord(record, follow),
      withdraw: (drop) => this.records.withdraw(drop),
      reject: (feed, index, err) => this.rejections.block('governance', err, feed, index),
      emit: (event) => {
        // A shorter TTL takes effect at once: what it expired leaves memory and disk now.
        if (event.setting === 'ttl') this.expiry.prune().catch((err) => backgroundError(this, err))
        this.emit('governance', event)
      },
      access: (event) => this.emit('access', event),
      error: (err) => backgroundError(this, err),
      wipe: (wiped) => this.wipe(wiped),
      rotation: (seq, removed) => (this.epochs && this.outbox.own ? this.epochs.start(this.outbox.own.key, seq, removed) : null),
      settled: () => this.epochs?.onGovernance()
    })
    this.records.governance = this.governance
    this.epochs =
      this.kind === 'private' && !ctx.extension
        ? new Epochs(
            {
              identity: ctx.identity.publicKey.toString('hex'),
              device: ctx.device,
              now: () => ctx.now(),
              // The room's TTL, read each time: a shorter ttl setting retires keys sooner.
              get ttl() {
                return ctx.ttl
              },
              governance: this.governance,
              devices: () => this.memberDevices(),
              append: (record) => this.appendRecord(record),
              retry: (feed, index, body, positions) => {
                if (!this.closing && !feed.dropped) this.records.load(feed, index, body, true, positions)
              },
              reject: (feed, index, err) => this.rejections.block('governance', err, feed, index),
              changed: () => ctx.changed(),
              error: (err) => backgroundError(this, err)
            },
            state.epochs ?? []
          )
        : null
    this.records.epochs = this.epochs
    this.live = new LivePath(
      keys.id,
      this.channels,
      this.writers,
      this.signers,
      this.records,
      this.rejections,
      keys.encryptionKey,
      (feed, bytes) => this.countStored(feed, bytes),
      (feed, channel) => this.topology.openedHere(feed, channel),
      () => this.ctx.erased()
    )
    this.ingest = new Ingest(this, ctx, keys.id, this.apply, this.signers, this.records, this.live, this.rejections, {
      verified: (feed, author, device) => this.writers.admitVerified(feed, author, device),
      oversized: (feed) => this.dropOversized(feed),
      owner: (feed) => this.topology.soon({ feed })
    })
    const room = this
    this.chain = new GovernanceChain({
      get closing() {
        return room.closing !== null
      },
      fetchTimeout: ctx.fetchTimeout,
      verified: (feed, index, block) => this.ingest.verified(feed, index, block),
      loadGovernance: (feed, index, body) => this.records.loadGovernance(feed, index, body),
      reject: (feed, index, err) => this.rejections.block('governance', err, feed, index),
      error: (err) => backgroundError(this, err)
    })
    this.records.chain = this.chain
    const journal = ctx.journal ? new OutboxJournal(ctx.journal.dir, ctx.journal.key, keys.id) : null
    this.outbox = new Outbox(this, ctx, keys.id, this.writerKeyPair, this.apply, this.records, this.live, stats, journal)
    this.history = new History(this, ctx, this.writers, this.apply.timeline, this.ingest, this.channels, this.live)
    this.expiry = new Expiry(this, ctx, this.writers, this.apply, stats)
  }

  /** A stable id for this room on this node: its topic in hex. Not secret; DHT nodes see the topic. */
  get id(): string {
    // Asked for on every message (unread counts): computed once.
    return (this.id_ ??= this.topic.toString('hex'))
  }

  private id_: string | undefined = undefined

  /** The owner's identity key, or null while no claim is known. */
  get owner(): Buffer | null {
    return this.governance.owner
  }

  /** The room's settings: topic, announcement, welcome, lock, slow mode... */
  get settings(): RoomSettings {
    return this.governance.settings
  }

  /** An identity's role here: 'owner' | 'admin' | 'op' | 'member' | 'banned'. */
  role(key: Buffer): Role {
    return this.governance.role(key)
  }

  /** Moderation: each call throws NOT_ALLOWED without the role it needs. */
  get moderate(): Moderation {
    return this.governance.moderate
  }

  /**
   * The room's key epochs: the current one (null while the room key is the content key), the
   * keys held, records this node could not open, and keys deleted once their messages expired.
   * Null in named rooms, whose keys come from the name and password.
   */
  get keyEpochs(): KeyEpochStats | null {
    return this.epochs ? { ...this.epochs.stats, current: this.epochs.current } : null
  }

  /** @internal The epoch keys this node holds (tests check what a removed member lacks). */
  heldEpochKeys(): Map<string, Buffer> {
    return this.epochs?.heldKeys() ?? new Map()
  }

  // The member devices admitted here, as their proofs or verified blocks named them: those
  // who have written nothing yet too.
  private memberDevices(): Array<{ identity: string; device: Buffer }> {
    const out: Array<{ identity: string; device: Buffer }> = []
    for (const m of this.memberCores()) out.push({ identity: m.identity, device: b4a.from(m.device, 'hex') })
    return out
  }

  // Other members' admitted cores, opened or dormant, whose claims named a device and identity.
  private *memberCores(): Generator<{ key: Buffer; identity: string; device: string }> {
    const of = (key: Buffer, a: Admission | null) => (a && a.owner !== null && a.device !== null ? { key, identity: a.owner, device: a.device } : null)
    for (const feed of this.writers.values()) {
      const m = feed.local || feed.dropped ? null : of(feed.key, feed.admission)
      if (m) yield m
    }
    for (const d of this.writers.sleepers()) {
      const m = of(d.key, d.admission)
      if (m) yield m
    }
  }

  private savedFeeds(): FeedState[] {
    const out = this.writers.admitted().map((f) => f.state())
    for (const d of this.writers.sleepers()) {
      if (d.admission.proof) out.push({ key: d.key, start: 0, storedFrom: 0, seen: 0, admitted: true, proof: d.admission.proof, dormant: true })
    }
    return out
  }

  // Which identity each admitted core is: what a lock's or a member limit's clock names.
  private ownersOfCores(): Map<string, string> {
    if (this.coreOwners !== null) return this.coreOwners
    const owners = new Map<string, string>()
    const own = this.outbox.own
    if (own) owners.set(own.key.toString('hex', 0, 16), this.ctx.identity.publicKey.toString('hex'))
    for (const m of this.memberCores()) owners.set(m.key.toString('hex', 0, 16), m.identity)
    return (this.coreOwners = owners)
  }

  // The room admitted cores, or learnt whose they are: a lock or a limit may now let them in.
  private membersChanged(): void {
    this.coreOwners = null
    this.governance?.membersChanged()
  }

  /** An invite string that `Backspace.join` accepts. Anyone holding it can read the room. */
  get invite(): string {
    return inviteLink({ secret: this.secret, name: this.name, owner: this.ownerRecord })
  }

  /**
   * A link for `backspace relay --invite`: it lets a relay keep this room's logs available
   * for members who are offline, without the key to read them.
   */
  get relayLink(): string {
    return relayLinkOf(this.keys.relaySecret, this.keys.admission.publicKey)
  }

  /** The identity key of this node, the author of the messages it sends. */
  get author(): Buffer {
    return this.ctx.identity.publicKey
  }

  /** This node's writer core key in this room (unlinkable to its identity). */
  get writerKey(): Buffer {
    const own = this.outbox.own
    if (!own) throw BackspaceError.NOT_READY()
    return own.key
  }

  override async _open(): Promise<void> {
    const ownCore = this.ctx.store.get({
      // The secret half is passed per append and never handed to storage.
      keyPair: { publicKey: this.writerKeyPair.publicKey, secretKey: null },
      encryption: { key: this.keys.encryptionKey }
    })
    await ownCore.ready()
    // A core's key is the hash of its manifest, not the signer's public key.
    const ownKey = ownCore.key!
    // Own blocks carry their expiry in the clear, signed with the core, for relays to verify.
    const stamps = stampedEncryption(ownKey, this.keys.encryptionKey, () => this.ctx.now() + this.ctx.ttl)
    await ownCore.setEncryption(stamps)
    const ownState = this.restore.find((f) => b4a.equals(f.key, ownKey)) ?? null
    // This device's proof that a member made its core: announced with it, so members and
    // relays admit it.
    const ownAdmission: Admission = {
      owner: this.ctx.identity.publicKey.toString('hex'),
      device: this.ctx.device.keyPair.publicKey.toString('hex'),
      proof: makeProof(this.keys, ownKey, this.ctx.device, this.writerKeyPair)
    }
    const own = this.addFeed(ownKey, ownCore, true, ownState, ownAdmission)
    if (ownCore.length === 0) {
      // Members hold a core announced empty without opening it (WriterSet's dormant cores): its
      // first blocks are announced, ahead of their live frames, which would otherwise find it
      // closed at every member and wait for Hypercore; or once appended, if none went live.
      let announced = false
      const first = (length: number): void => {
        if (announced || length === 0 || this.closing) return
        announced = true
        ownCore.off('append', appended)
        this.live.beforeSend = null
        this.channels.announce([{ ...this.writers.announcements([own])[0]!, length }])
      }
      const appended = (): void => first(ownCore.length)
      ownCore.on('append', appended)
      this.live.beforeSend = first
      // Not placed on member channels while empty (Topology.needed): placed once it has a block.
      ownCore.once('append', () => this.topology.soon({ feed: own }))
    }
    own.seen = ownCore.length
    own.indexedFrom = ownCore.length
    this.stats.ownBlocks = ownCore.length

    for (const state of this.restore) {
      if (b4a.equals(state.key, ownKey)) continue
      // Saved with a proof, or admitted on a verified block; files from before proofs saved
      // every core heard of, and only those with verified blocks (length marks) were read.
      let admission: Admission | null = null
      if (state.proof) admission = this.proofs.check(state.key, state.proof, true) ?? { owner: null, device: null, proof: state.proof }
      else if (state.admitted || (state.marks?.length ?? 0) > 0) admission = { owner: null, device: null, proof: null }
      if (admission === null && !this.writers.hasTrialRoom()) {
        discardCore(this.ctx.store.get({ key: state.key })).catch((err) => backgroundError(this, err))
        continue
      }
      // A member who had written nothing stays unopened, as it was.
      if (state.dormant && admission?.proof && this.writers.sleep(state.key, admission)) continue
      this.openRemoteFeed(state.key, state, admission)
    }
    this.restore = []
    await Promise.all([...this.writers.values()].map((f) => f.core.ready()))
    await this.outbox.open(own, stamps)
    await this.countBytes()

    await this.expiry.prune()
    await this.history.load(this.ctx.historyPage, null, true)
    this.carryRevocations()

    this.lookup = this.ctx.joinRoom(this.topic)
    for (const stream of this.ctx.streams()) this.attach(stream)
    for (const feed of this.writers.values()) if (!feed.local) this.history.pump(feed)
    if (this.locked && !this.seenOthers()) {
      this.aloneTimer = setTimeout(() => {
        this.aloneTimer = null
        if (this.closing || this.seenOthers()) return
        this.alone_ = true
        this.emit('alone')
      }, this.ctx.aloneAfter)
      this.aloneTimer.unref?.()
    }
  }

  /**
   * Whether the room emitted `alone` (a password room in which nobody else was seen for
   * `aloneAfter` after it opened) and still has seen nobody: for a listener that attaches
   * after the event, such as a UI that adds the room once `join()` returns.
   */
  get alone(): boolean {
    return this.alone_ && !this.seenOthers()
  }

  // Channels on connections this node dialled bound how many more members its lookups dial
  // (lib/network.ts ROOM_DIAL_LIMIT); those that dialled this node do not count.
  private countDialled(): void {
    if (this.lookup === null) return
    let dialled = 0
    for (const channel of this.channels) if ((channel.stream as { isInitiator?: boolean }).isInitiator === true) dialled++
    this.lookup.dialled(dialled)
  }

  // The connections with a member's channel open on them.
  private memberStreams(): object[] {
    const out: object[] = []
    for (const channel of this.channels) if (channel.member && channel.opened) out.push(channel.stream)
    return out
  }

  /** Anyone other than this identity: online now, or an author in what this node holds. */
  private seenOthers(): boolean {
    return this.stats.peers > 0 || this.roster.list().some((m) => !m.self)
  }

  override async _close(): Promise<void> {
    if (this.aloneTimer) clearTimeout(this.aloneTimer)
    this.aloneTimer = null
    const appended = this.outbox.close()
    // While the room's connections are still open: this node's last appends reach its peers
    // (their copies of messages they showed live get stored), and what it showed live of
    // theirs is stored here, each within a bound.
    // (Only after a recent append: peers that never take this core's length, relays and
    // idle sessions among them, would otherwise hold every close for the whole bound.)
    const own = this.outbox.own
    const recent = (): boolean => Date.now() - this.outbox.appendedAt < RECENT_APPEND_MS
    // Settled, not all: a failed append is thrown below, once the parts are closed.
    await Promise.allSettled([
      appended.then(() => (own && recent() ? peersHaveAll(own.core, () => this.memberStreams(), STORE_ON_CLOSE_MS) : undefined)),
      this.live.storeShown(STORE_ON_CLOSE_MS)
    ])
    this.history.close()
    this.live.close()
    this.topology.close()
    this.channels.close()
    await appended
    // Everything sent is stored now; leaving removes the journal's file too.
    this.outbox.journal?.close(this.forget)
    await this.expiry.close()
    await this.ctx.leave(this.topic)
    // Leaving deletes what this node stored for the room.
    await this.writers.close(this.forget)
    this.ctx.quota.removeRoom(this)
    this.ctx.closed(this, this.forget)
  }

  /** Leaves the room: stops replicating, deletes its local data and forgets it. */
  async leave(): Promise<void> {
    this.forget = true
    await this.close()
  }

  /**
   * Resolves once everything sent so far is stored in this node's log. With two members online
   * or more, a send that comes apart from the previous one resolves once its message is shown
   * here and sent to them; the log stores it within about a second (with the sends around it,
   * in one append; the outbox journal keeps it meanwhile), and before `close()` resolves.
   */
  async flush(): Promise<void> {
    await this.outbox.stored()
  }

  async send(text: string, opts: SendOptions = {}): Promise<Message> {
    // Every message passes here: an open room checks without an await (docs/PERFORMANCE.md).
    if (!this.opened || this.closing) await this.whenOpen()
    this.checkDevice()
    checkText(text)
    const refused = this.governance.sendProblem(this.ctx.profile().name, this.outbox.own!.hex, this.ctx.now())
    if (refused !== null) throw BackspaceError.NOT_ALLOWED(refused)
    let replyTo: string | null = null
    if (opts.replyTo !== undefined) replyTo = this.targetOf(opts.replyTo).id
    const type = replyTo !== null ? MessageType.REPLY : opts.action ? MessageType.ACTION : MessageType.TEXT
    // A `/me` reply is not a thing: a reply is always text.
    const record: MessageRecord = { type, timestamp: this.outbox.stamp(), text }
    if (replyTo !== null) record.target = parseMessageId(replyTo)
    return (await this.enqueue(record))!
  }

  /** Replaces the text of one of this identity's messages; members see it with "(edited)". */
  async edit(target: Message | string, text: string): Promise<Message> {
    await this.whenWritable()
    checkText(text)
    const m = this.ownTarget(target)
    if (m.deleted) throw BackspaceError.NOT_ALLOWED('a deleted message cannot be edited')
    if (m.text === text) return m
    return (await this.enqueue({ type: MessageType.EDIT, timestamp: this.outbox.stamp(), text, target: parseMessageId(m.id) }))!
  }

  /** Deletes one of this identity's messages everywhere: it becomes a tombstone. */
  async delete(target: Message | string): Promise<void> {
    await this.whenWritable()
    const m = this.ownTarget(target)
    if (m.deleted) return
    await this.enqueue({ type: MessageType.DELETE, timestamp: this.outbox.stamp(), text: '', target: parseMessageId(m.id) })
  }

  /** Adds this identity's `emoji` reaction to a message (once per emoji). */
  async react(target: Message | string, emoji: string): Promise<void> {
    await this.reaction(target, emoji, true)
  }

  /** Removes this identity's `emoji` reaction from a message. */
  async unreact(target: Message | string, emoji: string): Promise<void> {
    await this.reaction(target, emoji, false)
  }

  private async reaction(target: Message | string, emoji: string, add: boolean): Promise<void> {
    await this.whenWritable()
    checkEmoji(emoji)
    const m = this.targetOf(target)
    if (m.deleted) throw BackspaceError.NOT_ALLOWED('a deleted message takes no reactions')
    const mine = m.reactions.find((r) => r.emoji === emoji)?.self ?? false
    if (mine === add) return
    const type = add ? MessageType.REACT : MessageType.UNREACT
    await this.enqueue({ type, timestamp: this.outbox.stamp(), text: emoji, target: parseMessageId(m.id) })
  }

  // Every record this node appends passes here: held to the rate limit readers apply.
  private enqueue(record: MessageRecord): Promise<Message | null> {
    // A member's first record goes with its ack of the owner, where the room fixes one: the
    // ack places it among the members for a later member limit (lib/governance/resolve.ts).
    if (this.outbox.next === 0) {
      const ack = this.governance.firstRecord()
      if (ack !== null) this.enqueue({ ...ack, timestamp: record.timestamp }).catch((err) => backgroundError(this, err))
    }
    const own = this.outbox.own
    if (own) {
      const seq = this.outbox.next
      const rule = this.rate.current
      if (rule && !this.rate.allows(own.hex, seq, record.timestamp, record.type)) {
        return Promise.reject(BackspaceError.RATE_LIMITED(`at most ${rule.count} messages in ${rule.window / 1000} s`))
      }
      this.rate.note(own.hex, seq, record.timestamp)
    }
    // In a room with key epochs, what members read is sealed under the current epoch's key.
    const sealed = this.epochs ? this.epochs.seal(record) : record
    return this.outbox.enqueue(sealed, sealed === record ? null : record)
  }

  /**
   * @internal The node counts unread messages here: `fn` sees each message this room delivers,
   * just before its `message` listeners do.
   */
  onDelivered(fn: ((m: Message) => void) | null): void {
    this.records.delivered = fn
  }

  /** The loaded message with this id, in its current state. */
  message(id: string): Message | undefined {
    return this.apply.get(id)
  }

  /**
   * @internal Carries a verified revocation of one of this identity's devices to the room's
   * members: a record in this node's core, with where the revoked device's cores here end,
   * so that blocks it writes after it are rejected by every member.
   */
  async applyRevocation(revocation: DeviceRevocation): Promise<void> {
    await this.whenOpen()
    const cuts = this.signers.revokeOwn(revocation)
    await this.enqueue({
      type: MessageType.REVOKE,
      timestamp: this.outbox.stamp(),
      text: '',
      revocation: encodeRevocation(revocation),
      cuts
    })
  }

  private carryRevocations(): void {
    for (const revocation of this.signers.dueToCarry(this.ctx.revocations(), this.ctx.now(), this.ctx.ttl)) {
      this.applyRevocation(revocation).catch((err) => backgroundError(this, err))
    }
  }

  /** @internal Appends a record of the room's extension kinds; resolves once stored. */
  async appendRecord(
    record: Omit<MessageRecord, 'timestamp'>,
    follow?: (seq: number) => Omit<MessageRecord, 'timestamp'> | null
  ): Promise<void> {
    await this.whenWritable()
    const seq = this.outbox.next
    const first = this.enqueue({ ...record, timestamp: this.outbox.stamp() })
    // Enqueued in the same tick: the same block, so nothing is sent between the two.
    const next = follow ? follow(seq) : null
    if (next) await Promise.all([first, this.enqueue({ ...next, timestamp: this.outbox.stamp() })])
    else await first
  }

  // A device its identity revoked speaks for nobody: it stops writing, here as everywhere.
  private async whenWritable(): Promise<void> {
    if (!this.opened || this.closing) await this.whenOpen()
    this.checkDevice()
  }

  private checkDevice(): void {
    const device = this.ctx.device.certificate.device
    if (this.ctx.revocations().some((r) => b4a.equals(r.device, device))) {
      throw BackspaceError.DEVICE_REVOKED('this device was revoked by its identity; it can no longer write')
    }
  }

  private async whenOpen(): Promise<void> {
    if (this.closing) throw BackspaceError.ROOM_CLOSED()
    if (!this.opened) await this.ready()
    if (this.closing) throw BackspaceError.ROOM_CLOSED()
  }

  private targetOf(target: Message | string): Message {
    const id = typeof target === 'string' ? target : target?.id
    if (typeof id !== 'string') throw BackspaceError.INVALID_ARGUMENT('target must be a message of this room or its id')
    const m = this.apply.get(id)
    if (!m) throw BackspaceError.MESSAGE_NOT_FOUND(id)
    return m
  }

  private ownTarget(target: Message | string): Message {
    const m = this.targetOf(target)
    if (!b4a.equals(m.author, this.ctx.identity.publicKey)) {
      throw BackspaceError.NOT_ALLOWED('only its author can edit or delete a message')
    }
    return m
  }

  /** The members this node knows of: authors it has read and members online now. */
  members(): Member[] {
    return this.roster.list()
  }

  /**
   * @internal Publishes this identity's new profile: a block that carries it, so members
   * who read the log later learn it too, and a presence message to the members online.
   */
  async publishProfile(): Promise<void> {
    if (this.closing) return
    if (!this.opened) await this.ready()
    this.roster.publishOwn()
    for (const m of this.apply.refreshAll()) if (m.mention) this.emit('message-update', m)
    await this.enqueue({ type: MessageType.PROFILE, timestamp: this.outbox.stamp(), text: '' })
  }

  /**
   * The latest page of messages, oldest first; with `before`, the page before that message.
   * Older history is fetched from peers as needed. Expired messages are never returned.
   */
  async messages(opts: MessagesOptions = {}): Promise<Message[]> {
    if (this.closing) throw BackspaceError.ROOM_CLOSED()
    if (!this.opened) await this.ready()
    const limit = opts.limit ?? 50
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw BackspaceError.INVALID_ARGUMENT(`limit must be an integer from 1 to ${MAX_PAGE}`)
    }
    let before: Message | null = null
    if (opts.before !== undefined) {
      before = typeof opts.before === 'string' ? (this.apply.get(opts.before) ?? null) : opts.before
      if (!before || typeof before.timestamp !== 'number' || !b4a.isBuffer(before.author)) {
        throw BackspaceError.INVALID_ARGUMENT('before must be a message of this room or its id')
      }
    }
    await this.history.load(limit, before, false)
    const now = this.ctx.now()
    const hidden = this.ctx.hidden
    return this.apply.timeline.page(
      limit,
      before,
      (m) => !this.expiry.isExpired(m.timestamp, now) && !(hidden && !m.self && hidden(m.author))
    )
  }

  /** Deletes expired messages from memory and their blocks from disk. Runs periodically too. */
  async prune(): Promise<void> {
    if (this.closing) return
    if (!this.opened) await this.ready()
    await this.expiry.prune()
    this.epochs?.prune(this.ctx.now())
    await this.countBytes()
  }

  /**
   * @internal Opens the room's channel on a new connection. The room's cores replicate there
   * once the peer proved the room in the channel's open, not before.
   */
  attach(stream: Stream): void {
    // Called from _open too, before `opened` is set: a room joined on an existing connection
    // must open its channel there, or members already connected would never meet in it.
    this.channels.attach(stream)
  }

  /** @internal The record the node persists for this room. */
  state(): RoomState {
    return {
      kind: this.kind === 'private' ? RoomKind.PRIVATE : this.kind === 'dm' ? RoomKind.DM : RoomKind.NAMED,
      secret: this.secret,
      name: this.name,
      joinedAt: this.joinedAt,
      ttl: this.nodeTtl,
      // Cores only heard of are not saved: a flood of them is gone after a restart. Admitted
      // cores with no blocks are, unopened: a lock or a limit written after a restart names them.
      feeds: this.restore.length > 0 ? this.restore : this.savedFeeds(),
      ...(this.locked ? { password: true } : {}),
      ...(this.ownerRecord ? { owner: this.ownerRecord } : {}),
      ...(this.epochs ? { epochs: this.epochs.saved() } : {})
    }
  }

  // The Backspace wipe, here: the messages before it leave memory, and their blocks the disk.
  private wipe(wiped: (feed: Feed, index: number) => boolean): void {
    this.wiped = wiped
    const feeds = [...this.writers.values()]
    this.records.withdraw((m) => {
      const feed = feeds.find((f) => m.id.startsWith(f.idPrefix))
      const index = feed?.blockOf(m.seq)
      return feed !== undefined && index !== undefined && wiped(feed, index)
    })
    this.clearWiped(feeds, wiped).catch((err) => backgroundError(this, err))
    for (const channel of this.channels) {
      if (!channel.member) for (const notice of this.wipeNotices()) channel.sendWipe(notice)
    }
  }

  // What relays are told of the wipes: per writer core, every block below the latest wipe's
  // cut, but those that hold governance operations. Signed with the admission key pair.
  private wipeNotices(): WipeNotice[] {
    const wiped = this.wiped
    if (wiped === null) return []
    const notices: WipeNotice[] = []
    for (const feed of this.writers.values()) {
      if (feed.dropped) continue
      // Wipes select a prefix of each core: the first index not wiped, by bisection (a wipe's
      // author may have seen more of a core than this node has).
      let lo = 0
      let hi = 2 ** 40
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2)
        if (wiped(feed, mid)) lo = mid + 1
        else hi = mid
      }
      if (lo === 0) continue
      const cut = { length: lo, keep: this.governance.operationBlocks(feed, lo) }
      notices.push(makeWipeNotice(this.topic, feed.key, cut, this.keys.admission))
    }
    return notices
  }

  // Clears every stored block a wipe selects, but those that carry governance operations: the
  // room's authority stays, and their messages are refused on every load.
  private async clearWiped(feeds: Feed[], wiped: (feed: Feed, index: number) => boolean): Promise<void> {
    let cleared = false
    for (const feed of feeds) {
      if (feed.dropped) continue
      for (let i = feed.start; i < feed.core.length && wiped(feed, i); i++) {
        if (this.closing) return
        if (feed.holes.has(i) || this.governance.holdsOperation(feed, i)) continue
        const block = await feed.core.get(i, { wait: false }).catch(() => null)
        const body = block === null ? null : decodeBodyOrNull(block)
        if (body && holdsGovernance(body)) continue
        // Not stored here: a hole, so that reads skip it rather than wait for a block every
        // peer deleted; should it come anyway, it is cleared again on arrival.
        await clearBlocks(feed.core, i, i + 1)
        feed.holes.add(i)
        feed.loaded.get(i) && (feed.loaded.get(i)!.content = false)
        cleared = true
      }
    }
    if (!cleared) return
    this.ctx.changed()
    this.ctx.erased()
  }

  private openRemoteFeed(key: Buffer, state: FeedState | null, admission: Admission | null): Feed {
    const core = this.ctx.store.get({ key, encryption: { key: this.keys.encryptionKey } })
    const feed = this.addFeed(key, core, false, state, admission)
    feed.mayFetch = (index) => !feed.dropped && (feed.admission !== null || index >= feed.core.length - TRIAL_BLOCKS)
    feed.fetchBudget = (wanted) => this.fetchBudget(feed, wanted)
    core.on('append', () => {
      // The writer signed this size: more bytes than blocks of the largest size allow.
      if (provesOversized(core)) return this.dropOversized(feed)
      feed.grewAt = Date.now()
      this.topology.grew(feed)
      this.history.onAppend(feed)
    })
    core.on('download', (index: number, byteLength: number) => {
      if (isOversizedBlock(byteLength)) return this.dropOversized(feed)
      // A download asked for before a prune can land after it, below the expired floor, which
      // no later prune goes back to: cleared as it lands, as discardCore does.
      if (index < feed.start) {
        clearBlocks(core, index, index + 1).then(
          () => this.ctx.erased(),
          (err: unknown) => backgroundError(this, err)
        )
        return
      }
      this.countStored(feed, byteLength)
    })
    if (this.opened) this.history.pump(feed)
    return feed
  }

  // Blocks of a remote core stored here: downloaded, or stored from their live copies.
  private countStored(feed: Feed, bytes: number): void {
    // A size that is not a count would poison the ledger: at 80 members a NaN did, every later
    // budget of the writer and of the room came out NaN, and reads of its blocks never asked
    // a peer again (which event brought it is not found; `byteSpan` is guarded the same way).
    // Counted as the largest block instead, so the quota stays an upper bound.
    if (!Number.isFinite(bytes) || bytes < 0) bytes = MAX_RECORD_BYTES
    feed.bytes += bytes
    this.ctx.quota.set(this, feed.hex, feed.bytes)
    this.stats.quota.used = this.ctx.quota.roomUsed(this)
  }

  // Of `wanted` blocks of a remote core, how many may be fetched now: each may be as large as
  // a block can be, so together they never take the node past its quota.
  private fetchBudget(feed: Feed, wanted: number): number {
    const allowed = this.ctx.quota.allowance(this, feed.hex)
    const left = allowed.bytes - feed.bytes
    const granted = left <= 0 ? 0 : Math.min(wanted, Math.max(1, Math.floor(left / MAX_RECORD_BYTES)))
    if (granted >= wanted) {
      if (this.heldBack.delete(feed.hex) && this.heldBack.size === 0) this.stats.quota.reached = null
      return granted
    }
    this.stats.quota.refused++
    this.quotaReached(feed, allowed.scope, allowed.used, allowed.limit)
    return granted
  }

  private quotaReached(feed: Feed, scope: QuotaScope, used: number, limit: number): void {
    this.stats.quota.reached = scope
    if (this.heldBack.has(feed.hex)) return
    this.heldBack.add(feed.hex)
    this.emit('quota', { scope, writer: feed.key, used, limit })
  }

  // A block larger than any a writer may write, proven by the core's signed size or seen at
  // download: the core goes for good, with whatever was stored of it.
  private dropOversized(feed: Feed): void {
    if (feed.dropped || feed.local) return
    this.stats.quota.oversized++
    this.writers.drop(feed)
  }

  private discard(feed: Feed): void {
    if (feed.catchUp) clearTimeout(feed.catchUp)
    this.history.forget(feed)
    this.heldBack.delete(feed.hex)
    this.ctx.quota.remove(this, feed.hex)
    this.stats.quota.used = this.ctx.quota.roomUsed(this)
    discardCore(feed.core).then(
      () => this.ctx.erased(),
      (err: unknown) => backgroundError(this, err)
    )
  }

  // Recounts what is stored of each remote core from its tree: the contiguous range read.
  private async countBytes(): Promise<void> {
    for (const feed of this.writers.values()) {
      // A core closed meanwhile (the node closing under a room still opening) has nothing to count.
      if (feed.local || feed.dropped || feed.core.closing) continue
      const bytes = await byteSpan(feed.core, feed.storedFrom, Math.max(feed.storedFrom, feed.seen))
      if (bytes === null) continue
      feed.bytes = bytes
      this.ctx.quota.set(this, feed.hex, bytes)
    }
    this.stats.quota.used = this.ctx.quota.roomUsed(this)
  }

  private addFeed(key: Buffer, core: Hypercore, local: boolean, state: FeedState | null, admission: Admission | null): Feed {
    const feed = new Feed(key, core, local, state, admission)
    // Only to connections on which a peer proved the room, and only where needed (topology.ts).
    this.topology.added(feed)
    core.on('upload', (index: number) => {
      this.stats.uploaded++
      if (local && index >= this.stats.delivered) this.stats.delivered = index + 1
      this.ctx.uploaded()
    })
    return this.writers.add(feed)
  }
}

function checkText(text: unknown): asserts text is string {
  if (typeof text !== 'string') throw BackspaceError.INVALID_ARGUMENT('text must be a string')
  if (text.trim().length === 0) throw BackspaceError.EMPTY_MESSAGE()
  const problem = messageTextProblem(text)
  if (problem) throw BackspaceError.INVALID_ARGUMENT(problem)
  const size = b4a.byteLength(text)
  if (size > MAX_TEXT_BYTES) {
    throw BackspaceError.MESSAGE_TOO_LARGE(`${size} bytes; the limit is ${MAX_TEXT_BYTES}`)
  }
}

function checkEmoji(emoji: unknown): asserts emoji is string {
  if (!isEmoji(emoji)) throw BackspaceError.INVALID_EMOJI(`${JSON.stringify(String(emoji)).slice(0, 40)} is not one emoji`)
}

// A room's TTL: the node's, or the room's own setting (at most 7 days) when it is shorter.
function roomTtl(nodeTtl: number, governance: { readonly ttl: number } | undefined): number {
  const own = governance?.ttl ?? 0
  return own > 0 && own < nodeTtl ? own : nodeTtl
}

// Waits, within `ms`, until a session of `core` is open on each of `streams` and every peer
// has taken its length. A writer places its core on member channels only once it has a block
// (Topology.needed), so its first block's session may still be opening.
async function peersHaveAll(core: Hypercore, streams: () => object[], ms: number): Promise<void> {
  const deadline = Date.now() + ms
  const behind = (): boolean => {
    if (core.peers.some((p) => p.remoteLength < core.length)) return true
    const open = new Set(core.peers.map((p) => p.stream))
    return streams().some((s) => !open.has(s))
  }
  while (!core.closing && behind() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
