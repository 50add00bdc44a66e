// Crash safety: a sender killed with SIGKILL again and again, at random points of its
// sending, loses no message that `send` had acknowledged, on its own disk or for a reader.
import test from 'brittle'
import { spawn } from 'child_process'
import { fileURLToPath } from 'url'
import { Backspace } from '../../lib/index.js'
import { create, createLocalTestnet } from '../helpers/index.js'

const SENDER = fileURLToPath(new URL('../helpers/crash-sender.js', import.meta.url))
const KILLS = 5

/** Runs the sender until it has acknowledged a few messages past `from`, then SIGKILLs it. */
async function runAndKill(storage: string, room: string, from: number, acked: Set<number>): Promise<number> {
  const child = spawn(process.execPath, [SENDER, storage, room, String(from)], { stdio: ['ignore', 'pipe', 'inherit'] })
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
        const m = /^ack (\d+)$/.exec(line)
        if (!m) continue
        acked.add(Number(m[1]))
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

test('crash safety: a sender killed with SIGKILL five times loses no acknowledged message', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  const room = 'crash-safety'
  const acked = new Set<number>()
  let next = 0
  for (let i = 0; i < KILLS; i++) next = await runAndKill(storage, room, next, acked)
  t.ok(acked.size >= KILLS * 3, `${acked.size} messages acknowledged across ${KILLS} kills`)

  // The sender's own disk holds every acknowledged message.
  const sender = new Backspace({ storage, bootstrap: testnet.bootstrap })
  t.teardown(() => sender.close())
  await sender.ready()
  const own = sender.rooms.find((r) => r.name === room)!
  const stored = new Set((await own.messages({ limit: 1000 })).map((m) => m.text))
  const lost = [...acked].filter((n) => !stored.has(`crash ${n}`))
  t.alike(lost, [], 'every acknowledged message is on the sender after restarting')

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
