// Room internals the topology tests read (lib/room/topology.ts): which peers a core
// replicates with, the room's channels, and its counters.
import type { Backspace, Room } from '../../lib/index.js'
import type { Presence } from '../../lib/messages.js'

export interface Channel {
  stream: { remotePublicKey: Buffer }
  device: Buffer | null
  sendPresence(p: Presence): void
}
export interface Internals {
  outbox: { own: { key: Buffer } }
  writers: { get(hex: string): { core: { peers: Array<{ remotePublicKey: Buffer }> } } | undefined }
  channels: Iterable<Channel>
  roster: { onPresence(p: Presence, channel: Channel): void }
  live: { counts: { forwarded: number } }
  topology: { counts: { opened: number; closed: number; checks: number; full: number; places: number }; close(): void; writerGrace: number }
}
export const internals = (room: Room) => room as unknown as Internals
export const swarmKey = (node: Backspace) => (node as unknown as { swarm: { keyPair: { publicKey: Buffer } } }).swarm.keyPair.publicKey

// The peers (swarm keys, hex) with which `reader` replicates `writer`'s core.
export function sessions(reader: Room, writer: Room): string[] {
  const feed = internals(reader).writers.get(internals(writer).outbox.own.key.toString('hex'))
  return feed ? feed.core.peers.map((p) => p.remotePublicKey.toString('hex')).sort() : []
}

interface SwarmView {
  keyPair: { publicKey: Buffer }
  _firewall: (remotePublicKey: Buffer) => boolean
}
const swarmOf = (node: Backspace) => (node as unknown as { swarm: SwarmView }).swarm

/** Hyperswarm's own firewall (set on the live swarm): the two nodes never connect. */
export function firewall(x: Backspace, y: Backspace): void {
  const kx = swarmOf(x).keyPair.publicKey
  const ky = swarmOf(y).keyPair.publicKey
  swarmOf(x)._firewall = (key) => key.equals(ky)
  swarmOf(y)._firewall = (key) => key.equals(kx)
}

/** Hyperswarm's own firewall: `node` connects to the nodes in `peers` and to no one else. */
export function allowOnly(node: Backspace, peers: Backspace[]): void {
  const keys = peers.map((p) => swarmOf(p).keyPair.publicKey)
  swarmOf(node)._firewall = (key) => !keys.some((k) => k.equals(key))
}
