// The desktop shell end to end: two shells, each with its own peer and storage on a local
// testnet, driven through their pages in headless Chromium; then its guards, over real HTTP
// and WebSocket requests.
import fs from 'fs'
import http from 'http'
import test, { hook } from 'brittle'
import createTestnet from 'hyperdht/testnet.js'
import type { Page } from 'playwright-core'
import WebSocket from 'ws'
import { accountIsEncrypted, Identity, saveAccount } from '../lib/index.js'
import { renderPage } from '../ui-desktop/page.js'
import { startDesktop } from '../ui-desktop/server.js'
import { DesktopSession } from '../ui-desktop/session.js'
import {
  createAccount,
  CHROMIUM,
  browserFor,
  closeBrowser,
  startShell,
  type TestBrowser,
  typeLine,
  waitForMessage
} from './helpers/desktop.js'
import { create, createLocalTestnet } from './helpers/index.js'
import type { ProfileFields } from '../lib/messages.js'

const ROOM = 'desk-e2e'
// Without Chromium (a machine that has not run .ci/run's apt-get), the browser tests are
// reported as skipped rather than failed; CI installs it, so there they always run.
const NO_BROWSER = !fs.existsSync(CHROMIUM)

/** A page that records its script errors, so the test can say there were none. */
async function openPage(browser: TestBrowser, url: string, errors: string[]): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 900, height: 640 } })
  const page = await context.newPage()
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(url)
  return page
}

