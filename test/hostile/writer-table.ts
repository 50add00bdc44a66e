// A hostile peer's modified client for the writer table: it seals whatever announcement it
// likes with the channel key (every member and every relay-link holder has it), makes real
// proofs for cores of its own identity, and writes junk cores into its own store.
import c from 'compact-encoding'
import type Corestore from 'corestore'
import Hypercore from 'hypercore'
import { keyPairFromSeed, randomBytes, seal, type KeyPair, type RoomKeys } from '../../lib/crypto.js'
import { certifyDevice, type DeviceCertificate } from '../../lib/identity/device.js'
import { announcement, MAX_ANNOUNCED_WRITERS, type WriterAnnouncement, type WriterProof } from '../../lib/messages.js'
import { makeProof } from '../../lib/room/admission.js'
import type { Backspace, RelayedRoom, Room } from '../../lib/index.js'

interface ChannelInternals {
  channels: Iterable<{ message: { send(b: Buffer): void } }>
  keys: { channelKey: Buffer }
}

/** Sends `writers` on every open channel of `room`, sealed as a peer would, in legal chunks. */
export function announceRaw(room: Room | RelayedRoom, writers: WriterAnnouncement[]): void {
  const { channels, keys } = room as unknown as ChannelInternals
  for (let i = 0; i < writers.length; i += MAX_ANNOUNCED_WRITERS) {
    const chunk = writers.slice(i, i + MAX_ANNOUNCED_WRITERS)
    const box = seal(c.encode(announcement, { writers: chunk }), keys.channelKey)
    for (const channel of channels) channel.message.send(box)
  }
}

/** A writer announcement of a random core, with no proof. */
export function randomWriter(): WriterAnnouncement {
  return { key: randomBytes(32), length: 1, start: 0 }
}

/** A new device of `node`'s identity, certified by it, as a member may make at will. */
export function newDevice(node: Backspace): { keyPair: KeyPair; certificate: DeviceCertificate } {
  const keyPair = keyPairFromSeed(randomBytes(32))
  const certificate = certifyDevice(node.identity, keyPair.publicKey, { createdAt: node.now(), primary: false })
  return { keyPair, certificate }
}

/**
 * A proof, by `device` of the room's member, that it made `coreKey`: valid with the key pair
 * that signs the core (`writer`); without one, the device's claim alone (as builds before
 * version 2 claims made), which members refuse from the network.
 */
export function proofFor(
  room: Room,
  coreKey: Buffer,
  device: { keyPair: KeyPair; certificate: DeviceCertificate },
  writer: KeyPair | null = null
): WriterProof {
  return makeProof((room as unknown as { keys: RoomKeys }).keys, coreKey, device, writer)
}

/** A new core key (never opened) and a valid proof that `device` made it. */
export function claimedCore(room: Room, device: { keyPair: KeyPair; certificate: DeviceCertificate }): { key: Buffer; proof: WriterProof } {
  const writer = keyPairFromSeed(randomBytes(32))
  const key = Hypercore.key(writer.publicKey)
  return { key, proof: proofFor(room, key, device, writer) }
}

/** A valid proof that `device` made `core`, a core of the member's own store (`junkCore`). */
export function proofForCore(room: Room, core: Hypercore, device: { keyPair: KeyPair; certificate: DeviceCertificate }): WriterProof {
  return proofFor(room, core.key!, device, (core as unknown as { keyPair: KeyPair }).keyPair)
}

/** The corestore a node keeps its cores in. */
export function storeOf(node: Backspace): Corestore {
  return (node as unknown as { store: Corestore }).store
}

/** A core of the node's own store, with these blocks appended raw (unencrypted, unsigned junk). */
/**
 * A core of raw blocks made in `node`'s store. With `room`, it is served on the connections
 * where that room's channel is proven, as a hostile member's client would serve it (cores
 * are replicated per room, never the whole store).
 */
export async function junkCore(node: Backspace, blocks: Buffer[], room?: Room): Promise<Hypercore> {
  const core = storeOf(node).get({ keyPair: keyPairFromSeed(randomBytes(32)) })
  await core.ready()
  for (const block of blocks) await core.append(block)
  if (room) (room as unknown as { channels: { replicate(core: Hypercore): void } }).channels.replicate(core)
  return core
}

type Feeds = { size: number; known(hex: string): boolean; get(hex: string): { admission: unknown; core: Hypercore } | undefined; values(): Iterable<{ key: Buffer; admission: unknown }> }

/** The writer table of a room or relayed room. */
export function writersOf(room: Room | RelayedRoom): Feeds {
  return (room as unknown as { writers: Feeds }).writers
}

/** Polls, because a room emits nothing when an announcement is refused. */
export async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((resolve) => setTimeout(resolve, 20))
}

/**
 * The hostile client ignores the writers its peers announce: gossip would otherwise bring its
 * own junk cores back to its room, which would drop them (and their data) as any member does.
 */
export function deafen(room: Room): void {
  ;(room as unknown as { writers: { onAnnouncement(): void } }).writers.onAnnouncement = () => {}
}
