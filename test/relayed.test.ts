import test from 'brittle'
import { Backspace } from '../lib/index.js'
import { create, createLocalTestnet, DAY, manualClock, receive } from './helpers/index.js'
import { expectCode } from './helpers/expect.js'
import { scan } from './helpers/scan.js'

test('a relay keeps a room from its relay link, serves it, and never holds what reads it', async (t) => {
  const testnet = await createLocalTestnet(t)
  const clock = manualClock()
  const relayStorage = await t.tmp()
  const relay = await create(t, testnet, { storage: relayStorage, relay: true, now: clock.now })
  const a = await create(t, testnet, { now: clock.now })
  const room = await a.createRoom({ name: 'plans' })
  const kept = await relay.keep(room.relayLink)
  t.is(kept.id, room.id, 'the relay link finds the same topic')
  await expectCode(t, relay.join('general'), 'INVALID_ARGUMENT')
  await expectCode(t, a.join(room.relayLink), 'INVALID_INVITE')
  await expectCode(t, a.keep(room.relayLink), 'INVALID_ARGUMENT')

  await room.send('meet at the old mill')
  await room.flush()
  while (room.stats.delivered < room.stats.ownBlocks) await new Promise((r) => setTimeout(r, 20))
  t.is(kept.stats.writers, 1)
  await a.close()

  const b = await create(t, testnet, { now: clock.now })
  const rb = await b.join(room.invite)
  await receive(rb, ['meet at the old mill'])
  t.pass('a member reads from the relay')
  await b.close()
  await relay.close()

  // What the relay stored: ciphertext, and no key that reads it.
  const secret = Buffer.from((room as unknown as { secret: Buffer }).secret)
  const encryptionKey = (room as unknown as { keys: { encryptionKey: Buffer } }).keys.encryptionKey
  const needles = new Map([
    ['plaintext', Buffer.from('meet at the old mill')],
    ['room secret', secret],
    ['content key', encryptionKey]
  ])
  t.alike(await scan(relayStorage, needles), [], 'no plaintext, room secret or content key on the relay')

  // Expiry by time seen: 7 days after the relay saw the block exist, it is deleted.
  const again = new Backspace({ storage: relayStorage, bootstrap: testnet.bootstrap, relay: true, now: clock.now })
  t.teardown(() => again.close())
  await again.ready()
  const restored = again.relayedRooms[0]!
  t.is(restored.id, room.id, 'a relay restarts with its rooms')
  const core = (restored as unknown as { writers: { values(): Iterable<{ core: { has(i: number): Promise<boolean> } }> } }).writers
  const feed = [...core.values()][0]!
  t.ok(await feed.core.has(0), 'the block is kept while it may be alive')
  clock.advance(7 * DAY + DAY)
  await again.prune()
  t.absent(await feed.core.has(0), 'and deleted once it cannot be')
  t.ok(restored.stats.pruned >= 1)
})
