import type Hypercore from 'hypercore'
import { clearBlocks } from './clear-blocks.js'
import { deriveRelayKeys } from '../crypto.js'
import { MAX_LENGTH_MARKS, RoomKind, type FeedState, type LengthMark, type RoomState } from '../messages.js'
import { relayLinkOf } from '../links.js'
import { backgroundError, Resource } from '../resource.js'
import { RoomChannels, type Stream } from './channel.js'
import type { RelayContext } from './context.js'
import { clearExpired } from './expiry.js'
import { stampedBoundary } from './expiry-stamp.js'
import { discardCore, MAX_UNPROVEN, WriterSet } from './writers.js'
import type { AdmissionStats, QuotaEvent, QuotaScope, QuotaStats } from '../types.js'
import { MAX_CORES_PER_IDENTITY, RelayProofs, type Admission } from './admission.js'
import { byteSpan, isOversizedBlock, provesOversized } from './quota.js'
import { isWiped, MAX_PENDING_WIPES, mergeCuts, type WipeCut, type WipeNotice, wipeSignable } from './wipe-notice.js'
import { verify } from '../crypto.js'

// How long a relay waits for the tree nodes that tell where its quota ends in a core.
const SEEK_TIMEOUT = 10_000
// Evictions one quota check may make before it holds the writer back instead.
const MAX_EVICTIONS_PER_PLAN = 64

export interface RelayedRoomStats {
  /** Writer cores kept. */
  writers: number
  /** Members connected in this room now. */
  peers: number
  /** Blocks sent to members. */
  uploaded: number
  /** Blocks fetched from members. */
  downloaded: number
  /** Blocks deleted because they expired. */
  pruned: number
  /** Blocks deleted because a member's wipe notice named them. */
  wiped: number
  /** Wipe notices refused: not signed with the room's admission key (or no key to check). */
  badWipes: number
  /** Blocks given up, oldest received first, to make room under the quota (issue 13). */
  evicted: number
  /** Their bytes. */
  evictedBytes: number
  badAnnouncements: number
  /** Opens of the room's channel whose proof of the relay secret did not verify. */
  badProofs: number
  /**
   * Whether this relay checks that a member made each core it keeps: its link carried the
   * room's admission key. Without it (a link from an older build) it keeps what it is told.
   */
  checked: boolean
  admission: AdmissionStats
  quota: QuotaStats
}

interface RelayedFeed {
  key: Buffer
  core: Hypercore
  /** Blocks below this were cleared, by this relay's own length marks. */
  start: number
  /**
   * A member's word that blocks below this expired. A relay cannot read a block to check it,
   * so it never acts on it: it neither deletes nor stops fetching on anyone's word.
   */
  hintStart: number
  marks: LengthMark[]
  /**
   * Download ranges asked for, each of blocks already known to exist and within the quota:
   * none reaches past the core's length, so no block is fetched before its size is checked.
   */
  ranges: Set<{ destroy(): void; done(): Promise<void> }>
  readonly local: false
  admission: Admission | null
  dropped: boolean
  /** Blocks below this index were asked for (from `start` on). */
  end: number
  /** The quota check under way, and whether another was asked for meanwhile. */
  planning: Promise<void> | null
  planAgain: boolean
  /** Blocks members wiped (lib/room/wipe-notice.ts): never fetched, cleared if they come. */
  cut: WipeCut | null
  /**
   * A notice that came before this relay had the core: applied, held to the core's length,
   * once that length is known.
   */
  pendingCut: WipeCut | null
  /**
   * Bytes below `start`, measured when blocks were evicted: the tree nodes that measure from
   * `start` may be gone with them, and the quota must not count the evicted bytes again.
   */
  below: number | null
}

/**
 * A room as a relay keeps it: every member's core, downloaded whole and served, without
 * the key that decrypts a block. The relay learns writer cores from the room channel
 * (it holds the channel key) and prunes by time: a block that existed when the relay saw
 * the core reach some length is deleted once that moment is older than the TTL, whatever
 * the block says inside, which the relay cannot read; or earlier, once the expiry its
 * writer stamped in its clear bytes has passed.
 */
export class RelayedRoom extends Resource<{ close: []; error: [Error]; quota: [QuotaEvent] }>() {
  readonly kind = 'relayed' as const
  /** A label for status lines: the room name if the relay was given one, else the topic. */
  readonly name: string
  readonly topic: Buffer
  readonly joinedAt: number
  readonly stats: RelayedRoomStats

