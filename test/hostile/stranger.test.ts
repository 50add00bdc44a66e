// Strangers and relay-link holders at the room channel (issue 10, finding 4): a peer that
// knows one topic, or one room's relay link, learns nothing of the victim's other rooms, is
// no peer of a room it cannot prove, and replicates no core of it.
import test from 'brittle'
import { randomBytes } from 'crypto'
import { parseRelayLink } from '../../lib/links.js'
import type { Room } from '../../lib/index.js'
import { PROTOCOL } from '../../lib/room/channel.js'
import { create, createLocalTestnet, receive, waitForPeers } from '../helpers/index.js'
import { Attacker, echo, HYPERCORE_PROTOCOL, RawChannel, relayHolder, until } from './attacker.js'

type Core = { discoveryKey: Buffer; key: Buffer }

// The discovery keys of a room's writer cores, as the victim holds them.
function discoveryKeys(room: Room): string[] {
  const writers = (room as unknown as { writers: { values(): Iterable<{ core: Core }> } }).writers
  return [...writers.values()].map((f) => f.core.discoveryKey.toString('hex'))
}

function frames(channels: RawChannel[]): number {
  return channels.reduce((n, ch) => n + ch.frames.length, 0)
}

test('a stranger on one room\'s topic learns nothing of another room and is no peer of either', async (t) => {
  const testnet = await createLocalTestnet(t)
  const victim = await create(t, testnet)
  const member = await create(t, testnet)
  const ra = await victim.join('open lobby')
  const rb = await victim.join('the back room', { password: 'only we know' })
  await ra.send('a before')
  await rb.send('b before')

  // The stranger answers every room channel the victim opens, echoing the victim's own open.
  const attacker = await Attacker.create(t, testnet)
  const answered: RawChannel[] = []
  attacker.responders.push((open) => {
    const ch = echo(open)
    if (ch) answered.push(ch)
    return ch
  })
  const conn = await attacker.join(ra.topic)
  await until(() => ra.stats.badProofs >= 1 && rb.stats.badProofs >= 1)
  // Rooms A and B, and the account log: the residual is that a stranger sees how many.
  // Plus the identity's two inboxes (this epoch's and the last, lib/social): five in all.
  t.is(attacker.opensOf(conn).length, 5, 'the stranger sees how many channels were opened, no more')
  t.is(ra.stats.peers, 0, 'an echoed proof does not open room A')
  t.is(rb.stats.peers, 0, 'nor room B')

  // Traffic in both rooms, with a real member of B online to receive it live.
  const mb = await member.join('the back room', { password: 'only we know' })
  await waitForPeers(rb, 1)
  const atMember = receive(mb, ['b after'])
  await rb.send('b after')
  await ra.send('a after')
  await victim.setProfile({ name: 'victim' })
  await atMember
  t.is(rb.stats.peers, 1, 'the real member is B\'s only peer')

  t.is(frames(answered), 0, 'no announcement, presence or live frame reached the stranger')
  t.is(attacker.opensOf(conn, HYPERCORE_PROTOCOL).length, 0, 'no core was offered to the stranger: not one discovery key')
  t.absent((conn as unknown as { destroyed: boolean }).destroyed, 'the connection survives the failed proofs')
})

test('a room\'s channel id differs on every connection, so it links nothing across them', async (t) => {
  const testnet = await createLocalTestnet(t)
  const victim = await create(t, testnet)
  const room = await victim.join('lobby')
  const first = await Attacker.create(t, testnet)
  const second = await Attacker.create(t, testnet)
  const c1 = await first.join(room.topic)
  const c2 = await second.join(room.topic)
  // The room, the account log and the two inboxes (lib/social), on each connection.
  await until(() => first.opensOf(c1).length === 4 && second.opensOf(c2).length === 4)
  const ids1 = first.opensOf(c1).map((o) => o.id!.toString('hex'))
  const ids2 = second.opensOf(c2).map((o) => o.id!.toString('hex'))
  t.ok(ids1.every((id) => id.length === 64))
  t.absent(ids1.some((id) => ids2.includes(id)), 'two connections, unrelated ids')
  t.is(room.stats.peers, 0, 'and neither stranger counts as a peer')
})

