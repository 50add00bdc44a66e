// Small declarations for the parts of the Holepunch stack that Backspace uses.
// The packages ship no types; these cover only what lib/, test/ and bench/ call.

declare module 'compact-encoding' {
  export interface State {
    start: number
    end: number
    buffer: Buffer
  }
  export interface Encoding<T> {
    preencode(state: State, value: T): void
    encode(state: State, value: T): void
    decode(state: State): T
  }
  export function state(start?: number, end?: number, buffer?: Buffer | null): State
  export function encode<T>(enc: Encoding<T>, value: T): Buffer
  export function decode<T>(enc: Encoding<T>, buffer: Buffer): T
  export function array<T>(enc: Encoding<T>): Encoding<T[]>
  export function fixed(n: number): Encoding<Buffer>
  export const uint: Encoding<number>
  export const uint8: Encoding<number>
  export const uint16: Encoding<number>
  export const uint32: Encoding<number>
  export const uint64: Encoding<number>
  export const buffer: Encoding<Buffer | null>
  export const string: Encoding<string>
  export const utf8: Encoding<string>
  export const fixed32: Encoding<Buffer>
  export const fixed64: Encoding<Buffer>
  export const raw: Encoding<Buffer>
  export const none: Encoding<null>
}

declare module 'b4a' {
  export function alloc(size: number, fill?: number): Buffer
  export function allocUnsafe(size: number): Buffer
  export function from(input: string, encoding?: BufferEncoding): Buffer
  export function from(input: Uint8Array | ArrayBuffer | number[]): Buffer
  export function toString(buf: Uint8Array, encoding?: BufferEncoding): string
  export function equals(a: Uint8Array, b: Uint8Array): boolean
  export function compare(a: Uint8Array, b: Uint8Array): number
  export function concat(list: Uint8Array[]): Buffer
  export function isBuffer(x: unknown): x is Buffer
  export function byteLength(s: string): number
}

declare module 'sodium-universal' {
  export const crypto_sign_PUBLICKEYBYTES: number
  export const crypto_sign_SECRETKEYBYTES: number
  export const crypto_sign_SEEDBYTES: number
  export const crypto_sign_BYTES: number
  export const crypto_secretbox_KEYBYTES: number
  export const crypto_secretbox_NONCEBYTES: number
  export const crypto_secretbox_MACBYTES: number
  export const crypto_pwhash_SALTBYTES: number
  export const crypto_pwhash_OPSLIMIT_INTERACTIVE: number
  export const crypto_pwhash_MEMLIMIT_INTERACTIVE: number
  export const crypto_pwhash_OPSLIMIT_MODERATE: number
  export const crypto_pwhash_MEMLIMIT_MODERATE: number
  export const crypto_pwhash_ALG_ARGON2ID13: number
  export function randombytes_buf(buf: Buffer): void
  export function sodium_memzero(buf: Buffer): void
  export const crypto_box_PUBLICKEYBYTES: number
  export const crypto_box_SECRETKEYBYTES: number
  export const crypto_box_SEALBYTES: number
  export const crypto_scalarmult_BYTES: number
  export function crypto_sign_ed25519_pk_to_curve25519(x25519Pk: Buffer, ed25519Pk: Buffer): void
  export function crypto_sign_ed25519_sk_to_curve25519(x25519Sk: Buffer, ed25519Sk: Buffer): void
  export function crypto_scalarmult(q: Buffer, n: Buffer, p: Buffer): void
  export function crypto_box_seal(c: Buffer, m: Buffer, pk: Buffer): void
  export function crypto_box_seal_open(m: Buffer, c: Buffer, pk: Buffer, sk: Buffer): boolean
  export function sodium_memcmp(a: Buffer, b: Buffer): boolean
  export function crypto_sign_seed_keypair(pk: Buffer, sk: Buffer, seed: Buffer): void
  export function crypto_sign_detached(sig: Buffer, msg: Buffer, sk: Buffer): void
  export function crypto_sign_verify_detached(sig: Buffer, msg: Buffer, pk: Buffer): boolean
  export function crypto_generichash(out: Buffer, input: Buffer, key?: Buffer): void
  export function crypto_generichash_batch(out: Buffer, inputs: Buffer[], key?: Buffer): void
  export function crypto_stream_xor(c: Buffer, m: Buffer, n: Buffer, k: Buffer): void
  export function crypto_secretbox_easy(c: Buffer, m: Buffer, n: Buffer, k: Buffer): void
  export function crypto_secretbox_open_easy(m: Buffer, c: Buffer, n: Buffer, k: Buffer): boolean
  export function crypto_pwhash(
    out: Buffer,
    passwd: Buffer,
    salt: Buffer,
    opslimit: number,
    memlimit: number,
    alg: number
  ): void
  export function crypto_pwhash_async(
    out: Buffer,
    passwd: Buffer,
    salt: Buffer,
    opslimit: number,
    memlimit: number,
    alg: number
  ): Promise<void>
}