  private readonly ctx: RelayContext
  private readonly relaySecret: Buffer
  private readonly keys: ReturnType<typeof deriveRelayKeys>
  private readonly channels: RoomChannels
  private readonly writers: WriterSet<RelayedFeed>
  // The room's admission public key, from the relay link; null from a link without one.
  private readonly admissionKey: Buffer | null
  private readonly proofs: RelayProofs | null
  // Writers held back by the quota now: `stats.quota.reached` is set while there are any.
  private readonly heldBack: Set<string>
  private restore: FeedState[]
  private forget: boolean
  // Wipe notices for cores this relay does not keep yet, by core key: at most MAX_PENDING_WIPES.
  private readonly pendingWipes: Map<string, WipeCut>

  /** @internal */
  constructor(ctx: RelayContext, state: RoomState) {
    super()
    this.ctx = ctx
    this.relaySecret = state.secret
    this.keys = deriveRelayKeys(state.secret)
    this.topic = this.keys.topic
    this.name = state.name || this.topic.toString('hex').slice(0, 8)
    this.joinedAt = state.joinedAt
    this.restore = state.feeds
    this.forget = false
    this.admissionKey = state.admissionKey ?? null
    this.proofs = this.admissionKey ? new RelayProofs(this.topic, this.admissionKey) : null
    this.heldBack = new Set()
    this.pendingWipes = new Map()
    this.stats = {
      writers: 0,
      peers: 0,
      uploaded: 0,
      downloaded: 0,
      pruned: 0,
      wiped: 0,
      badWipes: 0,
      evicted: 0,
      evictedBytes: 0,
      badAnnouncements: 0,
      badProofs: 0,
      checked: this.proofs !== null,
      admission: { unproven: 0, refused: 0, evicted: 0 },
      quota: { used: 0, reached: null, refused: 0, oversized: 0 }
    }
    // Live blocks and presence are sealed with the member key, which a relay lacks.
    const channelKeys = {
      channelIdKey: this.keys.channelIdKey,
      channelKey: this.keys.channelKey,
      relayProofKey: this.keys.relayProofKey,
      memberProofKey: null,
      memberKey: null
    }
    this.channels = new RoomChannels(channelKeys, () => !this.closing, this.stats, {
      cores: () => [...this.writers.values()].map((f) => f.core),
      open: (channel) => channel.announce(this.writers.announcements()),
      close: () => {},
      writers: (writers) => this.writers.onAnnouncement(writers),
      wipe: (notice) => this.onWipe(notice)
    })
    this.writers = new WriterSet<RelayedFeed>(
      this.channels,
      this.stats,
      {
        open: (key, admission) => this.openFeed(key, null, admission),
        announced: () => {},
        // Members who are never online together learn each other's cores from the relay.
        added: () => this.ctx.changed(),
        removed: (feed) => this.discard(feed)
      },
      {
        checker: this.proofs,
        // Only cores restored from before proofs wait on trial, for a member to prove them.
        maxUnproven: MAX_UNPROVEN,
        perIdentity: MAX_CORES_PER_IDENTITY,
        trials: false,
        unchecked: this.proofs === null
      }
    )
  }

  get id(): string {
    return this.topic.toString('hex')
  }

  /** The relay link this room can be kept by again. */
  get link(): string {
    return relayLinkOf(this.relaySecret, this.admissionKey)
  }

  override async _open(): Promise<void> {
    // Cores with data first, should trial places run out.
    const restore = this.restore.slice().sort((a, b) => b.seen - a.seen)
    for (const state of restore) {
      let admission: Admission | null = null
      if (this.proofs === null) admission = { owner: null, device: null, proof: state.proof ?? null }
      else if (state.proof) admission = this.proofs.check(state.key, state.proof)
      if (admission === null && !this.writers.hasTrialRoom()) {
        discardCore(this.ctx.store.get({ key: state.key })).catch((err) => backgroundError(this, err))
        continue
      }
      this.openFeed(state.key, state, admission)
    }
    this.restore = []
    await Promise.all([...this.writers.values()].map((f) => f.core.ready()))
    await this.prune()
    this.ctx.join(this.topic)
    for (const stream of this.ctx.streams()) this.attach(stream)
  }