test('a relay-link holder meets its room at the relay level only, and no other room', async (t) => {
  const testnet = await createLocalTestnet(t)
  const victim = await create(t, testnet)
  const member = await create(t, testnet)
  const ra = await victim.join('kept room', { password: 'pw' })
  const rb = await victim.join('other room', { password: 'pw' })
  await ra.send('a1')
  await rb.send('b1')

  const attacker = await Attacker.create(t, testnet)
  const kept: RawChannel[] = []
  const hold = relayHolder(parseRelayLink(ra.relayLink).relaySecret)
  attacker.responders.push((open) => {
    const ch = hold(open)
    if (ch) kept.push(ch)
    return ch
  })
  attacker.responders.push(echo)
  const conn = await attacker.join(ra.topic)
  await until(() => ra.stats.peers === 1 && rb.stats.badProofs >= 1)
  t.pass('room A opened to the relay-level proof, on the same connection where B\'s echo failed')
  t.is(rb.stats.peers, 0)

  const ma = await member.join('kept room', { password: 'pw' })
  await waitForPeers(ra, 2)
  const atMember = receive(ma, ['a2'])
  await ra.send('a2')
  await atMember
  await until(() => kept[0]!.frames.some((f) => f.type === 0))
  t.pass('writer announcements reach the relay-link holder')
  t.absent(kept[0]!.frames.some((f) => f.type !== 0), 'no live block or presence: those are for members')

  // Room A's cores replicate to it, as to a relay; room B's are never offered.
  const offered = () => attacker.opensOf(conn, HYPERCORE_PROTOCOL).map((o) => o.id!.toString('hex'))
  const aKeys = discoveryKeys(ra)
  await until(() => offered().length >= 1)
  t.ok(offered().every((k) => aKeys.includes(k)), 'only room A\'s cores are offered')
  const bKeys = discoveryKeys(rb)
  t.absent(offered().some((k) => bKeys.includes(k)), 'no core of room B')
})

test('a forged member proof from a relay-link holder closes the channel and is counted', async (t) => {
  const testnet = await createLocalTestnet(t)
  const victim = await create(t, testnet)
  const room = await victim.join('kept room', { password: 'pw' })
  const attacker = await Attacker.create(t, testnet)
  const channels: RawChannel[] = []
  const hold = relayHolder(parseRelayLink(room.relayLink).relaySecret, { fakeMemberProof: randomBytes(32) })
  attacker.responders.push((open) => {
    const ch = hold(open)
    if (ch) channels.push(ch)
    return ch
  })
  const conn = await attacker.join(room.topic)
  await until(() => room.stats.badProofs >= 1)
  t.is(room.stats.peers, 0, 'a member proof that does not verify opens nothing')
  await channels[0]!.closed
  t.pass('the victim closed the channel')
  t.is(channels[0]!.frames.length, 0)
  t.absent((conn as unknown as { destroyed: boolean }).destroyed, 'the connection stays up')
})

test('a peer cannot make the victim open or serve a core by asking for its discovery key', async (t) => {
  const testnet = await createLocalTestnet(t)
  const victim = await create(t, testnet)
  const ra = await victim.join('lobby')
  const rb = await victim.join('private', { password: 'pw' })
  await rb.send('secret')
  const attacker = await Attacker.create(t, testnet)
  const conn = await attacker.join(ra.topic)
  // Rooms A and B, the account log, and the identity's two inboxes (lib/social).
  await until(() => attacker.opensOf(conn, PROTOCOL).length === 5)

  // A stranger who somehow learnt a discovery key of room B's core asks for it directly.
  // Hypercore's own handshake: flags, then a capability (which the stranger cannot make).
  const handshake = Buffer.concat([Buffer.from([0]), randomBytes(32)])
  for (const dk of [...discoveryKeys(rb), ...discoveryKeys(ra)]) {
    const ask = new RawChannel(conn, { protocol: HYPERCORE_PROTOCOL, id: Buffer.from(dk, 'hex'), handshake })
    t.is(await ask.opened, false, 'the victim refuses to open a core it did not offer')
  }
  t.absent((conn as unknown as { destroyed: boolean }).destroyed)
})