test('desktop: two shells chat through their pages in a real browser', { skip: NO_BROWSER }, async (t) => {
  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  // Browsers and shells close first, the DHT last, whatever happened.
  t.teardown(() => testnet.destroy(), { order: 2 })
  const browser = await browserFor(t)
  const storageA = await t.tmp()
  const storageB = await t.tmp()
  const a = await startShell({ storage: storageA, bootstrap: testnet.bootstrap })
  t.teardown(() => a.close(), { order: 1 })
  const b = await startShell({ storage: storageB, bootstrap: testnet.bootstrap })
  t.teardown(() => b.close(), { order: 1 })
  t.is(a.session.phase, 'setup', 'no account yet: the page starts on the account screens')
  t.is(a.session.node, null, 'and no node exists before the choice')
  const errors: string[] = []

  const pageA = await openPage(browser, a.url, errors)
  const made = await createAccount(pageA, { password: 'correct horse' })
  t.is(made.words.length, 24, 'the page showed 24 words')
  t.is(a.session.phase, 'chat', 'the account is made and the node open')
  t.is(a.session.node!.identity.fingerprint, made.fingerprint, 'from the words shown')
  t.ok(await accountIsEncrypted(storageA, 'default'), 'encrypted with the chosen password')

  await typeLine(pageA, `/join ${ROOM}`)
  await pageA.locator('#room-title', { hasText: `#${ROOM}` }).waitFor()
  t.pass('A joined through the composer, as in the terminal')
  await typeLine(pageA, '/nick alice')
  await pageA.locator('.notice', { hasText: 'alice' }).first().waitFor()

  const pageB = await openPage(browser, b.url, errors)
  await createAccount(pageB, { password: null })
  t.absent(await accountIsEncrypted(storageB, 'default'), 'B chose no password, explicitly')
  await typeLine(pageB, `/join ${ROOM}`)
  await pageB.locator('#room-title', { hasText: `#${ROOM}` }).waitFor()

  await typeLine(pageA, 'hello from the desktop')
  await waitForMessage(pageB, 'hello from the desktop')
  const line = pageB.locator('.msg', { hasText: 'hello from the desktop' })
  t.is(await line.locator('.fp').textContent(), made.fingerprint, "with the author's fingerprint")
  t.ok((await line.locator('.who').textContent())!.includes('alice'), 'and name')
  await pageA.locator('.msg.mine', { hasText: 'hello from the desktop' }).waitFor()
  t.pass('A marks it as its own')

  await typeLine(pageB, '/me waves back')
  await pageA.locator('.msg.action', { hasText: 'waves back' }).waitFor()
  t.pass('a /me action arrives as an action')
  await typeLine(pageB, '@alice are you there?')
  await pageA.locator('.msg.mention', { hasText: 'are you there?' }).waitFor()
  t.pass('a mention is highlighted')

  // An edit, a reaction, a reply and a delete made on one page show on the other.
  pageA.on('dialog', (dialog) => void dialog.accept())
  await typeLine(pageA, 'a typo hree')
  await waitForMessage(pageB, 'a typo hree')
  const ownA = pageA.locator('.msg.mine', { hasText: 'a typo' })
  await ownA.hover()
  await ownA.getByRole('button', { name: 'Edit' }).click()
  await pageA.locator('.msg .editor').fill('a typo here')
  await pageA.locator('.msg .editor').press('Enter')
  const atB = pageB.locator('.msg', { hasText: 'a typo here' })
  await atB.locator('.edited').waitFor()
  t.pass('an edit in place on A shows on B, marked (edited)')

  await atB.hover()
  await atB.getByRole('button', { name: 'React' }).click()
  await atB.locator('.picker button').first().click()
  const chip = ownA.locator('.chip', { hasText: '1' })
  await chip.waitFor()
  t.is(
    await chip.getAttribute('aria-pressed'),
    'false',
    'a reaction from B shows on A as not its own'
  )
  await atB.locator('.chip.self').click()
  await chip.waitFor({ state: 'detached' })
  t.pass('a click on your own chip takes the reaction back, on both pages')

  await atB.hover()
  await atB.getByRole('button', { name: 'Reply' }).click()
  await pageB.locator('#reply-bar', { hasText: 'a typo here' }).waitFor()
  await typeLine(pageB, 'a reply from b')
  const replyAtA = pageA.locator('.msg', { hasText: 'a reply from b' })
  await replyAtA.locator('.quote', { hasText: 'alice: a typo here' }).waitFor()
  t.pass('a reply from B shows on A with a quote of the message answered')

  await ownA.hover()
  await ownA.getByRole('button', { name: 'Delete' }).click()
  await pageB.locator('.msg.deleted .tombstone').waitFor()
  await pageB.locator('.msg .quote.gone', { hasText: 'message deleted' }).waitFor()
  t.is(
    await pageB.locator('.msg .text', { hasText: 'a typo here' }).count(),
    0,
    'a delete on A leaves a tombstone on B, in the quote too'
  )

  await pageB.locator('#room-peers', { hasText: '1 peer' }).waitFor()
  await pageB.locator('#peer-count', { hasText: /^[1-9]\d* peers?$/ }).waitFor()
  t.pass('the header and the status bar count the peer')
  t.ok(
    (await pageB.locator('#invite-text').inputValue()).startsWith('backspace:'),
    'the invite link is shown'
  )

  await pageB.reload()
  await waitForMessage(pageB, 'hello from the desktop')
  await waitForMessage(pageB, 'waves back')
  t.pass('a reload shows the history again')

  // More than a page of history: the oldest shows once the list is scrolled to the top.
  const roomA = a.session.node!.rooms[0]!
  // Sixty at once is past the rate limit (15 in 10 s): lifted for this room on both sides.
  for (const s of [a, b]) s.session.node!.rooms[0]!.rate.setRule(null)
  for (let i = 0; i < 60; i++) await roomA.send(`older ${i}`)
  await waitForMessage(pageB, 'older 59')
  await pageB.reload()
  await waitForMessage(pageB, 'older 59')
  t.is(await pageB.locator('.msg', { hasText: 'older 0' }).count(), 0, 'a reload shows one page')
  await pageB.locator('#messages').evaluate((list: any) => (list.scrollTop = 0))
  await waitForMessage(pageB, 'older 0')
  t.pass('scrolling up loads older history')

  t.alike(errors, [], 'no script errors on either page')
})

