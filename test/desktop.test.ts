import test from 'brittle'
import { spawn } from 'child_process'
import http from 'http'
import path from 'path'
import { fileURLToPath } from 'url'
import { fingerprint } from '../lib/index.js'
import { startDesktop, type DesktopServer } from '../ui-desktop/server.js'
import { renderPage } from '../ui-desktop/page.js'
import { create, createLocalTestnet, once, receive, waitForPeers } from './helpers/index.js'

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  json: any
}

interface Call {
  method?: string
  headers?: Record<string, string>
  body?: string | Buffer
  /** Leave the token out of the request. */
  token?: string | null
}

/** One HTTP request to the desktop server, with its token unless told otherwise. */
function call(desktop: DesktopServer, pathname: string, opts: Call = {}): Promise<Reply> {
  const url = new URL(desktop.url)
  const token = opts.token === undefined ? url.searchParams.get('token')! : opts.token
  const headers: Record<string, string> = { ...opts.headers }
  if (token !== null) headers['x-backspace-token'] = token
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json'
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: url.port,
        path: pathname,
        method: opts.method ?? 'GET',
        headers,
        agent: false
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (body += d))
        res.on('end', () => {
          let json: unknown = null
          try {
            json = JSON.parse(body)
          } catch {}
          resolve({ status: res.statusCode!, headers: res.headers, body, json })
        })
      }
    )
    req.on('error', reject)
    req.end(opts.body)
  })
}

function post(desktop: DesktopServer, pathname: string, data: unknown): Promise<Reply> {
  return call(desktop, pathname, { method: 'POST', body: JSON.stringify(data) })
}

interface ServerEvent {
  event: string
  data: any
}

/** The server's event stream, parsed; `next` also finds events that came before it was called. */
async function events(desktop: DesktopServer) {
  const url = new URL(desktop.url)
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http
      .get(
        {
          host: '127.0.0.1',
          port: url.port,
          path: `/api/events?token=${url.searchParams.get('token')}`
        },
        resolve
      )
      .on('error', reject)
  })
  const seen: ServerEvent[] = []
  const waiters: Array<{ match: (e: ServerEvent) => boolean; resolve: (e: ServerEvent) => void }> =
    []
  let buffer = ''
  let ended = false
  const endWaiters: Array<() => void> = []
  res.setEncoding('utf8')
  res.on('data', (chunk: string) => {
    buffer += chunk
    let end
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const frame = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let event = 'message'
      let data = ''
      for (const line of frame.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7)
        else if (line.startsWith('data: ')) data += line.slice(6)
      }
      if (!data) continue // a comment
      const e = { event, data: JSON.parse(data) }
      seen.push(e)
      for (const w of waiters.splice(0)) {
        if (w.match(e)) w.resolve(e)
        else waiters.push(w)
      }
    }
  })
  res.on('end', () => {
    ended = true
    for (const fn of endWaiters.splice(0)) fn()
  })
  // The server writes a comment first, so the stream is live once there is data.
  await once(res, 'data')
  return {
    status: res.statusCode,
    next(event: string, match: (data: any) => boolean = () => true): Promise<ServerEvent> {
      const test = (e: ServerEvent) => e.event === event && match(e.data)
      const found = seen.find(test)
      if (found) return Promise.resolve(found)
      return new Promise((resolve) => waiters.push({ match: test, resolve }))
    },
    ended(): Promise<void> {
      return ended ? Promise.resolve() : new Promise((resolve) => endWaiters.push(resolve))
    },
    destroy: () => res.destroy()
  }
}

