// Command-line conventions shared by every Backspace program (the CLI, the desktop shell).
// This module loads nothing but the error table, so a CLI can use it before the network stack.
import { BackspaceError } from './errors.js'

/**
 * The bootstrap list a command line means: each `--bootstrap` value may hold several
 * `host:port` entries separated by commas; without any, `BACKSPACE_BOOTSTRAP` from `env`.
 * Undefined means the public DHT. Entries are checked when a node is made.
 */
export function bootstrapFromFlags(
  flags: readonly string[] | undefined,
  env: NodeJS.ProcessEnv = process.env
): string[] | undefined {
  const raw = flags ?? (env['BACKSPACE_BOOTSTRAP'] ? [env['BACKSPACE_BOOTSTRAP']] : undefined)
  if (raw === undefined) return undefined
  const list = raw
    .flatMap((entry) => entry.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '')
  if (list.length === 0) throw BackspaceError.INVALID_BOOTSTRAP('the bootstrap list is empty')
  return list
}

/** `--storage`, else `BACKSPACE_STORAGE` from `env`, else undefined (the platform default). */
export function storageFromFlags(
  storage: string | undefined,
  env: NodeJS.ProcessEnv = process.env
): string | undefined {
  return storage ?? (env['BACKSPACE_STORAGE'] || undefined)
}
