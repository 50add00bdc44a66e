// The desktop page's own behaviour in headless Chromium: what a new user of a chat app
// expects (notifications, unread counts in the title, links, grouping, an unread divider,
// jump to latest, members and profiles, a growing composer), a log that redraws only what
// changed, a clear overlay when the shell is gone, and readable, accessible styling.
import { spawn } from 'child_process'
import fs from 'fs'
import path from 'path'
import { fileURLToPath } from 'url'
import test, { hook } from 'brittle'
import type { Page } from 'playwright-core'
import { accountIsEncrypted, Identity, saveAccount } from '../lib/index.js'
import { startDesktop } from '../ui-desktop/server.js'
import { DesktopSession } from '../ui-desktop/session.js'
import { CHROMIUM, browserFor, closeBrowser, createAccount, startShell, typeLine, waitForMessage } from './helpers/desktop.js'
import { create, createLocalTestnet, once, until as untilLib, waitForPeers } from './helpers/index.js'

const NO_BROWSER = !fs.existsSync(CHROMIUM)
const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'ui-desktop', 'main.js')

declare const window: any
declare const document: any

test('desktop page: a new message adds one line; mentions notify; unread counts in the title survive a reload', { skip: NO_BROWSER }, async (t) => {
  const testnet = await createLocalTestnet(t)
  const browser = await browserFor(t)
  const a = await create(t, testnet)
  await a.setProfile({ name: 'alice' })
  const session = await DesktopSession.forNode(a)
  const desktop = await startDesktop(session)
  t.teardown(() => desktop.close(), { order: 0 })
  const b = await create(t, testnet)
  await b.setProfile({ name: 'bob' })
  const a1 = await a.join('page-one')
  const a2 = await a.join('page-two')
  const b1 = await b.join('page-one')
  const b2 = await b.join('page-two')
  await Promise.all([waitForPeers(a1), waitForPeers(b1), waitForPeers(a2), waitForPeers(b2)])

  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } })
  // The system's notifications, recorded: the page may show them.
  await context.addInitScript(() => {
    window.__notes = []
    window.Notification = class {
      static permission = 'granted'
      static requestPermission() {
        return Promise.resolve('granted')
      }
      constructor(title: string, opts: { body?: string }) {
        window.__notes.push({ title, body: opts?.body })
      }
    }
  })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(desktop.url)
  await page.locator(`.room[data-room="${a1.id}"]`).click()
  await page.locator('#room-title', { hasText: '#page-one' }).waitFor()

  await b1.send('first from bob')
  await b1.send('second from bob')
  await waitForMessage(page, 'second from bob')
  const first = page.locator('.msg', { hasText: 'first from bob' })
  const second = page.locator('.msg', { hasText: 'second from bob' })
  t.absent(await first.evaluate((el: any) => el.classList.contains('grouped')), 'the first of a run shows its author')
  t.ok(await second.evaluate((el: any) => el.classList.contains('grouped')), 'the next one from the same author is grouped')
  t.is(await second.locator('.who .fp').textContent(), b.identity.fingerprint, 'still named for screen readers')
  t.ok(
    (await first.locator('.who').textContent())!.includes(`bob, key ${b.identity.fingerprint}`),
    'a screen reader hears the name and the key as two things, not one run of text'
  )

  // Every node the log gains for one new message is counted; the old lines are the same elements.
  await page.evaluate(() => {
    const log = document.getElementById('messages')
    window.__added = 0
    document.querySelector('.msg').__marked = true
    new window.MutationObserver((records: any[]) => {
      for (const r of records) {
        for (const n of r.addedNodes) window.__added += 1 + (n.querySelectorAll ? n.querySelectorAll('*').length : 0)
      }
    }).observe(log, { childList: true, subtree: true })
  })
  await b1.send('third, see https://example.com/a?b=1.')
  await waitForMessage(page, 'third, see')
  const added = await page.evaluate(() => window.__added)
  t.ok(added > 0 && added <= 25, `one message adds ${added} nodes, not the whole log (was 53)`)
  t.ok(await page.evaluate(() => document.querySelector('.msg').__marked === true), 'the older lines were kept, not redrawn')

  const link = page.locator('.msg a', { hasText: 'https://example.com/a?b=1' })
  t.is(await link.getAttribute('href'), 'https://example.com/a?b=1', 'a link is clickable, without the full stop after it')
  t.is(await link.getAttribute('target'), '_blank', 'it opens outside the app')
  t.ok((await link.getAttribute('rel'))!.split(' ').includes('noopener'), 'with rel=noopener')

  // Another room: its messages count in the title, and a mention notifies.
  await b2.send('over in two')
  await page.waitForFunction(() => document.title === '(1) Backspace')
  t.pass('the title counts unread messages')
  await b2.send('@alice look here')
  await page.waitForFunction(() => window.__notes.length === 1)
  const [note] = await page.evaluate(() => window.__notes)
  t.ok(note.title.includes('bob') && note.title.includes('#page-two'), `a mention notifies: ${note.title}`)
  t.is(note.body, '@alice look here')
  await page.waitForFunction(() => document.title === '(2) Backspace')

  await page.reload()
  await page.locator('#chat').waitFor()
  await page.locator(`.room[data-room="${a2.id}"] .badge`, { hasText: '@2' }).waitFor()
  await page.waitForFunction(() => document.title === '(2) Backspace')
  t.pass('unread and mention counts survive a reload')

  await page.locator(`.room[data-room="${a2.id}"]`).click()
  await page.locator('#unread-divider').waitFor()
  t.ok(
    await page.evaluate(() => document.querySelector('#unread-divider').nextElementSibling.textContent.includes('over in two')),
    'a "New messages" divider sits above the first unread one'
  )
  await page.waitForFunction(() => document.title === 'Backspace')
  t.pass('read: the title has no count')

  // Far from the end, a button jumps back to the latest.
  for (let i = 0; i < 40; i++) await b2.send(`filler ${i}\nwith a second line`)
  await waitForMessage(page, 'filler 39')
  await page.locator('#messages').evaluate((el: any) => (el.scrollTop = 0))
  await page.locator('#jump-latest').click()
  await page.waitForFunction(() => {
    const el = document.getElementById('messages')
    return el.scrollHeight - el.scrollTop - el.clientHeight < 40
  })
  t.pass('jump to latest')

  await page.locator('#members-toggle').click()
  await page.locator('#members .member', { hasText: 'bob' }).click()
  await page.locator('#profile-fingerprint').waitFor()
  t.is(await page.locator('#profile-fingerprint').textContent(), b.identity.fingerprint, "a member's profile shows their fingerprint")
  await page.keyboard.press('Escape')
  await page.locator('#profile').waitFor({ state: 'detached' })

  const composer = page.locator('#text')
  const low = (await composer.boundingBox())!.height
  await composer.fill('one\ntwo\nthree\nfour\nfive')
  const high = (await composer.boundingBox())!.height
  t.ok(high > low * 2, `the composer grows with its text (${low} -> ${high} px)`)
  await composer.fill('')
  const width = await page.locator('#messages .column').evaluate((el: any) => window.getComputedStyle(el).maxWidth)
  t.not(width, 'none', `lines keep a maximum width (${width})`)
  t.alike(errors, [], 'no script errors')
})

