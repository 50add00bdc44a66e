import test from 'brittle'
import { spawn } from 'child_process'
import fs from 'fs/promises'
import path from 'path'
import { Backspace } from '../lib/index.js'
import { pidNamespace, removeStaleScratch, SCRATCH_PREFIX, scratchRoots } from '../lib/scratch.js'
import { createLocalTestnet } from './helpers/index.js'
import { BIN, endsWithTest } from './helpers/cli.js'


/** The PID of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => child.once('exit', resolve))
  return child.pid!
}

/** A directory named as a node of `pid` would name it, with a file inside. */
async function fakeScratch(root: string, pid: number, namespace = pidNamespace(), tail = 'abc123'): Promise<string> {
  const dir = path.join(root, `${SCRATCH_PREFIX}${pid}-${namespace}-${tail}`)
  await fs.mkdir(path.join(dir, 'cores'), { recursive: true })
  await fs.writeFile(path.join(dir, 'cores', 'CURRENT'), 'x')
  return dir
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false
  )
}

test('scratch: removes directories of dead processes, keeps everything else', async (t) => {
  const root = await t.tmp()
  const dead = await deadPid()
  const stale = await fakeScratch(root, dead)
  const live = await fakeScratch(root, process.pid)
  const otherNamespace = await fakeScratch(root, dead, '1', 'zzz999')
  // Made by an older build: it names no owner, so a live node may hold it.
  const legacy = path.join(root, `${SCRATCH_PREFIX}Ab12Cd`)
  await fs.mkdir(legacy)
  const notOurs = path.join(root, `other-${dead}-${pidNamespace()}-abc123`)
  await fs.mkdir(notOurs)
  // A link with a stale name is not followed: what it points to stays.
  const target = await t.tmp()
  await fs.writeFile(path.join(target, 'keep'), 'x')
  const link = path.join(root, `${SCRATCH_PREFIX}${dead}-${pidNamespace()}-lnk000`)
  await fs.symlink(target, link)

  const removed = await removeStaleScratch([root])
  t.alike(removed, [stale], 'only the dead process directory is removed')
  t.absent(await exists(stale), 'the stale directory is gone')
  t.ok(await exists(live), "this process's directory is kept")
  t.ok(await exists(otherNamespace), 'a directory from another PID namespace is kept')
  t.ok(await exists(legacy), 'a directory without an owner in its name is kept')
  t.ok(await exists(notOurs), 'another prefix is kept')
  t.ok(await exists(path.join(target, 'keep')), 'a link is not followed')
  t.alike(await removeStaleScratch([root, path.join(root, 'missing')]), [], 'nothing more, and a missing root is fine')
})

test('scratch: an incognito node names its directory after its process and removes it on close', async (t) => {
  const [root] = await scratchRoots()
  const mine = async () => (await fs.readdir(root!)).filter((n) => n.startsWith(`${SCRATCH_PREFIX}${process.pid}-`))
  const before = await mine()
  const node = new Backspace({ incognito: true, bootstrap: [] })
  t.teardown(() => node.close())
  await node.ready()
  const during = (await mine()).filter((n) => !before.includes(n))
  t.is(during.length, 1, `one directory named for pid ${process.pid}: ${during.join(', ')}`)
  await node.close()
  t.absent(await exists(path.join(root!, during[0]!)), 'removed on close')
})

test('scratch: the next start removes the directory of an incognito node killed with SIGKILL', async (t) => {
  const testnet = await createLocalTestnet(t)
  const bootstrap = `127.0.0.1:${testnet.bootstrap[0]!.port}`
  const [root] = await scratchRoots()
  // The desktop shell starts an incognito node without a terminal.
  const child = spawn(process.execPath, [BIN, 'desktop', '--incognito', '--no-open', '--bootstrap', bootstrap], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BACKSPACE_DEBUG: '' }
  })
  endsWithTest(t, child)
  let out = ''
  child.stdout.setEncoding('utf8')
  child.stderr.resume()
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: string) => {
      out += d
      if (out.includes('Desktop page:')) resolve()
    })
    child.once('exit', () => reject(new Error(`the shell exited early: ${out}`)))
  })
  const owned = (await fs.readdir(root!)).filter((n) => n.startsWith(`${SCRATCH_PREFIX}${child.pid}-`))
  t.is(owned.length, 1, 'the shell made one scratch directory')
  const dir = path.join(root!, owned[0]!)

  child.kill('SIGKILL')
  await new Promise((resolve) => child.once('exit', resolve))
  t.ok(await exists(dir), 'SIGKILL leaves it behind')
  // Another running node's directory is not touched.
  const live = await fakeScratch(root!, process.pid, pidNamespace(), Math.random().toString(36).slice(2, 8).padEnd(6, '0'))
  t.teardown(() => fs.rm(live, { recursive: true, force: true }))

  const node = new Backspace({ storage: await t.tmp(), bootstrap: testnet.bootstrap })
  t.teardown(() => node.close())
  await node.ready()
  t.absent(await exists(dir), 'the next start removed it')
  t.ok(await exists(live), "a live process's directory is kept")
})
