// The central-relay contender: a minimal WebSocket server on 127.0.0.1, the design most chat
// services use. A client connects to ws://127.0.0.1:PORT/ROOM; every text frame it sends is
// written to the room's other sockets and kept in the room's history (in memory, as a
// server's database would keep it). With ?history=N the server first sends the latest N
// messages as one frame, `H` followed by a JSON array. No TLS, no auth, no persistence: the
// cheapest a relay can be, so its figures are a floor for the central design.

import type { IncomingMessage } from 'http'
import { WebSocketServer, type WebSocket } from 'ws'

export interface Relay {
  port: number
  close(): Promise<void>
}

export async function startRelay(): Promise<Relay> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  const rooms = new Map<string, { sockets: Set<WebSocket>; history: string[] }>()

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const name = decodeURIComponent(url.pathname.slice(1))
    let room = rooms.get(name)
    if (!room) rooms.set(name, (room = { sockets: new Set(), history: [] }))
    const r = room
    r.sockets.add(ws)
    ws.on('error', () => {})
    ws.on('close', () => r.sockets.delete(ws))
    const want = Number(url.searchParams.get('history') ?? 0)
    if (want > 0) ws.send('H' + JSON.stringify(r.history.slice(-want)))
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const text = isBinary ? data.toString('latin1') : data.toString()
      r.history.push(text)
      for (const other of r.sockets) if (other !== ws) other.send(text)
    })
  })

  const address = wss.address()
  if (typeof address === 'string' || !address) throw new Error('ws relay: no port')
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate()
        wss.close(() => resolve())
      })
  }
}
