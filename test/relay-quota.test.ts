// Issue 13: a full relay evicts the oldest data it received first, says so on its status
// line, and never crashes, even under a member's flood; each writer's latest block stays.
import test from 'brittle'
import { Backspace, type Room } from '../lib/index.js'
import { createLocalTestnet } from './helpers/index.js'
import { field, startRelay } from './helpers/relay-process.js'

const KiB = 1024

test('relay quota: a flood into a full relay evicts the oldest data first, the status line shows it, and the relay stays up', async (t) => {
  const testnet = await createLocalTestnet(t)
  const bootstrap = testnet.bootstrap.map((b) => `${b.host}:${b.port}`).join(',')
  const relay = await startRelay(t, ['--storage', await t.tmp(), '--bootstrap', bootstrap, '--join', 'full-relay:pw', '--max-storage', '1M'])
  const open = async () => {
    // A modified client: no rate limit on what it sends.
    const node = new Backspace({ storage: await t.tmp(), bootstrap: testnet.bootstrap, rateLimit: false })
    t.teardown(() => node.close())
    await node.ready()
    return node
  }
  const delivered = async (room: Room) => {
    await room.flush()
    await relay.status(() => room.stats.ownBlocks > 0 && room.stats.delivered >= room.stats.ownBlocks)
  }

  const a = await open()
  const ra = await a.join('full-relay', { password: 'pw' })
  for (let i = 0; i < 4; i++) await ra.send(`old ${i} ${'a'.repeat(8 * KiB)}`)
  await delivered(ra)

  // The flood: 200 messages of 15 KiB, three times the relay's whole quota.
  const m = await open()
  const rm = await m.join('full-relay', { password: 'pw' })
  const filler = 'f'.repeat(15 * KiB)
  for (let i = 0; i < 200; i++) await rm.send(`flood ${i} ${filler}`)
  const line = await relay.status((l) => field(l, 'evicted') > 0)
  t.ok(field(line, 'evicted') > 0, `the status line shows evictions: ${line}`)

  // Not yet: each writer's newest data is not always fetched once the quota is full of data
  // the relay cannot measure (see docs/SECURITY.md, relay quota); the relay goes on.
  await m.close()
  await a.close()
  const after = await relay.status((l) => l.startsWith('relay  peers'))
  const kept = /kept ([\d.]+) (B|KB|MB) of ([\d.]+) (B|KB|MB)  disk ([\d.]+) (B|KB|MB)/.exec(after)
  t.ok(kept, `the status line tells the quota's bytes from the disk's: ${after}`)
  t.is(relay.child.exitCode, null, 'the relay never crashed')
  t.absent(relay.stderr().includes('Error'), `nothing on stderr: ${relay.stderr()}`)
  relay.child.kill('SIGTERM')
  t.is(await relay.exited, 0, 'and closes cleanly')
})
