// Crash safety: a sender killed with SIGKILL again and again, at random points of its
// sending, loses no message that `send` had acknowledged, on its own disk or for a reader.
import test, { type Test } from 'brittle'
import { spawn } from 'child_process'
import { fileURLToPath } from 'url'
import { Backspace, type Room } from '../../lib/index.js'
import { create, createLocalTestnet, receive, waitForPeers } from '../helpers/index.js'
import b4a from 'b4a'
import fs from 'fs/promises'
import path from 'path'
import { randomBytes } from '../../lib/crypto.js'
import { OutboxJournal } from '../../lib/room/journal.js'

const SENDER = fileURLToPath(new URL('../helpers/crash-sender.js', import.meta.url))
const KILLS = 5

/** Runs the sender until it has acknowledged a few messages past `from`, then SIGKILLs it. */
async function runAndKill(
  storage: string,
  room: string,
  from: number,
  acked: Set<number>,
  bootstrap: string | null = null,
  early: Set<number> = new Set()
): Promise<number> {
  const args = [SENDER, storage, room, String(from), ...(bootstrap ? [bootstrap] : [])]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  process.once('exit', stop)
  // A random number of acknowledgements, then the kill lands at once: often in the middle
  // of the next append.
  const killAfter = 3 + Math.floor(Math.random() * 20)
  let seen = 0
  let last = from - 1
  let buffered = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        const m = /^ack (\d+)( early)?$/.exec(line)
        if (!m) continue
        acked.add(Number(m[1]))
        if (m[2]) early.add(Number(m[1]))
        last = Math.max(last, Number(m[1]))
        if (++seen === killAfter) {
          stop()
          resolve()
        }
      }
    })
    child.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`sender exited with ${code}`))))
  })
  await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)))
  process.off('exit', stop)
  return last + 1
}

// Reopens the sender's storage and checks that its room holds every acknowledged message.
async function ownDisk(t: Test, storage: string, room: string, acked: Set<number>, bootstrap: Array<{ host: string; port: number }>): Promise<Room> {
  const sender = new Backspace({ storage, bootstrap })
  t.teardown(() => sender.close())
  await sender.ready()
  const own = sender.rooms.find((r) => r.name === room)!
  const stored = new Set((await own.messages({ limit: 1000 })).map((m) => m.text))
  const lost = [...acked].filter((n) => !stored.has(`crash ${n}`))
  t.alike(lost, [], 'every acknowledged message is on the sender after restarting')
  return own
}

test('crash safety: a sender killed with SIGKILL five times loses no acknowledged message', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const room = 'crash-safety'
  const acked = new Set<number>()
  let next = 0
  for (let i = 0; i < KILLS; i++) next = await runAndKill(storage, room, next, acked)
  t.ok(acked.size >= KILLS * 3, `${acked.size} messages acknowledged across ${KILLS} kills`)

  // The sender's own disk holds every acknowledged message.
  await ownDisk(t, storage, room, acked, testnet.bootstrap)

  // And a reader who joins afterwards gets them all from it.
  const reader = await create(t, testnet)
  const rr = await reader.join(room)
  const want = new Set([...acked].map((n) => `crash ${n}`))
  for (;;) {
    const have = new Set((await rr.messages({ limit: 1000 })).map((m) => m.text))
    if ([...want].every((text) => have.has(text))) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.pass('a reader receives every acknowledged message')
})

test('crash safety with a member online: sends acknowledged before their append survive a SIGKILL', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const room = 'crash-safety-online'
  // Two members online, so that the sender's sends go out live and resolve before their append.
  const reader = await create(t, testnet)
  const rr = await reader.join(room)
  const other = await create(t, testnet)
  const ro = await other.join(room)
  const { host, port } = testnet.bootstrap[0]!
  const acked = new Set<number>()
  const early = new Set<number>()
  let next = 0
  for (let i = 0; i < 3; i++) next = await runAndKill(storage, room, next, acked, `${host}:${port}`, early)
  t.ok(early.size > 0, `${early.size} of ${acked.size} acknowledged while their block waited for the append`)
  // What the journal held at the last kill is sealed: no text of a message in it.
  const dir = path.join(storage, 'accounts', 'default', 'outbox')
  const journals = await Promise.all((await fs.readdir(dir)).map((f) => fs.readFile(path.join(dir, f))))
  t.ok(journals.length === 1 && journals.every((bytes) => !bytes.includes('crash ')), 'the journal holds no plaintext')

  // The sender's own disk (read offline) holds every acknowledged message.
  const own = await ownDisk(t, storage, room, acked, [])
  // (A text may be there twice: sent, stored, killed before its "ack", and sent again.)
  const ids = (await own.messages({ limit: 1000 })).map((m) => m.id)
  t.is(new Set(ids).size, ids.length, 'no message stored twice')
  await rr.close()
  await ro.close()
})

test('a damaged outbox journal is skipped: the room opens with what it stored', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const reader = await create(t, testnet)
  const rr = await reader.join('damaged-journal')
  const sender = await create(t, testnet, { storage })
  const rs = await sender.join('damaged-journal')
  await waitForPeers(rs)
  const got = receive(rr, ['kept'])
  await rs.send('kept')
  await got
  // Where the room's journal is (whether or not this send went through it).
  const journal = (sender as unknown as { journal: { dir: string; key: Buffer } }).journal
  const file = new OutboxJournal(journal.dir, journal.key, (rs as unknown as { keys: { id: Buffer } }).keys.id).file
  await sender.close()
  const emptied = await fs.stat(file).then((s) => s.size === 0, () => true)
  t.ok(emptied, 'no journal left with anything in it once everything was stored')
  // A frame that claims more than the file holds, then garbage; then plain garbage.
  for (const bytes of [b4a.concat([b4a.from([0xff, 0xff, 0, 0]), randomBytes(64)]), randomBytes(4096)]) {
    await fs.mkdir(path.dirname(file), { recursive: true })
    await fs.writeFile(file, bytes)
    const again = await create(t, testnet, { storage })
    const room = again.rooms.find((r) => r.name === 'damaged-journal')!
    t.alike((await room.messages()).map((m) => m.text), ['kept'], 'nothing added, nothing lost')
    await again.close()
    t.is((await fs.stat(file)).size, 0, 'and the damaged journal is emptied')
  }
})
