// The parts of hyperbee that lib/state uses. Keys and values are always Buffers here.
declare module 'hyperbee' {
  import type Hypercore from 'hypercore'
  namespace Hyperbee {
    interface Entry {
      seq: number
      key: Buffer
      value: Buffer
    }
    interface Header {
      protocol: string
      metadata: Buffer | null
    }
    interface Batch {
      put(key: Buffer, value: Buffer): Promise<void>
      del(key: Buffer): Promise<void>
      /** Appends every put and del of the batch to the core in one append. */
      flush(): Promise<void>
      close(): Promise<void>
    }
    interface Range {
      gt?: Buffer
      gte?: Buffer
      lt?: Buffer
      lte?: Buffer
    }
  }
  class Hyperbee {
    constructor(
      core: Hypercore,
      opts?: {
        keyEncoding?: 'binary'
        valueEncoding?: 'binary'
        /** false: no replication extension on the core. */
        extension?: boolean
        metadata?: Buffer
      }
    )
    readonly core: Hypercore
    readonly version: number
    ready(): Promise<void>
    close(): Promise<void>
    get(key: Buffer): Promise<Hyperbee.Entry | null>
    put(key: Buffer, value: Buffer): Promise<void>
    getHeader(): Promise<Hyperbee.Header | null>
    batch(): Hyperbee.Batch
    createReadStream(range?: Hyperbee.Range): AsyncIterable<Hyperbee.Entry>
  }
  export = Hyperbee
}
