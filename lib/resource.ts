import ReadyResource from 'ready-resource'

type Listener<A extends unknown[]> = (...args: A) => void
type EventMap = Record<keyof any, any>

/** The typed view of ready-resource's emitter. */
export interface TypedResource<E extends EventMap> {
  on<K extends keyof E & string>(event: K, fn: Listener<E[K]>): this
  once<K extends keyof E & string>(event: K, fn: Listener<E[K]>): this
  off<K extends keyof E & string>(event: K, fn: Listener<E[K]>): this
  emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean
  listenerCount<K extends keyof E & string>(event: K): number
  readonly opened: boolean
  readonly closed: boolean
  readonly opening: Promise<void> | null
  readonly closing: Promise<void> | null
  /** Opens the resource. Idempotent, and safe to call concurrently. */
  ready(): Promise<void>
  /** Closes the resource. Idempotent, and safe to call concurrently. */
  close(): Promise<void>
}

/**
 * ready-resource with typed events: subclasses implement `_open` and `_close`, and the base
 * makes `ready()` and `close()` idempotent and concurrent-safe.
 */
export function Resource<E extends EventMap>() {
  return ReadyResource as unknown as abstract new () => TypedResource<E> & {
    _open(): Promise<void>
    _close(): Promise<void>
  }
}

/**
 * Reports an error from work nobody awaits to the resource's 'error' listeners, if it has any.
 * Errors that come while it closes are the close's doing and are dropped.
 */
export function backgroundError(
  resource: {
    readonly closing: Promise<void> | null
    listenerCount(event: 'error'): number
    emit(event: 'error', err: Error): boolean
  },
  err: unknown
): void {
  if (resource.closing) return
  if (resource.listenerCount('error') > 0) resource.emit('error', err as Error)
}
