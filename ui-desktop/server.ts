import { randomBytes, timingSafeEqual } from 'crypto'
import http from 'http'
import type { AddressInfo } from 'net'
import {
  BackspaceError,
  fingerprint,
  isBackspaceError,
  isInvite,
  type Backspace,
  type Message,
  type Room,
  type RoomKindName
} from '../lib/index.js'
import { renderPage } from './page.js'

export interface DesktopOptions {
  /** The TCP port on 127.0.0.1. 0, the default, picks a free one. */
  port?: number
}

export interface DesktopServer {
  /** The page's address, token included. Whoever holds it can drive the node. */
  readonly url: string
  /** Ends the event streams and stops the server. The node stays open. */
  close(): Promise<void>
}

/** A room as the page sees it. */
export interface RoomView {
  /** The room's swarm topic in hex: how the API names rooms. */
  id: string
  name: string
  kind: RoomKindName
  peers: number
  /** The invite of a private room; null for named rooms. */
  invite: string | null
}

/** A message as the page sees it. */
export interface MessageView {
  id: string
  /** The author's fingerprint. */
  author: string
  text: string
  timestamp: number
  seq: number
}

/** The codes the server itself answers with; library failures keep their own code. */
export type DesktopErrorCode =
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'BAD_JSON'
  | 'BODY_TOO_LARGE'
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN_ROOM'
  | 'INTERNAL'

export const MAX_BODY_BYTES = 64 * 1024
// A page that stops reading its event stream is cut off rather than buffered without end.
const MAX_STREAM_BACKLOG = 1024 * 1024
const TOKEN_HEADER = 'x-backspace-token'

class HttpError extends Error {
  readonly status: number
  readonly code: DesktopErrorCode

  constructor(status: number, code: DesktopErrorCode, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

type Body = Record<string, unknown>
type Handler = (req: http.IncomingMessage, url: URL, res: http.ServerResponse) => Promise<unknown>

/**
 * Serves the desktop page and a JSON API over `node` on 127.0.0.1 only. Every request needs
 * the random token of the returned URL and a Host header of 127.0.0.1:port, so other local
 * users and web pages (DNS rebinding included) cannot drive the node.
 */
export async function startDesktop(
  node: Backspace,
  opts: DesktopOptions = {}
): Promise<DesktopServer> {
  const port = opts.port ?? 0
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw BackspaceError.INVALID_ARGUMENT('port must be an integer from 0 to 65535')
  }
  await node.ready()

  const token = randomBytes(32).toString('hex')
  const streams = new Set<http.ServerResponse>()
  // Listeners on each room, removed when it goes or the server closes.
  const watched = new Map<Room, () => void>()
  // Known once listening: the only Origin and Host this server answers.
  let origin = ''
  let host = ''

  const broadcast = (event: string, data: unknown): void => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
    for (const res of streams) {
      if (res.writableLength > MAX_STREAM_BACKLOG) res.destroy()
      else res.write(frame)
    }
  }

  const watch = (room: Room): void => {
    if (watched.has(room)) return
    const id = roomId(room)
    const onMessage = (m: Message) => broadcast('message', { room: id, ...messageView(m) })
    const onWithdrawn = (m: Message) => broadcast('message-withdrawn', { room: id, id: m.id })
    const onPeers = () => broadcast('peers', { room: id, peers: room.stats.peers })
    room.on('message', onMessage)
    room.on('message-withdrawn', onWithdrawn)
    room.on('peer-add', onPeers)
    room.on('peer-remove', onPeers)
    watched.set(room, () => {
      room.off('message', onMessage)
      room.off('message-withdrawn', onWithdrawn)
      room.off('peer-add', onPeers)
      room.off('peer-remove', onPeers)
    })
  }
  const unwatch = (room: Room): void => {
    watched.get(room)?.()
    watched.delete(room)
  }
  const onRoomAdd = (room: Room) => {
    watch(room)
    broadcast('room-add', roomView(room))
  }
  const onRoomRemove = (room: Room) => {
    unwatch(room)
    broadcast('room-remove', { room: roomId(room) })
  }
  node.on('room-add', onRoomAdd)
  node.on('room-remove', onRoomRemove)
  for (const room of node.rooms) watch(room)

