// Which connections each writer core replicates on (issue 11). Replicating every core on every
// connection makes each append cost every member O(members) messages: each member that stores
// the blocks tells every peer it has them, and every peer checks and answers. A member needs a
// core only from its writer while it is connected to that writer: the writer's upgrade reaches
// it directly, and the live frame before it. So a core replicates on a connection when:
//   - the peer is a relay (it keeps every core for members offline), or
//   - the core is this node's own (the peer needs it from its writer), or the peer's, or
//   - this node does not know the core's writer yet (no block of it verified), or is not
//     connected to that writer: then it takes the core from a few members (SPREAD), picked
//     by the distance between their key and the core's, so the choice is the same at every
//     check while the connections are, and a core's readers do not all talk to each other.
// Only the side that needs a core opens it; the other answers the open. A side that opened a
// core it no longer needs (its writer came online) closes it, and a side that still needs a
// core the peer closed opens it again. What a peer can make this node do: answer its open of
// a core this node holds (as always), and, by the presence it signs for this connection (a
// replay does not verify), be taken for the writer of the cores its own device signs.
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
// A session that was open and closed (the peer no longer needed it, but this node does) is
// opened again after this long (ms) from this node's previous open of it: at once, mostly, but
// a peer that closes every session cannot make this node open it more than once a second.
const REOPEN_CLOSED_AFTER = 1000
// How many members a node takes a core from when it is not connected to the core's writer.
export const SPREAD = 4
// A core none of whose blocks verified after this long (ms) is opened on every connection.
const UNKNOWN_WRITER_GRACE = 10_000
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

/**
 * One core as one pass of placements sees it, each part computed at most once and only if a
 * placement asks: its picks (only while its writer is offline), and the connections it has a
 * session on. A core open on every connection (this node's own) has a session per member, so
 * asking `replicatesOn` for each connection cost O(members²) per pass.
 */
interface FeedPass {
  picks(): Set<RoomChannel>
  replicates(stream: object): boolean
}

/** What this node did with a core on one connection. */
interface Placement {
  /** This node opened the session itself (it needed it), so it may close it. */
  opened: boolean
  /** When it last opened it, ms. */
  openedAt: number
  /** A session there closed after it was open (the peer closed it, say). */
  closed: boolean
  /**
   * This node answers the peer's open of the core there (`answer`): paired once, until
   * Hypercore's replicator is detached from the connection, which unpairs it.
   */
  answered: boolean
}

export class Topology {
  private readonly channels: Iterable<RoomChannel>
  private readonly feeds: () => Iterable<Feed>
  // Writers' device keys as hex, computed once per key.
  private readonly hexes = new WeakMap<Buffer, string>()
  // Cores whose writer is not known yet (no block verified), since when (ms).
  private readonly unknownSince = new WeakMap<Feed, number>()
  // Per connection and core, what this node did there (see `Placement`).
  private readonly placed = new WeakMap<object, Map<Hypercore, Placement>>()
  private timer: NodeJS.Timeout | null = null
  private queued: NodeJS.Timeout | null = null
  // What the queued check looks at: everything, or the channels and cores a change touched.
  private dirtyAll = false
  private readonly dirtyChannels = new Set<RoomChannel>()
  private readonly dirtyFeeds = new Set<Feed>()
  // Cores whose reopen on some connection waits (see `later`).
  private readonly waitingFeeds = new Set<Feed>()
  private waiting: NodeJS.Timeout | null = null
  private closed = false
  /**
   * Cores opened on a connection, closed on one because their writer came online, checks run
   * (`full`: of every core on every connection), and placements looked at (one core on one
   * connection).
   */
  readonly counts = { opened: 0, closed: 0, checks: 0, full: 0, places: 0 }

  constructor(channels: Iterable<RoomChannel>, feeds: () => Iterable<Feed>) {
    this.channels = channels
    this.feeds = feeds
  }

  close(): void {
    this.closed = true
    if (this.timer !== null) clearInterval(this.timer)
    if (this.queued !== null) clearTimeout(this.queued)
    if (this.waiting !== null) clearTimeout(this.waiting)
    this.waiting = null
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
    for (const feed of this.feeds()) this.place(feed, channel, online, this.pass(feed))
  }

  /** A core the room just opened: places it on every channel, and watches its sessions. */
  added(feed: Feed): void {
    if (this.closed) return
    // A session that closed may be one this node still needs (the peer closed its side).
    feed.core.on('peer-remove', (peer: { stream: object }) => {
      this.placement(peer.stream, feed.core).closed = true
      this.soon({ feed })
    })
    this.placeFeed(feed, this.online())
  }

