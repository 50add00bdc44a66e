// Which connections each writer core replicates on (issue 11). Replicating every core on every
// connection makes each append cost every member O(members) messages: each member that stores
// the blocks tells every peer it has them, and every peer checks and answers. A member needs a
// core only from its writer while it is connected to that writer: the writer's upgrade reaches
// it directly, and the live frame before it. So a core replicates on a connection when:
//   - the peer is a relay (it keeps every core for members offline), or
//   - the core is this node's own (the peer needs it from its writer), or the peer's, or
//   - this node does not know the core's writer yet (no block of it verified), or is not
//     connected to that writer, or is and the writer serves no session of the core on the
//     connection WRITER_GRACE after it opened (its end lost the room's channel, say, while
//     this end kept it): then it takes the core from a few members (SPREAD), picked
//     by the distance between their key and the core's, so the choice is the same at every
//     check while the connections are, and a core's readers do not all talk to each other.
// Only the side that needs a core opens it; the other answers the open. A side that opened a
// core it no longer needs (its writer came online) closes it, and a side that still needs a
// core the peer closed opens it again.
//
// Each session costs memory whatever the core holds (Hypercore's peer state, bitfields, a
// protomux channel: about 12 KiB of heap and buffers, measured on a member joining a room of
// 40, where it held five sessions per core of a member it was not connected to), and most cores
// in a room are idle: every member writes one block on joining, and many never write again. So
// a core this node has caught up with (no peer announces it longer, nothing of it is being
// fetched) whose length has not moved for IDLE_AFTER is idle, and taken from IDLE_SPREAD
// members instead of SPREAD; the sessions this node opened beyond those are closed. It is wide
// again once it grows (an upgrade reaching this node over a session left), once a peer
// announces it longer than this node holds it, once something of it is fetched, or once its
// picks change. A session closed for idleness is not a lost path: both of its sides remember it
// (either may have closed it, as either may have opened it), and whichever side's copy of the
// core grows next tells the other (a writer announcement, with the new length) unless a session
// is open between them again by then; the side told widens and opens its picks, the side that
// grew widens and opens its own. So every pair of members that would replicate the core while
// it is wide learns of its growth, as before, one announcement and an open later. A peer told
// of the growth is not told again until another session of the core closes between them.
//
// What a peer can make this node do: answer its open of a core this node holds (as always),
// and, by the presence it signs for this connection (a replay does not verify), be taken for
// the writer of the cores its own device signs; by announcing a core longer than it is, keep
// that core wide here (what every core was before idle cores were narrowed); by closing a
// session, be told once when the core next grows here (one announcement per close, and this
// node opens a session the peer closed at most once a second).
import b4a from 'b4a'
import type Hypercore from 'hypercore'
import Protomux from 'protomux'
import { replicateOn, type RoomChannel } from './channel.js'
import type { Feed } from './feed.js'
import { every, type Tick } from './ticker.js'

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
// How long (ms) after a channel to a writer opened a session of the writer's core is waited
// for on it, before the core is taken from other members as if the writer were offline.
export const WRITER_GRACE = 5000
// A change is acted on after this many ms, once for all the changes meanwhile: a peer that
// sends presence after presence costs one check per this long, not one per message.
const SOON = 50
// A core caught up here whose length has not moved for this long (ms) is idle (see the top).
export const IDLE_AFTER = 30_000
// How many members an idle core is taken from while its writer is not connected: the closest
// of its picks, so that an upgrade still reaches this node over a session most of the time,
// and the announcement of a closed session's other side is only the fallback.
export const IDLE_SPREAD = 1

/** The replication state Hypercore keeps per core, as far as this file needs it (internal). */
interface Replicator {
  peers: Array<{ stream: object; channel: { close(): void }; remoteLength: number }>
  attached(mux: object): boolean
  detachFrom(mux: object): void
  // What this node is fetching of the core: blocks, a newer length, byte seeks, ranges
  // (Hypercore 11's internals: were they gone, no core would be idle, as before).
  _blocks?: { isEmpty(): boolean }
  _upgrade?: object | null
  _seeks?: unknown[]
  _ranges?: unknown[]
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
  /** The core is idle here (see the top of this file): taken from IDLE_SPREAD members. */
  idle(): boolean
}

/** The devices this node has a member channel open to (hex), each with its channels. */
type Online = Map<string, RoomChannel[]>

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
  /**
   * A session there closed (either side closed it, an idle core's say): the peer is told when
   * this node's copy of the core next grows, unless a session is open there again by then.
   */
  tell: boolean
}

/** What the topology asks of the room. */
export interface TopologyHooks {
  /** Tells the peers on `channels` how long `feed`'s core is here now (a writer announcement). */
  tell(feed: Feed, channels: RoomChannel[]): void
}