  const findRoom = (id: unknown): Room => {
    if (typeof id !== 'string')
      throw new HttpError(400, 'INVALID_ARGUMENT', 'room must be a room id')
    const room = node.rooms.find((r) => roomId(r) === id)
    if (!room) throw new HttpError(400, 'UNKNOWN_ROOM', 'No room with this id is open')
    return room
  }

  const routes: Record<string, Partial<Record<string, Handler>>> = {
    '/': {
      GET: async (_req, _url, res) => {
        const nonce = randomBytes(16).toString('base64')
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': [
            "default-src 'none'",
            `script-src 'nonce-${nonce}'`,
            `style-src 'nonce-${nonce}'`,
            "connect-src 'self'",
            'img-src data:',
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'"
          ].join('; ')
        })
        res.end(renderPage(nonce))
      }
    },
    '/api/state': {
      GET: async () => ({
        identity: { fingerprint: node.identity.fingerprint, incognito: node.incognito },
        connections: node.connections,
        rooms: node.rooms.map(roomView)
      })
    },
    '/api/join': {
      POST: async (req) => {
        const body = await readJson(req)
        const invite = optionalString(body, 'invite')
        if (invite !== undefined) {
          // Without this check a mistyped invite would quietly join a named room of that name.
          if (!isInvite(invite.trim())) throw BackspaceError.INVALID_INVITE()
          return roomView(await node.join(invite.trim()))
        }
        const name = requiredString(body, 'name')
        return roomView(await node.join(name, { password: optionalString(body, 'password') }))
      }
    },
    '/api/create': {
      POST: async (req) => {
        const body = await readJson(req)
        return roomView(await node.createRoom({ name: optionalString(body, 'name') }))
      }
    },
    '/api/send': {
      POST: async (req) => {
        const body = await readJson(req)
        const room = findRoom(body['room'])
        return messageView(await room.send(requiredString(body, 'text')))
      }
    },
    '/api/messages': {
      GET: async (_req, url) => {
        const room = findRoom(url.searchParams.get('room') ?? undefined)
        const limit = url.searchParams.get('limit')
        const before = url.searchParams.get('before')
        const messages = await room.messages({
          limit: limit === null ? undefined : Number(limit),
          before: before ?? undefined
        })
        return { room: roomId(room), messages: messages.map(messageView) }
      }
    },
    '/api/leave': {
      POST: async (req) => {
        const body = await readJson(req)
        await findRoom(body['room']).leave()
        return { ok: true }
      }
    },
    '/api/events': {
      GET: async (req, _url, res) => {
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          connection: 'keep-alive'
        })
        // A first frame, so the page (and tests) know the stream is live.
        res.write(': connected\n\n')
        streams.add(res)
        req.on('close', () => streams.delete(res))
      }
    }
  }

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    res.setHeader('cache-control', 'no-store')
    res.setHeader('referrer-policy', 'no-referrer')
    res.setHeader('x-content-type-options', 'nosniff')
    try {
      const url = new URL(req.url ?? '/', origin)
      // A rebinding DNS name reaches this port with its own name in Host.
      if (req.headers.host !== host) {
        throw new HttpError(403, 'FORBIDDEN', 'Wrong Host header')
      }
      if (req.headers.origin !== undefined && req.headers.origin !== origin) {
        throw new HttpError(403, 'FORBIDDEN', 'Cross-origin requests are not allowed')
      }
      const given = req.headers[TOKEN_HEADER] ?? url.searchParams.get('token') ?? ''
      if (!sameToken(typeof given === 'string' ? given : '', token)) {
        throw new HttpError(403, 'FORBIDDEN', 'Missing or wrong token')
      }
      const route = Object.hasOwn(routes, url.pathname) ? routes[url.pathname] : undefined
      const handler =
        route && Object.hasOwn(route, req.method ?? '') ? route[req.method!] : undefined
      if (!route) throw new HttpError(404, 'NOT_FOUND', 'No such endpoint')
      if (!handler) {
        res.setHeader('allow', Object.keys(route).join(', '))
        throw new HttpError(
          405,
          'METHOD_NOT_ALLOWED',
          `${url.pathname} takes ${Object.keys(route).join(', ')}`
        )
      }
      const result = await handler(req, url, res)
      if (!res.headersSent) sendJson(res, 200, result)
    } catch (err) {
      if (res.headersSent) {
        res.destroy()
        return
      }
      if (err instanceof HttpError) {
        // The request may still be sending a body this server will not read.
        if (err.code === 'BODY_TOO_LARGE' || err.status === 403)
          res.setHeader('connection', 'close')
        sendJson(res, err.status, { error: { code: err.code, message: err.message } })
      } else if (isBackspaceError(err)) {
        sendJson(res, 400, { error: { code: err.code, message: err.message } })
      } else {
        const message = err instanceof Error ? err.message : String(err)
        sendJson(res, 500, { error: { code: 'INTERNAL', message } })
      }
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => res.destroy())
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', () => {}) // nothing after listening may take the process down
  const address = server.address() as AddressInfo
  host = `127.0.0.1:${address.port}`
  origin = `http://${host}`

  let closing: Promise<void> | null = null
  return {
    url: `${origin}/?token=${token}`,
    close() {
      closing ??= (async () => {
        node.off('room-add', onRoomAdd)
        node.off('room-remove', onRoomRemove)
        for (const room of [...watched.keys()]) unwatch(room)
        for (const res of streams) res.end()
        streams.clear()
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeAllConnections()
        await closed
      })()
      return closing
    }
  }
}

