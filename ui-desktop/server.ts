// The local web server of the desktop shell: one page and one WebSocket, on 127.0.0.1 only.
// Every request, the WebSocket upgrade included, needs the launch's secret token, the exact
// Host 127.0.0.1:port (DNS rebinding) and, when it has one, this server's own Origin.
import { randomBytes, timingSafeEqual } from 'crypto'
import http from 'http'
import type { AddressInfo } from 'net'
import type { Duplex } from 'stream'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { BackspaceError, type Backspace } from '../lib/index.js'
import fs from 'fs'
import { createRequire } from 'module'
import path from 'path'
import { fileURLToPath } from 'url'
import { APP_PATH, IMPORTS, renderPage } from './page.js'
import { DesktopSession, errorView, ShellError } from './session.js'

export interface DesktopOptions {
  /** The TCP port on 127.0.0.1. 0, the default, picks a free one. */
  port?: number
  /** Called with the number of open page sockets whenever it changes. */
  onPages?: (count: number) => void
}

export interface DesktopServer {
  /** The page's address, token included. Whoever holds it can drive the node. */
  readonly url: string
  /** The shell state behind the page. */
  readonly session: DesktopSession
  /** Closes the WebSockets and stops the server. The session is left to its owner. */
  close(): Promise<void>
}

/**
 * The largest frame the page may send. A message is at most 16 KiB (MAX_TEXT_BYTES), but a
 * paste can be far longer: up to this bound it is read and refused with a coded error, so the
 * page keeps its text and its socket; only beyond it is the socket cut.
 */
export const MAX_FRAME_BYTES = 1024 * 1024
// A page that stops reading is cut off rather than buffered without end.
const MAX_BACKLOG = 4 * 1024 * 1024
export const SOCKET_PATH = '/ws'

// Resolves Preact's files as Node would (its exports' "default" entries), on every Node 20.
const require = createRequire(import.meta.url)

/** The files the page loads, by URL path: fixed when the module loads, nothing else is served. */
const ASSETS: Map<string, string> = (() => {
  const assets = new Map<string, string>()
  const dir = fileURLToPath(new URL('./page/', import.meta.url))
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (/^[a-z-]+\.js$/.test(name)) assets.set(APP_PATH + name, path.join(dir, name))
  }
  for (const [specifier, url] of Object.entries(IMPORTS)) {
    assets.set(url, require.resolve(specifier))
  }
  return assets
})()

function sendAsset(res: http.ServerResponse, file: string, head: boolean): void {
  fs.readFile(file, (err, body) => {
    if (err) return sendText(res, 404, 'Not found')
    res.writeHead(200, {
      'content-type': 'text/javascript; charset=utf-8',
      'content-length': body.length,
      'cross-origin-resource-policy': 'same-origin'
    })
    res.end(head ? undefined : body)
  })
}

/**
 * Serves the desktop page and its WebSocket over `session` (or over a ready node the caller
 * keeps and closes) on 127.0.0.1.
 */
