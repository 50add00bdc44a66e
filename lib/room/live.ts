// The live path, the measured fast path (docs/PERFORMANCE.md): a few fresh blocks also go
// straight to the members online, and arrive in one trip instead of Hypercore's several
// storage and network round trips. A reader shows them at once, and reconciles with the
// Hypercore copy of the same index when it arrives. A member can sign live blocks it never
// stores, so what a reader shows from the channel is bounded: blocks just past what Hypercore
// has verified of the core, few records each, few at a time, each withdrawn unless Hypercore
// confirms it in time.
import b4a from 'b4a'
import { equalBytes } from '../bytes.js'
import { decodeMessageBlock, MAX_RECORD_BYTES, type BlockBody, type DecodedBlock, type LiveBlock } from '../messages.js'
import { messageKindOf } from './apply.js'
import type { RoomChannel } from './channel.js'
import Hypercore from 'hypercore'
import type { Feed } from './feed.js'
import { verifyBlock, type Rejections } from './ingest.js'
import { storeLive } from './live-store.js'
import { clearBlocks } from './clear-blocks.js'
import { replicatesOn } from './topology.js'
import type { Records } from './records.js'
import type { Signers } from './signers.js'

// A live block a member verified and showed is passed on once, so members with no connection
// to its writer get it in a few hops instead of waiting for Hypercore: to every member that
// takes the writer's core from this node, up to FORWARD_MAX (chosen at random past it), and to
// make up FORWARD_FANOUT, to others replicating the core here, chosen at random; and only
// MAX_HOPS hops from its writer. A member that takes the core from this node counts on it: a
// frame it does not get is a block it downloads (at 80 members, up to a third of all blocks
// at some members when frames went to three members at random).
export const FORWARD_FANOUT = 3
export const FORWARD_MAX = 16
export const MAX_HOPS = 3
// Appends of at most this many blocks are also sent straight to members online.
const LIVE_MAX_BLOCKS = 4
// Appends whose blocks hold more records than this are left to Hypercore alone; readers show
// no live block that holds more.
export const LIVE_MAX_RECORDS = 32
// How far past a writer's verified length a live block may sit: a few appends that Hypercore
// has not announced yet. Anything further waits for Hypercore.
export const LIVE_WINDOW = 32
// Blocks shown from the channel and not yet confirmed by Hypercore, at most: per writer, and in
// the room. More wait for Hypercore.
const MAX_UNCONFIRMED = 64
// Blocks of a writer shown and not yet stored that are stored at once, not with the next batch.
const STORE_BATCH = MAX_UNCONFIRMED / 2
const MAX_UNCONFIRMED_ROOM = 256
// How long, in ms, a block shown from the channel may wait for its Hypercore copy before its
// messages are withdrawn. Hypercore delivers it in well under a second when its author stored
// it, on a machine that keeps up. On one that does not (80 members writing back to back on two
// cores: docs/PERFORMANCE.md), Hypercore's copies of a writer came in more than 10 s late while
// its verified length kept growing, and members withdrew thousands of messages their writers
// had stored. So a block waits while Hypercore makes progress on its core: it is withdrawn
// once CONFIRM_TIMEOUT has passed both since it was shown and since the core's verified length
// last grew, and at the latest MAX_CONFIRM_WAIT after it was shown.
export const CONFIRM_TIMEOUT = 10_000
// The longest, in ms, a block shown from the channel waits for Hypercore's copy. What a writer
// gains by appending now and then while a block it never stores waits (ahead of its core, at
// most LIVE_WINDOW blocks): that block shown for this long instead of CONFIRM_TIMEOUT. A
// writer that appends past it has it contradicted, and withdrawn, as its copy arrives.
export const MAX_CONFIRM_WAIT = 30_000

// Reservoir sampling: `item`, the `seen`-th candidate, takes a place in `out` (at most `max`).
function sample<T>(out: T[], item: T, seen: number, max: number): void {
  if (out.length < max) out.push(item)
  else {
    const j = Math.floor(Math.random() * seen)
    if (j < max) out[j] = item
  }
}