test('desktop page: a dead shell shows an overlay and takes no input; a restarted one (403) ends the retries', { skip: NO_BROWSER }, async (t) => {
  const testnet = await createLocalTestnet(t)
  const bootstrap = `${testnet.bootstrap[0]!.host}:${testnet.bootstrap[0]!.port}`
  const start = async (port: string) => {
    const env = { ...process.env }
    delete env['BROWSER']
    const child = spawn(process.execPath, [MAIN, '--incognito', '--bootstrap', bootstrap, '--no-open', '--port', port], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env
    })
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL')
    })
    let out = ''
    const url = await new Promise<string>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d
        const m = /Desktop page: (\S+)/.exec(out)
        if (m) resolve(m[1]!)
      })
    })
    return { child, url }
  }
  const first = await start('0')
  const browser = await browserFor(t)
  const page: Page = await browser.newPage()
  await page.goto(first.url)
  await page.locator('#text').waitFor()
  t.absent(await page.locator('#offline').count(), 'no overlay while the shell answers')

  first.child.kill('SIGKILL')
  await once(first.child, 'exit')
  await page.locator('#offline', { hasText: 'not responding' }).waitFor()
  t.ok(await page.locator('#text').isDisabled(), 'the composer takes no input')

  // The same port, a new shell: the old page's token means nothing there.
  await start(new URL(first.url).port)
  await page.locator('#offline', { hasText: 'out of date' }).waitFor()
  t.pass('the page learns its address is dead (403) and stops retrying')
})

