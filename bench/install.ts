// `npm run bench`, first step: installs the contenders (bench/package.json, with its own
// lockfile) into bench/node_modules, once, so `npm install` of Backspace never pulls them.
// Reinstalls when bench/package-lock.json is newer than the install. A failed install is
// reported and the bench goes on without Cabal (its figures are then missing, and the run's
// `errors` say why).

import { spawnSync } from 'child_process'
import fs from 'fs'
import { benchDir, contendersInstalled } from './contenders.js'

function stale(): boolean {
  if (!contendersInstalled()) return true
  try {
    const lock = fs.statSync(`${benchDir}/package-lock.json`).mtimeMs
    const installed = fs.statSync(`${benchDir}/node_modules/.package-lock.json`).mtimeMs
    return lock > installed
  } catch {
    return true
  }
}

if (stale()) {
  process.stderr.write('bench: installing the contenders (cabal-core) into bench/node_modules\n')
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const run = spawnSync(npm, ['ci', '--prefix', benchDir, '--no-audit', '--no-fund', '--loglevel=error'], {
    stdio: 'inherit'
  })
  if (run.status !== 0) {
    process.stderr.write(
      'bench: could not install the contenders; the run goes on without Cabal ' +
        `(retry with \`npm ci --prefix bench\`)\n`
    )
  }
}