/**
 * When, ms, a block shown from the channel at `shownAt` is withdrawn if Hypercore has not
 * confirmed it, given when the core's verified length last grew (`grewAt`).
 */
export function withdrawAt(shownAt: number, grewAt: number): number {
  return Math.max(shownAt + CONFIRM_TIMEOUT, Math.min(grewAt + CONFIRM_TIMEOUT, shownAt + MAX_CONFIRM_WAIT))
}

// Whether `Records.withdrawBlock` takes back the whole effect of showing this block: it holds
// messages only. A block with anything else (edits, reactions, governance) is verified first.
function withdrawable(body: BlockBody): boolean {
  for (const r of body.records) if (messageKindOf(r.type) === null) return false
  return true
}

export class LivePath {
  // The room id that block signatures cover.
  private readonly roomId: Buffer
  private readonly channels: { readonly size: number } & Iterable<RoomChannel>
  private readonly feeds: { get(hex: string): Feed | undefined }
  private readonly signers: Pick<Signers, 'signerOf' | 'isRevokedAt'>
  private readonly records: Pick<Records, 'load' | 'withdrawBlock' | 'expired'>
  private readonly rejections: Rejections
  // Writers with blocks shown and not yet confirmed, and when each such block was shown.
  private readonly pending: Set<Feed>
  private readonly shownAt: WeakMap<object, number>
  // Per writer, the highest index of a block withdrawn for want of confirmation: its live
  // blocks are not shown again until Hypercore has verified the core past it.
  private readonly withdrawnTo: WeakMap<Feed, number>
  // Writers whose device sent a block straight to this node that failed its signature check:
  // their blocks are checked before they are shown from then on (see `receive`).
  private readonly checkFirst = new WeakSet<Feed>()
  private unconfirmed: number
  // The writer of the last live frame received (see `receive`).
  private lastFeed: Feed | null = null
  // Withdraws what Hypercore did not confirm in time; runs while anything is unconfirmed.
  private timer: NodeJS.Timeout | null
  // The room's block encryption key: live blocks are sealed again as their cores store them.
  private readonly encryptionKey: Buffer
  private readonly blockKeys: WeakMap<Feed, Buffer>
  // Called with blocks stored from live copies: what a download would have counted.
  private readonly onstored: (feed: Feed, bytes: number) => void
  // Called when blocks stored from live copies were cleared again (below a prune's floor): the
  // node compacts its storage, so their ciphertext leaves the disk.
  private readonly onerased: () => void
  // Whether this node opened a core on a channel itself (Topology.openedHere): where a core
  // replicates and this node did not open it, the peer takes it from here.
  private readonly openedHere: (feed: Feed, channel: RoomChannel) => boolean
  // Blocks stored from their live copies, and blocks Hypercore still had to download after
  // they were shown live (tests count both: one delivery per message per member).
  readonly counts: { storedLive: number; fetchedAfterLive: number; forwarded: number; received: number }
  /**
   * Called once, with the length the core will have, before this node's next live frames go
   * out (then cleared): the room announces its core's first blocks ahead of them (Room._open).
   */
  beforeSend: ((length: number) => void) | null = null

  constructor(
    roomId: Buffer,
    channels: { readonly size: number } & Iterable<RoomChannel>,
    feeds: { get(hex: string): Feed | undefined },
    signers: Pick<Signers, 'signerOf' | 'isRevokedAt'>,
    records: Pick<Records, 'load' | 'withdrawBlock' | 'expired'>,
    rejections: Rejections,
    encryptionKey: Buffer,
    onstored: (feed: Feed, bytes: number) => void,
    openedHere: (feed: Feed, channel: RoomChannel) => boolean,
    onerased: () => void = () => {}
  ) {
    this.roomId = roomId
    this.channels = channels
    this.feeds = feeds
    this.signers = signers
    this.records = records
    this.rejections = rejections
    this.pending = new Set()
    this.shownAt = new WeakMap()
    this.withdrawnTo = new WeakMap()
    this.unconfirmed = 0
    this.timer = null
    this.encryptionKey = encryptionKey
    this.blockKeys = new WeakMap()
    this.onstored = onstored
    this.onerased = onerased
    this.openedHere = openedHere
    this.counts = { storedLive: 0, fetchedAfterLive: 0, forwarded: 0, received: 0 }
  }