test('desktop: the token and the Host header guard every request', async (t) => {
  const testnet = await createLocalTestnet(t)
  const node = await create(t, testnet, { incognito: true })
  const desktop = await startDesktop(node)
  t.teardown(() => desktop.close())

  const url = new URL(desktop.url)
  t.is(url.hostname, '127.0.0.1', 'the page is on loopback')
  t.ok(/^[0-9a-f]{64}$/.test(url.searchParams.get('token')!), 'with a 256-bit token')

  const state = await call(desktop, '/api/state')
  t.is(state.status, 200)
  t.is(state.json.identity.fingerprint, node.identity.fingerprint)
  t.is(state.json.identity.incognito, true)
  t.alike(state.json.rooms, [])

  const byQuery = await call(desktop, `/api/state?token=${url.searchParams.get('token')}`, {
    token: null
  })
  t.is(byQuery.status, 200, 'the token also works in the query, as EventSource needs')

  const none = await call(desktop, '/api/state', { token: null })
  t.is(none.status, 403, 'no token: 403')
  t.is(none.json.error.code, 'FORBIDDEN')
  const wrong = await call(desktop, '/api/state', { token: 'f'.repeat(64) })
  t.is(wrong.status, 403, 'wrong token: 403')
  t.is((await call(desktop, '/', { token: null })).status, 403, 'the page needs the token too')
  const noEvents = await call(desktop, '/api/events', { token: null })
  t.is(noEvents.status, 403, 'so does the event stream')
  const noPost = await call(desktop, '/api/join', {
    token: null,
    method: 'POST',
    body: '{"name":"x"}'
  })
  t.is(noPost.status, 403, 'and every action')
  t.is(node.rooms.length, 0, 'which did nothing')

  for (const host of [
    'evil.example',
    `evil.example:${url.port}`,
    `localhost:${url.port}`,
    '127.0.0.1'
  ]) {
    const res = await call(desktop, '/api/state', { headers: { host } })
    t.is(res.status, 403, `Host ${host}: 403`)
  }
  const crossOrigin = await call(desktop, '/api/state', {
    headers: { origin: 'http://evil.example' }
  })
  t.is(crossOrigin.status, 403, 'a foreign Origin: 403')

  const page = await call(desktop, '/')
  t.is(page.status, 200)
  t.ok(page.headers['content-type']!.startsWith('text/html'))
  const csp = String(page.headers['content-security-policy'])
  t.ok(csp.includes("default-src 'none'") && csp.includes("connect-src 'self'"), 'a strict CSP')
  t.ok(page.body.includes('<title>Backspace</title>'))
  t.absent(/(src|href)="https?:/.test(page.body), 'no external resources')
})

test('desktop: join, send and receive through the API and the event stream', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await create(t, testnet)
  const desktop = await startDesktop(a)
  t.teardown(() => desktop.close())
  const stream = await events(desktop)
  t.is(stream.status, 200)

  const joined = await post(desktop, '/api/join', { name: '#Desk' })
  t.is(joined.status, 200, 'joined')
  const id: string = joined.json.id
  const roomA = a.rooms[0]!
  t.is(id, roomA.topic.toString('hex'), 'rooms are named by their topic')
  t.alike(joined.json, { id, name: 'desk', kind: 'named', peers: 0, invite: null })
  t.is((await stream.next('room-add', (r) => r.id === id)).data.name, 'desk', 'room-add streamed')

  const roomB = await b.join('desk')
  await waitForPeers(roomB)
  const peers = await stream.next('peers', (p) => p.room === id && p.peers === 1)
  t.pass(`peers streamed: ${JSON.stringify(peers.data)}`)
  const state = await call(desktop, '/api/state')
  t.is(state.json.rooms[0].peers, 1, 'the state counts the peer')

  const arrived = receive(roomB, ['hello from the desktop'])
  const sent = await post(desktop, '/api/send', { room: id, text: 'hello from the desktop' })
  t.is(sent.status, 200, 'sent')
  t.is(sent.json.author, a.identity.fingerprint)
  const [got] = await arrived
  t.ok(got!.author.equals(a.publicKey), 'node B received it from A')
  t.is(got!.id, sent.json.id)
  const own = await stream.next('message', (m) => m.id === sent.json.id)
  t.is(own.data.room, id, 'own messages stream too')

  await roomB.send('hello from b')
  const streamed = await stream.next('message', (m) => m.text === 'hello from b')
  t.is(streamed.data.room, id)
  t.is(streamed.data.author, fingerprint(b.publicKey), 'with the author fingerprint')
  t.is(typeof streamed.data.timestamp, 'number')
  t.is(typeof streamed.data.id, 'string')

  const page = await call(desktop, `/api/messages?room=${id}&limit=50`)
  t.is(page.status, 200)
  const expected = (await roomA.messages({ limit: 50 })).map((m) => m.id)
  t.alike(
    page.json.messages.map((m: { id: string }) => m.id),
    expected,
    'messages come in the library order'
  )
  t.alike(page.json.messages.map((m: { text: string }) => m.text).sort(), [
    'hello from b',
    'hello from the desktop'
  ])
  const last = await call(desktop, `/api/messages?room=${id}&limit=1`)
  t.is(last.json.messages.length, 1, 'limit')
  const before = await call(
    desktop,
    `/api/messages?room=${id}&limit=5&before=${last.json.messages[0].id}`
  )
  t.alike(
    before.json.messages.map((m: { id: string }) => m.id),
    expected.slice(0, -1),
    'before pages back'
  )

  const made = await post(desktop, '/api/create', { name: 'team' })
  t.is(made.status, 200)
  t.is(made.json.kind, 'private')
  t.ok(made.json.invite.startsWith('backspace:'), 'a private room shows its invite')
  const team = await b.join(made.json.invite)
  t.is(team.topic.toString('hex'), made.json.id, 'the invite works')
  await team.leave()

  const byInvite = await post(desktop, '/api/join', { invite: made.json.invite })
  t.is(byInvite.json.id, made.json.id, 'joining by invite finds the same room')

  const left = await post(desktop, '/api/leave', { room: made.json.id })
  t.is(left.status, 200)
  await stream.next('room-remove', (r) => r.room === made.json.id)
  const after = await call(desktop, '/api/state')
  t.alike(
    after.json.rooms.map((r: { id: string }) => r.id),
    [id],
    'the room is gone'
  )

  await desktop.close()
  await stream.ended()
  t.pass('closing ends the event stream')
  await t.exception(call(desktop, '/api/state'), /ECONNREFUSED/, 'and stops the server')
  t.ok(a.opened && !a.closing, 'but leaves the node open')
})

