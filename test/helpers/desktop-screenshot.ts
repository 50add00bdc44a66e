// Makes the desktop screenshots in docs/: the chat in light and dark, at 1280 and 480 px wide,
// from two desktop shells chatting on a local testnet.
//
//   npm run screenshots        (or: npx tsc -p . && node dist/test/helpers/desktop-screenshot.js [DIR])
import fs from 'fs/promises'
import os from 'os'
import path from 'path'
import { fileURLToPath } from 'url'
import createTestnet from 'hyperdht/testnet.js'
import type { Page } from 'playwright-core'
import { createAccount, launchBrowser, startShell, typeLine, waitForMessage, type Shell } from './desktop.js'

const SIZES = [
  { width: 1280, height: 760 },
  { width: 480, height: 760 }
] as const

async function main(): Promise<void> {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
  const outDir = path.resolve(process.argv[2] ?? path.join(root, 'docs'))

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
      const context = await browser.newContext({ viewport: SIZES[0] })
      const page = await context.newPage()
      await page.goto(shell.url)
      return page
    }
    const alice = await open()
    const bob = await open()
    await createAccount(alice, { password: 'correct horse battery staple', name: 'alice' })
    await createAccount(bob, { password: null, name: 'bob' })
    await typeLine(bob, '/join random')
    await typeLine(alice, '/join random')
    await typeLine(alice, '/join lobby')
    await typeLine(bob, '/join lobby')
    await bob.locator('#room-peers', { hasText: '1 peer' }).waitFor()
    await alice.locator('#room-peers', { hasText: '1 peer' }).waitFor()

    await typeLine(alice, 'hi bob! this window is the desktop shell')
    await waitForMessage(bob, 'this window is the desktop shell')
    await typeLine(bob, '/me waves from the other window')
    await typeLine(bob, '@alice same library, same commands as the terminal')
    await typeLine(bob, 'the notes are at https://example.com/backspace')
    await waitForMessage(alice, 'the notes are at')
    await typeLine(alice, 'and everything expires after 7 days')
    await typeLine(alice, 'nothing about it is kept on a server')
    await waitForMessage(bob, 'nothing about it is kept')
    const line = bob.locator('.msg', { hasText: 'expires after 7 days' })
    await line.hover()
    await line.getByRole('button', { name: 'React' }).click()
    await line.locator('.picker button').first().click()
    await alice.locator('.chip').first().waitFor()
    // Alice sets the lobby up: a topic, and an announcement as a banner.
    await alice.locator('#room-settings-open').click()
    await alice.locator('#room-settings-form input[name="topic"]').fill('say hi, then pick a room')
    await alice.locator('#room-settings-form input[name="announcement"]').fill('release party on Friday, 18:00')
    await alice.locator('#room-settings-save').click()
    await alice.locator('#room-settings-saved').waitFor()
    await alice.keyboard.press('Escape')
    await alice.locator('#room-announcement').waitFor()
    // Bob asks to be friends from alice's name; she accepts, and a DM opens.
    await bob.locator('.msg', { hasText: 'this window is the desktop shell' }).locator('.who-link').click()
    await bob.locator('#profile-friend').click()
    await bob.locator('#profile-friend', { hasText: 'Request sent' }).waitFor()
    await bob.keyboard.press('Escape')
    await alice.locator('#friend-requests button[data-answer="accept"]').click()
    await alice.locator('#dms .room.dm').waitFor()
    await alice.locator('.room', { hasText: '#lobby' }).click()
    await alice.locator('#friends .member.online').waitFor()
    // An unread message in the other room shows a badge.
    await typeLine(bob, '/switch random')
    await typeLine(bob, 'anyone up for lunch?')
    await alice.locator('.room .badge').first().waitFor()
    await alice.locator('#members-toggle').click()
    await alice.locator('#members .member', { hasText: 'bob' }).waitFor()
    await alice.locator('#text').fill('sounds good, see you there')
    await alice.locator('#text').blur()
    await alice.mouse.move(0, 0)

    await fs.mkdir(outDir, { recursive: true })
    for (const scheme of ['light', 'dark'] as const) {
      await alice.emulateMedia({ colorScheme: scheme })
      for (const size of SIZES) {
        await alice.setViewportSize(size)
        // The member list covers the log in a narrow window: shown only in the wide one.
        const members = (await alice.locator('#members').count()) > 0
        if (members !== size.width > 640) await alice.locator('#members-toggle').click()
        await alice.locator('#text').blur()
        const out = path.join(outDir, `desktop-${scheme}-${size.width}.png`)
        await alice.screenshot({ path: out })
        process.stdout.write(`Wrote ${out}\n`)
      }
    }
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
