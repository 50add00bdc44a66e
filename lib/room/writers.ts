import type Hypercore from 'hypercore'
import type { WriterAnnouncement } from '../messages.js'
import type { AdmissionStats } from '../types.js'
import { MAX_CORES_PER_DEVICE, type Admission, type ProofChecker } from './admission.js'

/** Writer cores a room holds at most, admitted and heard of together. */
export const MAX_WRITERS = 1024
/**
 * Cores heard of without a proof (builds before proofs announce none) that a member keeps on
 * trial: it fetches a few of their latest blocks, and admits one once a block verifies.
 */
export const MAX_UNPROVEN = 32
// Cores dropped this session (oversized blocks) that announcements may not bring back.
const MAX_BANNED = 4096

/** What the writer set needs of a writer core, whether a member reads it or a relay keeps it. */
export interface WriterFeed {
  readonly key: Buffer
  readonly core: Hypercore
  /** This node's own core: never evicted. */
  readonly local: boolean
  /** Every block below this index has expired and was cleared, as this node itself decided. */
  start: number
  /** A peer's word that blocks below this index expired: in memory only, and only a hint. */
  hintStart: number
  /**
   * How the core was admitted; null while it is only heard of (no proof, no verified block):
   * then it is not saved, not passed on, and the first to go when the table is full.
   */
  admission: Admission | null
  /** Set once the core left the set: nothing more is fetched for it. */
  dropped: boolean
}

/** What the owner of a writer set does when peers announce writers. */
export interface WriterSetHooks<F> {
  /** Opens the core of a writer first heard of from a peer, and adds it to the set. */
  open(key: Buffer, admission: Admission | null): F
  /**
   * A peer announced `feed`; `hinted` when its word on expiry moved the feed's hint; `length`
   * is the length the peer announced (its word only).
   */
  announced(feed: F, hinted: boolean, length: number): void
  /** Writers admitted (new, or proven after all), once they were passed on to the other peers. */
  added(feeds: F[]): void
  /** Writers admitted with no blocks yet: known, counted, not opened (see `WriterSet`). */
  heard?(keys: Buffer[]): void
  /** Writers known with no blocks that were opened now: someone announced blocks. */
  woke?(feeds: F[]): void
  /** `feed` left the set (evicted or dropped): close its core and delete what was stored. */
  removed(feed: F): void
}

export interface WriterSetOptions {
  /** Checks proofs; null for a relay that cannot (its link carried no admission key). */
  checker: ProofChecker | null
  /** Cores without a proof kept at once. */
  maxUnproven: number
  /** Cores one identity (or, at a relay, one member tag) may have admitted. */
  perIdentity: number
  /** Opens cores announced without a proof, on trial: members do, relays that check do not. */
  trials: boolean
  /** Admitted cores announced without blocks are only noted, and opened once they have some. */
  lazy?: boolean
  /**
   * A relay whose link carried no admission key cannot check anything: it admits what it is
   * told, as builds before proofs did, within the table's bounds (see docs/SECURITY.md).
   */
  unchecked?: boolean
}

/**
 * The writer cores of a room, one per member device, by key hex. Learned from the room
 * channel and passed on to the other peers, so members who are never online together still
 * meet; but only cores with a proof that a member made them are admitted, saved and passed
 * on, each identity and device within its limits. Rooms and relays share it.
 */
export class WriterSet<F extends WriterFeed> {
  private readonly feeds: Map<string, F>
  private readonly channels: { announce(writers: WriterAnnouncement[]): void }
  private readonly stats: { writers: number; admission: AdmissionStats }
  private readonly hooks: WriterSetHooks<F>
  private readonly checker: ProofChecker | null
  private readonly maxUnproven: number
  private readonly perIdentity: number
  private readonly trials: boolean
  private readonly unchecked: boolean
  private readonly lazy: boolean
  // Cores on trial, oldest first (a Set keeps insertion order).
  private readonly unproven: Set<string>
  // Admitted cores announced with no blocks: a member who never wrote costs a table entry, not
  // an open core replicated on every connection. Opened once someone announces a block.
  private readonly dormant: Map<string, { key: Buffer; admission: Admission }>
  // The longest length peers announced for each opened core: a core just opened does not know
  // its length yet, and passing it on as empty would leave it dormant further along.
  private readonly heardLength: Map<string, number>
  // Admitted cores per owner (identity or tag) and per device, for the limits.
  private readonly owners: Map<string, number>
  private readonly devices: Map<string, number>
  private readonly banned: Set<string>