  /**
   * Something that decides placement changed: with no argument, anything (a channel closed, so
   * every core's picks may have); `channel`: its peer said which device it is, so the cores on
   * that channel, and the cores that device writes, are placed again; `feed`: that core's
   * writer became known, or one of its sessions closed. Changes within SOON ms are acted on
   * together, and a change costs a row or a column of the cores × channels table, not all of
   * it: joining a room of N members costs each member O(N²) placements, not O(N³).
   */
  soon(change: { channel?: RoomChannel; feed?: Feed } = {}): void {
    if (this.closed) return
    if (change.channel) this.dirtyChannels.add(change.channel)
    if (change.feed) this.dirtyFeeds.add(change.feed)
    if (!change.channel && !change.feed) this.dirtyAll = true
    if (this.queued !== null) return
    this.queued = setTimeout(() => {
      this.queued = null
      this.recheck()
    }, SOON)
  }

  // Acts on the changes `soon` collected.
  private recheck(): void {
    if (this.dirtyAll) {
      this.dirtyAll = false
      this.dirtyChannels.clear()
      this.dirtyFeeds.clear()
      return this.check()
    }
    const channels = [...this.dirtyChannels]
    const feeds = new Set(this.dirtyFeeds)
    this.dirtyChannels.clear()
    this.dirtyFeeds.clear()
    if (this.closed) return
    this.counts.checks++
    const online = this.online()
    // A device that just proved itself: the cores it writes are not needed from others now.
    const devices = new Set<string>()
    for (const channel of channels) if (channel.deviceHex !== null) devices.add(channel.deviceHex)
    if (devices.size > 0) {
      for (const feed of this.feeds()) if (feed.owner !== null && devices.has(this.hexOf(feed.owner))) feeds.add(feed)
    }
    // One pass per core for all the channels: its picks and sessions are looked up once.
    const passes = new Map<Feed, FeedPass>()
    for (const channel of channels) {
      if (!channel.opened) continue
      for (const feed of this.feeds()) {
        if (feeds.has(feed)) continue
        let pass = passes.get(feed)
        if (!pass) passes.set(feed, (pass = this.pass(feed)))
        this.place(feed, channel, online, pass)
      }
    }
    for (const feed of feeds) this.placeFeed(feed, online)
  }

  // Places one core on every open channel.
  private placeFeed(feed: Feed, online: Set<string>): void {
    const pass = this.pass(feed)
    for (const channel of this.channels) if (channel.opened) this.place(feed, channel, online, pass)
  }

  // See `FeedPass`: the sessions are read when first asked, before this pass opens or closes any.
  private pass(feed: Feed): FeedPass {
    let picks: Set<RoomChannel> | null = null
    let streams: Set<object> | null = null
    return {
      picks: () => (picks ??= this.picks(feed)),
      replicates: (stream) => {
        if (streams === null) {
          streams = new Set()
          for (const peer of replicatorOf(feed.core)?.peers ?? []) streams.add(peer.stream)
        }
        return streams.has(stream)
      }
    }
  }

  private hexOf(key: Buffer): string {
    let hex = this.hexes.get(key)
    if (hex === undefined) this.hexes.set(key, (hex = b4a.toString(key, 'hex')))
    return hex
  }

  private placement(stream: object, core: Hypercore): Placement {
    let cores = this.placed.get(stream)
    if (!cores) this.placed.set(stream, (cores = new Map()))
    let p = cores.get(core)
    if (!p) cores.set(core, (p = { opened: false, openedAt: -Infinity, closed: false, answered: false }))
    return p
  }

  // Places `feed` again once `ms` have passed (a reopen that must wait), with any other core
  // waiting by then: a peer that closes sessions costs a column per reopen, not the table.
  private later(ms: number, feed: Feed): void {
    if (this.closed) return
    this.waitingFeeds.add(feed)
    if (this.waiting !== null) return
    this.waiting = setTimeout(() => {
      this.waiting = null
      for (const f of this.waitingFeeds) this.dirtyFeeds.add(f)
      this.waitingFeeds.clear()
      this.recheck()
    }, Math.max(ms, SOON))
  }

