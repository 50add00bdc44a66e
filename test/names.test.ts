import test from 'brittle'
import { create, createLocalTestnet, once, receive } from './helpers/index.js'
import { expectCode } from './helpers/expect.js'
import { decodeStrict, encodeProfile, MessageType, profileFields, type MessageRecord, type ProfileFields } from '../lib/messages.js'
import type { Room } from '../lib/index.js'

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
  for (const name of HOSTILE_NAMES) await expectCode(t, node.setProfile({ name }), 'INVALID_ARGUMENT')
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
  const honest = r.ctx.profile
  r.ctx.profile = () => ({ name: HOSTILE_NAMES[0]!, status: '', away: null })
  const block = r.signBlock(r.own.core.length, r.nextSeq++, [{ type: MessageType.TEXT, timestamp: Date.now(), text: 'hi' }])
  r.ctx.profile = honest
  const rejected = once(rr, 'reject')
  await r.own.core.append([block], { keyPair: r.writerKeyPair })
  const [event] = (await rejected) as [{ reason: string }]
  t.is(event.reason, 'malformed')
  await rl.send('after')
  await receive(rr as Room, ['after'])
  t.absent((await rr.messages()).some((m) => m.text === 'hi'), 'nothing of the block is shown')
  t.absent(rr.members().some((m) => m.name.includes('\u001b')), 'nor its name')
})