function roomId(room: Room): string {
  return room.topic.toString('hex')
}

function roomView(room: Room): RoomView {
  return {
    id: roomId(room),
    name: room.name,
    kind: room.kind,
    peers: room.stats.peers,
    invite: room.kind === 'private' ? room.invite : null
  }
}

function messageView(m: Message): MessageView {
  return {
    id: m.id,
    author: fingerprint(m.author),
    text: m.text,
    timestamp: m.timestamp,
    seq: m.seq
  }
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

function sendJson(res: http.ServerResponse, status: number, data: unknown): void {
  const body = JSON.stringify(data)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body)
  })
  res.end(body)
}

/** Reads a JSON object body of at most MAX_BODY_BYTES. */
function readJson(req: http.IncomingMessage): Promise<Body> {
  const declared = Number(req.headers['content-length'])
  if (declared > MAX_BODY_BYTES) return Promise.reject(tooLarge())
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let failed = false
    // Not for-await: leaving it early destroys the socket before the answer is sent.
    req.on('data', (chunk: Buffer) => {
      if (failed) return
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        failed = true
        reject(tooLarge())
      } else {
        chunks.push(chunk)
      }
    })
    req.on('error', (err) => {
      failed = true
      reject(err)
    })
    req.on('end', () => {
      if (failed) return
      let body: unknown
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        return reject(new HttpError(400, 'BAD_JSON', 'The body is not valid JSON'))
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        return reject(new HttpError(400, 'BAD_JSON', 'The body must be a JSON object'))
      }
      resolve(body as Body)
    })
  })
}

function tooLarge(): HttpError {
  return new HttpError(400, 'BODY_TOO_LARGE', `The body is larger than ${MAX_BODY_BYTES} bytes`)
}

function optionalString(body: Body, key: string): string | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string')
    throw new HttpError(400, 'INVALID_ARGUMENT', `${key} must be a string`)
  return value
}

function requiredString(body: Body, key: string): string {
  const value = optionalString(body, key)
  if (value === undefined) throw new HttpError(400, 'INVALID_ARGUMENT', `${key} is required`)
  return value
}