  /** Places every core on every channel. */
  check(): void {
    if (this.closed) return
    this.counts.checks++
    this.counts.full++
    const online = this.online()
    for (const feed of this.feeds()) this.placeFeed(feed, online)
  }

  /**
   * Whether this node opens `feed`'s core on `channel` (see the top of this file); `picks`
   * gives what `picks(feed)` returns for the same channels.
   */
  needed(feed: Feed, channel: RoomChannel, online: Set<string>, picks: () => Set<RoomChannel>): boolean {
    if (!channel.member || feed.local) return true
    const device = channel.deviceHex
    if (feed.owner === null) {
      // No block verified yet: the device that claimed the core when it was announced, a few
      // members, and every member once that has not been enough for a while.
      if (device !== null && device === feed.admission?.device) return true
      if (picks().has(channel)) return true
      let since = this.unknownSince.get(feed)
      if (since === undefined) this.unknownSince.set(feed, (since = Date.now()))
      return Date.now() - since >= UNKNOWN_WRITER_GRACE
    }
    const owner = this.hexOf(feed.owner)
    if (device === owner) return true
    if (online.has(owner)) return false
    return picks().has(channel)
  }

  /**
   * The SPREAD member channels whose peer's key is closest to the core's (XOR of the first
   * four bytes): where this node takes the core from while its writer is not connected.
   */
  picks(feed: Feed): Set<RoomChannel> {
    const dk = feed.core.discoveryKey
    const members: Array<{ channel: RoomChannel; distance: number }> = []
    for (const channel of this.channels) {
      if (!channel.member || !channel.opened) continue
      const distance = dk === null ? 0 : (channel.remotePublicKey.readUInt32BE(0) ^ dk.readUInt32BE(0)) >>> 0
      members.push({ channel, distance })
    }
    if (members.length <= SPREAD) return new Set(members.map((m) => m.channel))
    members.sort((x, y) => x.distance - y.distance)
    return new Set(members.slice(0, SPREAD).map((m) => m.channel))
  }

  // The devices this node has a member channel to, as hex.
  private online(): Set<string> {
    const out = new Set<string>()
    for (const channel of this.channels) {
      if (channel.member && channel.deviceHex !== null && channel.opened) out.add(channel.deviceHex)
    }
    return out
  }

  private place(feed: Feed, channel: RoomChannel, online: Set<string>, pass: FeedPass): void {
    const core = feed.core
    this.counts.places++
    if (feed.dropped || core.closing || core.closed) return
    const stream = channel.stream
    const at = this.placed.get(stream)?.get(core)
    if (this.needed(feed, channel, online, pass.picks)) {
      if (pass.replicates(stream)) return
      const now = Date.now()
      // A session that was open and closed: again at once, but not more than once a second.
      // An open never answered: again after REOPEN_AFTER.
      const wait = at === undefined ? 0 : at.openedAt + (at.closed ? REOPEN_CLOSED_AFTER : REOPEN_AFTER) - now
      if (wait > 0) return this.later(wait, feed)
      const r = replicatorOf(core)
      const p = this.placement(stream, core)
      if (r !== null && r.attached(Protomux.from(stream))) r.detachFrom(Protomux.from(stream))
      p.answered = false
      p.opened = true
      p.openedAt = now
      p.closed = false
      this.counts.opened++
      replicateOn(core, stream)
      return
    }
    if (at?.opened && pass.replicates(stream)) {
      // Opened here while needed, and not needed any more: close this side's session.
      at.opened = false
      this.counts.closed++
      const r = replicatorOf(core)!
      r.detachFrom(Protomux.from(stream))
      at.answered = false
      for (const peer of [...r.peers]) if (peer.stream === stream) peer.channel.close()
    }
    if (at?.answered) return
    this.answer(core, stream)
  }

  // Answers the peer's open of `core` on `stream`, unless Hypercore already does (it does once
  // attached). Once per connection and core: every check of a core it does not need would
  // otherwise pair it again (protomux keys the pairing by the core's discovery key in hex).
  private answer(core: Hypercore, stream: object): void {
    const mux = Protomux.from(stream)
    const r = replicatorOf(core)
    if (r === null || r.attached(mux) || core.discoveryKey === null) return
    this.placement(stream, core).answered = true
    mux.pair({ protocol: 'hypercore/alpha', id: core.discoveryKey }, () => {
      if (this.closed || core.closing || core.closed) return
      // Hypercore creates its session on the next microtask, before protomux checks for one.
      return replicateOn(core, stream)
    })
  }
}
