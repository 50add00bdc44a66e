import Hyperswarm from 'hyperswarm'
import HyperDHT from 'hyperdht'
import { BackspaceError } from './errors.js'

export interface BootstrapNode {
  host: string
  port: number
}

/** Accepts `{ host, port }` objects and `'host:port'` strings. */
export function parseBootstrap(list: ReadonlyArray<string | BootstrapNode>): BootstrapNode[] {
  if (!Array.isArray(list)) throw BackspaceError.INVALID_BOOTSTRAP('bootstrap must be an array')
  return list.map((entry) => {
    if (typeof entry === 'string') {
      const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(entry.trim())
      if (!m) throw BackspaceError.INVALID_BOOTSTRAP(`"${entry}" is not host:port`)
      return checkNode({ host: m[1]!, port: Number(m[2]) }, entry)
    }
    if (entry && typeof entry === 'object') return checkNode({ host: entry.host, port: entry.port }, entry)
    throw BackspaceError.INVALID_BOOTSTRAP(`${String(entry)} is not host:port`)
  })
}

function checkNode(node: BootstrapNode, raw: unknown): BootstrapNode {
  const ok =
    typeof node.host === 'string' &&
    node.host.length > 0 &&
    Number.isInteger(node.port) &&
    node.port > 0 &&
    node.port < 65536
  if (!ok) throw BackspaceError.INVALID_BOOTSTRAP(`${JSON.stringify(raw)} is not host:port`)
  return { host: node.host === 'localhost' ? '127.0.0.1' : node.host, port: node.port }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/**
 * @internal
 * A swarm on the given bootstrap, or on the public DHT when there is none. When every
 * bootstrap node is on loopback (or the list is empty) the DHT binds to 127.0.0.1, so a local testnet never sends
 * traffic to this machine's other addresses.
 */
export function createSwarm(bootstrap: BootstrapNode[] | null, opts: { maxPeers?: number } = {}): Hyperswarm {
  const limits = swarmLimits(opts.maxPeers)
  if (bootstrap === null) return new Hyperswarm(limits)
  // An empty list means offline: no DHT to reach, so nothing to bind beyond loopback either.
  const local = bootstrap.every((n) => isLoopback(n.host))
  const dht = local
    ? // On loopback every node is directly reachable, so no holepunching is needed.
      new HyperDHT({ bootstrap, host: '127.0.0.1', ephemeral: true, firewalled: false })
    : new HyperDHT({ bootstrap })
  return new Hyperswarm({ dht, ...limits })
}

/**
 * @internal
 * How many connections a node dials itself, out of the `maxPeers` it keeps: three eighths
 * (24 of 64), the rest left for peers that dial it.
 *
 * If a node dialled until it held `maxPeers`, the members of a room of more than `maxPeers`
 * could fill up with connections to each other and then refuse a newcomer on every side: it
 * would find the room and never reach it. Since every connection was dialled by one of its
 * ends, a room of N members now holds at most N x 24 connections, an average of 48 per member
 * against 64 slots, so a quarter of all slots stay free however large the room, and messages
 * cross the rest of the mesh by forwarding (lib/room/live.ts). A joiner still dials up to 24
 * members, so small rooms stay a full mesh. Tested in test/hostile/connections.test.ts.
 */
export function dialLimit(maxPeers: number): number {
  return Math.max(1, Math.floor((maxPeers * 3) / 8))
}

/**
 * @internal
 * How many members of one room a node dials itself by default: past that, it dials nobody
 * else for the room and only answers the members who dial it. Every member dialling eight
 * others at random (a DHT node answers a lookup with a random sample of the topic's
 * announcements) makes each member hold about sixteen connections in a room of any size, and
 * a random graph in which each member picks eight others is connected with high probability;
 * messages cross it by forwarding (lib/room/live.ts) within a hop or two. A room of up to nine
 * is still a full mesh. Without the bound a member of a large room held a connection to every
 * member it found, up to `dialLimit` dials plus everyone who dialled it, each with its
 * streams, buffers and replication sessions: memory and the CPU to form the room grew with the
 * room (issue 11). Only connections this node dialled count, so members (or one member's many
 * nodes) who dial it cannot make it stop dialling. Hyperswarm counts against a lookup's limit
 * every announcement it passes on, this node's own and members already connected included, so
 * a lookup may dial fewer than what is left; the next one dials more.
 */
export const ROOM_DIAL_LIMIT = 8

/**
 * @internal
 * How many more members a room's next lookup may dial, when `dialled` of its open channels
 * are on connections this node dialled, out of `limit` (`BackspaceOptions.roomDialLimit`).
 */
export function roomDialBudget(limit: number, dialled: number): number {
  return Math.max(0, limit - dialled)
}

function swarmLimits(maxPeers: number | undefined): { maxPeers?: number; maxClientConnections?: number } {
  if (maxPeers === undefined) return {}
  return { maxPeers, maxClientConnections: dialLimit(maxPeers) }
}