  /** Stops the withdrawal timer; the room is closing. */
  close(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  /**
   * Before the room closes: stores what this node showed from live frames and Hypercore has
   * not delivered, so that it is on disk when the room opens again. Blocks the core's verified
   * length covers are stored at once; for the rest, while members are connected, this waits up
   * to `ms` for the length (the writer appends what it sent live within about a second, see
   * APPEND_WINDOW in outbox.ts). What is still beyond it then is fetched again next time, like
   * any block not yet stored.
   */
  async storeShown(ms: number): Promise<void> {
    const deadline = Date.now() + ms
    const feeds = [...this.pending].filter((feed) => !feed.dropped && feed.unconfirmed.size > 0)
    await Promise.all(
      feeds.map(async (feed) => {
        let last = 0
        for (const index of feed.unconfirmed.keys()) if (index > last) last = index
        if (feed.core.length <= last && this.channels.size > 0) await grown(feed.core, last + 1, deadline - Date.now())
        if (feed.core.length > feed.seen) await this.store(feed)
      })
    )
  }

  // The other members a block this node is about to show is passed on to, and the frame they
  // get. Each block is shown once per index, so each member passes it on at most once: a
  // member cannot make another send more than FORWARD_MAX frames for any block its writer
  // signed, and a block is passed on only once its signature is checked (`receive`). Frames
  // without the clear bytes (older writers) are not passed on, since those who get them could
  // not store them without a download. Only to members who replicate the writer's core with
  // this node (lib/room/topology.ts): a member connected to the writer replicates the core
  // with the writer alone, and has the frame already. Null: nobody.
  private forwardTo(feed: Feed, live: LiveBlock, from: RoomChannel | null): { frame: LiveBlock; to: RoomChannel[] } | null {
    const hops = live.hops ?? 0
    if (!live.padding || hops >= MAX_HOPS || this.channels.size <= 1) return null
    // The members who take the core from this node (up to FORWARD_MAX), then, up to
    // FORWARD_FANOUT in all, a random few of the others replicating it here (this node's own
    // picks); reservoir sampling, one pass.
    const picked: RoomChannel[] = []
    const rest: RoomChannel[] = []
    let served = 0
    let others = 0
    for (const channel of this.channels) {
      if (channel === from || !channel.member || !replicatesOn(feed.core, channel.stream)) continue
      if (channel.device !== null && feed.owner !== null && equalBytes(channel.device, feed.owner)) continue
      if (!this.openedHere(feed, channel)) sample(picked, channel, ++served, FORWARD_MAX)
      else sample(rest, channel, ++others, FORWARD_FANOUT)
    }
    for (const channel of rest) if (picked.length < FORWARD_FANOUT) picked.push(channel)
    if (picked.length === 0) return null
    return { frame: { key: live.key, index: live.index, block: live.block, padding: live.padding, hops: hops + 1 }, to: picked }
  }

  private forward(forward: { frame: LiveBlock; to: RoomChannel[] } | null): void {
    if (forward === null) return
    for (const channel of forward.to) channel.sendLive(forward.frame)
    this.counts.forwarded += forward.to.length
  }

  /** How many members this node is connected to in the room. */
  get peers(): number {
    return this.channels.size
  }

  /** Whether an append of `blocks` blocks holding `records` records each goes out live. */
  wants(blocks: number, records: number[]): boolean {
    if (this.channels.size === 0 || blocks > LIVE_MAX_BLOCKS) return false
    // Readers show no live block with more records: such a block waits for Hypercore.
    return !records.some((n) => n > LIVE_MAX_RECORDS)
  }

  /**
   * Sends blocks just signed for indexes `index`… of this node's core `key` to the members
   * online, with the clear bytes their encryption will carry. Bulk writes are left to
   * Hypercore alone, which batches them better: false then.
   */
  send(key: Buffer, index: number, blocks: Buffer[], records: number[], paddings: Buffer[] | null = null): boolean {
    if (!this.wants(blocks.length, records)) return false
    if (this.beforeSend !== null) {
      const before = this.beforeSend
      this.beforeSend = null
      before(index + blocks.length)
    }
    for (let i = 0; i < blocks.length; i++) {
      const frame: LiveBlock = { key, index: index + i, block: blocks[i]! }
      if (paddings) frame.padding = paddings[i]!
      for (const channel of this.channels) channel.sendLive(frame)
    }
    return true
  }

  /**
   * A member sent a block live (its writer, or a member passing it on): shown if its writer's
   * known signer signed it for that index, then passed on once (see `forward`).
   */
  receive(live: LiveBlock, from: RoomChannel | null = null): void {
    this.counts.received++
    // Live frames come writer after writer of the same core: the last one found answers
    // without hex and a lookup, while it is still in the room's set (a core that leaves it is
    // marked dropped, and never comes back as the same Feed).
    let feed = this.lastFeed
    if (feed === null || feed.dropped || !equalBytes(feed.key, live.key)) {
      feed = this.feeds.get(live.key.toString('hex')) ?? null
      this.lastFeed = feed
    }
    // Only for a writer whose device is known (Feed.owner), and only what is not yet seen: a
    // member cannot slip a block into someone else's core or ahead of its real one.
    if (!feed || feed.local || feed.owner === null || live.index < feed.start) return
    if (live.index < feed.seen || feed.unconfirmed.has(live.index)) return
    // Only just past what Hypercore verified: a block far ahead would never be confirmed.
    if (live.index >= Math.max(feed.core.length, feed.seen) + LIVE_WINDOW) return
    if (feed.unconfirmed.size >= MAX_UNCONFIRMED || this.unconfirmed >= MAX_UNCONFIRMED_ROOM) return
    if (feed.core.length <= (this.withdrawnTo.get(feed) ?? -1)) return
    let decoded: DecodedBlock
    try {
      decoded = decodeMessageBlock(live.block)
    } catch {
      this.rejections.live()
      return
    }
    const { body } = decoded
    // Honest writers send none larger; such a block is shown once Hypercore has it.
    if (body.records.length > LIVE_MAX_RECORDS) return
    const signer = this.signers.signerOf(body)
    if (signer === null || !equalBytes(signer, feed.owner) || this.signers.isRevokedAt(signer, feed, live.index, body)) {
      this.rejections.live()
      return
    }
    // Not an expired block, which is not shown and so could be sent again and again.
    if (this.records.expired(body)) return
    const forward = this.forwardTo(feed, live, from)
    // A block of messages straight from its writer's device, on the connection that device
    // proved with a presence signed for that connection's Noise key (Members.onPresence), is
    // the device's word already: when nobody is to get it from this node, it is shown first,
    // and its signature checked right after, in the same turn, before it is kept for storing.
    // One that fails is withdrawn and counted (test/hostile/live.test.ts). Anything else is
    // checked before it is shown, and a block to pass on is checked and passed on first: each
    // hop then adds a verification, not a whole apply.
    // A writer whose device sent one block that failed its check gets every later one checked
    // first: it can make a member show and withdraw one message of its own, not a stream of them.
    if (forward === null && from !== null && from.device !== null && !this.checkFirst.has(feed) && equalBytes(from.device, signer) && withdrawable(body)) {
      const loaded = this.records.load(feed, live.index, body, true)
      if (!verifyBlock(this.roomId, feed, live.index, decoded, signer)) {
        this.checkFirst.add(feed)
        if (loaded === 'ok') this.records.withdrawBlock(feed, live.index, body.seq, body.records.length)
        this.rejections.live()
        return
      }
      if (loaded !== 'ok') return
    } else {
      if (!verifyBlock(this.roomId, feed, live.index, decoded, signer)) {
        this.rejections.live()
        return
      }
      this.forward(forward)
      if (this.records.load(feed, live.index, body, true) !== 'ok') return
    }
    const shown = { seq: body.seq, count: body.records.length, block: live.block, padding: live.padding ?? null }
    feed.unconfirmed.set(live.index, shown)
    if (live.index >= feed.liveTo) feed.liveTo = live.index + 1
    this.shownAt.set(shown, Date.now())
    this.pending.add(feed)
    this.unconfirmed++
    if (this.timer === null) this.schedule(CONFIRM_TIMEOUT)
    // Hypercore already knows the core is this long (the frame came late): store it now. So
    // too when many blocks wait for the batch (see History.onAppend), rather than refuse more.
    if (live.index < feed.core.length && (live.index === feed.seen || feed.unconfirmed.size >= STORE_BATCH)) void this.store(feed)
  }

  // Hypercore delivered block `index`: if a different block had come live for that index (its
  // author's append failed after sending it), the messages shown from it are withdrawn.
  confirm(feed: Feed, index: number, seq: number, count: number, bodyBytes: Buffer): void {
    const live = feed.unconfirmed.get(index)
    if (live) {
      this.counts.fetchedAfterLive++
      this.settle(feed, index)
      if (live.seq === seq && live.count === count) return
      this.withdraw(feed, index, live)
    }
    // The same records shown live for a later index: sent before an earlier append failed,
    // this batch then took its place. They are this block's now, confirmed.
    for (const [other, shown] of feed.unconfirmed) {
      if (shown.seq !== seq || shown.count !== count) continue
      // The very records shown, not others under the same numbers.
      let same = false
      try {
        same = b4a.equals(decodeMessageBlock(shown.block).bodyBytes, bodyBytes)
      } catch {}
      if (!same) continue
      this.settle(feed, other)
      feed.loaded.delete(other)
      feed.markLoaded(index, seq, count)
      return
    }
  }

  /**
   * Hypercore delivered block `index`, byte for byte the one shown live: confirmed with no
   * decoding. False if it differs (or never came live); the caller then decodes it.
   */
  confirmSame(feed: Feed, index: number, block: Buffer): boolean {
    const live = feed.unconfirmed.get(index)
    if (!live || !b4a.equals(live.block, block)) return false
    this.counts.fetchedAfterLive++
    this.settle(feed, index)
    return true
  }

  /**
   * Hypercore's verified length of `feed` reached blocks shown live: stores them from their
   * live copies, verified by Hypercore against the writer's signed tree (see live-store.ts),
   * so nobody downloads them again. True once every block below that length is stored and
   * delivered; false leaves the rest to Hypercore's fetch. One run per writer at a time.
   */
  store(feed: Feed): Promise<boolean> {
    const run = (feed.storing ?? Promise.resolve(true)).then(() => this.storeNow(feed))
    const mine = run.catch(() => false)
    feed.storing = mine
    void mine.then((done) => {
      if (feed.storing === mine) feed.storing = null
      feed.readEnd = done ? 'stored live' : 'stored live, not all'
    })
    return mine
  }

  private async storeNow(feed: Feed): Promise<boolean> {
    const to = feed.core.length
    if (feed.seen >= to) return true
    if (feed.fresh || feed.skipped !== null || feed.dropped) return false
    // Blocks that came with no live copy and were fetched and delivered (History's fetchLive)
    // are stepped over.
    const from = await this.stepOver(feed, feed.seen, to)
    if (from > feed.seen) feed.seen = from
    if (from >= to) return true
    if (!feed.unconfirmed.has(from)) return false
    // Stored here like a download: within the quota, or left to the fetch that waits for it.
    const granted = feed.fetchBudget(to - from)
    if (granted <= 0) return false
    let blockKey = this.blockKeys.get(feed)
    if (!blockKey) this.blockKeys.set(feed, (blockKey = Hypercore.blockEncryptionKey(feed.key, this.encryptionKey)))
    const stored = await storeLive(feed.core, blockKey, from, from + granted, (i) => {
      const live = feed.unconfirmed.get(i)
      // An oversized block is left to the download, which drops its core (see Room).
      if (!live?.padding || live.block.byteLength > MAX_RECORD_BYTES) return null
      return { block: live.block, padding: live.padding }
    })
    if (stored.indexes.length === 0) return false
    // Hypercore verified each against the signed tree: byte for byte the writer's block.
    for (const i of stored.indexes) if (feed.unconfirmed.has(i)) this.settle(feed, i)
    this.counts.storedLive += stored.indexes.length
    // A prune that moved the writer's start while these were being stored has cleared below
    // it already, and none goes back there: what landed below it leaves again at once, as a
    // late download does (Room), uncounted.
    // One clear from the lowest to the highest of them: all of that is below the start.
    let bytes = stored.bytes
    let lowest = Infinity
    let highest = -1
    for (let k = 0; k < stored.indexes.length; k++) {
      const index = stored.indexes[k]!
      if (index >= feed.start) continue
      bytes -= stored.sizes[k]!
      lowest = Math.min(lowest, index)
      highest = Math.max(highest, index)
    }
    if (highest >= 0) {
      await clearBlocks(feed.core, lowest, highest + 1)
      this.onerased()
    }
    this.onstored(feed, bytes)
    const seen = await this.stepOver(feed, feed.seen, to, new Set(stored.indexes))
    if (seen > feed.seen) feed.seen = seen
    return feed.seen >= to
  }

  // The first index from `from` (below `to`) that is neither among `stored` nor delivered from
  // Hypercore's copy (loaded, not shown live waiting for its copy) and on disk.
  private async stepOver(feed: Feed, from: number, to: number, stored: Set<number> | null = null): Promise<number> {
    while (from < to) {
      if (stored?.has(from)) from++
      else if (feed.loaded.has(from) && !feed.unconfirmed.has(from) && (await feed.core.has(from))) from++
      else break
    }
    return from
  }

  private settle(feed: Feed, index: number): void {
    feed.unconfirmed.delete(index)
    this.unconfirmed--
    if (feed.unconfirmed.size === 0) this.pending.delete(feed)
  }

  // Takes back the messages shown from a live block; Hypercore's copy, if it ever comes, is
  // then loaded like any other block.
  private withdraw(feed: Feed, index: number, live: { seq: number; count: number }): void {
    this.records.withdrawBlock(feed, index, live.seq, live.count)
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => this.expire(), Math.max(delay, 0))
  }

  // Withdraws the blocks Hypercore did not confirm in time (see `withdrawAt`): their author
  // never stored them (or a member signed blocks it never meant to store).
  private expire(): void {
    this.timer = null
    const now = Date.now()
    let next = Infinity
    for (const feed of [...this.pending]) {
      for (const [index, live] of [...feed.unconfirmed]) {
        const at = withdrawAt(this.shownAt.get(live) ?? 0, feed.grewAt)
        if (at > now) {
          next = Math.min(next, at)
          continue
        }
        this.settle(feed, index)
        this.withdraw(feed, index, live)
        this.withdrawnTo.set(feed, Math.max(index, this.withdrawnTo.get(feed) ?? -1))
      }
    }
    if (next !== Infinity) this.schedule(next - now)
  }
}

// Resolves once `core` is at least `length` long, or after `ms`.
function grown(core: Hypercore, length: number, ms: number): Promise<void> {
  if (core.length >= length || ms <= 0) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      core.off('append', check)
      resolve()
    }
    const check = (): void => {
      if (core.length >= length) done()
    }
    const timer = setTimeout(done, ms)
    core.on('append', check)
  })
}
