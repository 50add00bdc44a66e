// Following each writer's chain of governance blocks. A node loads only a window of each
// writer's history (the latest page on joining or after an absence, issue 11), but the room's
// governance must not depend on it: every block names its writer's previous block holding a
// GOVERN record (`govPrev`, lib/messages.ts), so from any loaded block the node follows the
// pointers back and feeds each operation it finds to the resolver, reading (and downloading if
// needed) only those blocks, never putting their messages into the timeline.
import { BackspaceError } from '../errors.js'
import { holdsGovernance, type BlockBody } from '../messages.js'
import type { Feed } from '../room/feed.js'
import { MAX_GOV_OPS } from './governance.js'

export interface ChainHost {
  /** Whether the room is closing: nothing more is fetched. */
  readonly closing: boolean
  /** How long to wait for a block no peer may have, in ms. */
  readonly fetchTimeout: number
  /** Block `index` of `feed` decoded and verified like any block, refusals counted; null if refused. */
  verified(feed: Feed, index: number, block: Buffer): BlockBody | null
  /** Feeds the GOVERN records of a verified block to governance, not its messages. */
  loadGovernance(feed: Feed, index: number, body: BlockBody): void
  /** Counts a block whose pointer is refused. */
  reject(feed: Feed, index: number, error: BackspaceError): void
  /** A background task failed. */
  error(err: unknown): void
}

interface FeedChain {
  // Governance blocks of this writer already read (loaded, or reached by the chain): at most
  // MAX_GOV_OPS, like the operations a room holds.
  readonly read: Set<number>
  // Blocks whose pointer was refused, counted once.
  readonly refused: Set<number>
  // Pointers waiting to be followed: [block that names it, the index it names].
  readonly pending: Array<[number, number]>
  running: boolean
}

export class GovernanceChain {
  private readonly host: ChainHost
  private readonly feeds = new Map<Feed, FeedChain>()
  /** Blocks read by following pointers (tests count them). */
  followed = 0

  constructor(host: ChainHost) {
    this.host = host
  }

  /** A verified block of `feed` was loaded: its own operations are known; follow its pointer. */
  onBlock(feed: Feed, index: number, body: BlockBody): void {
    const chain = this.of(feed)
    if (holdsGovernance(body) && chain.read.size < MAX_GOV_OPS) chain.read.add(index)
    const prev = body.govPrev
    if (prev === undefined || prev === null) return
    if (prev < index && chain.read.has(prev)) return
    chain.pending.push([index, prev])
    this.kick(feed, chain)
  }

  // One run per writer at a time; pointers that came in as it ended get a run of their own.
  private kick(feed: Feed, chain: FeedChain): void {
    if (chain.running) return
    chain.running = true
    this.run(feed, chain)
      .catch((err: unknown) => this.host.error(err))
      .finally(() => {
        chain.running = false
        if (chain.pending.length > 0 && !this.host.closing) this.kick(feed, chain)
      })
  }

  /** Whether the chain of `feed` is being followed now (tests wait for it to settle). */
  busy(): boolean {
    for (const chain of this.feeds.values()) if (chain.running || chain.pending.length > 0) return true
    return false
  }

  private of(feed: Feed): FeedChain {
    let chain = this.feeds.get(feed)
    if (!chain) {
      chain = { read: new Set(), refused: new Set(), pending: [], running: false }
      this.feeds.set(feed, chain)
    }
    return chain
  }

  private refuse(feed: Feed, chain: FeedChain, index: number, why: string): void {
    if (chain.refused.has(index)) return
    chain.refused.add(index)
    this.host.reject(feed, index, BackspaceError.NOT_ALLOWED(`block ${index}: governance pointer ${why}`))
  }

  private async run(feed: Feed, chain: FeedChain): Promise<void> {
    // Let the blocks loaded in the same pass name their pointers first.
    await Promise.resolve()
    for (let next = chain.pending.pop(); next !== undefined; next = chain.pending.pop()) {
      let [from, at] = next
      for (;;) {
        if (this.host.closing || feed.dropped) return
        // Pointers only go back: forward, at itself, or a loop, the chain stops there.
        if (at >= from) {
          this.refuse(feed, chain, from, at === from ? 'names its own block' : 'points forward')
          break
        }
        if (chain.read.has(at)) break
        // Below the writer's verified start every block expired and was cleared.
        if (at < feed.start) break
        if (chain.read.size >= MAX_GOV_OPS) {
          this.refuse(feed, chain, from, `past ${MAX_GOV_OPS} governance blocks`)
          break
        }
        const [block] = await feed.getRange(at, at + 1, { wait: true, timeout: this.host.fetchTimeout })
        if (this.host.closing) return
        // Not to be had now (cleared, or no peer has it): a later block's pointer tries again.
        if (!block) break
        const body = this.host.verified(feed, at, block)
        if (body === null) break // refused and counted as the block it is
        if (!holdsGovernance(body)) {
          this.refuse(feed, chain, from, 'names a block without governance')
          break
        }
        chain.read.add(at)
        this.followed++
        this.host.loadGovernance(feed, at, body)
        if (body.govPrev === undefined || body.govPrev === null) break
        from = at
        at = body.govPrev
      }
    }
  }
}
