// Where the bench's own dependencies (bench/package.json: cabal-core and what only Cabal
// needs) live, apart from Backspace's: bench/node_modules, installed by `npm run bench`.

import fs from 'fs'
import { createRequire } from 'module'
import path from 'path'
import { fileURLToPath } from 'url'

/** The repository's bench/ directory (this file runs from dist/bench/). */
export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench')

/** Resolves and loads modules from bench/node_modules. */
export const benchRequire = createRequire(path.join(benchDir, 'package.json'))

/** Whether `npm ci --prefix bench` has run: Cabal can be measured. */
export function contendersInstalled(): boolean {
  return fs.existsSync(path.join(benchDir, 'node_modules', 'cabal-core', 'package.json'))
}