  override async _close(): Promise<void> {
    this.channels.close()
    await this.ctx.leave(this.topic)
    await this.writers.close(this.forget)
    this.ctx.quota.removeRoom(this)
    this.ctx.closed(this, this.forget)
  }

  /** Stops keeping the room and deletes what was kept. */
  async leave(): Promise<void> {
    this.forget = true
    await this.close()
  }

  /**
   * Deletes blocks that are certainly expired: by this relay's own length marks, once it has
   * known a block to exist for longer than the TTL, or earlier, by the expiry its writer
   * stamped on it, which the core's signature covers (see expiry-stamp.ts).
   */
  async prune(): Promise<void> {
    const now = this.ctx.now()
    const cutoff = now - this.ctx.ttl
    let marksDropped = false
    const moved = await clearExpired(
      this.writers.values(),
      () => !!this.closing,
      (f) => {
        let boundary = f.start
        while (f.marks.length > 0 && f.marks[0]!.time <= cutoff) {
          boundary = Math.max(boundary, f.marks.shift()!.length)
          marksDropped = true
        }
        // Then blocks whose verified expiry stamp has passed, even if first seen late.
        return stampedBoundary(f.core, Math.min(boundary, f.core.length), now, (i) => isWiped(f.cut, i))
      },
      (f, from) => {
        this.stats.pruned += f.start - from
        if (f.cut !== null && f.start >= f.cut.length) f.cut = null
        this.restartDownload(f)
      }
    )
    if (moved === null) return
    if (moved) this.ctx.erased()
    if (moved || marksDropped) this.ctx.changed()
  }

  /** @internal */
  attach(stream: Stream): void {
    this.channels.attach(stream)
  }

  /** @internal */
  state(): RoomState {
    return {
      kind: RoomKind.RELAYED,
      secret: this.relaySecret,
      name: this.name,
      joinedAt: this.joinedAt,
      ttl: this.ctx.ttl,
      admissionKey: this.admissionKey,
      // Cores without a proof are not saved: a flood of them is gone after a restart.
      feeds: this.writers.admitted().map((f) => {
        const saved: FeedState = {
          key: f.key,
          start: f.start,
          storedFrom: f.start,
          seen: f.core.length,
          marks: f.marks.slice(),
          admitted: true
        }
        if (f.admission?.proof) saved.proof = f.admission.proof
        if (f.cut !== null) saved.wipe = { length: f.cut.length, keep: f.cut.keep.slice() }
        return saved
      })
    }
  }

  private openFeed(key: Buffer, state: FeedState | null, admission: Admission | null): RelayedFeed {
    // No encryption key: Hypercore stores, verifies and serves the ciphertext as it is.
    const core = this.ctx.store.get({ key })
    const feed: RelayedFeed = {
      key,
      core,
      start: state?.start ?? 0,
      hintStart: state?.start ?? 0,
      marks: state?.marks?.slice() ?? [],
      ranges: new Set(),
      local: false,
      admission,
      dropped: false,
      end: 0,
      planning: null,
      planAgain: false,
      cut: state?.wipe ? { length: state.wipe.length, keep: state.wipe.keep.slice() } : null,
      pendingCut: null,
      below: null
    }
    const pending = this.pendingWipes.get(key.toString('hex'))
    if (pending) {
      this.pendingWipes.delete(key.toString('hex'))
      feed.pendingCut = pending
    }
    this.writers.add(feed)
    // Only to connections on which a peer proved the room.
    this.channels.replicate(core)
    core.on('upload', () => {
      this.stats.uploaded++
      this.ctx.uploaded()
    })
    core.on('download', (index: number, byteLength: number) => {
      // Stored already, as Hypercore stores before it tells: the core goes, with its data.
      if (isOversizedBlock(byteLength)) return this.dropOversized(feed)
      // A wiped block asked for before the notice came, or a block asked for before a prune
      // or an eviction moved the start past it (none goes back below it): it leaves again at once.
      if (isWiped(feed.cut, index) || index < feed.start) {
        clearBlocks(core, index, index + 1).then(
          () => this.ctx.erased(),
          (err: unknown) => backgroundError(this, err)
        )
        return
      }
      this.stats.downloaded++
    })
    core.on('append', () => {
      this.mark(feed)
      if (this.applyPendingCut(feed)) return
      this.plan(feed)
    })
    core
      .ready()
      .then(() => {
        this.mark(feed)
        if (this.applyPendingCut(feed)) return
        // Cleared again after a restart: a crash may have come between a notice and its clear.
        if (feed.cut !== null) return this.clearWiped(feed)
        this.plan(feed)
      })
      .catch((err: Error) => backgroundError(this, err))
    return feed
  }