test('desktop: unlock and chat with the keyboard alone in a 480x600 window', { skip: NO_BROWSER }, async (t) => {
  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  t.teardown(() => testnet.destroy(), { order: 2 })
  const storage = await t.tmp()
  await saveAccount(storage, 'default', Identity.generate(), { password: 'open sesame' })
  const shell = await startShell({ storage, bootstrap: testnet.bootstrap })
  t.teardown(() => shell.close(), { order: 1 })
  t.is(shell.session.phase, 'unlock', 'an encrypted account without --password: unlock')
  const browser = await browserFor(t)
  const context = await browser.newContext({ viewport: { width: 480, height: 600 } })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(shell.url)

  await page.locator('#unlock-password:focus').waitFor()
  await page.keyboard.type('wrong')
  await page.keyboard.press('Enter')
  await page.locator('#unlock-error', { hasText: 'The password does not decrypt' }).waitFor()
  t.absent(
    (await page.locator('#unlock-error').textContent())!.includes('WRONG_PASSWORD'),
    'a wrong password is refused on the page in a sentence, without the library code'
  )
  await page.locator('#unlock-password:focus').waitFor()
  await page.keyboard.type('open sesame')
  await page.keyboard.press('Enter')
  await page.locator('#text:focus').waitFor()
  t.pass('unlocked, and the composer has the focus')

  await page.keyboard.type('/join kb')
  await page.keyboard.press('Enter')
  await page.locator('#room-title', { hasText: '#kb' }).waitFor()
  await page.keyboard.type('/jo')
  await page.keyboard.press('Tab')
  // Completion is a round trip over the WebSocket: wait for it rather than race it.
  await page
    .waitForFunction("document.querySelector('#text').value !== '/jo'", null, { timeout: 10_000 })
    .catch(() => {})
  t.is(await page.locator('#text').inputValue(), '/join ', 'Tab completes a command')
  await page.locator('#text').fill('')

  // Up in the empty composer edits your last message in place; Enter saves it.
  await page.keyboard.type('a line to fix')
  await page.keyboard.press('Enter')
  await waitForMessage(page, 'a line to fix')
  await page.keyboard.press('ArrowUp')
  await page.locator('.msg .editor:focus').waitFor()
  await page.keyboard.press('End')
  await page.keyboard.type(', fixed')
  await page.keyboard.press('Enter')
  await page.locator('.msg', { hasText: 'a line to fix, fixed' }).locator('.edited').waitFor()
  await page.locator('#text:focus').waitFor()
  t.pass('Up edits the last message from the keyboard; the focus goes back to the composer')

  t.absent(await page.locator('#sidebar').isVisible(), 'at 480px the rooms are in a drawer')
  await page.locator('#drawer-toggle').focus()
  await page.keyboard.press('Enter')
  await page.locator('.room.active:focus').waitFor()
  t.pass('Enter opens it, with the focus on the room shown')
  await page.keyboard.press('Escape')
  await page.locator('#drawer-toggle:focus').waitFor()
  t.absent(await page.locator('#sidebar').isVisible(), 'Escape closes it')
  t.alike(errors, [], 'no script errors')
})

test('desktop: link a new device on one page, approve it in a dialog on the other', { skip: NO_BROWSER }, async (t) => {
  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  t.teardown(() => testnet.destroy(), { order: 2 })
  const storageA = await t.tmp()
  await saveAccount(storageA, 'default', Identity.generate())
  const a = await startShell({ storage: storageA, bootstrap: testnet.bootstrap })
  t.teardown(() => a.close(), { order: 1 })
  const b = await startShell({ storage: await t.tmp(), bootstrap: testnet.bootstrap })
  t.teardown(() => b.close(), { order: 1 })
  const browser = await browserFor(t)
  const errors: string[] = []
  const pageA = await openPage(browser, a.url, errors)
  const pageB = await openPage(browser, b.url, errors)

  await pageB.getByRole('button', { name: /Link to an existing device/ }).click()
  await pageB.locator('#link-text').fill('backspace:not-a-device-link')
  await pageB.locator('#step-link button.primary').click()
  await pageB.locator('#link-error', { hasText: 'not a device link' }).waitFor()
  t.pass('a wrong link is refused on the page')

  const { link } = await a.session.node!.devices.invite()
  await pageB.locator('#link-text').fill(link)
  await pageB.locator('#step-link button.primary').click()
  await pageB.locator('#step-password').waitFor()
  await pageB.locator('input[name=protect][value=none]').check()
  await pageB.locator('#create-account').click()
  const shown = pageB.locator('#linking-fingerprint')
  await shown.waitFor()
  const fingerprint = (await shown.textContent()) ?? ''
  t.ok(/^[0-9a-f]{4}(-[0-9a-f]{4}){3}$/.test(fingerprint), 'B shows its fingerprint while it waits')

  const dialog = pageA.locator('#device-dialog')
  await dialog.waitFor()
  t.is(await pageA.locator('#device-dialog-fingerprint').textContent(), fingerprint, 'A asks about the same one')
  await pageA.locator('#device-approve').click()
  await dialog.waitFor({ state: 'hidden' })
  await pageA.locator('.notice', { hasText: 'Linked device' }).first().waitFor()
  await pageB.locator('#text').waitFor()
  t.is(b.session.phase, 'chat', 'B opens on the chat once approved')
  t.alike(b.session.node!.publicKey, a.session.node!.publicKey, 'as a device of the same identity')
  t.alike(errors, [], 'no script errors')
})

