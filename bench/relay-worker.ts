// Helpers of the relay-at-rest workload, in processes of their own:
//
//   creator  a Backspace node that creates N private rooms, sends one message in each, reports
//            their relay links (blind: the relay cannot read them), and stays online (idle)
//            while the relay is measured;
//   relay    a Backspace node in relay mode (`new Backspace({ relay: true })`) that joins the
//            invites: used only when `backspace relay` is not in the CLI.

import { Backspace, type BackspaceOptions } from '../lib/index.js'
import { workerChannel } from './child.js'
import { LOOPBACK_LIMITS } from './protocol.js'

interface Order {
  type: 'create' | 'relay'
  bootstrap: Array<{ host: string; port: number }>
  dir: string
  rooms: number
  invites: string[]
}

const { post, fail } = workerChannel<object>()

let node: Backspace | null = null

async function create(order: Order): Promise<void> {
  const n = new Backspace({ storage: order.dir, bootstrap: order.bootstrap, ...LOOPBACK_LIMITS })
  node = n
  n.on('error', () => {})
  await n.ready()
  const invites: string[] = []
  for (let i = 0; i < order.rooms; i++) {
    const room = await n.createRoom({ name: `rest ${i}` })
    room.on('error', () => {})
    await room.send(`message in room ${i}`)
    // The blind relay link where the library has it: the relay keeps the room unreadable.
    invites.push(room.relayLink)
  }
  post({ type: 'ready', invites })
}

async function relay(order: Order): Promise<void> {
  // `relay` is the lead's option for relay mode; a plain node is what is left without it.
  const opts: BackspaceOptions & { relay?: boolean } = {
    storage: order.dir,
    bootstrap: order.bootstrap,
    relay: true,
    ...LOOPBACK_LIMITS
  }
  const n = new Backspace(opts)
  node = n
  n.on('error', () => {})
  await n.ready()
  for (const invite of order.invites) {
    const room = await n.join(invite)
    room.on('error', () => {})
  }
  post({ type: 'ready', invites: [] })
}

process.on('message', (msg: Order | { type: 'close' }) => {
  if (msg.type === 'create') create(msg).catch(fail)
  else if (msg.type === 'relay') relay(msg).catch(fail)
  else if (msg.type === 'close') {
    Promise.resolve(node?.close())
      .then(() => process.disconnect())
      .catch(fail)
  }
})
