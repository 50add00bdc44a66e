// The writers workload's many writers, in one process: writer i is a whole peer of its own
// (a Backspace node with its own identity, storage directory and Hyperswarm, or a Cabal with
// its own feed and TCP connection) that joins the room, sends its messages, waits until the
// seeder has them, and closes. A few run at a time; each is gone before the last ones start,
// so the room ends with many writers of whom only the seeder is online.

import fs from 'fs/promises'
import net from 'net'
import path from 'path'
import { setTimeout as sleep } from 'timers/promises'
import { Backspace } from '../lib/index.js'
import { cabalReady, closeCabal, loadCabal, publishText } from './cabal.js'
import { LOOPBACK_LIMITS, makePayload } from './protocol.js'
import { workerChannel } from './child.js'

export interface WritersOrder {
  type: 'writers'
  kind: 'backspace' | 'cabal'
  bootstrap: Array<{ host: string; port: number }>
  /** Backspace: the room's invite. Cabal: the cabal key. */
  room: string
  /** Cabal: the seeder's loopback replication port. */
  port: number | null
  dir: string
  from: number
  to: number
  perWriter: number
  concurrency: number
  textBytes: number
}

export type WritersMessage =
  | { type: 'written'; writer: number; ms: number }
  | { type: 'done'; count: number }
  | { type: 'error'; message: string }

const SEEDER_WAIT = 30_000
/** After the seeder showed a writer's messages live, time for it to store their blocks. */
const LINGER_MS = 400

const { post, fail } = workerChannel<WritersMessage>()

// The seeds the seeder reported (relayed by the parent).
const got = new Set<number>()
const waiting = new Map<number, () => void>()

function seederHas(seq: number): Promise<void> {
  if (got.has(seq)) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the seeder never got ${seq}`)), SEEDER_WAIT)
    waiting.set(seq, () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

async function backspaceWriter(order: WritersOrder, i: number): Promise<void> {
  const dir = path.join(order.dir, `w${i}`)
  const node = new Backspace({ storage: dir, bootstrap: order.bootstrap, ...LOOPBACK_LIMITS })
  node.on('error', () => {})
  try {
    await node.ready()
    const room = await node.join(order.room)
    room.on('error', () => {})
    const first = i * order.perWriter
    const last = first + order.perWriter - 1
    // Sent once a peer is there, so the seeder learns this writer and gets the block live.
    await new Promise<void>((resolve) => {
      if (room.stats.peers > 0) return resolve()
      room.once('peer-add', () => resolve())
    })
    const sends: Promise<unknown>[] = []
    for (let j = 0; j < order.perWriter; j++) {
      sends.push(room.send(makePayload('h', first + j, order.textBytes)))
    }
    await Promise.all(sends)
    await seederHas(last)
    await sleep(LINGER_MS)
  } finally {
    await node.close()
    await fs.rm(dir, { recursive: true, force: true })
  }
}

async function cabalWriter(order: WritersOrder, i: number): Promise<void> {
  const { Cabal } = loadCabal()
  // On disk, as a Cabal client runs.
  const cabal = Cabal(path.join(order.dir, `w${i}`), order.room)
  await cabalReady(cabal)
  const socket = net.connect(order.port!, '127.0.0.1')
  socket.on('error', () => {})
  const stream = cabal.replicate(true)
  stream.on('error', () => {})
  socket.pipe(stream).pipe(socket)
  try {
    const first = i * order.perWriter
    const sends: Promise<void>[] = []
    for (let j = 0; j < order.perWriter; j++) {
      sends.push(publishText(cabal, makePayload('h', first + j, order.textBytes)))
    }
    await Promise.all(sends)
    await seederHas(first + order.perWriter - 1)
  } finally {
    socket.destroy()
    await closeCabal(cabal)
  }
}

async function run(order: WritersOrder): Promise<void> {
  let next = order.from
  let done = 0
  const one = order.kind === 'backspace' ? backspaceWriter : cabalWriter
  const lane = async () => {
    while (next < order.to) {
      const i = next++
      const start = process.hrtime.bigint()
      await one(order, i)
      done++
      post({ type: 'written', writer: i, ms: Number(process.hrtime.bigint() - start) / 1e6 })
    }
  }
  await Promise.all(Array.from({ length: order.concurrency }, lane))
  post({ type: 'done', count: done })
}

process.on('message', (msg: WritersOrder | { type: 'got'; seq: number } | { type: 'close' }) => {
  if (msg.type === 'writers') run(msg).catch(fail)
  else if (msg.type === 'got') {
    got.add(msg.seq)
    const w = waiting.get(msg.seq)
    if (w) {
      waiting.delete(msg.seq)
      w()
    }
  } else if (msg.type === 'close') process.disconnect()
})