  constructor(
    channels: { announce(writers: WriterAnnouncement[]): void },
    stats: { writers: number; admission: AdmissionStats },
    hooks: WriterSetHooks<F>,
    opts: WriterSetOptions
  ) {
    this.feeds = new Map()
    this.channels = channels
    this.stats = stats
    this.hooks = hooks
    this.checker = opts.checker
    this.maxUnproven = opts.maxUnproven
    this.perIdentity = opts.perIdentity
    this.trials = opts.trials
    this.unchecked = opts.unchecked ?? false
    this.lazy = opts.lazy ?? false
    this.unproven = new Set()
    this.dormant = new Map()
    this.heardLength = new Map()
    this.owners = new Map()
    this.devices = new Map()
    this.banned = new Set()
  }

  get size(): number {
    return this.feeds.size
  }

  /** Admitted writers with no blocks yet, whose cores are not open. */
  get dormantSize(): number {
    return this.dormant.size
  }

  get(hex: string): F | undefined {
    return this.feeds.get(hex)
  }

  /** Whether the writer is in the set: opened, or known with no blocks (dormant). */
  known(hex: string): boolean {
    return this.feeds.has(hex) || this.dormant.has(hex)
  }

  values(): IterableIterator<F> {
    return this.feeds.values()
  }

  /** Admitted writers with no blocks yet (dormant): their keys and admissions. */
  sleepers(): IterableIterator<{ key: Buffer; admission: Admission }> {
    return this.dormant.values()
  }

  /** The cores to save: this node's own and the admitted ones. */
  admitted(): F[] {
    return [...this.feeds.values()].filter((f) => f.local || f.admission !== null)
  }

  /**
   * Holds an admitted core with no blocks unopened (dormant), as an announcement of it empty
   * would: a restored one. False if it is known already, banned, or over a limit.
   */
  sleep(key: Buffer, admission: Admission): boolean {
    const hex = key.toString('hex')
    if (this.known(hex) || this.banned.has(hex) || !this.withinLimits(admission) || !this.makeRoom()) return false
    this.dormant.set(hex, { key, admission })
    this.count(admission, 1)
    this.updateStats()
    return true
  }

  /** Adds a feed its owner opened: its own, restored, or announced (through `hooks.open`). */
  add(feed: F): F {
    const hex = feed.key.toString('hex')
    // A Feed that is not in the set is dropped: the live path trusts that (LivePath.receive).
    const replaced = this.feeds.get(hex)
    if (replaced !== undefined && replaced !== feed) replaced.dropped = true
    this.feeds.set(hex, feed)
    if (feed.admission) this.count(feed.admission, 1)
    else if (!feed.local) this.unproven.add(hex)
    this.updateStats()
    return feed
  }

  /** Whether a restored core without a proof fits on trial; beyond that it is dropped. */
  hasTrialRoom(): boolean {
    return this.unproven.size < this.maxUnproven && this.feeds.size < MAX_WRITERS
  }

  /**
   * What to tell a peer of `feeds` (all admitted ones by default): key, length, the start this
   * node verified itself, and the proof as received. Hints heard from others are never passed
   * on, nor are cores without admission.
   */
  announcements(only?: Iterable<F>): WriterAnnouncement[] {
    const all = only === undefined
    const feeds = only ?? this.feeds.values()
    const out: WriterAnnouncement[] = []
    for (const f of feeds) {
      if (!f.local && f.admission === null) continue
      const length = Math.max(f.core.length, f.local ? 0 : (this.heardLength.get(f.key.toString('hex')) ?? 0))
      out.push({ key: f.key, length, start: f.start, proof: f.admission?.proof ?? null })
    }
    if (all) for (const d of this.dormant.values()) out.push({ key: d.key, length: 0, start: 0, proof: d.admission.proof })
    return out
  }