declare module 'z32' {
  export function encode(buf: Uint8Array): string
  export function decode(s: string): Buffer
}

declare module 'ready-resource' {
  import { EventEmitter } from 'events'
  class ReadyResource extends EventEmitter {
    opening: Promise<void> | null
    closing: Promise<void> | null
    opened: boolean
    closed: boolean
    ready(): Promise<void>
    close(): Promise<void>
    protected _open(): Promise<void>
    protected _close(): Promise<void>
  }
  export = ReadyResource
}

declare module 'hypercore' {
  import { EventEmitter } from 'events'
  import type { Encoding } from 'compact-encoding'
  namespace Hypercore {
    interface KeyPair {
      publicKey: Buffer
      secretKey: Buffer | null
    }
    interface GetOptions {
      wait?: boolean
      timeout?: number
      onwait?: () => void
    }
    interface Peer {
      remotePublicKey: Buffer
      /** The length the peer last said its copy has. */
      remoteLength: number
      /** The connection the session runs on (the stream given to `replicate`). */
      stream: object
    }
    /** A block encryption: `padding()` clear bytes before each block, then ciphertext. */
    interface EncryptionProvider {
      padding(): number
      encrypt(index: number, block: Buffer, fork: number): void | Promise<void>
      decrypt(index: number, block: Buffer): void | Promise<void>
    }
  }
  class Hypercore extends EventEmitter {
    /** The key of a core signed by `signer`: the hash of its default manifest. */
    static key(signer: Buffer): Buffer
    key: Buffer | null
    discoveryKey: Buffer | null
    length: number
    fork: number
    contiguousLength: number
    byteLength: number
    writable: boolean
    opened: boolean
    closed: boolean
    closing: Promise<void> | null
    peers: Hypercore.Peer[]
    ready(): Promise<void>
    close(): Promise<void>
    append(
      blocks: Buffer | Buffer[],
      opts?: { keyPair?: Hypercore.KeyPair }
    ): Promise<{ length: number; byteLength: number }>
    get(index: number, opts?: Hypercore.GetOptions & { raw?: boolean }): Promise<Buffer | null>
    has(start: number, end?: number): Promise<boolean>
    update(opts?: { wait?: boolean }): Promise<boolean>
    clear(start: number, end?: number): Promise<void>
    /** Closes every session of the core and deletes it from storage: blocks, tree and keys. */
    purge(): Promise<void>
    /** Drops the blocks from `newLength` on, deleting them from storage, and bumps the fork. */
    truncate(newLength?: number): Promise<void>
    session(opts?: object): Hypercore
    /** Compacts this core's key range in the storage (RocksDB). */
    compact(): Promise<void>
    info(opts?: { storage?: boolean }): Promise<{ contiguousLength: number; length: number }>
    download(range?: { start?: number; end?: number; linear?: boolean; blocks?: number[] }): {
      done(): Promise<void>
      destroy(): void
    }
    /** Attaches the core to a Noise stream through its protomux (once per stream). */
    replicate(stream: object): unknown
    setEncryption(provider: Hypercore.EncryptionProvider | null): Promise<void>
    /** The key the default block encryption derives for this core from the encryption key. */
    static blockEncryptionKey(coreKey: Buffer, encryptionKey: Buffer): Buffer
    /** The block holding byte `bytes` and the offset in it; fetches tree nodes, not blocks. */
    seek(bytes: number, opts?: { wait?: boolean; timeout?: number }): Promise<[number, number] | null>
    static createProtocolStream(isInitiator: boolean | object, opts?: object): NodeJS.ReadWriteStream
  }
  export = Hypercore
  export type { Encoding }
}

