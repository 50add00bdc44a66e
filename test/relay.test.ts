import test from 'brittle'
import { spawn, type ChildProcess } from 'child_process'
import path from 'path'
import { fileURLToPath } from 'url'
import { Backspace, type Room } from '../lib/index.js'
import { createLocalTestnet, receive } from './helpers/index.js'
import { field, startRelay } from './helpers/relay-process.js'

const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'backspace.js')

test('two members who are never online together get each other messages through a relay', async (t) => {
  const testnet = await createLocalTestnet(t)
  const bootstrap = testnet.bootstrap.map((b) => `${b.host}:${b.port}`).join(',')
  const relay = await startRelay(t, ['--storage', await t.tmp(), '--bootstrap', bootstrap, '--join', 'night-shift:s3cret'])
  t.ok(relay.lines[0]!.includes('#night-shift'), 'the relay names the rooms it keeps')

  const aStorage = await t.tmp()
  const open = async (storage: string) => {
    const node = new Backspace({ storage, bootstrap: testnet.bootstrap })
    t.teardown(() => node.close())
    await node.ready()
    return node
  }
  // Waits until the relay has fetched every block of this member's own log.
  const delivered = async (room: Room) => {
    await room.flush()
    await relay.status(() => room.stats.ownBlocks > 0 && room.stats.delivered >= room.stats.ownBlocks)
  }

  const a = await open(aStorage)
  const ra = await a.join('night-shift', { password: 's3cret' })
  await ra.send('left a note for b')
  await delivered(ra)
  await a.close()

  const b = await open(await t.tmp())
  const rb = await b.join('night-shift', { password: 's3cret' })
  const got = await receive(rb, ['left a note for b'])
  t.alike(got[0]!.author, a.publicKey, 'b reads a, who is offline, from the relay')
  await rb.send('thanks, got it')
  await delivered(rb)
  await b.close()

  const a2 = await open(aStorage)
  const ra2 = a2.rooms[0]!
  await receive(ra2, ['thanks, got it'])
  t.pass('a, back online, reads b, now offline, from the relay')

  const line = await relay.status((l) => field(l, 'relayed') >= 2)
  t.ok(field(line, 'rooms') === 1 && field(line, 'writers') >= 2, `status: ${line}`)
  t.ok(/kept \d+(\.\d+)? (B|KB|MB) of .* disk \d+(\.\d+)? (B|KB|MB)/.test(line), 'the status line shows the bytes kept and the disk they take')

  relay.child.kill('SIGTERM')
  t.is(await relay.exited, 0, 'SIGTERM closes the relay cleanly')
  t.ok(relay.lines.includes('relay closed'))
})

test('relay: bad arguments are one line and exit 2', async (t) => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, 'relay', ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      let err = ''
      child.stderr.on('data', (d: Buffer) => (err += d.toString()))
      child.once('exit', (code) => resolve({ code, err }))
    })
  const storage = await t.tmp()
  for (const args of [
    ['--storage', storage],
    ['--storage', storage, '--invite', 'not-an-invite'],
    ['--storage', storage, '--join', ':pw'],
    ['--storage', storage, '--join', 'x', '--interval', 'soon'],
    ['--storage', storage, '--room', 'x']
  ]) {
    const { code, err } = await run(args)
    t.is(code, 2, args.join(' '))
    t.is(err.trim().split('\n').length, 1, `one line: ${err.trim()}`)
  }
})