  /**
   * A peer told of writers. Cores with a valid proof are admitted (within the limits, evicting
   * unproven or empty cores when the table is full) and passed on; cores without one are at
   * most kept on trial, and never passed on.
   */
  onAnnouncement(writers: WriterAnnouncement[]): void {
    const added: F[] = []
    const heard: WriterAnnouncement[] = []
    const woken: F[] = []
    for (const w of writers) {
      const hex = w.key.toString('hex')
      if (this.banned.has(hex)) continue
      const asleep = this.dormant.get(hex)
      let checked: Admission | null | undefined
      if (asleep) {
        if (w.length === 0) continue
        // It has blocks now: opened like any admitted core, on a valid proof. A peer's word
        // without one leaves it asleep, admitted as it was, rather than put it on trial.
        checked = this.admissionOf(w)
        if (checked === null) continue
        this.dormant.delete(hex)
        this.count(asleep.admission, -1)
        this.updateStats()
      }
      let feed = this.feeds.get(hex)
      if (!feed || (!feed.local && feed.admission === null)) {
        const admission = checked === undefined ? this.admissionOf(w) : checked
        if (admission) {
          if (feed) {
            if (this.admit(feed, admission)) added.push(feed)
          } else if (this.withinLimits(admission) && this.makeRoom()) {
            if (w.length === 0 && this.lazy && !asleep) {
              // Nothing to read yet: known and counted, not opened (issue 11).
              this.dormant.set(hex, { key: w.key, admission })
              this.count(admission, 1)
              this.updateStats()
              heard.push({ key: w.key, length: 0, start: 0, proof: admission.proof })
              continue
            }
            feed = this.hooks.open(w.key, admission)
            if (w.length > 0) this.heardLength.set(hex, w.length)
            if (asleep) woken.push(feed)
            else added.push(feed)
          } else {
            this.stats.admission.refused++
            continue
          }
        } else if (!feed) {
          if (!this.trials || !this.makeTrialRoom()) continue
          feed = this.hooks.open(w.key, null)
        }
      }
      const hinted = this.hint(feed, w)
      if (hinted) feed.hintStart = w.start
      this.hooks.announced(feed, hinted, w.length)
    }
    if (heard.length > 0) {
      this.channels.announce(heard)
      this.hooks.heard?.(heard.map((w) => w.key))
    }
    if (woken.length > 0) {
      // Passed on with their length: peers holding them dormant open them too.
      this.channels.announce(this.announcements(woken))
      if (this.hooks.woke) this.hooks.woke(woken)
      else this.hooks.added(woken)
    }
    if (added.length === 0) return
    // Gossip admitted writers onwards, so members who are never online together still meet.
    this.channels.announce(this.announcements(added))
    this.hooks.added(added)
  }

  // The admission a writer's proof gives, or null (a refusal counted when there was a proof).
  private admissionOf(w: WriterAnnouncement): Admission | null {
    if (this.unchecked) return { owner: null, device: null, proof: w.proof ?? null }
    if (!w.proof || !this.checker) return null
    const admission = this.checker.check(w.key, w.proof)
    if (admission === null) this.stats.admission.refused++
    return admission
  }

  /**
   * Admits a core on trial: a proof arrived, or (members) one of its blocks verified. False
   * if its identity or device is over its limit, or it was admitted already.
   */
  admit(feed: F, admission: Admission): boolean {
    if (feed.local || feed.admission !== null || feed.dropped) return false
    if (!this.withinLimits(admission)) {
      this.stats.admission.refused++
      return false
    }
    this.unproven.delete(feed.key.toString('hex'))
    feed.admission = admission
    this.count(admission, 1)
    this.updateStats()
    return true
  }

  /** A member verified a block of a core on trial: it is admitted, saved and passed on. */
  admitVerified(feed: F, owner: Buffer, device: Buffer): void {
    if (!this.admit(feed, { owner: owner.toString('hex'), device: device.toString('hex'), proof: null })) return
    this.channels.announce(this.announcements([feed]))
    this.hooks.added([feed])
  }

  /** Drops a core for good this session (it broke a rule no honest writer breaks). */
  drop(feed: F): void {
    const hex = feed.key.toString('hex')
    if (this.banned.size >= MAX_BANNED) this.banned.delete(this.banned.values().next().value!)
    this.banned.add(hex)
    this.remove(feed)
  }

  private remove(feed: F): void {
    const hex = feed.key.toString('hex')
    if (this.feeds.get(hex) !== feed || feed.local) return
    this.feeds.delete(hex)
    this.unproven.delete(hex)
    this.heardLength.delete(hex)
    if (feed.admission) this.count(feed.admission, -1)
    feed.dropped = true
    this.updateStats()
    this.hooks.removed(feed)
  }

  private withinLimits(admission: Admission): boolean {
    if (admission.owner !== null && (this.owners.get(admission.owner) ?? 0) >= this.perIdentity) return false
    if (admission.device !== null && (this.devices.get(admission.device) ?? 0) >= MAX_CORES_PER_DEVICE) return false
    return true
  }

