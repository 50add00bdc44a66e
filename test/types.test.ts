import test from 'brittle'
import fs from 'fs/promises'
import path from 'path'
import { spawnSync } from 'child_process'
import { fileURLToPath } from 'url'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

// An embedding app, compiled strictly against the published declarations with skipLibCheck
// off: the public types must not lean on the untyped Holepunch modules.
const CONSUMER = `
import { Backspace, BackspaceError, isBackspaceError, type Message, type Room, type ErrorCode } from 'backspace'
const node = new Backspace({ storage: '/tmp/x', bootstrap: ['127.0.0.1:1'] })
await node.ready()
const key: Buffer = node.publicKey
const room: Room = await node.join('general', { password: 'optional' })
room.on('message', (m: Message) => console.log(m.author satisfies Buffer, m.text satisfies string, m.timestamp satisfies number, m.id))
room.on('reject', (e) => console.log(e.error.code satisfies ErrorCode))
const sent: Message = await room.send('hello')
const page: Message[] = await room.messages({ limit: 50, before: sent })
const invite: string = (await node.createRoom()).invite
try { await node.join(invite) } catch (err) { if (isBackspaceError(err, 'INVALID_INVITE')) console.log(err.code) }
const e = BackspaceError.WRONG_PASSWORD('x')
if (e instanceof BackspaceError) console.log(e.code satisfies ErrorCode)
// @ts-expect-error events are typed
room.on('message', (m: number) => m)
await room.leave()
await node.close()
console.log(key, page)
`

test('the published types compile in a strict consumer', async (t) => {
  const dir = await t.tmp()
  await fs.mkdir(path.join(dir, 'node_modules'))
  await fs.symlink(root, path.join(dir, 'node_modules', 'backspace'))
  await fs.writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module' }))
  await fs.writeFile(path.join(dir, 'index.ts'), CONSUMER)
  await fs.writeFile(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        types: ['node'],
        typeRoots: [path.join(root, 'node_modules', '@types')]
      },
      files: ['index.ts']
    })
  )
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const res = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' })
  t.is(res.stdout + res.stderr, '', 'no type errors')
  t.is(res.status, 0)
})