test('desktop page: the display name in onboarding, settings (theme, password, words, switch), contrast and focus', { skip: NO_BROWSER }, async (t) => {
  const testnet = await createLocalTestnet(t)
  const browser = await browserFor(t)
  const storage = await t.tmp()
  const shell = await startShell({ storage, bootstrap: testnet.bootstrap })
  t.teardown(() => shell.close(), { order: 1 })
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(shell.url)
  const made = await createAccount(page, { password: null, name: 'carol' })
  await page.locator('#me', { hasText: 'carol' }).waitFor()
  t.is(shell.session.node!.profile.name, 'carol', 'a new user names themself during onboarding')
  await typeLine(page, '/join looks')
  await page.locator('#room-title', { hasText: '#looks' }).waitFor()

  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    const [border, background] = await page.locator('#join-name').evaluate((el: any) => [
      window.getComputedStyle(el).borderTopColor,
      window.getComputedStyle(document.getElementById('sidebar')).backgroundColor
    ])
    const ratio = contrast(border, background)
    t.ok(ratio >= 3, `${scheme}: field borders at ${ratio.toFixed(2)}:1 against the sidebar (at least 3:1)`)
    await page.locator('.room.active').focus()
    await page.keyboard.press('Shift+Tab')
    await page.keyboard.press('Tab')
    const [style, width, color, side] = await page.locator('.room.active').evaluate((el: any) => {
      const s = window.getComputedStyle(el)
      return [s.outlineStyle, s.outlineWidth, s.outlineColor, window.getComputedStyle(document.getElementById('sidebar')).backgroundColor]
    })
    const ring = contrast(color, side)
    t.ok(style !== 'none' && parseFloat(width) >= 2 && ring >= 3, `${scheme}: the active room's focus ring is ${width} at ${ring.toFixed(2)}:1`)
  }

  await page.locator('#settings-open').click()
  await page.getByRole('radio', { name: 'Dark' }).check()
  t.is(await page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'the theme applies at once')
  await page.reload()
  await page.locator('#chat').waitFor()
  t.is(await page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'and stays after a reload')

  // An account made without a password gets one, then shows its words only with it.
  await page.locator('#settings-open').click()
  await page.locator('#settings-new').fill('new secret')
  await page.locator('#settings-repeat').fill('new secret')
  await page.locator('#password-settings').getByRole('button', { name: 'Save the password' }).click()
  await page.locator('#password-note', { hasText: 'new password is saved' }).waitFor()
  t.ok(await accountIsEncrypted(storage, 'default'), 'Settings sets a password on the key file')
  await page.locator('#settings-phrase-password').fill('not it')
  await page.locator('#phrase-settings').getByRole('button', { name: 'Show the 24 words' }).click()
  await page.locator('#phrase-error', { hasText: 'The password does not decrypt' }).waitFor()
  t.is(await page.locator('#phrase-error').textContent(), 'The password does not decrypt this account.', 'the words stay hidden behind a wrong password, said in a sentence without its code')
  await page.locator('#settings .devices li', { hasText: 'this device' }).waitFor()
  t.pass('Settings lists the identity\'s devices, this one marked')
  await page.locator('#settings-phrase-password').fill('new secret')
  await page.locator('#phrase-settings').getByRole('button', { name: 'Show the 24 words' }).click()
  await page.locator('#settings-words li').nth(23).waitFor()
  t.alike(await page.locator('#settings-words li').allTextContents(), made.words, 'after the password, the recovery words')

  await page.locator('#switch-account').click()
  await page.locator('#account-list button', { hasText: 'default' }).click()
  await page.locator('#unlock-password').fill('new secret')
  await page.locator('#unlock-password').press('Enter')
  await page.locator('#room-title', { hasText: '#looks' }).waitFor()
  t.pass('switch account: back to the account screens, and the account opens with its new password')
  t.alike(errors, [], 'no script errors')
})