declare module 'hypercore/lib/merkle-tree.js' {
  /** Internal: byte offsets from a core's verified tree (`index` is a tree index: 2 × block). */
  export const MerkleTree: {
    byteOffset(state: unknown, index: number): Promise<number>
    /** A stored tree node, or null. */
    get(state: unknown, index: number): Promise<{ index: number; size: number; hash: Buffer } | null>
  }
}

declare module 'flat-tree' {
  interface Iterator {
    index: number
    /** The span of the node: 2 for a leaf, doubling with each level up. */
    factor: number
    sibling(): number
    parent(): number
    /** Whether `index` lies in the span of the node the iterator is at. */
    contains(index: number): boolean
  }
  const flat: {
    children(index: number): [number, number] | null
    iterator(index: number): Iterator
    sibling(index: number): number
  }
  export default flat
}

declare module 'hypercore-crypto' {
  interface TreeNode {
    index: number
    size: number
    hash: Buffer
  }
  const crypto: {
    /** The hash of a Merkle tree leaf: a block as stored. */
    data(value: Buffer): Buffer
    /** The hash of two sibling Merkle tree nodes' parent. */
    parent(a: TreeNode, b: TreeNode): Buffer
  }
  export default crypto
}

declare module 'corestore' {
  import type Hypercore from 'hypercore'
  class Corestore {
    constructor(storage: string, opts?: object)
    ready(): Promise<void>
    close(): Promise<void>
    get(opts: {
      key?: Buffer
      name?: string
      keyPair?: Hypercore.KeyPair
      encryption?: { key: Buffer }
      valueEncoding?: unknown
      active?: boolean
      allowPush?: boolean
    }): Hypercore
    replicate(stream: object): object
    closing: Promise<void> | null
    /** The RocksDB storage under all cores; `compact` rewrites its files without deleted data. */
    storage: {
      compact(opts?: {
        /** 0 default, 1 force, 2 disable. */
        blobGarbageCollectionPolicy?: number
        blobGarbageCollectionAgeCutoff?: number
        /** 0 none, 1 skip, 2 force. */
        bottommostLevelCompaction?: number
      }): Promise<void>
    }
  }
  export = Corestore
}

declare module 'hyperdht' {
  import { EventEmitter } from 'events'
  namespace HyperDHT {
    interface Node {
      host: string
      port: number
    }
  }
  class HyperDHT extends EventEmitter {
    constructor(opts?: {
      bootstrap?: Array<HyperDHT.Node | string>
      host?: string
      port?: number
      ephemeral?: boolean
      firewalled?: boolean
    })
    ready(): Promise<void>
    fullyBootstrapped(): Promise<void>
    /** The routing table: empty after bootstrapping when no DHT node answered. */
    readonly table: { readonly size: number }
    destroy(opts?: { force?: boolean }): Promise<void>
    address(): { host: string; port: number }
    static keyPair(seed?: Buffer): { publicKey: Buffer; secretKey: Buffer }
  }
  export = HyperDHT
}