  private count(admission: Admission, delta: number): void {
    for (const [map, key] of [
      [this.owners, admission.owner],
      [this.devices, admission.device]
    ] as const) {
      if (key === null) continue
      const n = (map.get(key) ?? 0) + delta
      if (n > 0) map.set(key, n)
      else map.delete(key)
    }
  }

  // A place for an admitted core: free, or taken from a core on trial (the oldest), or from an
  // admitted core that holds nothing yet (the first admitted). Cores with blocks stay.
  private makeRoom(): boolean {
    if (this.feeds.size + this.dormant.size < MAX_WRITERS) return true
    const sleeper = this.dormant.entries().next()
    if (!sleeper.done) {
      this.dormant.delete(sleeper.value[0])
      this.count(sleeper.value[1].admission, -1)
      this.stats.admission.evicted++
      this.updateStats()
      return true
    }
    const oldest = this.unproven.values().next()
    if (!oldest.done) {
      this.evict(this.feeds.get(oldest.value)!)
      return true
    }
    for (const feed of this.feeds.values()) {
      if (!feed.local && feed.core.length === 0) {
        this.evict(feed)
        return true
      }
    }
    return false
  }

  // A place on trial: the oldest core on trial makes way, so a flood of cores without proofs
  // churns only the trial places, never an admitted core.
  private makeTrialRoom(): boolean {
    if (this.unproven.size >= this.maxUnproven) {
      const oldest = this.unproven.values().next()
      if (oldest.done) return false
      this.evict(this.feeds.get(oldest.value)!)
    }
    return this.feeds.size < MAX_WRITERS
  }

  private evict(feed: F): void {
    this.stats.admission.evicted++
    this.remove(feed)
  }

  // `writers` counts the admitted cores (and this node's own), not the ones on trial.
  private updateStats(): void {
    this.stats.writers = this.feeds.size - this.unproven.size + this.dormant.size
    this.stats.admission.unproven = this.unproven.size
  }

  // A peer's word that the writer's blocks below `w.start` expired is kept as a hint (never a
  // fact: see History and RelayedRoom) if it is above what this node verified and within the
  // core's verified length. While that length is not known yet (0), the latest word is kept,
  // replacing one that the length, once known, showed to be out of reach.
  private hint(feed: F, w: WriterAnnouncement): boolean {
    const length = feed.core.length
    if (w.start <= feed.start || w.start > w.length) return false
    if (length > 0 && w.start > length) return false
    return w.start > feed.hintStart || feed.hintStart > length
  }

  /** Closes every core; with `forget`, first deletes what this node stored of them. */
  async close(forget: boolean): Promise<void> {
    if (forget) {
      // Leaving deletes each core from storage: its blocks, its tree, its key and its
      // discovery key (compaction, scheduled by the node, then takes them out of the files).
      await Promise.all([...this.feeds.values()].map((f) => purge(f.core)))
      return
    }
    await Promise.all([...this.feeds.values()].map((f) => f.core.close().catch(() => {})))
  }
}

// Deletes a core and everything stored for it: its blocks and tree, and the entries that
// hold its key and discovery key. Hypercore 11 has no public call for it yet (its `purge`
// reaches a method the core lacks), so this goes to the storage as Hypercore's own audit
// does for a corrupt core. If that fails, the blocks are cleared at least.
async function purge(core: Hypercore): Promise<void> {
  const storage = (core as unknown as { state?: { storage?: CoreStorage } }).state?.storage
  if (core.length > 0) await core.clear(0, core.length).catch(() => {})
  await core.close().catch(() => {})
  if (!storage?.store?.deleteCore || !storage.core) return
  await storage.store.deleteCore(storage.core).catch(() => {})
}

interface CoreStorage {
  store?: { deleteCore?(ptr: object): Promise<void> }
  core?: object
}

// How long a discarded core still clears blocks that were being verified when it was dropped.
const DISCARD_GRACE = 2000

/**
 * Closes a core that left a room's set, deleting what was stored of it. The session that
 * fetched is closed first, so no more is asked for; a block already being verified then may
 * still land, and is cleared as it does, for a short grace.
 */
export async function discardCore(core: Hypercore): Promise<void> {
  await core.ready()
  const clearing = core.session()
  await clearing.ready()
  clearing.on('download', (index: number) => {
    clearing.clear(index, index + 1).catch(() => {})
  })
  await core.close()
  if (clearing.length > 0) await clearing.clear(0, clearing.length)
  setTimeout(() => void clearing.close().catch(() => {}), DISCARD_GRACE).unref()
}