export async function startDesktop(
  target: DesktopSession | Backspace,
  opts: DesktopOptions = {}
): Promise<DesktopServer> {
  const port = opts.port ?? 0
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw BackspaceError.INVALID_ARGUMENT('port must be an integer from 0 to 65535')
  }
  const session = target instanceof DesktopSession ? target : await DesktopSession.forNode(target)
  const ownsSession = !(target instanceof DesktopSession)

  const token = randomBytes(32).toString('hex')
  // Known once listening: the only Host and Origin this server answers.
  let host = ''
  let origin = ''

  /**
   * Why a request is refused, or null when it may go on. The page's code (public, the same in
   * every install) is served without the token, which a module import cannot carry; the
   * document and the WebSocket, which can drive the node, need it.
   */
  const refusal = (req: http.IncomingMessage, url: URL, tokenFree = false): string | null => {
    // A rebinding DNS name reaches this port with its own name in Host.
    if (req.headers.host !== host) return 'Wrong Host header'
    // Other sites' pages send their own Origin; non-browser clients send none.
    if (req.headers.origin !== undefined && req.headers.origin !== origin) {
      return 'Cross-origin requests are not allowed'
    }
    if (tokenFree) return null
    if (!sameToken(url.searchParams.get('token') ?? '', token)) return 'Missing or wrong token'
    return null
  }

  const server = http.createServer((req, res) => {
    res.setHeader('cache-control', 'no-store')
    res.setHeader('referrer-policy', 'no-referrer')
    res.setHeader('x-content-type-options', 'nosniff')
    const url = new URL(req.url ?? '/', origin)
    const asset = ASSETS.get(url.pathname)
    const refused = refusal(req, url, asset !== undefined)
    if (refused) return sendText(res, 403, refused)
    if (url.pathname !== '/' && !asset) return sendText(res, 404, 'Not found')
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      return sendText(res, 405, 'Method not allowed')
    }
    if (asset) return sendAsset(res, asset, req.method === 'HEAD')
    const nonce = randomBytes(16).toString('base64')
    const body = renderPage(nonce)
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'content-security-policy': [
        "default-src 'none'",
        // 'self': the page's modules and Preact, from the fixed list this server serves.
        `script-src 'nonce-${nonce}' 'self'`,
        `style-src 'nonce-${nonce}'`,
        // 'self': after a lost socket the page asks whether its address still works (403).
        `connect-src ws://${host}${SOCKET_PATH} 'self'`,
        'img-src data:',
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'"
      ].join('; '),
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'x-frame-options': 'DENY'
    })
    res.end(req.method === 'HEAD' ? undefined : body)
  })

  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES })
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {})
    const url = new URL(req.url ?? '/', origin)
    const refused = refusal(req, url) ?? (url.pathname === SOCKET_PATH ? null : 'Not found')
    if (refused) {
      const status = refused === 'Not found' ? '404 Not Found' : '403 Forbidden'
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      return
    }
    sockets.handleUpgrade(req, socket, head, (ws) => serve(ws))
  })

  const send = (ws: WebSocket, frame: unknown): void => {
    if (ws.readyState !== ws.OPEN) return
    if (ws.bufferedAmount > MAX_BACKLOG) return ws.terminate()
    ws.send(JSON.stringify(frame))
  }

  const serve = (ws: WebSocket): void => {
    ws.on('error', () => {})
    opts.onPages?.(sockets.clients.size)
    ws.on('close', () => opts.onPages?.(sockets.clients.size))
    ws.on('message', (data: RawData, isBinary: boolean) => {
      let frame: unknown
      try {
        frame = isBinary ? null : JSON.parse(data.toString())
      } catch {}
      if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) {
        return send(ws, {
          id: null,
          error: { code: 'BAD_REQUEST', message: 'BAD_REQUEST: not a JSON object' }
        })
      }
      const { id = null, type, ...args } = frame as Record<string, unknown>
      if (typeof type !== 'string') {
        return send(ws, { id, error: errorView(new ShellError('BAD_REQUEST', 'type is required')) })
      }
      session.request(type, args).then(
        (result) => send(ws, { id, result }),
        (err) => send(ws, { id, error: errorView(err) })
      )
    })
  }

  const onEvent = (event: string, data: unknown): void => {
    for (const ws of sockets.clients) send(ws, { event, data })
  }
  session.on('event', onEvent)

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
    session,
    close() {
      closing ??= (async () => {
        session.off('event', onEvent)
        for (const ws of sockets.clients) ws.close(1001, 'The shell is closing')
        sockets.close()
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeAllConnections()
        for (const ws of sockets.clients) ws.terminate()
        await closed
        if (ownsSession) await session.close()
      })()
      return closing
    }
  }
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    connection: 'close'
  })
  res.end(text)
}
