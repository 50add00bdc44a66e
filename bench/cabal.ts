// Loads cabal-core (hypercore 9, multifeed, kappa-core) from bench/node_modules for the benchmark, with the types the
// bench uses. Cabal's own swarm() dials hard-coded public bootstrap nodes, so the bench never
// calls it: peers pipe cabal.replicate() streams over TCP sockets on 127.0.0.1.
//
// One fix is needed to run it at all here. npm installed seven copies of sodium-native 3
// (one per dependent package), and each copy is its own native module with its own libsodium
// state. noise-protocol allocates handshake keys with sodium_malloc from one copy, and
// simple-hypercore-protocol frees them with sodium_free from another, whose canary does not
// match: libsodium raises SIGSEGV on the first replication handshake. A deduplicated install
// would hold one copy; the hook below makes every require of sodium-native 3 resolve to the
// same one, cabal-core's own. Nothing else of Cabal is changed.

import type { EventEmitter } from 'events'
import path from 'path'
import type { Duplex, Readable } from 'stream'
import { benchRequire as require } from './contenders.js'

export interface CabalMessage {
  key: string
  seq: number
  value: { type: string; timestamp: number; content: { channel: string; text: string } }
}

export interface Cabal {
  readonly key: string
  ready(cb: () => void): void
  publish(message: object, cb?: (err: Error | null) => void): void
  replicate(isInitiator: boolean, opts?: object): Duplex
  getLocalKey(cb: (err: Error | null, key: string) => void): void
  messages: {
    read(channel: string, opts?: { limit?: number }): Readable
    events: EventEmitter
  }
  close(cb?: (err?: Error | null) => void): void
}

export type CabalConstructor = (storage: unknown, key?: string | null, opts?: object) => Cabal

let loaded: { Cabal: CabalConstructor; ram: unknown } | null = null

function dedupeSodiumNative(): void {
  const Module = require('node:module') as {
    _resolveFilename: (request: string, parent: unknown, ...rest: unknown[]) => string
  }
  const canonical = require.resolve('sodium-native', {
    paths: [path.dirname(require.resolve('cabal-core'))]
  })
  const original = Module._resolveFilename
  const versions = new Map<string, string>()
  Module._resolveFilename = function (request, parent, ...rest) {
    const resolved = original.call(this, request, parent, ...rest)
    if (resolved === canonical || !/[\\/]node_modules[\\/]sodium-native[\\/]index\.js$/.test(resolved)) {
      return resolved
    }
    let version = versions.get(resolved)
    if (version === undefined) {
      const pkg = require(path.join(path.dirname(resolved), 'package.json')) as { version: string }
      version = pkg.version
      versions.set(resolved, version)
    }
    return version.startsWith('3.') ? canonical : resolved
  }
}

export function loadCabal(): { Cabal: CabalConstructor; ram: unknown } {
  if (loaded) return loaded
  dedupeSodiumNative()
  loaded = {
    Cabal: require('cabal-core') as CabalConstructor,
    // In-memory storage (the labelled `cabal-ram` extra): one random-access-memory instance
    // per file of each feed. Cabal itself runs on disk, as a Cabal client does.
    ram: require('random-access-memory') as unknown
  }
  return loaded
}

export const CHANNEL = 'default'

export function publishText(cabal: Cabal, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    cabal.publish({ type: 'chat/text', content: { channel: CHANNEL, text } }, (err) =>
      err ? reject(err) : resolve()
    )
  })
}

/** The latest `limit` messages of the channel, newest first, as Cabal's read() gives them. */
export function readLatest(cabal: Cabal, limit: number): Promise<CabalMessage[]> {
  return new Promise((resolve, reject) => {
    const out: CabalMessage[] = []
    cabal.messages
      .read(CHANNEL, { limit })
      .on('data', (m: CabalMessage) => out.push(m))
      .on('end', () => resolve(out))
      .on('error', reject)
  })
}

export function cabalReady(cabal: Cabal): Promise<void> {
  return new Promise((resolve) => cabal.ready(() => resolve()))
}

export function closeCabal(cabal: Cabal): Promise<void> {
  return new Promise((resolve) => cabal.close(() => resolve()))
}
