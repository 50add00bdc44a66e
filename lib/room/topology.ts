// Which connections each writer core replicates on (issue 11). Replicating every core on every
// connection makes each append cost every member O(members) messages: each member that stores
// the blocks tells every peer it has them, and every peer checks and answers. A member needs a
// core only from its writer while it is connected to that writer: the writer's upgrade reaches
// it directly, and the live frame before it. So a core replicates on a connection when:
//   - the peer is a relay (it keeps every core for members offline), or
//   - the core is this node's own (the peer needs it from its writer), or the peer's, or
//   - this node does not know the core's writer yet (no block of it verified), or is not
//     connected to that writer: then it takes the core from whoever has it, as before.
// Only the side that needs a core opens it; the other answers the open. A side that opened a
// core it no longer needs (its writer came online) closes it, and a side that still needs a
// core the peer closed opens it again. Nothing a peer sends decides what this node replicates:
// it can only open a core this node holds, which this node answers, as it always did.
import b4a from 'b4a'
import type Hypercore from 'hypercore'
import Protomux from 'protomux'
import { replicateOn, type RoomChannel } from './channel.js'
import type { Feed } from './feed.js'

// How often, in ms, every core is checked against every connection (a safety net; changes
// such as a writer's connection opening or closing are acted on at once).
const CHECK_INTERVAL = 3000
// An open the peer has not answered (it did not know the core yet) is made again after this long.
const REOPEN_AFTER = 5000
// A change is acted on after this many ms, once for all the changes meanwhile: a peer that
// sends presence after presence costs one check per this long, not one per message.
const SOON = 50

/** The replication state Hypercore keeps per core, as far as this file needs it (internal). */
interface Replicator {
  peers: Array<{ stream: object; channel: { close(): void } }>
  attached(mux: object): boolean
  detachFrom(mux: object): void
}

function replicatorOf(core: Hypercore): Replicator | null {
  return (core as unknown as { core?: { replicator?: Replicator } | null }).core?.replicator ?? null
}

/** Whether `core` has a replication session open with the peer on `stream`. */
export function replicatesOn(core: Hypercore, stream: object): boolean {
  const r = replicatorOf(core)
  return r !== null && r.peers.some((p) => p.stream === stream)
}

export class Topology {
  private readonly channels: Iterable<RoomChannel>
  private readonly feeds: () => Iterable<Feed>
  // Per connection, the cores this node opened on it itself (it needed them), and when.
  private readonly mine = new WeakMap<object, Map<Hypercore, number>>()
  private timer: NodeJS.Timeout | null = null
  private queued: NodeJS.Timeout | null = null
  private closed = false
  /** Cores opened on a connection, and closed on one because their writer came online. */
  readonly counts = { opened: 0, closed: 0 }

  constructor(channels: Iterable<RoomChannel>, feeds: () => Iterable<Feed>) {
    this.channels = channels
    this.feeds = feeds
  }

  close(): void {
    this.closed = true
    if (this.timer !== null) clearInterval(this.timer)
    if (this.queued !== null) clearTimeout(this.queued)
    this.timer = null
    this.queued = null
  }

  /** A channel opened (its peer proved the room): places every core on it. */
  opened(channel: RoomChannel): void {
    if (this.closed) return
    if (this.timer === null) {
      this.timer = setInterval(() => this.check(), CHECK_INTERVAL)
      this.timer.unref?.()
    }
    const online = this.online()
    for (const feed of this.feeds()) this.place(feed, channel, online)
  }

  /** A core the room just opened: places it on every channel, and watches its sessions. */
  added(feed: Feed): void {
    if (this.closed) return
    // A session that closed may be one this node still needs (the peer closed its side).
    feed.core.on('peer-remove', () => this.soon())
    const online = this.online()
    for (const channel of this.channels) this.place(feed, channel, online)
  }

  /** Something that decides placement changed (a peer said who it is, a channel closed). */
  soon(): void {
    if (this.closed || this.queued !== null) return
    this.queued = setTimeout(() => {
      this.queued = null
      this.check()
    }, SOON)
  }

  /** Places every core on every channel. */
  check(): void {
    if (this.closed) return
    const online = this.online()
    const feeds = [...this.feeds()]
    for (const channel of this.channels) {
      if (!channel.opened) continue
      for (const feed of feeds) this.place(feed, channel, online)
    }
  }

  /** Whether `feed` replicates with the peer on `channel` (see the top of this file). */
  needed(feed: Feed, channel: RoomChannel, online: Set<string>): boolean {
    if (!channel.member || feed.local || feed.owner === null) return true
    const owner = b4a.toString(feed.owner, 'hex')
    if (channel.device !== null && b4a.toString(channel.device, 'hex') === owner) return true
    return !online.has(owner)
  }

  // The devices this node has a member channel to, as hex.
  private online(): Set<string> {
    const out = new Set<string>()
    for (const channel of this.channels) {
      if (channel.member && channel.device !== null && channel.opened) out.add(b4a.toString(channel.device, 'hex'))
    }
    return out
  }

  private place(feed: Feed, channel: RoomChannel, online: Set<string>): void {
    const core = feed.core
    if (feed.dropped || core.closing || core.closed) return
    const stream = channel.stream
    let mine = this.mine.get(stream)
    if (this.needed(feed, channel, online)) {
      if (replicatesOn(core, stream)) return
      const at = mine?.get(core)
      if (at !== undefined && Date.now() - at < REOPEN_AFTER) return
      // Opened before and closed (by the peer, or unanswered): open it anew.
      const r = replicatorOf(core)
      if (r !== null && r.attached(Protomux.from(stream))) r.detachFrom(Protomux.from(stream))
      if (!mine) this.mine.set(stream, (mine = new Map()))
      mine.set(core, Date.now())
      this.counts.opened++
      replicateOn(core, stream)
      return
    }
    if (mine?.has(core) && replicatesOn(core, stream)) {
      // Opened here while needed, and not needed any more: close this side's session.
      mine.delete(core)
      this.counts.closed++
      const r = replicatorOf(core)!
      r.detachFrom(Protomux.from(stream))
      for (const peer of [...r.peers]) if (peer.stream === stream) peer.channel.close()
    }
    this.answer(core, stream)
  }

  // Answers the peer's open of `core` on `stream`, unless Hypercore already does (it does once attached).
  private answer(core: Hypercore, stream: object): void {
    const mux = Protomux.from(stream)
    const r = replicatorOf(core)
    if (r === null || r.attached(mux) || core.discoveryKey === null) return
    mux.pair({ protocol: 'hypercore/alpha', id: core.discoveryKey }, () => {
      if (this.closed || core.closing || core.closed) return
      // Hypercore creates its session on the next microtask, before protomux checks for one.
      return replicateOn(core, stream)
    })
  }
}
