import test from 'brittle'
import { create, createLocalTestnet, once, receive, until } from '../helpers/index.js'
import { expectCode } from '../helpers/expect.js'
import { decodeStrict, encodeProfile, MessageType, profileFields, type MessageRecord, type ProfileFields } from '../../lib/messages.js'
import type { Room } from '../../lib/index.js'
import { displayName, MAX_DISPLAY_NAME_CHARS, nameProblem } from '../../lib/display-name.js'

const HOSTILE_NAMES = [
  'evil\u001b]52;c;cm0gLXJmIH4=\u0007', // OSC 52: writes the victim's clipboard
  'alice\u202e57ef-9a78', // right-to-left override
  'bob\u200b', // zero width
  'alice 303f-0464-87a9-fe57', // a fingerprint in the name
  'mallory\u009b31m' // C1 CSI
]

test('profiles are held on decode to exactly what senders are held to', async (t) => {
  for (const name of HOSTILE_NAMES) {
    const bytes = encodeProfile({ name, status: '', away: null })
    await expectCode(t, () => decodeStrict(profileFields, bytes, 'profile'), 'DECODE_FAILED')
  }
  const ok: ProfileFields = { name: 'Zoë ﷺ 日本', status: 'عربي status', away: 'back at 5' }
  t.alike(decodeStrict(profileFields, encodeProfile(ok), 'profile'), ok, 'ordinary names in any script pass')
})

test('setProfile and send refuse what decoders would refuse', async (t) => {
  const testnet = await createLocalTestnet(t)
  const node = await create(t, testnet)
  const room = await node.join('names')
  for (const name of HOSTILE_NAMES) await expectCode(t, node.setProfile({ name }), 'INVALID_NAME')
  await expectCode(t, node.setProfile({ status: 'x\u001b[2J' }), 'INVALID_ARGUMENT')
  await expectCode(t, room.send('clear your screen \u001b[2J'), 'INVALID_ARGUMENT')
  t.ok(await room.send('two\nlines\tand a tab'), 'line breaks and tabs are fine')
})

test('a member whose block carries a hostile name is rejected whole', async (t) => {
  const testnet = await createLocalTestnet(t)
  const reader = await create(t, testnet)
  const liar = await create(t, testnet)
  const rr = await reader.join('names-wire')
  const rl = await liar.join('names-wire')
  // The liar's client writes its block with a profile no sender may send.
  const r = (rl as unknown as { outbox: {
    own: { core: { length: number; append(b: Buffer[], o: object): Promise<unknown> } }
    writerKeyPair: object
    nextSeq: number
    ctx: { profile(): ProfileFields }
    signBlock(index: number, seq: number, records: MessageRecord[]): Buffer
  } }).outbox
  await rl.flush()
  const honest = r.ctx.profile
  r.ctx.profile = () => ({ name: HOSTILE_NAMES[0]!, status: '', away: null })
  const block = r.signBlock(r.own.core.length, r.nextSeq++, [{ type: MessageType.TEXT, timestamp: Date.now(), text: 'hi' }])
  r.ctx.profile = honest
  const rejected = once(rr, 'reject')
  await r.own.core.append([block], { keyPair: r.writerKeyPair })
  const [event] = (await rejected) as [{ reason: string }]
  t.is(event.reason, 'malformed')
  const after = receive(rr as Room, ['after'])
  await rl.send('after')
  await after
  t.absent((await rr.messages()).some((m) => m.text === 'hi'), 'nothing of the block is shown')
  t.absent(rr.members().some((m) => m.name.includes('\u001b')), 'nor its name')
})

test('displayName: what screens show of a name', (t) => {
  t.is(displayName('alice'), 'alice', 'a plain name is kept')
  t.is(displayName('Zoë 日本'), 'Zoë 日本', 'any script')
  t.is(displayName('alice\u202egnp.exe'), 'alicegnp.exe', 'no bidi override')
  t.is(displayName('a\u2066b\u2069c\u200bd'), 'abcd', 'no isolates or zero widths')
  t.is(displayName('alice \u{E0041}\u{E0042}'), 'alice', 'no tag characters')
  t.is(displayName('alice\u2028bob'), 'alicebob', 'no line separators')
  t.is(displayName('alice 303f-0464-87a9-fe57'), 'alice', 'no fingerprint')
  t.is(displayName('alice ３０３ｆ-０４６４-８７ａ９-ｆｅ５７'), 'alice', 'not even in full-width digits')
  t.is(displayName('alice#34ab'), 'alice', 'no mention tag')
  t.is(displayName('@@bob'), 'bob', 'no leading @')
  t.is(displayName('a     b'), 'a b', 'no runs of spaces')
  const long = displayName('x'.repeat(60))
  t.is([...long].length, MAX_DISPLAY_NAME_CHARS, 'capped')
  t.ok(long.endsWith('…'))
  t.is(displayName('\u200b\u202e'), '', 'nothing left is no name')
})

test('setProfile refuses a name that would not show as typed, with INVALID_NAME', async (t) => {
  const testnet = await createLocalTestnet(t)
  const node = await create(t, testnet)
  for (const name of ['alice ３０３ｆ-０４６４-８７ａ９-ｆｅ５７', 'alice#34ab', 'a\u2028b', 'x'.repeat(40), 'tag\u{E0041}']) {
    await expectCode(t, node.setProfile({ name }), 'INVALID_NAME')
  }
  t.is(nameProblem('bob'), null)
  t.is((await node.setProfile({ name: ' Zoë ' })).name, 'Zoë', 'a fine name is taken, trimmed')
})

test('a name that passes the wire but not the display rule reaches members cleaned', async (t) => {
  const testnet = await createLocalTestnet(t)
  const reader = await create(t, testnet)
  const liar = await create(t, testnet)
  const rr = await reader.join('names-shown')
  const rl = await liar.join('names-shown')
  // Full-width digits and a line separator pass the decoders' rule; an older build sends them.
  const name = 'alice ３０３ｆ-０４６４-８７ａ９\u2028#34ab'
  ;(liar as unknown as { profile_: ProfileFields }).profile_ = { name, status: '', away: null }
  const got = receive(rr as Room, ['hello'])
  await rl.send('hello')
  const [m] = await got
  t.is(m!.name, 'alice', 'the message shows the cleaned name')
  // The member list learns the profile from the block too, after the message event.
  const named = () => rr.members().find((x) => x.key.equals(liar.identity.publicKey) && x.name !== '')
  await until(rr as Room, 'member-update', () => named() !== undefined)
  const member = named()
  t.is(member?.name, 'alice', 'and so does the member list')
})
