// An echo bot: joins a room and answers every message from someone else.
//
//   node dist/examples/echo-bot.js --room general --bootstrap 127.0.0.1:49736
//
// It runs incognito by default (nothing on disk); pass --storage DIR to keep an identity.
import { parseArgs } from 'util'
import { Backspace, fingerprint, isBackspaceError } from '../lib/index.js'

const { values } = parseArgs({
  options: {
    room: { type: 'string', default: 'general' },
    password: { type: 'string' },
    bootstrap: { type: 'string', multiple: true },
    storage: { type: 'string' }
  }
})

const node = new Backspace({
  incognito: values.storage === undefined,
  storage: values.storage,
  bootstrap: values.bootstrap
})

try {
  await node.ready()
  const room = await node.join(values.room!, { password: values.password })
  console.log(`echo-bot ${node.identity.fingerprint} is in #${room.name}`)

  room.on('message', (m) => {
    if (m.author.equals(node.publicKey)) return
    room.send(`echo: ${m.text}`.slice(0, 4000)).catch((err) => console.error(err.message))
    console.log(`${fingerprint(m.author)}: ${m.text}`)
  })

  const stop = () => {
    node.close().then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
} catch (err) {
  console.error(isBackspaceError(err) ? err.message : err)
  await node.close()
  process.exitCode = 1
}