export class Topology {
  private readonly channels: Iterable<RoomChannel>
  private readonly feeds: () => Iterable<Feed>
  // Writers' device keys as hex, computed once per key.
  private readonly hexes = new WeakMap<Buffer, string>()
  // Cores whose writer is not known yet (no block verified), since when (ms).
  private readonly unknownSince = new WeakMap<Feed, number>()
  // When each channel opened here, and each core was added (ms), for WRITER_GRACE.
  private readonly openedAt = new WeakMap<RoomChannel, number>()
  private readonly addedAt = new WeakMap<Feed, number>()
  // Per connection and core, what this node did there (see `Placement`).
  private readonly placed = new WeakMap<object, Map<Hypercore, Placement>>()
  private timer: Tick | null = null
  private queued: NodeJS.Timeout | null = null
  // What the queued check looks at: everything, or the channels and cores a change touched.
  private dirtyAll = false
  private readonly dirtyChannels = new Set<RoomChannel>()
  private readonly dirtyFeeds = new Set<Feed>()
  // Cores whose reopen on some connection waits (see `later`).
  private readonly waitingFeeds = new Set<Feed>()
  private waiting: NodeJS.Timeout | null = null
  private closed = false
  private readonly hooks: TopologyHooks
  // When each core last grew here, or was heard to be longer, or was fetched from, or its
  // picks changed (ms): it is idle IDLE_AFTER after that, if caught up.
  private readonly activeAt = new WeakMap<Feed, number>()
  // Cores whose last placement took them as idle: they are placed again once they wake.
  private readonly narrowed = new WeakSet<Feed>()
  // Cores with a session closed on some connection (`Placement.tell`): their next growth
  // looks for whom to tell; any other growth costs nothing here.
  private readonly tellPending = new WeakSet<Feed>()
  // Per core, which of its SPREAD picks it had (a sum of their keys' first four bytes) when
  // last placed wide: a core whose picks changed meanwhile is wide again, so that each pick it
  // closes when it narrows again is a pick that remembers to tell this node.
  private readonly widePicks = new WeakMap<Feed, number>()
  /** How long (ms) a caught-up core waits for growth before it is idle; tests make it short. */
  idleAfter = IDLE_AFTER
  /** How long (ms) a connected writer has to serve its core before it is taken from others (WRITER_GRACE). */
  writerGrace = WRITER_GRACE
  /** How many members an idle core is taken from; tests set 0 to see announcements alone work. */
  idleSpread = IDLE_SPREAD
  /**
   * Cores opened on a connection, closed on one because their writer came online or they
   * went idle, checks run (`full`: of every core on every connection), placements looked at
   * (one core on one connection), cores placed as idle (`narrowed`, once each time one goes
   * idle), and peers told of a core's growth (`told`).
   */
  readonly counts = { opened: 0, closed: 0, checks: 0, full: 0, places: 0, narrowed: 0, told: 0 }

  constructor(channels: Iterable<RoomChannel>, feeds: () => Iterable<Feed>, hooks: TopologyHooks) {
    this.channels = channels
    this.feeds = feeds
    this.hooks = hooks
  }

  close(): void {
    this.closed = true
    this.timer?.stop()
    if (this.queued !== null) clearTimeout(this.queued)
    if (this.waiting !== null) clearTimeout(this.waiting)
    this.waiting = null
    this.timer = null
    this.queued = null
  }

  /** A channel opened (its peer proved the room): places every core on it. */
  opened(channel: RoomChannel): void {
    if (this.closed) return
    this.openedAt.set(channel, Date.now())
    if (this.timer === null) {
      // On the period's shared tick: one wakeup for every room's check (lib/room/ticker.ts).
      this.timer = every(CHECK_INTERVAL, () => this.check())
    }
    const online = this.online()
    for (const feed of this.feeds()) this.place(feed, channel, online, this.pass(feed))
  }

  /** A core the room just opened: places it on every channel, and watches its sessions. */
  added(feed: Feed): void {
    if (this.closed) return
    const now = Date.now()
    this.activeAt.set(feed, now)
    this.addedAt.set(feed, now)
    // A session that closed may be one this node still needs (the peer closed its side). One
    // that closed once the core had been silent a while here (half of idleAfter: the two
    // sides saw its last growth at about the same time) was closed for the core's idleness,
    // by either side: its peer is told when the core next grows here (see the top of this
    // file). One that closed while the core grew (its writer came online, say) was not, and
    // its peer is not told: a tell is a writer announcement, and one that comes while blocks
    // arrive live may have the peer fetch blocks it would have stored from their live copies.
    feed.core.on('peer-remove', (peer: { stream: object }) => {
      const p = this.placement(peer.stream, feed.core)
      p.closed = true
      // Whoever opens the next session there owns it: were `opened` kept, this node would close
      // a session the peer opened later because it needs it, every time it was opened, once a
      // second, for as long as this node does not need the core there itself.
      p.opened = false
      if (!feed.local && Date.now() - feed.grewAt >= this.idleAfter / 2) {
        p.tell = true
        this.tellPending.add(feed)
      }
      this.soon({ feed })
    })
    this.placeFeed(feed, this.online())
  }