test('desktop: bad input is a 400 with a code, and the server goes on', async (t) => {
  const testnet = await createLocalTestnet(t)
  const node = await create(t, testnet, { incognito: true })
  const desktop = await startDesktop(node)
  t.teardown(() => desktop.close())
  const room = (await post(desktop, '/api/join', { name: 'input' })).json.id

  const cases: Array<[string, Promise<Reply>, number, string]> = [
    ['bad JSON', call(desktop, '/api/join', { method: 'POST', body: '{"name":' }), 400, 'BAD_JSON'],
    ['an empty body', call(desktop, '/api/send', { method: 'POST', body: '' }), 400, 'BAD_JSON'],
    [
      'a JSON array',
      call(desktop, '/api/join', { method: 'POST', body: '["x"]' }),
      400,
      'BAD_JSON'
    ],
    [
      'a body over 64 KiB',
      call(desktop, '/api/send', {
        method: 'POST',
        body: JSON.stringify({ room, text: 'x'.repeat(70_000) })
      }),
      400,
      'BODY_TOO_LARGE'
    ],
    [
      'an unknown room',
      post(desktop, '/api/send', { room: 'ab'.repeat(32), text: 'hi' }),
      400,
      'UNKNOWN_ROOM'
    ],
    ['a room that is no string', post(desktop, '/api/leave', { room: 5 }), 400, 'INVALID_ARGUMENT'],
    ['messages of no room', call(desktop, '/api/messages'), 400, 'INVALID_ARGUMENT'],
    ['a missing text', post(desktop, '/api/send', { room }), 400, 'INVALID_ARGUMENT'],
    ['an empty message', post(desktop, '/api/send', { room, text: '   ' }), 400, 'EMPTY_MESSAGE'],
    ['a bad limit', call(desktop, `/api/messages?room=${room}&limit=0`), 400, 'INVALID_ARGUMENT'],
    [
      'an unknown before',
      call(desktop, `/api/messages?room=${room}&before=nope`),
      400,
      'INVALID_ARGUMENT'
    ],
    ['a bad invite', post(desktop, '/api/join', { invite: 'general' }), 400, 'INVALID_INVITE'],
    [
      'a broken invite',
      post(desktop, '/api/join', { invite: 'backspace:xyz' }),
      400,
      'INVALID_INVITE'
    ],
    ['an empty room name', post(desktop, '/api/join', { name: '  ' }), 400, 'INVALID_ROOM_NAME'],
    ['an unknown path', call(desktop, '/api/nope'), 404, 'NOT_FOUND'],
    ['a wrong method', call(desktop, '/api/send'), 405, 'METHOD_NOT_ALLOWED']
  ]
  for (const [what, reply, status, code] of cases) {
    const res = await reply
    t.is(res.status, status, `${what}: ${status}`)
    t.is(res.json?.error?.code, code, `${what}: ${code} (${res.json?.error?.message})`)
  }
  t.is(node.rooms.length, 1, 'only the one room was joined')
  t.is((await call(desktop, '/api/state')).status, 200, 'the server goes on')
})

test('desktop: the page builds its text with the DOM, never with innerHTML', async (t) => {
  const page = renderPage('NONCE')
  t.absent(page.includes('innerHTML'), 'no innerHTML')
  t.absent(
    page.includes('insertAdjacentHTML') || page.includes('document.write'),
    'no HTML parsing'
  )
  t.is(page.split('nonce="NONCE"').length - 1, 2, 'the style and the script carry the nonce')
})

test('desktop: main.js serves the page and exits cleanly on SIGTERM', async (t) => {
  const testnet = await createLocalTestnet(t)
  const main = path.join(
    path.dirname(fileURLToPath(import.meta.url)),
    '..',
    'ui-desktop',
    'main.js'
  )
  const bootstrap = `${testnet.bootstrap[0]!.host}:${testnet.bootstrap[0]!.port}`
  const env = { ...process.env }
  delete env['BROWSER']
  const child = spawn(
    process.execPath,
    [main, '--incognito', '--bootstrap', bootstrap, '--no-open'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env
    }
  )
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let out = ''
  const url = await new Promise<string>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d
      const m = /Desktop page: (\S+)/.exec(out)
      if (m) resolve(m[1]!)
    })
  })
  const desktop = { url, close: async () => {} }
  const state = await call(desktop, '/api/state')
  t.is(state.status, 200, 'the printed address works')
  t.is(state.json.identity.incognito, true)

  child.kill('SIGTERM')
  const [code] = await once<[number | null]>(child, 'exit')
  t.is(code, 0, 'exit 0 on SIGTERM')
})

test('desktop: main.js rejects bad arguments with exit code 2', async (t) => {
  const main = path.join(
    path.dirname(fileURLToPath(import.meta.url)),
    '..',
    'ui-desktop',
    'main.js'
  )
  const child = spawn(process.execPath, [main, '--port', 'abc'], {
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let err = ''
  child.stderr!.on('data', (d: Buffer) => (err += d))
  const [code] = await once<[number | null]>(child, 'exit')
  t.is(code, 2)
  t.ok(err.includes('INVALID_ARGUMENT'), err.trim())
})