  // Decides how much of a core to keep, before any of it is fetched: its size, signed by its
  // writer, is checked against the largest blocks a writer may write and against the quota.
  // What fits is downloaded, from the first live block on; each append is checked again.
  private plan(feed: RelayedFeed): void {
    if (this.closing || feed.dropped) return
    if (feed.planning) {
      feed.planAgain = true
      return
    }
    feed.planning = this.runPlan(feed)
      .catch((err) => backgroundError(this, err))
      .finally(() => {
        feed.planning = null
        if (feed.planAgain) {
          feed.planAgain = false
          this.plan(feed)
        }
      })
  }

  private async runPlan(feed: RelayedFeed): Promise<void> {
    const core = feed.core
    if (provesOversized(core)) return this.dropOversized(feed)
    const hex = feed.key.toString('hex')
    const quota = this.ctx.quota
    // Without the tree nodes to measure from, the core's whole size is the bound.
    const measure = async () => (await byteSpan(core, feed.start, core.length)) ?? Math.max(0, core.byteLength - (feed.below ?? 0))
    let committed = await measure()
    if (this.closing || feed.dropped) return
    let allowed = quota.allowance(this, hex)
    // Over the quota, the oldest data received goes first (this writer's or, as the limit that
    // stops it says, the room's or the whole relay's), down to each core's latest block.
    let evicted = false
    for (let round = 0; committed > allowed.bytes && round < MAX_EVICTIONS_PER_PLAN; round++) {
      if (!(await this.evictOldest(feed, allowed.scope, committed - allowed.bytes))) break
      evicted = true
      if (this.closing || feed.dropped) return
      committed = await measure()
      allowed = quota.allowance(this, hex)
    }
    if (evicted) this.emit('quota', { scope: allowed.scope, writer: feed.key, used: allowed.used, limit: allowed.limit })
    let end = core.length
    if (committed <= allowed.bytes) {
      quota.set(this, hex, committed)
      if (this.heldBack.delete(hex) && this.heldBack.size === 0) this.stats.quota.reached = null
    } else {
      quota.set(this, hex, allowed.bytes)
      this.stats.quota.refused++
      this.stats.quota.reached = allowed.scope
      if (!this.heldBack.has(hex)) {
        this.heldBack.add(hex)
        this.emit('quota', { scope: allowed.scope, writer: feed.key, used: allowed.used, limit: allowed.limit })
      }
      // The oldest blocks that fit: the block holding the quota's last byte is left out.
      end = feed.start
      const base = await byteSpan(core, 0, feed.start)
      if (base !== null && allowed.bytes > 0) {
        const at = await core.seek(base + allowed.bytes, { wait: true, timeout: SEEK_TIMEOUT }).catch(() => null)
        if (at) end = Math.max(feed.start, at[0])
      }
      if (this.closing || feed.dropped) return
    }
    this.stats.quota.used = quota.roomUsed(this)
    this.download(feed, end)
  }

  // Frees `need` bytes, or what it can, from the oldest data received in the scope of the
  // limit that was reached: false if nothing is left to evict (only each core's latest block).
  private async evictOldest(feed: RelayedFeed, scope: QuotaScope, need: number): Promise<boolean> {
    const rooms: RelayedRoom[] = scope === 'total' ? [...(this.ctx.relayedRooms?.() ?? [this])] : [this]
    let best: { room: RelayedRoom; feed: RelayedFeed; time: number; length: number } | null = null
    for (const room of rooms) {
      const oldest = room.oldestData(scope === 'writer' ? feed : null)
      if (oldest && (best === null || oldest.time < best.time)) best = { room, ...oldest }
    }
    if (best === null) return false
    // Within the oldest mark, only as many blocks as the bytes needed.
    let target = best.length
    const f = best.feed
    const span = await byteSpan(f.core, f.start, target)
    const base = span !== null && span > need ? await byteSpan(f.core, 0, f.start) : null
    if (base !== null) {
      // From the tree nodes stored here only: data already held is measured without asking.
      const at = await f.core.seek(base + need, { wait: false }).catch(() => null)
      if (at) target = Math.min(target, at[0] + 1)
    }
    // At least one block: every round frees something, or says nothing is left.
    return (await best.room.evict(f, Math.max(target, f.start + 1))) > 0
  }

