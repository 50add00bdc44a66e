import type { Test } from 'brittle'
import type { EventEmitter } from 'events'
import createTestnet from 'hyperdht/testnet.js'
import { Backspace, type BackspaceOptions, type Message, type Room } from '../../lib/index.js'

export type Testnet = Awaited<ReturnType<typeof createTestnet>>

/** A local DHT bound to 127.0.0.1, torn down after the test. */
export async function createLocalTestnet(t: Test, size = 3): Promise<Testnet> {
  return createTestnet(size, { teardown: t.teardown.bind(t), host: '127.0.0.1' })
}

/** A ready node on the testnet with its own temporary storage, closed after the test. */
export async function create(t: Test, testnet: Testnet, opts: BackspaceOptions = {}): Promise<Backspace> {
  const node = new Backspace({
    storage: opts.incognito ? undefined : (opts.storage ?? (await t.tmp())),
    bootstrap: testnet.bootstrap,
    // Tests of other things send bursts; the rate limit's own tests ask for it.
    rateLimit: false,
    ...opts
  })
  t.teardown(() => node.close())
  await node.ready()
  return node
}

/** Resolves with the arguments of the next `event` for which `filter` holds. */
export function once<T extends unknown[]>(
  emitter: EventEmitter | { on: Function; off: Function },
  event: string,
  filter: (...args: T) => boolean = () => true
): Promise<T> {
  return new Promise((resolve) => {
    const on = (...args: T) => {
      if (!filter(...args)) return
      ;(emitter as EventEmitter).off(event, on as never)
      resolve(args)
    }
    ;(emitter as EventEmitter).on(event, on as never)
  })
}

/** Resolves once `room` has emitted messages whose texts include every one of `texts`. */
export function receive(room: Room, texts: Iterable<string>): Promise<Message[]> {
  const wanted = new Set(texts)
  const got: Message[] = []
  return new Promise((resolve) => {
    if (wanted.size === 0) return resolve(got)
    const on = (m: Message) => {
      if (!wanted.delete(m.text)) return
      got.push(m)
      if (wanted.size === 0) {
        room.off('message', on)
        resolve(got)
      }
    }
    room.on('message', on)
  })
}

/** Resolves once the room's channel is open to `count` peers. */
export async function waitForPeers(room: Room, count = 1): Promise<void> {
  while (room.stats.peers < count) await once(room, 'peer-add')
}

/** Resolves once `room` knows `count` writers (its own included). */
export async function waitForWriters(room: Room, count: number): Promise<void> {
  while (room.stats.writers < count) await once(room, 'writer-add')
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.now()): { now: () => number; advance: (ms: number) => void } {
  let time = start
  return { now: () => time, advance: (ms) => (time += ms) }
}

export const DAY = 24 * 60 * 60 * 1000

/**
 * Resolves once `ok()` holds, checking it on every `event` of `emitter` and at least every
 * 250 ms (a state that changes without an event is still seen). Leaves no listener behind.
 */
export async function until(
  emitter: EventEmitter | { on: Function; off: Function },
  event: string,
  ok: () => boolean
): Promise<void> {
  const e = emitter as EventEmitter
  while (!ok()) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        e.off(event, done)
        resolve()
      }
      const timer = setTimeout(done, 250)
      e.on(event, done)
    })
  }
}