/** The WCAG contrast ratio of two CSS rgb() colours. */
function contrast(a: string, b: string): number {
  const lum = (css: string) => {
    const [r, g, bl] = css.match(/[\d.]+/g)!.slice(0, 3).map(Number).map((v) => {
      const c = v / 255
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
    })
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!
  }
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x)
  return (hi! + 0.05) / (lo! + 0.05)
}

test('desktop page: messages synced at start count as unread, in the badge and the title', { skip: NO_BROWSER }, async (t) => {
  const testnet = await createLocalTestnet(t)
  const storage = await t.tmp()
  await saveAccount(storage, 'default', Identity.generate())
  const first = await startShell({ storage, bootstrap: testnet.bootstrap })
  const a = first.session.node!
  const a1 = await a.join('synced-one')
  const a2 = await a.join('synced-two')
  const b = await create(t, testnet)
  const b2 = await b.join('synced-two')
  await Promise.all([waitForPeers(a2), waitForPeers(b2)])
  await first.close()

  // While this shell is closed, two messages are written; they arrive when it opens again.
  await b2.send('while you were away')
  await b2.send('and another')
  const shell = await startShell({ storage, bootstrap: testnet.bootstrap })
  t.teardown(() => shell.close(), { order: 1 })
  const browser = await browserFor(t)
  const page = await browser.newPage()
  await page.goto(`${shell.url}#${a1.id}`)
  await page.locator('#room-title', { hasText: '#synced-one' }).waitFor()
  await page.locator(`.room[data-room="${a2.id}"] .badge`, { hasText: '2' }).waitFor()
  await page.waitForFunction(() => document.title === '(2) Backspace')
  t.pass('the two messages synced at start are unread, in the badge and the title')
})

test('desktop page: the shell checks the confirmed words; a wrong one is named and keeps the page on the step', { skip: NO_BROWSER }, async (t) => {
  const testnet = await createLocalTestnet(t)
  const browser = await browserFor(t)
  const storage = await t.tmp()
  const shell = await startShell({ storage, bootstrap: testnet.bootstrap })
  t.teardown(() => shell.close(), { order: 0 })
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(shell.url)
  await page.getByRole('button', { name: /Create a new account/ }).click()
  const list = page.locator('#words li')
  await list.nth(23).waitFor()
  const words = await list.allTextContents()
  await page.getByRole('button', { name: 'I wrote them down' }).click()
  const fields = await page.locator('.confirm-word').all()
  t.is(fields.length, 3, 'three words asked')
  const asked: number[] = []
  for (const field of fields) asked.push(Number(await field.getAttribute('data-index')))
  // The last one mistyped: the shell names it.
  for (const [i, field] of fields.entries()) await field.fill(words[asked[i]!]! + (i === 2 ? 'x' : ''))
  await page.locator('#step-confirm').getByRole('button', { name: 'Continue' }).click()
  await page.locator('#confirm-error', { hasText: `Word ${asked[2]! + 1} does not match` }).waitFor()
  t.pass('the wrong word is named')
  t.is(shell.session.phase, 'setup', 'no account')
  await fields[2]!.fill(words[asked[2]!]!)
  await page.locator('#step-confirm').getByRole('button', { name: 'Continue' }).click()
  await page.locator('#step-password').waitFor()
  t.pass('the right words lead on to the password step')
  t.alike(errors, [], 'no script errors')
})