  /**
   * @internal The oldest data this relay may evict here: the oldest length mark past a core's
   * start, within what was asked for and never its latest block; of `only` if given.
   */
  oldestData(only: RelayedFeed | null): { feed: RelayedFeed; time: number; length: number } | null {
    let best: { feed: RelayedFeed; time: number; length: number } | null = null
    for (const f of this.writers.values()) {
      if (f.dropped || (only !== null && f !== only)) continue
      // What was asked for (its tree nodes are here to measure it), and never the latest block.
      const limit = Math.min(f.core.length - 1, f.end)
      if (limit <= f.start) continue
      const mark = f.marks.find((m) => m.length > f.start)
      if (!mark) continue
      if (best === null || mark.time < best.time) best = { feed: f, time: mark.time, length: Math.min(mark.length, limit) }
    }
    return best
  }

  /** @internal Gives up blocks [start, target) of `feed` for the quota: cleared, never fetched again. */
  async evict(feed: RelayedFeed, target: number): Promise<number> {
    const from = feed.start
    if (target <= from || this.closing || feed.dropped) return 0
    // Only what can be measured from the verified tree: the ledger must shrink by what goes.
    const span = await byteSpan(feed.core, from, target)
    if (span === null || !Number.isFinite(span)) return 0
    const bytes = span
    const below = await byteSpan(feed.core, 0, target)
    if (below !== null) feed.below = below
    for (const range of feed.ranges) range.destroy()
    feed.ranges.clear()
    feed.start = Math.max(feed.start, target)
    feed.hintStart = Math.max(feed.hintStart, feed.start)
    feed.end = feed.start
    while (feed.marks.length > 0 && feed.marks[0]!.length <= feed.start) feed.marks.shift()
    if (feed.cut !== null && feed.start >= feed.cut.length) feed.cut = null
    await clearBlocks(feed.core, from, feed.start)
    this.stats.evicted += feed.start - from
    this.stats.evictedBytes += bytes
    const hex = feed.key.toString('hex')
    this.ctx.quota.set(this, hex, Math.max(0, this.ctx.quota.writerUsed(this, hex) - bytes))
    this.stats.quota.used = this.ctx.quota.roomUsed(this)
    this.ctx.erased()
    this.ctx.changed()
    this.plan(feed)
    return feed.start - from
  }

  // Blocks [start, end): only what was not asked for yet.
  private download(feed: RelayedFeed, end: number): void {
    if (this.closing || feed.dropped) return
    const from = Math.max(feed.start, feed.end)
    if (end <= from) return
    feed.end = end
    const cut = feed.cut
    if (cut !== null && from < cut.length) {
      // Below a wipe's cut, only the blocks it kept (governance), then the rest from the cut on.
      const kept = cut.keep.filter((i) => i >= from && i < end)
      if (kept.length > 0) this.track(feed, feed.core.download({ blocks: kept }))
      if (end > cut.length) this.track(feed, feed.core.download({ start: cut.length, end }))
      return
    }
    this.track(feed, feed.core.download({ start: from, end }))
  }

  private track(feed: RelayedFeed, range: { destroy(): void; done(): Promise<void> }): void {
    feed.ranges.add(range)
    range.done().then(
      () => feed.ranges.delete(range),
      () => feed.ranges.delete(range)
    )
  }

  // A member's notice that a wipe deleted blocks of a core. The relay cannot read the wipe, so
  // it checks what it can: the room's admission key signed this cut of this core, in this room.
  private onWipe(notice: WipeNotice): void {
    if (this.closing) return
    if (this.admissionKey === null || !verify(notice.signature, wipeSignable(this.topic, notice.core, notice), this.admissionKey)) {
      this.stats.badWipes++
      return
    }
    const hex = notice.core.toString('hex')
    const cut = { length: notice.length, keep: notice.keep }
    const feed = this.writers.get(hex)
    if (feed === undefined) {
      const merged = mergeCuts(this.pendingWipes.get(hex) ?? null, cut)
      if (merged === null) return
      this.pendingWipes.delete(hex)
      this.pendingWipes.set(hex, merged)
      if (this.pendingWipes.size > MAX_PENDING_WIPES) this.pendingWipes.delete(this.pendingWipes.keys().next().value!)
      return
    }
    if (feed.dropped) return
    this.applyCut(feed, cut)
  }

