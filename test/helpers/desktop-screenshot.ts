// Makes docs/desktop.png: two desktop shells on a local testnet chatting, side by side.
//
//   npx tsc -p . && node dist/test/helpers/desktop-screenshot.js [out.png] [--dark]
import fs from 'fs/promises'
import os from 'os'
import path from 'path'
import { fileURLToPath } from 'url'
import createTestnet from 'hyperdht/testnet.js'
import type { Page } from 'playwright-core'
import {
  createAccount,
  launchBrowser,
  startShell,
  typeLine,
  waitForMessage,
  type Shell
} from './desktop.js'

const WIDTH = 760
const HEIGHT = 560

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const dark = args.includes('--dark')
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
  const out = path.resolve(
    args.find((a) => !a.startsWith('--')) ?? path.join(root, 'docs', 'desktop.png')
  )

  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  const dirs: string[] = []
  const shells: Shell[] = []
  const browser = await launchBrowser()
  try {
    const open = async (): Promise<Page> => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'backspace-shot-'))
      dirs.push(dir)
      const shell = await startShell({ storage: dir, bootstrap: testnet.bootstrap })
      shells.push(shell)
      const context = await browser.newContext({
        viewport: { width: WIDTH, height: HEIGHT },
        colorScheme: dark ? 'dark' : 'light'
      })
      const page = await context.newPage()
      await page.goto(shell.url)
      return page
    }
    const alice = await open()
    const bob = await open()
    await createAccount(alice, { password: 'correct horse battery staple' })
    await createAccount(bob, { password: null })
    await typeLine(alice, '/nick alice')
    await typeLine(bob, '/nick bob')
    await typeLine(bob, '/join random')
    await typeLine(alice, '/join random')
    await typeLine(alice, '/join lobby')
    await typeLine(bob, '/join lobby')
    await bob.locator('#room-peers', { hasText: '1 peer' }).waitFor()
    await alice.locator('#room-peers', { hasText: '1 peer' }).waitFor()

    await typeLine(alice, 'hi bob! this window is the desktop shell')
    await waitForMessage(bob, 'this window is the desktop shell')
    await typeLine(bob, '/me waves from the other window')
    await waitForMessage(alice, 'waves from the other window')
    await typeLine(bob, '@alice same library, same commands as the terminal')
    await waitForMessage(alice, 'same commands as the terminal')
    await typeLine(alice, 'and everything expires after 7 days')
    await waitForMessage(bob, 'expires after 7 days')
    // An unread message in the other room shows a badge.
    await typeLine(bob, '/switch random')
    await typeLine(bob, 'anyone up for lunch?')
    await typeLine(bob, '/switch lobby')
    await alice.locator('.room .badge').first().waitFor()
    await bob.locator('#text').fill('/peers')
    await alice.locator('#text').fill('sounds good, @b')
    await alice.locator('#text').press('Tab')
    await alice.locator('#text').blur()

    const shots = await Promise.all([alice.screenshot(), bob.screenshot()])
    const composer = await browser.newPage({
      viewport: { width: WIDTH * 2 + 36, height: HEIGHT + 24 }
    })
    const frame = 'border-radius:8px;overflow:hidden;box-shadow:0 2px 10px #0005;line-height:0'
    const img = (png: Buffer) =>
      `<div style="${frame}"><img src="data:image/png;base64,${png.toString('base64')}"></div>`
    const background = dark ? '#0b0c0f' : '#c9ced8'
    await composer.setContent(
      `<!doctype html><body style="margin:0;padding:12px;display:flex;gap:12px;` +
        `background:${background}">${shots.map(img).join('')}</body>`
    )
    await composer.screenshot({ path: out })
    process.stdout.write(`Wrote ${out}\n`)
  } finally {
    await browser.close()
    for (const shell of shells) await shell.close()
    await testnet.destroy()
    for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
