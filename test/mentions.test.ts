// Mentions go to a key: `@alice#34ab` when two members are called alice.
import test from 'brittle'
import b4a from 'b4a'
import { completeLine } from '../lib/commands.js'
import { isMention, mentionOf, mentionTag, resolveMentions } from '../lib/mentions.js'
import { create, createLocalTestnet, receive } from './helpers/index.js'

const key = (hex: string) => b4a.from(hex.padEnd(64, '0'), 'hex')

test('mentions: a tag picks one of two members with one name; Tab offers the tagged form', (t) => {
  const a1 = { name: 'alice', key: key('34ab01') }
  const a2 = { name: 'Alice', key: key('34ac02') }
  const bob = { name: 'bob', key: key('9f00') }
  const members = [a1, a2, bob]
  t.is(mentionTag(a1.key, [a2.key]), '34ab')
  t.is(mentionTag(key('34ab01'), [key('34ab02')]), '34ab01', 'longer when four digits are shared')
  t.is(mentionOf(bob, members), '@bob', 'a unique name needs no tag')
  t.is(mentionOf(a1, members), '@alice#34ab')
  t.is(mentionOf({ name: 'two words', key: key('11') }, members), null, 'a name with spaces is not typed')

  const others = () => members
  t.ok(isMention('hi @alice#34ab!', 'alice', a1.key, others), 'the tag mentions its member')
  t.absent(isMention('hi @alice#34ab!', 'Alice', a2.key, others), 'and not the other alice')
  t.absent(isMention('hi @alice', 'alice', a1.key, others), 'an ambiguous name alone mentions nobody')
  t.absent(isMention('hi @alice#34', 'alice', a1.key, others), 'two digits are no tag')
  t.ok(isMention('hi @bob', 'bob', bob.key, others), 'a unique name mentions its member')
  t.absent(isMention('@bobby', 'bob', bob.key, others))
  t.alike(resolveMentions('@alice#34ac and @bob', members), [a2.key, bob.key])

  const lines = completeLine('hi @al', members)
  t.alike(lines, ['hi @Alice#34ac ', 'hi @alice#34ab '].sort((x, y) => x.localeCompare(y)), 'Tab offers both, tagged')
  t.alike(completeLine('hi @alice#34ab', members), ['hi @alice#34ab '], 'a typed tag narrows it to one')
  t.alike(completeLine('hi @b', members), ['hi @bob '])
})

test('mentions: only the member the tag names sees the message as a mention', async (t) => {
  const testnet = await createLocalTestnet(t)
  const alice1 = await create(t, testnet)
  const alice2 = await create(t, testnet)
  const bob = await create(t, testnet)
  await alice1.setProfile({ name: 'alice' })
  await alice2.setProfile({ name: 'alice' })
  const r1 = await alice1.join('mentions-by-key')
  const r2 = await alice2.join('mentions-by-key')
  const rb = await bob.join('mentions-by-key')
  const atBob = receive(rb, ['one', 'two'])
  const at1 = receive(r1, ['two'])
  const at2 = receive(r2, ['one'])
  await r1.send('one')
  await r2.send('two')
  await Promise.all([atBob, at1, at2])
  const target = rb.members().find((m) => b4a.equals(m.key, alice1.identity.publicKey))!
  const token = mentionOf(target, rb.members())!
  t.ok(/^@alice#[0-9a-f]{4,}$/.test(token), `bob mentions ${token}`)
  const seen1 = receive(r1, [`${token} lunch?`])
  const seen2 = receive(r2, [`${token} lunch?`])
  await rb.send(`${token} lunch?`)
  const [[m1], [m2]] = await Promise.all([seen1, seen2])
  t.ok(m1!.mention, 'the alice it names is mentioned')
  t.absent(m2!.mention, 'the other alice is not')
  t.is(alice2.unread(r2.id).mentions, 0, 'nor counted as a mention there')
})