test('desktop page: friends panel, requests with buttons, DMs that notify and count, profiles from names, room settings', { skip: NO_BROWSER }, async (t) => {
  const testnet = await createLocalTestnet(t)
  const browser = await browserFor(t)
  const a = await create(t, testnet)
  await a.setProfile({ name: 'ann' })
  const session = await DesktopSession.forNode(a)
  const desktop = await startDesktop(session)
  t.teardown(() => desktop.close(), { order: 0 })
  const b = await create(t, testnet)
  await b.setProfile({ name: 'bob' })
  const c = await create(t, testnet)
  await c.setProfile({ name: 'cy' })
  const ra = await a.join('page-social')
  const rb = await b.join('page-social')
  const rc = await c.join('page-social')
  await Promise.all([waitForPeers(ra, 2), waitForPeers(rb), waitForPeers(rc)])

  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } })
  await context.addInitScript(() => {
    window.__notes = []
    window.Notification = class {
      static permission = 'granted'
      static requestPermission() {
        return Promise.resolve('granted')
      }
      constructor(title: string, opts: { body?: string }) {
        window.__notes.push({ title, body: opts?.body })
      }
    }
  })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  page.on('dialog', (d) => void d.accept())
  await page.goto(desktop.url)
  await page.locator(`.room[data-room="${ra.id}"]`).click()
  await page.locator('#friends').waitFor()
  t.ok((await page.locator('#friends').textContent())!.includes('No friends yet'), 'an empty friends panel says how to add one')

  // A request arrives: Accept, Decline and Block; Accept opens the DM in the list.
  await b.friends.request(a.publicKey, 'hi ann, bob here')
  const request = page.locator('#friend-requests .request', { hasText: 'hi ann, bob here' })
  await request.waitFor()
  t.is(await request.locator('button').count(), 3, 'a request has Accept, Decline and Block')
  await request.locator('button[data-answer="accept"]').click()
  await page.locator('#friends .member', { hasText: 'bob' }).waitFor()
  await page.locator('#dms .room.dm', { hasText: 'bob' }).waitFor()
  t.pass('accepted: bob is a friend, with a DM')
  await page.locator('#friends .member.online', { hasText: 'bob' }).waitFor()
  t.pass('a friend online has a green dot')
  await page.locator('#room-title', { hasText: 'bob' }).waitFor()
  t.pass('accepting opens the DM')
  // Back in the room: a DM from bob counts in the list and the title, and notifies.
  await page.locator(`.room[data-room="${ra.id}"]`).click()
  await page.locator('#room-title', { hasText: '#page-social' }).waitFor()
  await untilLib(b, 'friend-update', () => b.friends.list().length === 1)
  const bobDm = await b.dm(a.publicKey)
  await bobDm.send('psst, ann')
  await page.locator('#dms .room.dm .badge', { hasText: '1' }).waitFor()
  await page.waitForFunction(() => document.title === '(1) Backspace')
  t.pass('the title counts the DM')
  await page.waitForFunction(() => window.__notes.some((n: any) => n.body === 'psst, ann'))
  const note = (await page.evaluate(() => window.__notes)).find((n: any) => n.body === 'psst, ann')
  t.ok(note.title.includes('bob') && note.title.includes('direct message'), `a DM notifies: ${note.title}`)
  t.is(await page.locator('#rooms .room.dm').count(), 0, 'DMs are not listed among the rooms')

  // A name in the timeline opens that identity's profile: fingerprint, Add friend, Block.
  await rc.send('cy says hi')
  await waitForMessage(page, 'cy says hi')
  await page.locator('.msg', { hasText: 'cy says hi' }).locator('.who-link').click()
  await page.locator('#profile-fingerprint').waitFor()
  t.is(await page.locator('#profile-fingerprint').textContent(), c.identity.fingerprint, 'the profile of the name clicked')
  t.ok(await page.locator('#profile-dm').isDisabled(), 'no DM before they accept')
  const asked = once<[unknown]>(c, 'friend-request')
  await page.locator('#profile-friend').click()
  await asked
  await page.locator('#profile-friend', { hasText: 'Request sent' }).waitFor()
  t.pass('Add friend sends a request')
  await page.locator('#profile-block', { hasText: 'Block' }).click()
  await page.locator('#profile-block', { hasText: 'Unblock' }).waitFor()
  t.ok(a.blocked().some((k) => k.equals(c.publicKey)), 'Block blocks in the library')
  await page.locator('#profile-block').click()
  await page.locator('#profile-block', { hasText: /^Block$/ }).waitFor()
  t.is(a.blocked().length, 0, 'and Unblock undoes it')
  await page.keyboard.press('Escape')
  await page.locator('#profile').waitFor({ state: 'detached' })

  // Bob's profile from the friends panel: Message opens the DM.
  await page.locator('#friends .member', { hasText: 'bob' }).click()
  await page.locator('#profile-dm').click()
  await page.locator('#room-title', { hasText: 'bob' }).waitFor()
  await waitForMessage(page, 'psst, ann')
  await page.waitForFunction(() => document.title === 'Backspace')
  t.pass('Message opens the DM, read')

  // Room settings: topic and announcement in the header, a governance line, the owner's mark.
  await page.locator(`.room[data-room="${ra.id}"]`).click()
  await typeLine(page, 'my room now')
  await page.locator('#room-settings-open').click()
  await page.locator('#room-settings-form input[name="topic"]').fill('all about pages')
  await page.locator('#room-settings-form input[name="announcement"]').fill('meeting at noon')
  await page.locator('#room-settings-form input[name="slowMode"]').fill('3')
  await page.locator('#room-settings-save').click()
  await page.locator('#room-settings-saved').waitFor()
  await page.keyboard.press('Escape')
  await page.locator('#room-topic', { hasText: 'all about pages' }).waitFor()
  await page.locator('#room-announcement', { hasText: 'meeting at noon' }).waitFor()
  t.pass('topic and announcement in the header')
  await page.locator('.notice', { hasText: 'ann' }).filter({ hasText: 'set the topic: all about pages' }).waitFor()
  await page.locator('.notice', { hasText: 'set slow mode to 3 s' }).waitFor()
  t.pass('governance operations are lines in the timeline')
  await page.locator('.msg', { hasText: 'my room now' }).locator('.role', { hasText: '~' }).waitFor()
  t.pass("the owner's mark beside their name")
  await untilLib(rb, 'governance', () => rb.settings.topic === 'all about pages')
  t.is(rb.settings.slowMode, 3, 'the settings reached the other members')

  // Moderation on a member's profile: only what the owner may do, then Unban for the banned.
  await page.locator('#members-toggle').click()
  await page.locator('#members .member', { hasText: 'cy' }).click()
  const mod = page.locator('#profile-moderation')
  await mod.waitFor()
  t.alike(
    await mod.locator('button').allTextContents(),
    ['Kick', 'Ban', 'Make op', 'Make admin'],
    "the owner's buttons on a member's card"
  )
  t.ok(
    (await page.locator('#profile-named-limit').textContent())!.includes('anyone who knows them can still read it'),
    'in a named room the card says plainly what a kick or a ban cannot do'
  )
  await page.locator('#profile-reason').fill('spam')
  await mod.locator('button[data-action="ban"]').click()
  await page.locator('#profile-note', { hasText: 'is banned' }).waitFor()
  await mod.locator('button[data-action="unban"]').waitFor()
  t.is(await mod.locator('button').count(), 1, 'a banned member: only Unban')
  await page.locator('.notice', { hasText: 'was banned by ann' }).filter({ hasText: ': spam' }).waitFor()
  t.pass('the ban, with its reason, is a line in the timeline')
  await untilLib(rc, 'governance', () => rc.role(c.publicKey) === 'banned')
  t.pass('and reached the banned member')
  await mod.locator('button[data-action="unban"]').click()
  await page.locator('#profile-note', { hasText: 'no longer banned' }).waitFor()
  // Banned from elsewhere (the composer, another device): the open card follows.
  await mod.locator('button[data-action="ban"]').waitFor()
  await ra.moderate.ban(c.publicKey)
  await mod.locator('button[data-action="unban"]').waitFor()
  t.is(await mod.locator('button').count(), 1, 'an open card follows a ban made elsewhere')
  await ra.moderate.unban(c.publicKey)
  await mod.locator('button[data-action="ban"]').waitFor()
  await page.keyboard.press('Escape')
  await page.locator('#profile').waitFor({ state: 'detached' })
  await page.locator('#members .member', { hasText: 'bob' }).click()
  await page.locator('#profile-moderation button[data-action="op"]').click()
  await page.locator('#profile-moderation button[data-action="deop"]').waitFor()
  await page.keyboard.press('Escape')
  await page.locator('#members .member', { hasText: 'bob' }).locator('.role', { hasText: '@' }).waitFor()
  t.pass('Make op: the member list marks bob @')
  // Bob's page would offer nothing on ann's card; a page that asks anyway gets a sentence.
  const bobSession = await DesktopSession.forNode(b)
  t.teardown(() => bobSession.close())
  await untilLib(rb, 'governance', () => rb.role(b.publicKey) === 'op')
  const onAnn = (await bobSession.request('member', { room: rb.id, key: a.publicKey.toString('hex') })) as { actions: string[] }
  t.alike(onAnn.actions, [], "an op has no buttons on the owner's card")

  // Someone takes another name: a quiet line in the room.
  await c.setProfile({ name: 'cyrus' })
  await page.locator('.notice.member-line', { hasText: 'cy (' }).filter({ hasText: 'is now known as cyrus' }).waitFor()
  t.pass('a rename is a line in the room')

  // Add a friend by contact link: a typo is a sentence, the right link sends the request.
  const d = await create(t, testnet)
  await d.setProfile({ name: 'dee' })
  const link = d.contactLink
  const at = link.length - 6
  await page.locator('#friend-add-who').fill(link.slice(0, at) + (link[at] === 'y' ? 'b' : 'y') + link.slice(at + 1))
  await page.locator('#friend-add').getByRole('button', { name: 'Send request' }).click()
  const bad = page.locator('#friend-add-error', { hasText: 'typo' })
  await bad.waitFor()
  t.absent(/[A-Z]+_[A-Z_]+/.test((await bad.textContent())!), `a sentence without the code: ${await bad.textContent()}`)
  await page.locator('#friend-add-who').fill('ann-from-the-park')
  await page.locator('#friend-add').getByRole('button', { name: 'Send request' }).click()
  await page.locator('#friend-add-error', { hasText: 'neither a contact link' }).waitFor()
  t.pass('text that is no key nor link is said so')
  const dAsked = once<[unknown]>(d, 'friend-request')
  await page.locator('#friend-add-who').fill(link)
  await page.locator('#friend-add-text').fill('hi dee, ann here')
  await page.locator('#friend-add').getByRole('button', { name: 'Send request' }).click()
  await page.locator('#friend-add-done').waitFor()
  await dAsked
  t.is(d.friends.requests()[0]!.text, 'hi dee, ann here', 'the request from the form arrived with its note')
  t.is(await page.locator('#contact-link').inputValue(), a.contactLink, 'your own contact link is there to share')
  t.alike(errors, [], 'no script errors')
})

hook('close the browser', closeBrowser)