test('desktop: the token, Host and Origin guard the page and the WebSocket', async (t) => {
  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  t.teardown(() => testnet.destroy(), { order: 2 })
  const session = await DesktopSession.start({ incognito: true, bootstrap: testnet.bootstrap })
  const desktop = await startDesktop(session)
  t.teardown(() => desktop.close().then(() => session.close()), { order: 1 })
  const url = new URL(desktop.url)
  const token = url.searchParams.get('token')!
  const port = Number(url.port)
  t.is(url.hostname, '127.0.0.1', 'the page is on loopback')
  t.ok(/^[0-9a-f]{64}$/.test(token), 'with a 256-bit token')

  const page = await get(port, `/?token=${token}`)
  t.is(page.status, 200, 'with the token: the page')
  const csp = String(page.headers['content-security-policy'])
  t.ok(csp.includes("default-src 'none'"), 'a strict CSP')
  t.ok(csp.includes(`connect-src ws://127.0.0.1:${port}/ws`), 'that connects to this socket only')
  t.absent(/(src|href)=["']?(https?:|\/\/)/.test(page.body), 'nothing loaded from outside')

  t.is((await get(port, '/')).status, 403, 'HTTP without the token: refused')
  t.is((await get(port, `/?token=${'f'.repeat(64)}`)).status, 403, 'a wrong token: refused')
  const foreign = await get(port, `/?token=${token}`, { origin: 'http://evil.example' })
  t.is(foreign.status, 403, 'HTTP with a foreign Origin: refused')
  for (const host of [`localhost:${port}`, `evil.example:${port}`, '127.0.0.1']) {
    t.is((await get(port, `/?token=${token}`, { host })).status, 403, `Host ${host}: refused`)
  }

  const ok = await socket(port, `/ws?token=${token}`, { origin: `http://127.0.0.1:${port}` })
  t.is(ok.status, 101, 'the WebSocket opens with the token and its own Origin')
  t.is(ok.state?.phase, 'chat', 'and answers')
  t.is((await socket(port, '/ws')).status, 403, 'WebSocket without the token: refused')
  const wsForeign = await socket(port, `/ws?token=${token}`, { origin: 'http://evil.example' })
  t.is(wsForeign.status, 403, 'WebSocket with a foreign Origin: refused')
  const wsHost = await socket(port, `/ws?token=${token}`, { host: `localhost:${port}` })
  t.is(wsHost.status, 403, 'WebSocket with another Host: refused')

  // A real page of another origin that somehow learnt the token still cannot connect.
  if (NO_BROWSER) {
    t.comment(`no browser at ${CHROMIUM}: the cross-origin page check is skipped`)
    return
  }
  const evil = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end('<!doctype html><title>evil</title>')
  })
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => evil.close(() => resolve())))
  const browser = await browserFor(t)
  const tab = await browser.newPage()
  await tab.goto(`http://127.0.0.1:${(evil.address() as { port: number }).port}/`)
  const outcome = await tab.evaluate(
    `new Promise((resolve) => {
      const ws = new WebSocket('ws://127.0.0.1:${port}/ws?token=${token}')
      ws.onopen = () => resolve('open')
      ws.onerror = () => resolve('refused')
    })`
  )
  t.is(outcome, 'refused', "another site's page is refused the WebSocket")
  t.is(session.phase, 'chat', 'and the shell goes on')
})

test('desktop: the page sets text as text, never as HTML', async (t) => {
  const page = renderPage('NONCE')
  t.is(page.split('nonce="NONCE"').length - 1, 3, 'the style, the import map and the script carry the nonce')
  const dir = new URL('../ui-desktop/page/', import.meta.url)
  const code = fs.readdirSync(dir).filter((f) => f.endsWith('.js'))
  t.ok(code.includes('main.js'), 'the page code is compiled by the build')
  for (const file of code) {
    const text = fs.readFileSync(new URL(file, dir), 'utf8')
    t.absent(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|dangerouslySetInnerHTML|\beval\(/.test(text), `${file}: no HTML parsing`)
  }
})

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on('error', reject)
  })
}

/** Opens a WebSocket; with 101 it also asks for the state and closes. */
function socket(
  port: number,
  path: string,
  headers: Record<string, string> = {}
): Promise<{ status: number; state?: { phase: string } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers })
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 })
      res.resume()
      ws.terminate()
    })
    ws.on('error', (err) => reject(err))
    ws.on('open', () => ws.send(JSON.stringify({ id: 1, type: 'state' })))
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString())
      if (frame.id !== 1) return
      resolve({ status: 101, state: frame.result })
      ws.close()
    })
  })
}