  // A cut names blocks that exist: it is held to the core's length as this relay verified it.
  // Unbounded, one member's notice with a huge length would make the relay refuse every later
  // block of the writer, silencing it for members who are offline.
  private applyCut(feed: RelayedFeed, cut: WipeCut): boolean {
    const length = Math.min(cut.length, feed.core.length)
    const merged = mergeCuts(feed.cut, { length, keep: cut.keep.filter((i) => i < length) })
    if (merged === null) return false
    feed.cut = merged
    this.ctx.changed()
    this.clearWiped(feed).catch((err) => backgroundError(this, err))
    return true
  }

  // A notice held until the core had a length (see `pendingCut`).
  private applyPendingCut(feed: RelayedFeed): boolean {
    const pending = feed.pendingCut
    if (pending === null || feed.core.length === 0 || feed.dropped || this.closing) return false
    feed.pendingCut = null
    return this.applyCut(feed, pending)
  }

  // Deletes the wiped blocks of a core from disk (Hypercore's clear, then the node compacts),
  // stops fetching them, and moves the start past the cut when nothing below it stays.
  private async clearWiped(feed: RelayedFeed): Promise<void> {
    const cut = feed.cut
    if (cut === null || this.closing || feed.dropped) return
    for (const range of feed.ranges) range.destroy()
    feed.ranges.clear()
    feed.end = feed.start
    await feed.core.ready()
    const to = Math.min(cut.length, feed.core.length)
    let from = feed.start
    let cleared = 0
    for (const keep of [...cut.keep.filter((i) => i >= from && i < to), to]) {
      if (keep > from) {
        if (this.closing || feed.dropped) return
        for (let i = from; i < keep; i++) if (await feed.core.has(i)) cleared++
        await clearBlocks(feed.core, from, keep)
      }
      from = keep + 1
    }
    this.stats.wiped += cleared
    if (!cut.keep.some((i) => i >= feed.start)) {
      feed.start = Math.max(feed.start, cut.length)
      feed.hintStart = Math.max(feed.hintStart, feed.start)
    }
    if (cleared > 0) this.ctx.erased()
    this.ctx.changed()
    this.plan(feed)
  }

  // Pruning moved the start: older ranges would fetch again the blocks it just cleared.
  private restartDownload(feed: RelayedFeed): void {
    for (const range of feed.ranges) range.destroy()
    feed.ranges.clear()
    feed.end = feed.start
    this.plan(feed)
  }

  private dropOversized(feed: RelayedFeed): void {
    if (feed.dropped) return
    this.stats.quota.oversized++
    this.writers.drop(feed)
  }

  private discard(feed: RelayedFeed): void {
    for (const range of feed.ranges) range.destroy()
    feed.ranges.clear()
    const hex = feed.key.toString('hex')
    if (this.heldBack.delete(hex) && this.heldBack.size === 0) this.stats.quota.reached = null
    this.ctx.quota.remove(this, hex)
    this.stats.quota.used = this.ctx.quota.roomUsed(this)
    discardCore(feed.core).then(
      () => this.ctx.erased(),
      (err: unknown) => backgroundError(this, err)
    )
    this.ctx.changed()
  }

  // Records that every block below the core's current length exists now. Marks are coarse:
  // within one slot of 1/200 of the TTL, the latest mark moves forward in time and length,
  // so a block is deleted at most one slot (50 minutes for 7 days) after it expired.
  private mark(feed: RelayedFeed): void {
    const length = feed.core.length
    const last = feed.marks[feed.marks.length - 1]
    if (last && last.length >= length) return
    const now = this.ctx.now()
    const slot = this.ctx.ttl / 200
    if (last && Math.floor(last.time / slot) === Math.floor(now / slot)) {
      // Not saved at once: losing this update in a crash only keeps blocks longer.
      last.time = now
      last.length = length
      return
    }
    feed.marks.push({ time: now, length })
    // Dropping the oldest mark leaves its blocks to the next one: later, never early.
    if (feed.marks.length > MAX_LENGTH_MARKS) feed.marks.splice(0, 1)
    this.ctx.changed()
  }
}
