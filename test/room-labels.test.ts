// A wrong room password makes a look-alike room: password rooms are marked, same-named
// entries get a tag, and a password room where nobody shows up says why that may be.
import test from 'brittle'
import { roomLabel, runCommand } from '../lib/commands.js'
import { ChatModel } from '../lib/index.js'
import { create, createLocalTestnet, once, until } from './helpers/index.js'

test('password rooms: marked, told apart by a tag, and kept marked across a restart', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const node = await create(t, testnet, { storage })
  const open = await node.join('secret')
  const right = await node.join('secret', { password: 'right' })
  const joined = await runCommand(node, '/join secret wrong')
  const wrong = joined.room!
  t.absent(open.locked, 'no password: not a password room')
  t.ok(right.locked && wrong.locked, 'both password rooms are marked')
  const labels = node.rooms.map((r) => roomLabel(r, node.rooms))
  t.is(new Set(labels).size, 3, `three entries, three labels: ${labels.join(', ')}`)
  t.ok(labels.every((l) => l.startsWith('#secret·')), 'each with the tag of its room id')
  t.is(roomLabel(right, [right]), '#secret', 'no tag without a twin')
  const text = joined.notices.map((n) => n.text).join('\n')
  t.ok(/password room/.test(text), 'the join says it is a password room')
  t.ok(/each password makes its own room/.test(text), 'and that same-named rooms are others')
  await node.close()
  const again = await create(t, testnet, { storage })
  await again.ready()
  const restored = again.rooms.find((r) => r.id === right.id)!
  t.ok(restored.locked, 'the mark is stored with the room')
  t.absent(again.rooms.find((r) => r.id === open.id)!.locked)
})

test('password rooms: alone when nobody else has been seen after aloneAfter', async (t) => {
  const testnet = await createLocalTestnet(t)
  const node = await create(t, testnet, { aloneAfter: 1000 })
  const room = await node.join('secret-alone', { password: 'typo' })
  await once(room, 'alone')
  t.pass('a password room with nobody in it says so')
})

test('password rooms: a listener that comes after the alone event still learns it (room.alone)', async (t) => {
  const testnet = await createLocalTestnet(t)
  const node = await create(t, testnet, { aloneAfter: 50 })
  const room = await node.join('secret-late', { password: 'typo' })
  if (!room.alone) await once(room, 'alone')
  t.ok(room.alone, 'the room says it is alone')
  // A chat model made now (a UI that adds the room once join() returned, late under load).
  const model = new ChatModel(node)
  t.teardown(() => model.close())
  await model.ready()
  await new Promise<void>((resolve) => {
    const check = () => {
      if (!model.state.notices.some((n) => n.kind === 'alone')) return
      model.off('change', check)
      resolve()
    }
    model.on('change', check)
    check()
  })
  t.pass('the model shows the alone notice all the same')
  const other = await create(t, testnet)
  await other.join('secret-late', { password: 'typo' })
  await until(room, 'peer-add', () => room.stats.peers > 0)
  t.absent(room.alone, 'no longer alone once someone is seen')
})