declare module 'hyperdht/testnet.js' {
  import HyperDHT from 'hyperdht'
  interface Testnet {
    nodes: HyperDHT[]
    bootstrap: Array<{ host: string; port: number }>
    createNode(opts?: object): HyperDHT
    destroy(): Promise<void>
  }
  function createTestnet(
    size?: number,
    opts?:
      | ((fn: () => unknown, opts?: object) => void)
      | { teardown?: (fn: () => unknown, opts?: object) => void; host?: string; port?: number }
  ): Promise<Testnet>
  export = createTestnet
}

declare module 'hyperswarm' {
  import { EventEmitter } from 'events'
  import type { Duplex } from 'stream'
  import HyperDHT from 'hyperdht'
  namespace Hyperswarm {
    interface Connection extends Duplex {
      remotePublicKey: Buffer
      publicKey: Buffer
      rawStream: { remoteHost: string; remotePort: number }
      /** The Noise handshake hash, the same on both ends of the connection. */
      handshakeHash: Buffer | null
      /** True on the end that dialled: false for an inbound connection. */
      isInitiator: boolean
      userData: unknown
      /** Closes the connection once nothing was received from the peer for `ms` (0: never). */
      setTimeout(ms: number): void
    }
    interface PeerInfo {
      publicKey: Buffer
      topics: Buffer[]
      client: boolean
    }
    interface Discovery {
      flushed(): Promise<void>
      /** `limit`: how many peers a lookup passes on to be dialled (Infinity when left out). */
      refresh(opts?: { client?: boolean; server?: boolean; limit?: number }): Promise<void>
      /** The topic's discovery, shared by its sessions; `limit` is read when a lookup starts. */
      discovery?: { limit: number }
      destroy(): Promise<void>
    }
  }
  class Hyperswarm extends EventEmitter {
    constructor(opts?: {
      dht?: HyperDHT
      keyPair?: { publicKey: Buffer; secretKey: Buffer }
      bootstrap?: Array<{ host: string; port: number }>
      maxPeers?: number
      maxClientConnections?: number
      backoffs?: number[]
      jitter?: number
    })
    dht: HyperDHT
    keyPair: { publicKey: Buffer; secretKey: Buffer }
    connections: Set<Hyperswarm.Connection>
    peers: Map<string, Hyperswarm.PeerInfo>
    join(topic: Buffer, opts?: { server?: boolean; client?: boolean; limit?: number }): Hyperswarm.Discovery
    leave(topic: Buffer): Promise<void>
    flush(): Promise<void>
    listen(): Promise<void>
    destroy(opts?: { force?: boolean }): Promise<void>
    on(event: 'connection', fn: (conn: Hyperswarm.Connection, info: Hyperswarm.PeerInfo) => void): this
    on(event: string, fn: (...args: any[]) => void): this
  }
  export = Hyperswarm
}

declare module 'protomux' {
  import type { Encoding } from 'compact-encoding'
  namespace Protomux {
    interface Message<T> {
      send(value: T): boolean
    }
    interface Channel {
      opened: boolean
      closed: boolean
      userData: unknown
      open(handshake?: unknown): void
      close(): void
      addMessage<T>(opts: { encoding: Encoding<T>; onmessage: (value: T) => void }): Message<T>
    }
  }
  class Protomux {
    static from(stream: object, opts?: object): Protomux
    createChannel(opts: {
      protocol: string
      id?: Buffer | null
      unique?: boolean
      handshake?: Encoding<unknown> | null
      onopen?: (handshake: unknown) => void
      onclose?: () => void
      ondestroy?: () => void
    }): Protomux.Channel | null
    opened(opts: { protocol: string; id?: Buffer | null }): boolean
    pair(opts: { protocol: string; id?: Buffer | null }, notify: (id: Buffer | null) => unknown): void
    unpair(opts: { protocol: string; id?: Buffer | null }): void
  }
  export = Protomux
}
