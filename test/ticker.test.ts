// Rooms' periodic work shares one wakeup per period (lib/room/ticker.ts): a member in many
// rooms does not wake up once per room.
import test from 'brittle'
import { every, ticking } from '../lib/room/ticker.js'
import { create, createLocalTestnet, waitForPeers } from './helpers/index.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test('tasks of one period share an interval, run each tick, and stop one by one', async (t) => {
  const runs = { a: 0, b: 0 }
  const a = every(40, () => runs.a++)
  const b = every(40, () => runs.b++)
  t.is(ticking().get(40), 2, 'two tasks on the 40 ms tick')
  await sleep(130)
  t.ok(runs.a >= 2 && runs.b >= 2, `both ran (${runs.a}, ${runs.b})`)
  t.ok(Math.abs(runs.a - runs.b) <= 1, 'on the same ticks')
  a.stop()
  a.stop()
  t.is(ticking().get(40), 1, 'stopping twice takes one task off')
  const before = runs.a
  await sleep(100)
  t.is(runs.a, before, 'a stopped task does not run')
  t.ok(runs.b > 2, 'the other goes on')
  b.stop()
  t.is(ticking().get(40) ?? 0, 0, 'none left: the interval is cleared')
})

test('a task stopped by another in the same tick does not run', async (t) => {
  let ran = 0
  // eslint-disable-next-line prefer-const
  let second: { stop(): void }
  const first = every(30, () => second.stop())
  second = every(30, () => ran++)
  await sleep(80)
  t.is(ran, 0)
  first.stop()
  t.is(ticking().get(30) ?? 0, 0)
})

test('rooms sweep and check on the shared ticks, and stop when they close', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const base = { sweep: ticking().get(1000) ?? 0, check: ticking().get(3000) ?? 0 }
  const names = ['one', 'two', 'three']
  const rooms = await Promise.all(names.map((n) => a.join(`ticker-${n}`)))
  await Promise.all(names.map((n) => b.join(`ticker-${n}`)))
  await Promise.all(rooms.map((r) => waitForPeers(r)))
  // Each connected room of each node: a stalled-read sweep and a topology check.
  t.is((ticking().get(1000) ?? 0) - base.sweep, 6, 'six sweeps, one interval')
  t.is((ticking().get(3000) ?? 0) - base.check, 6, 'six checks, one interval')
  await a.close()
  await b.close()
  t.is((ticking().get(1000) ?? 0) - base.sweep, 0, 'closed rooms leave no sweep')
  t.is((ticking().get(3000) ?? 0) - base.check, 0, 'nor a check')
})
