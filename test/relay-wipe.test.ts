// Issue 12: a blind relay applies the Backspace wipe. It cannot read the wipe, so members send
// it a notice signed with the room's admission key (lib/room/wipe-notice.ts); it deletes the
// named blocks from disk, keeps the governance blocks, survives a restart, and ignores notices
// that are forged, from another room, or junk.
import test from 'brittle'
import c from 'compact-encoding'
import { Backspace, type RelayedRoom, type Room } from '../lib/index.js'
import { keyPairFromSeed, randomBytes, seal } from '../lib/crypto.js'
import { makeWipeNotice, type WipeNotice } from '../lib/room/wipe-notice.js'
import { create, createLocalTestnet, receive, waitForPeers } from './helpers/index.js'
import { until } from './helpers/governance.js'
import { scan, scanAfterErase } from './helpers/scan.js'

type CoreView = { length: number; has(i: number): Promise<boolean>; get(i: number, o: object): Promise<Buffer | null> }
type FeedView = { key: Buffer; local: boolean; core: CoreView }
type ChannelView = { member: boolean; sendWipe(n: WipeNotice): void; wipe: { send(b: Buffer): void }; key: Buffer }

const ownFeed = (room: Room): FeedView =>
  [...(room as unknown as { writers: { values(): Iterable<FeedView> } }).writers.values()].find((f) => f.local)!
const relayFeed = (room: RelayedRoom, key: Buffer): FeedView | undefined =>
  (room as unknown as { writers: { get(hex: string): FeedView | undefined } }).writers.get(key.toString('hex'))
const relayChannels = (room: Room): ChannelView[] =>
  [...(room as unknown as { channels: Iterable<ChannelView> }).channels].filter((ch) => !ch.member)

async function poll(cond: () => Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((resolve) => setTimeout(resolve, 25))
}

test('relay wipe: a relay deletes the wiped blocks from disk, keeps governance, and a joiner who reaches only the relay gets none of them', async (t) => {
  const testnet = await createLocalTestnet(t)
  const relayStorage = await t.tmp()
  const relay = await create(t, testnet, { storage: relayStorage, relay: true })
  const a = await create(t, testnet)
  const ra = await a.join('relay-wipe', { password: 'pw' })
  await ra.moderate.topic('wipe me')
  await until(() => ra.owner !== null)
  const kept = await relay.keep(ra.relayLink)
  await waitForPeers(ra as Room, 1)

  const doomed = ['MARKER-relay-wipe-1-51d2', 'MARKER-relay-wipe-2-51d2', 'MARKER-relay-wipe-3-51d2']
  for (const text of doomed) await ra.send(text)
  await ra.flush()
  const own = ownFeed(ra)
  const length = own.core.length
  await poll(async () => {
    const feed = relayFeed(kept, own.key)
    if (!feed || feed.core.length < length) return false
    for (let i = 0; i < length; i++) if (!(await feed.core.has(i))) return false
    return true
  })
  const atRelay = relayFeed(kept, own.key)!
  // The ciphertext of the message blocks, as the relay holds it.
  const needles = new Map<string, Buffer>()
  const doomedBlocks: number[] = []
  for (let i = 0; i < length; i++) {
    const block = await own.core.get(i, {})
    if (block && doomed.some((d) => block.includes(Buffer.from(d)))) {
      doomedBlocks.push(i)
      needles.set(`block ${i}`, (await atRelay.core.get(i, { raw: true }))!)
    }
  }
  t.is(doomedBlocks.length, 3, 'three message blocks at the relay')

  // Hostile notices first: forged, from another room, junk. None changes anything.
  const channel = relayChannels(ra)[0]!
  const cut = { length: own.core.length, keep: [] }
  const forger = keyPairFromSeed(randomBytes(32))
  channel.sendWipe(makeWipeNotice(kept.topic, own.key, cut, forger))
  const other = await a.join('relay-wipe-other', { password: 'pw' })
  const otherKeys = (other as unknown as { keys: { admission: { publicKey: Buffer; secretKey: Buffer } } }).keys
  channel.sendWipe(makeWipeNotice(other.topic, own.key, cut, otherKeys.admission))
  const bad = kept.stats.badAnnouncements
  channel.wipe.send(randomBytes(40))
  channel.wipe.send(seal(c.encode(c.raw, randomBytes(40)), channel.key))
  await until(() => kept.stats.badWipes === 2 && kept.stats.badAnnouncements === bad + 2)
  for (const i of doomedBlocks) t.ok(await atRelay.core.has(i), `block ${i} kept after the hostile notices`)
  t.is(kept.stats.wiped, 0, 'nothing wiped by them')

  await ra.moderate.wipe()
  for (const i of doomedBlocks) await poll(async () => !(await atRelay.core.has(i)))
  await until(() => kept.stats.wiped >= 3)
  t.pass('the relay cleared the wiped blocks')
  const after = 'after the wipe 51d2'
  await ra.send(after)
  await ra.flush()
  const tip = own.core.length
  await poll(async () => atRelay.core.length >= tip && (await atRelay.core.has(tip - 1)))
  t.ok(await atRelay.core.has(0), 'the block that claimed the room stays (governance)')

  // A member's notice that claims the core's whole future (a huge length, keeping every block
  // that exists) must not make the relay refuse the writer's later blocks: that would silence
  // the writer for every member who is offline. The relay holds a cut to the length it has.
  const admission = (ra as unknown as { keys: { admission: { publicKey: Buffer; secretKey: Buffer } } }).keys.admission
  const existing = Array.from({ length: tip }, (_, i) => i)
  channel.sendWipe(makeWipeNotice(kept.topic, own.key, { length: 2 ** 40, keep: existing }, admission))
  const later = 'after a notice that claims the future 51d2'
  await ra.send(later)
  await ra.flush()
  const tip2 = own.core.length
  await poll(async () => atRelay.core.length >= tip2 && (await atRelay.core.has(tip2 - 1)))
  t.pass('the relay still keeps the writer\'s later blocks')
  const heldCut = (atRelay as unknown as { cut: { length: number } | null }).cut
  t.ok(heldCut !== null && heldCut.length <= tip2, 'the cut is held to the core\'s length')
  await a.close()

  // A restart keeps the cut: the relay does not fetch the wiped blocks again, nor serve them.
  await relay.close()
  const relay2 = new Backspace({ storage: relayStorage, bootstrap: testnet.bootstrap, relay: true })
  t.teardown(() => relay2.close())
  await relay2.ready()
  await relay2.eraseNow()
  t.alike(await scanAfterErase(relayStorage, needles), [], 'no wiped ciphertext on the relay disk')

  const b = await create(t, testnet)
  const rb = await b.join('relay-wipe', { password: 'pw' })
  await receive(rb, [after])
  await until(() => rb.owner !== null && rb.settings.topic === 'wipe me')
  t.pass('a joiner who reaches only the relay gets the later message and the governance')
  const texts = (await rb.messages()).map((m) => m.text)
  t.absent(texts.some((x) => x.startsWith('MARKER-relay-wipe')), 'and none of the wiped messages')
  const restored = relay2.relayedRooms[0]!
  const feed = relayFeed(restored, own.key)!
  for (const i of doomedBlocks) t.absent(await feed.core.has(i), `block ${i} still gone at the relay`)
  t.ok(((feed as unknown as { cut: { length: number } | null }).cut?.length ?? 0) > doomedBlocks.at(-1)!, 'the cut survives the restart')
})
