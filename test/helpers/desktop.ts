// Driving desktop shells in a real browser: shared by test/desktop.test.ts and the
// screenshot script (desktop-screenshot.ts).
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core'
import type { BootstrapNode } from '../../lib/index.js'
import { startDesktop, type DesktopServer } from '../../ui-desktop/server.js'
import { DesktopSession } from '../../ui-desktop/session.js'

export const CHROMIUM = process.env['BACKSPACE_CHROMIUM'] ?? '/usr/bin/chromium'

export interface Shell {
  session: DesktopSession
  server: DesktopServer
  url: string
  close(): Promise<void>
}

/** A desktop shell as `backspace desktop --storage DIR` starts it, without a window. */
export async function startShell(opts: {
  storage: string
  bootstrap: BootstrapNode[]
  account?: string
  password?: string
}): Promise<Shell> {
  const session = await DesktopSession.start(opts)
  const server = await startDesktop(session)
  return {
    session,
    server,
    url: server.url,
    async close() {
      await server.close()
      await session.close()
    }
  }
}

/** Headless Debian Chromium; tests run as root, hence no sandbox. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
}

/** What a test opens pages with: fresh contexts of one browser, closed when the test ends. */
export interface TestBrowser {
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>
  newPage(options?: BrowserContextOptions): Promise<Page>
}

let shared: Promise<Browser> | null = null

/**
 * One Chromium for a whole test file (launching one costs seconds of CPU): each test gets its
 * own contexts (no storage, cookies or pages shared), closed first among its teardowns, before
 * the shells they talk to. The file ends with `hook(..., closeBrowser)`.
 */
export async function browserFor(t: { teardown(fn: () => unknown, opts?: { order?: number }): void }): Promise<TestBrowser> {
  // A launch that failed is tried again by the next test, not handed to every test after it.
  shared ??= launchBrowser().catch((err: unknown) => {
    shared = null
    throw err
  })
  const browser = await shared
  const contexts: BrowserContext[] = []
  t.teardown(async () => {
    for (const context of contexts) await context.close().catch(() => {})
  }, { order: -1 })
  const newContext = async (options?: BrowserContextOptions) => {
    const context = await browser.newContext(options)
    contexts.push(context)
    return context
  }
  return { newContext, newPage: async (options) => (await newContext(options)).newPage() }
}

/** Closes the file's browser, if a test opened it. */
export async function closeBrowser(): Promise<void> {
  const browser = shared
  shared = null
  if (browser) await (await browser).close()
}

/**
 * Creates an account through the page's screens: new identity, the 24 words, the three
 * confirmation words, then a password (or explicitly none). Resolves on the chat screen.
 */
export async function createAccount(
  page: Page,
  opts: { password: string | null; account?: string; name?: string }
): Promise<{ words: string[]; fingerprint: string }> {
  await page.getByRole('button', { name: /Create a new account/ }).click()
  const list = page.locator('#words li')
  await list.nth(23).waitFor()
  const words = await list.allTextContents()
  const fingerprint = (await page.locator('#words-fingerprint').textContent()) ?? ''
  await page.getByRole('button', { name: 'I wrote them down' }).click()
  const fields = page.locator('.confirm-word')
  await fields.first().waitFor()
  for (const field of await fields.all()) {
    const index = Number(await field.getAttribute('data-index'))
    await field.fill(words[index]!)
  }
  await page.locator('#step-confirm').getByRole('button', { name: 'Continue' }).click()
  await page.locator('#step-password').waitFor()
  if (opts.account !== undefined) await page.locator('#account-name').fill(opts.account)
  if (opts.name !== undefined) await page.locator('#display-name').fill(opts.name)
  if (opts.password === null) {
    await page.getByRole('radio', { name: /No password/ }).check()
  } else {
    await page.locator('#password').fill(opts.password)
    await page.locator('#password-repeat').fill(opts.password)
  }
  await page.getByRole('button', { name: 'Create account' }).click()
  await page.locator('#chat').waitFor()
  return { words, fingerprint }
}

/** Types one line into the composer and sends it with Enter. */
export async function typeLine(page: Page, line: string): Promise<void> {
  const input = page.locator('#text')
  await input.fill(line)
  await input.press('Enter')
  // The composer empties once the shell answered.
  // A function, not a string: the page's CSP forbids eval, and rightly.
  await page.waitForFunction(() => (globalThis as any).document.getElementById('text').value === '')
}

/** Waits until the message list shows a message with exactly this text. */
export async function waitForMessage(page: Page, text: string): Promise<void> {
  await page.locator('#messages .msg .text', { hasText: text }).first().waitFor()
}
