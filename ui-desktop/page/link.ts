/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The page's one WebSocket to the shell, typed by protocol.ts: requests with their results,
// events with their data. It reconnects while the shell may come back, and gives up for good
// when the shell says it closed (1001) or no longer knows this page's token (HTTP 403: the
// shell was restarted, and this page's address died with the old one).
import type { Events, RequestType, Requests } from '../protocol.js'

/** Where the link is: up, trying again, or over for good. */
export type LinkState = 'connecting' | 'up' | 'reconnecting' | 'closed' | 'expired'

/** A refused request: the shell's or the library's code, and its message. */
export class ShellFailure extends Error {
  readonly code: string

  constructor(code: string, message: string) {
    super(message)
    this.code = code
  }
}

export type EventName = keyof Events
type Listener = <K extends EventName>(name: K, data: Events[K]) => void

interface Waiter {
  resolve(value: unknown): void
  reject(err: Error): void
}

type Frame =
  | { event: EventName; data: unknown }
  | { id: number; result: unknown }
  | { id: number; error: { code: string; message: string } }

export class ShellLink {
  state: LinkState = 'connecting'
  private ws: WebSocket | null = null
  private nextId = 1
  private retries = 0
  private readonly pending = new Map<number, Waiter>()
  private readonly listeners = new Set<Listener>()
  private readonly stateListeners = new Set<(state: LinkState) => void>()
  private readonly token: string

  constructor(token: string) {
    this.token = token
  }

  connect(): void {
    const ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(this.token)}`)
    this.ws = ws
    ws.addEventListener('open', () => {
      this.retries = 0
      this.setState('up')
    })
    ws.addEventListener('message', (event: MessageEvent<string>) => this.onFrame(event.data))
    ws.addEventListener('close', (event) => void this.onClose(event.code))
  }

  /** Sends one request; rejects with a ShellFailure when the shell refuses it. */
  request<K extends RequestType>(
    type: K,
    ...args: {} extends Requests[K]['args'] ? [Requests[K]['args']?] : [Requests[K]['args']]
  ): Promise<Requests[K]['result']> {
    const ws = this.ws
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new ShellFailure('OFFLINE', 'Backspace is not reachable right now.'))
    }
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      ws.send(JSON.stringify({ ...(args[0] ?? {}), id, type }))
    })
  }

  onEvent(listener: Listener): void {
    this.listeners.add(listener)
  }

  onState(listener: (state: LinkState) => void): void {
    this.stateListeners.add(listener)
  }

  /** The shell closed on purpose (/quit here): nothing to retry. */
  end(): void {
    this.setState('closed')
  }

  private onFrame(text: string): void {
    let frame: Frame
    try {
      frame = JSON.parse(text) as Frame
    } catch {
      return
    }
    if ('event' in frame) {
      for (const listener of this.listeners) listener(frame.event, frame.data as never)
      return
    }
    const waiter = this.pending.get(frame.id)
    if (!waiter) return
    this.pending.delete(frame.id)
    if ('error' in frame) waiter.reject(new ShellFailure(frame.error.code, frame.error.message))
    else waiter.resolve(frame.result)
  }

  private async onClose(code: number): Promise<void> {
    for (const waiter of this.pending.values()) {
      waiter.reject(new ShellFailure('OFFLINE', 'Backspace is not reachable right now.'))
    }
    this.pending.clear()
    // 1001: the shell said it is closing (Ctrl-C, /quit elsewhere).
    if (code === 1001) this.setState('closed')
    if (this.state === 'closed' || this.state === 'expired') return
    this.setState('reconnecting')
    // A refused upgrade looks like any other close: ask the server plainly what it thinks.
    if ((await this.probe()) === 403) return this.setState('expired')
    const delay = Math.min(5000, 250 * 2 ** this.retries++)
    setTimeout(() => this.connect(), delay)
  }

  /** The HTTP status of this page's own address now, 0 when nothing answers. */
  private async probe(): Promise<number> {
    try {
      const res = await fetch(location.pathname + location.search, { method: 'HEAD', cache: 'no-store' })
      return res.status
    } catch {
      return 0
    }
  }

  private setState(state: LinkState): void {
    if (this.state === state) return
    this.state = state
    for (const listener of this.stateListeners) listener(state)
  }
}