test('desktop: names isolated, long text kept, password rooms marked and told apart, mentions by key', { skip: NO_BROWSER }, async (t) => {
  const testnet = await createLocalTestnet(t)
  const browser = await browserFor(t)
  const a = await create(t, testnet, { aloneAfter: 1500 })
  const session = await DesktopSession.forNode(a)
  const desktop = await startDesktop(session)
  t.teardown(() => desktop.close(), { order: 0 })
  const b = await create(t, testnet)
  const c = await create(t, testnet)
  // B runs an older build: its name carries what today's display rule takes out.
  ;(b as unknown as { profile_: ProfileFields }).profile_ = {
    name: 'alice\u2028 ３０３ｆ-０４６４-８７ａ９',
    status: '',
    away: null
  }
  await c.setProfile({ name: 'alice' })
  const errors: string[] = []
  const page = await openPage(browser, desktop.url, errors)
  await page.locator('#chat').waitFor()
  await typeLine(page, '/join desk-defects')
  await page.locator('#room-title', { hasText: '#desk-defects' }).waitFor()
  const rb = await b.join('desk-defects')
  const rc = await c.join('desk-defects')
  await rb.send('send me your recovery words')
  await rc.send('hello from c')
  await waitForMessage(page, 'send me your recovery words')
  await waitForMessage(page, 'hello from c')

  const line = page.locator('.msg', { hasText: 'send me your recovery words' })
  t.is(await line.locator('.who bdi.name').textContent(), 'alice', 'the name, cleaned, in its own isolated element')
  t.is(await line.locator('.who .fp').textContent(), b.identity.fingerprint, 'the real fingerprint in its own element')
  t.is(
    await line.locator('.who bdi.name').evaluate((el: any) => (globalThis as any).getComputedStyle(el).unicodeBidi),
    'isolate',
    'isolated for bidi'
  )

  // Tab completion through the shell: two alices, two tagged forms.
  const room = a.rooms[0]!
  const candidates = (await session.request('complete', { room: room.id, text: 'hi @al' })) as string[]
  t.is(candidates.length, 2, 'two candidates')
  t.ok(candidates.every((l) => /^hi @alice#[0-9a-f]{4,} $/.test(l)), `each tagged: ${candidates.join(' | ')}`)

  // Too long: the counter shows before sending, Enter refuses it, the text stays.
  const long = 'x'.repeat(20_000)
  await page.locator('#text').fill(long)
  await page.locator('#count.over').waitFor()
  t.ok((await page.locator('#count').textContent())!.includes('16384'), 'the counter shows the limit')
  await page.locator('#text').press('Enter')
  await page.locator('.notice.error', { hasText: 'the limit is 16384' }).waitFor()
  t.is((await page.locator('#text').inputValue()).length, 20_000, 'the composer keeps the text')
  await page.locator('#text').fill('')

  // A paste past 64 KiB straight at the socket: a coded answer, and the socket stays.
  const url = new URL(desktop.url)
  const ws = new WebSocket(`ws://127.0.0.1:${url.port}/ws?token=${url.searchParams.get('token')}`)
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  t.teardown(() => ws.close())
  const answer = new Promise<any>((resolve) =>
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data))
      if (frame.id === 7) resolve(frame)
    })
  )
  ws.send(JSON.stringify({ id: 7, type: 'line', room: room.id, text: 'y'.repeat(70_000) }))
  const frame = await answer
  t.ok(frame.result.failed, 'a 70 KB line is answered as a failed send')
  t.is(frame.result.notices[0].code, 'MESSAGE_TOO_LARGE', 'with its code')
  t.is(ws.readyState, ws.OPEN, 'and the socket is still open')

  // A typo in an invite is refused with a sentence.
  const priv = await b.createRoom({ name: 'club' })
  const body = priv.invite.slice('backspace:'.length)
  await page.locator('#text').fill(`/join backspace:${body.slice(0, 10)}${body[10] === 'y' ? 'b' : 'y'}${body.slice(11)}`)
  await page.locator('#text').press('Enter')
  await page.locator('.notice.error', { hasText: 'typo' }).waitFor()
  t.is(a.rooms.length, 1, 'no look-alike room was made')

  // Two passwords: two rooms named #secret, each marked, each with its tag.
  await typeLine(page, '/join secret one')
  await typeLine(page, '/join secret two')
  const secrets = a.rooms.filter((r) => r.name === 'secret')
  for (const r of secrets) {
    const entry = page.locator('.room', { hasText: `#secret·${r.id.slice(0, 4)}` })
    await entry.waitFor()
    t.is(await entry.locator('.lock').count(), 1, `#secret·${r.id.slice(0, 4)} is marked as a password room`)
  }
  await page.locator('.notice', { hasText: 'another password makes another' }).first().waitFor()
  t.pass('nobody seen in a password room: the page says another password is another room')
  t.alike(errors, [], 'no script errors')
})

hook('close the browser', closeBrowser)
