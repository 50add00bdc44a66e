import test from 'brittle'
import { spawn } from 'child_process'
import path from 'path'
import { fileURLToPath } from 'url'
import { create, createLocalTestnet, once, receive } from './helpers/index.js'

const examples = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'examples')

test('the echo bot answers messages', async (t) => {
  const testnet = await createLocalTestnet(t)
  const bootstrap = testnet.bootstrap.map((n) => `${n.host}:${n.port}`)
  const bot = spawn(process.execPath, [path.join(examples, 'echo-bot.js'), '--room', 'echoes', '--bootstrap', bootstrap[0]!], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  t.teardown(() => {
    if (bot.exitCode === null) bot.kill('SIGKILL')
  })
  let out = ''
  await new Promise<void>((resolve) => {
    bot.stdout!.on('data', (d: Buffer) => {
      out += d
      if (out.includes('is in #echoes')) resolve()
    })
  })

  const node = await create(t, testnet)
  const room = await node.join('echoes')
  const echoed = receive(room, ['echo: ping'])
  await room.send('ping')
  const [reply] = await echoed
  t.unlike(reply!.author, node.publicKey, 'the answer comes from the bot')

  bot.kill('SIGTERM')
  const [code] = await once<[number | null]>(bot, 'exit')
  t.is(code, 0, 'the bot exits cleanly on SIGTERM')
})