  /**
   * `feed`'s core grew here (the room calls this on Hypercore's 'append', which an upgrade
   * from a peer emits too, after setting `feed.grewAt`): it is not idle, and the peers on
   * connections where a session of it closed are told, where none is open again (they may
   * have narrowed it, and learn of the growth from nobody else). Costs a lookup in two sets unless the core was idle or lost a
   * session since it last grew.
   */
  grew(feed: Feed): void {
    if (this.closed || feed.dropped) return
    this.activeAt.set(feed, feed.grewAt)
    if (this.narrowed.delete(feed)) this.soon({ feed })
    if (!this.tellPending.delete(feed)) return
    const pass = this.pass(feed)
    const told: RoomChannel[] = []
    for (const channel of this.channels) {
      const p = this.placed.get(channel.stream)?.get(feed.core)
      if (p === undefined || !p.tell) continue
      p.tell = false
      if (channel.opened && channel.member && !pass.replicates(channel.stream)) told.push(channel)
    }
    if (told.length === 0) return
    this.counts.told += told.length
    this.hooks.tell(feed, told)
  }

  /**
   * A peer announced `feed`'s core longer than this node holds it: wide again, so that this
   * node takes it from SPREAD members, one of whom (or the peer itself, opening towards this
   * node as its copy grew) has the blocks.
   */
  heard(feed: Feed): void {
    if (this.closed || feed.local) return
    this.activeAt.set(feed, Date.now())
    if (this.narrowed.delete(feed)) this.soon({ feed })
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
  private placeFeed(feed: Feed, online: Online): void {
    const pass = this.pass(feed)
    for (const channel of this.channels) if (channel.opened) this.place(feed, channel, online, pass)
  }

  // See `FeedPass`: the sessions are read when first asked, before this pass opens or closes any.
  private pass(feed: Feed): FeedPass {
    let picks: Set<RoomChannel> | null = null
    let streams: Set<object> | null = null
    let idle: boolean | null = null
    const pass: FeedPass = {
      picks: () => (picks ??= this.picksOf(feed, pass)),
      replicates: (stream) => {
        if (streams === null) {
          streams = new Set()
          for (const peer of replicatorOf(feed.core)?.peers ?? []) streams.add(peer.stream)
        }
        return streams.has(stream)
      },
      idle: () => {
        if (idle === null) {
          idle = this.isIdle(feed)
          if (!idle) this.narrowed.delete(feed)
          else if (!this.narrowed.has(feed)) {
            this.narrowed.add(feed)
            this.counts.narrowed++
          }
        }
        return idle
      }
    }
    return pass
  }

  // Whether `feed` is idle here (see the top of this file): not grown, heard longer or changed
  // picks for idleAfter, no peer on a session announcing it longer, and nothing of it wanted.
  private isIdle(feed: Feed): boolean {
    if (feed.local) return false
    const r = replicatorOf(feed.core)
    if (r === null) return false
    const now = Date.now()
    if (now - (this.activeAt.get(feed) ?? now) < this.idleAfter) return false
    const fetching =
      r._blocks === undefined || !r._blocks.isEmpty() || r._upgrade != null || (r._seeks?.length ?? 0) > 0 || (r._ranges?.length ?? 0) > 0
    if (fetching) {
      // A read of it waits (history paged back, say): wide, so that it is had from anyone.
      this.activeAt.set(feed, now)
      return false
    }
    const length = feed.core.length
    for (const peer of r.peers) if (peer.remoteLength > length) return false
    return true
  }

  // The members this node takes `feed` from while its writer is not connected: its SPREAD
  // picks, or the closest IDLE_SPREAD of them while it is idle and its picks are those it had
  // when last wide.
  private picksOf(feed: Feed, pass: FeedPass): Set<RoomChannel> {
    const sorted = this.sortedPicks(feed)
    let sum = 0
    for (const channel of sorted) sum = (sum + channel.remotePublicKey.readUInt32BE(0)) % 0x100000000
    if (sorted.length > this.idleSpread && pass.idle()) {
      if (this.widePicks.get(feed) === sum) return new Set(sorted.slice(0, this.idleSpread))
      // New picks since it was last wide: wide again, for IDLE_AFTER.
      this.activeAt.set(feed, Date.now())
      this.narrowed.delete(feed)
    }
    this.widePicks.set(feed, sum)
    return new Set(sorted)
  }

  /**
   * Whether this node opened `feed`'s core on `channel` itself (it takes the core from there).
   * A session there that it did not open, the peer did: the peer takes the core from here.
   */
  openedHere(feed: Feed, channel: RoomChannel): boolean {
    return this.placed.get(channel.stream)?.get(feed.core)?.opened ?? false
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
    if (!p) cores.set(core, (p = { opened: false, openedAt: -Infinity, closed: false, answered: false, tell: false }))
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
   * Whether this node opens `feed`'s core on `channel` (see the top of this file); `pass`
   * gives the core's picks for the same channels, and whether it is idle.
   */
  private needed(feed: Feed, channel: RoomChannel, online: Online, pass: FeedPass): boolean {
    if (!channel.member) return true
    // This node's own core, while it has no block, is held unopened by its members (WriterSet's
    // dormant cores): a session of it would be refused, and opened again a second later, on
    // every channel for as long as the room is open. It is placed once it has a block.
    if (feed.local) return feed.core.length > 0
    const device = channel.deviceHex
    if (feed.owner === null) {
      // No block verified yet: the device that claimed the core when it was announced, a few
      // members, and every member once that has not been enough for a while; but a few again
      // once the core is idle here: this node has all that its peers announce of it, and it
      // is not fetching any of it (a block it gave up on at joining, say, and has not asked
      // for since), so nothing is to be found on the other connections.
      if (device !== null && device === feed.admission?.device) return true
      if (pass.picks().has(channel)) return true
      let since = this.unknownSince.get(feed)
      if (since === undefined) this.unknownSince.set(feed, (since = Date.now()))
      return Date.now() - since >= UNKNOWN_WRITER_GRACE && !pass.idle()
    }
    const owner = this.hexOf(feed.owner)
    if (device === owner) return true
    if (this.servedByWriter(feed, online.get(owner), pass)) return false
    return pass.picks().has(channel)
  }

  /**
   * Whether the writer, connected on `channels`, serves its core here: a session of it is open
   * on one of them, or one of them (or the core here) is less than WRITER_GRACE old (the
   * writer opens its core on every member channel, so a session is a round trip away). A
   * connection to the writer that carries no session of its core after that is no path to it
   * (the writer's side of the connection may have lost the room's channel while this side kept
   * it): the core is taken from picks as if the writer were offline, and the live blocks that
   * neighbours pass on reach this node too, since they pass them on to members who take the
   * core from them.
   */
  private servedByWriter(feed: Feed, channels: RoomChannel[] | undefined, pass: FeedPass): boolean {
    if (channels === undefined) return false
    const now = Date.now()
    const added = this.addedAt.get(feed) ?? now
    for (const channel of channels) {
      if (pass.replicates(channel.stream)) return true
      if (now - Math.max(added, this.openedAt.get(channel) ?? now) < this.writerGrace) return true
    }
    return false
  }

  /**
   * The SPREAD member channels whose peer's key is closest to the core's (XOR of the first
   * four bytes), closest first: where this node takes the core from while its writer is not
   * connected.
   */
  private sortedPicks(feed: Feed): RoomChannel[] {
    const dk = feed.core.discoveryKey
    const members: Array<{ channel: RoomChannel; distance: number }> = []
    for (const channel of this.channels) {
      if (!channel.member || !channel.opened) continue
      const distance = dk === null ? 0 : (channel.remotePublicKey.readUInt32BE(0) ^ dk.readUInt32BE(0)) >>> 0
      members.push({ channel, distance })
    }
    members.sort((x, y) => x.distance - y.distance)
    return members.slice(0, SPREAD).map((m) => m.channel)
  }

  // The devices this node has a member channel to, as hex, and their channels.
  private online(): Online {
    const out: Online = new Map()
    for (const channel of this.channels) {
      if (!channel.member || channel.deviceHex === null || !channel.opened) continue
      const list = out.get(channel.deviceHex)
      if (list === undefined) out.set(channel.deviceHex, [channel])
      else list.push(channel)
    }
    return out
  }

  private place(feed: Feed, channel: RoomChannel, online: Online, pass: FeedPass): void {
    const core = feed.core
    this.counts.places++
    if (feed.dropped || core.closing || core.closed) return
    const stream = channel.stream
    const at = this.placed.get(stream)?.get(core)
    if (this.needed(feed, channel, online, pass)) {
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
