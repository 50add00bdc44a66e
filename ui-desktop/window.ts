// Opening the page as a desktop window: $BROWSER if set, else a Chromium-family browser in
// --app mode (a window without tabs or an address bar), else the default browser.
import { spawn } from 'child_process'
import fs from 'fs'
import fsp from 'fs/promises'
import os from 'os'
import path from 'path'
import { pathToFileURL } from 'url'

// Browsers with an app mode, in order of preference: names on PATH, then macOS app bundles.
const APP_BROWSERS = [
  'chromium',
  'chromium-browser',
  'google-chrome',
  'google-chrome-stable',
  'brave-browser',
  'microsoft-edge',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Brave Browser.app/Contents/MacOS/Brave Browser',
  '/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge'
]

export interface OpenedWindow {
  /** What opened it, e.g. "chromium (app window)". */
  readonly how: string
  /** Removes the launcher file. */
  dispose(): Promise<void>
}

/**
 * Opens `url` in a window. The browser gets the path of a 0600 file that forwards to `url`,
 * so the token is not on a command line, where every local user could read it. Resolves
 * with null when nothing could be started: the caller prints the address instead.
 */
export async function openWindow(url: string): Promise<OpenedWindow | null> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'backspace-desktop-'))
  const dispose = () => fsp.rm(dir, { recursive: true, force: true })
  const file = path.join(dir, 'open.html')
  const html =
    '<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer">' +
    `<meta http-equiv="refresh" content="0;url=${url}"><title>Backspace</title>`
  await fsp.writeFile(file, html, { mode: 0o600 })
  const target = pathToFileURL(file).href

  for (const [command, how] of await candidates(target)) {
    if (await started(command)) return { how, dispose }
  }
  await dispose()
  return null
}

async function candidates(target: string): Promise<Array<[string[], string]>> {
  const list: Array<[string[], string]> = []
  const fromEnv = (process.env['BROWSER'] ?? '').split(':')[0]!.trim()
  if (fromEnv) {
    const [bin, ...args] = fromEnv.split(/\s+/)
    const placed = args.some((a) => a.includes('%s'))
    const argv = placed ? args.map((a) => a.replace('%s', target)) : [...args, target]
    list.push([[bin!, ...argv], path.basename(bin!)])
  }
  for (const name of APP_BROWSERS) {
    const bin = path.isAbsolute(name) ? ((await executable(name)) ? name : null) : await which(name)
    if (bin) list.push([[bin, `--app=${target}`], `${path.basename(bin)} (app window)`])
  }
  const opener = process.platform === 'darwin' ? 'open' : 'xdg-open'
  const bin = await which(opener)
  if (bin) list.push([[bin, target], `${opener} (default browser)`])
  return list
}

/** Starts `command` detached; false if it could not be started at all. */
function started([bin, ...args]: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(bin!, args, { detached: true, stdio: 'ignore' })
    child.once('error', () => resolve(false))
    child.once('spawn', () => {
      child.unref()
      resolve(true)
    })
  })
}

async function which(name: string): Promise<string | null> {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (!dir) continue
    const file = path.join(dir, name)
    if (await executable(file)) return file
  }
  return null
}

async function executable(file: string): Promise<boolean> {
  try {
    await fsp.access(file, fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}
