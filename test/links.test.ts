// Invites and relay links carry a checksum: a typo is INVALID_INVITE, never another room.
import test from 'brittle'
import b4a from 'b4a'
import z32 from 'z32'
import { randomBytes } from 'crypto'
import { expectCode } from './helpers/expect.js'
import { create, createLocalTestnet } from './helpers/index.js'
import { inviteLink, legacyLink, looksLikeLink, parseInvite, parseRelayLink, relayLinkOf } from '../lib/links.js'

// One character of the link body changed to another of the z-base-32 alphabet.
function typo(link: string, at: number): string {
  const colon = link.indexOf(':') + 1
  const i = colon + at
  const alphabet = 'ybndrfg8ejkmcpqxot1uwisza345h769'
  const next = alphabet[(alphabet.indexOf(link[i]!) + 1) % alphabet.length]!
  return link.slice(0, i) + next + link.slice(i + 1)
}

test('links: every one-character typo of an invite or relay link is INVALID_INVITE', async (t) => {
  const secret = randomBytes(32)
  const invite = inviteLink({ secret, name: 'team' })
  t.alike(parseInvite(invite), { secret, name: 'team' }, 'the link itself parses')
  const body = invite.length - invite.indexOf(':') - 1
  let refused = 0
  for (let at = 0; at < body; at++) {
    try {
      parseInvite(typo(invite, at))
    } catch (err) {
      if ((err as { code?: string }).code === 'INVALID_INVITE') refused++
    }
  }
  t.is(refused, body, `all ${body} typos are refused`)
  await expectCode(t, () => parseInvite(invite.slice(0, -3)), 'INVALID_INVITE')
  try {
    parseInvite(typo(invite, 10))
  } catch (err) {
    t.ok(/typo/.test((err as Error).message), 'with a sentence that says it is a typo')
  }

  const relaySecret = randomBytes(32)
  const relay = relayLinkOf(relaySecret)
  t.alike(parseRelayLink(relay).relaySecret, relaySecret)
  await expectCode(t, () => parseRelayLink(typo(relay, 20)), 'INVALID_INVITE')
  // An invite's body under the relay prefix does not pass for a relay link.
  const swapped = 'backspace-relay:' + relay.slice('backspace-relay:'.length)
  t.alike(parseRelayLink(swapped).relaySecret, relaySecret)
  const relayBody = z32.decode(relay.slice('backspace-relay:'.length))
  await expectCode(t, () => parseInvite('backspace:' + z32.encode(relayBody)), 'INVALID_INVITE')
})

test('links: v1 links (no checksum) still parse; mistyped prefixes are not room names', async (t) => {
  const secret = randomBytes(32)
  t.alike(parseInvite(legacyLink('invite', { secret, name: 'old' })), { secret, name: 'old' }, 'a v1 invite')
  const relaySecret = randomBytes(32)
  t.alike(parseRelayLink(legacyLink('relay', { relaySecret })).relaySecret, relaySecret, 'a v1 relay link')
  t.alike(parseInvite('  ' + inviteLink({ secret, name: '' }) + '\n'), { secret, name: '' }, 'spaces around are fine')
  t.ok(looksLikeLink('backspce:' + z32.encode(b4a.alloc(30, 1))), 'a typo in the prefix looks like a link')
  t.ok(looksLikeLink('Backspace:' + z32.encode(b4a.alloc(30, 1))))
  t.absent(looksLikeLink('team: weekly sync'), 'an ordinary room name does not')
  t.absent(looksLikeLink('secret'))
})

test('links: join refuses a mistyped invite instead of joining an empty room', async (t) => {
  const testnet = await createLocalTestnet(t)
  const node = await create(t, testnet)
  const room = await node.createRoom({ name: 'team' })
  await expectCode(t, node.join(typo(room.invite, 12)), 'INVALID_INVITE')
  await expectCode(t, node.join(room.invite.replace('backspace:', 'backspce:')), 'INVALID_INVITE')
  t.is(node.rooms.length, 1, 'no room was made by either')
  t.is(await node.join(' ' + room.invite), room, 'the right invite, with a space before it, is the room')
})
