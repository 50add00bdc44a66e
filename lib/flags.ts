// Command-line conventions shared by every Backspace program (the CLI, the desktop shell).
// This module loads nothing but the error table, so a CLI can use it before the network stack.
import fs from 'fs'
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

/**
 * How a secret file is read: `line`, its first line as it is (a password may have spaces);
 * `trim`, all of it trimmed; `text`, all of it as it is (a list the caller splits).
 */
export type SecretFileForm = 'line' | 'trim' | 'text'

// A secret is short; this also stops `--password-file /dev/zero` from reading forever.
const MAX_SECRET_FILE = 64 * 1024

/**
 * Reads a secret from `file`, named by the option `option` (for errors). Refuses a file that
 * other users may read (any group or other read bit): whatever it holds is already theirs.
 * Throws INVALID_ARGUMENT when the file cannot be read, is open to others, or is empty.
 */
export function readSecretFile(option: string, file: string, form: SecretFileForm): string {
  let fd: number
  try {
    fd = fs.openSync(file, 'r')
  } catch (err) {
    throw BackspaceError.INVALID_ARGUMENT(`${option} ${file}: cannot read it (${errorCode(err)})`)
  }
  let text: string
  try {
    const st = fs.fstatSync(fd)
    if (st.isDirectory()) throw BackspaceError.INVALID_ARGUMENT(`${option} ${file}: is a directory`)
    if (process.platform !== 'win32' && (st.mode & 0o044) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0')
      throw BackspaceError.INVALID_ARGUMENT(
        `${option} ${file}: other users can read it (mode ${mode}); chmod 600 it, or use another way`
      )
    }
    const buf = Buffer.alloc(MAX_SECRET_FILE + 1)
    let length = 0
    for (;;) {
      const n = fs.readSync(fd, buf, length, buf.length - length, null)
      if (n === 0) break
      length += n
      if (length > MAX_SECRET_FILE) {
        throw BackspaceError.INVALID_ARGUMENT(`${option} ${file}: larger than ${MAX_SECRET_FILE / 1024} KB`)
      }
    }
    text = buf.subarray(0, length).toString('utf8')
  } catch (err) {
    if (err instanceof BackspaceError) throw err
    throw BackspaceError.INVALID_ARGUMENT(`${option} ${file}: cannot read it (${errorCode(err)})`)
  } finally {
    fs.closeSync(fd)
  }
  const value = form === 'line' ? text.split(/\r?\n/, 1)[0]! : form === 'trim' ? text.trim() : text
  if (value.trim() === '') throw BackspaceError.INVALID_ARGUMENT(`${option} ${file}: is empty`)
  return value
}

/** One secret of a command line and the ways it may be given. */
export interface SecretFlags {
  /** The option that carries the secret itself, as in `--password`, and its value if given. */
  option: string
  value: string | undefined
  /** The option that names a file holding it, as in `--password-file`, and the file if given. */
  fileOption: string
  file: string | undefined
  /** The environment variable that holds it, read when neither option is given. */
  envName?: string
  /** How its file is read (default `trim`). */
  form?: SecretFileForm
}

/**
 * A secret from its file option, its environment variable, or its old option, in that order
 * of safety. The old option still works, but `/proc/PID/cmdline` shows it to every local
 * user for as long as the process runs (changing `process.argv` does not change that), so
 * `warn` is given one line saying so. Undefined when none was given (an empty variable is
 * none). Throws INVALID_ARGUMENT when both options are given or the file is refused.
 */
export function secretFromFlags(
  flags: SecretFlags,
  warn: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env
): string | undefined {
  const { option, value, fileOption, file, envName } = flags
  if (value !== undefined && file !== undefined) {
    throw BackspaceError.INVALID_ARGUMENT(`give ${option} or ${fileOption}, not both`)
  }
  if (file !== undefined) return readSecretFile(fileOption, file, flags.form ?? 'trim')
  if (value !== undefined) {
    warn(argvWarning(option, [`${fileOption} FILE`, ...(envName ? [envName] : [])]))
    return value
  }
  return (envName && env[envName]) || undefined
}

/** The one-line warning for a secret given as the option `option`; `instead` are safer ways. */
export function argvWarning(option: string, instead: readonly string[]): string {
  return (
    `warning: ${option} is visible to other users of this machine while this runs ` +
    `(ps, /proc/PID/cmdline); use ${instead.join(' or ')} instead`
  )
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message
}

/**
 * The account password, from `--password-file`, `BACKSPACE_PASSWORD`, or (with a warning)
 * `--password`: the one rule the CLI and the desktop shell share.
 */
export function passwordFromFlags(
  values: { password?: string; 'password-file'?: string },
  warn: (line: string) => void
): string | undefined {
  return secretFromFlags(
    { option: '--password', value: values.password, fileOption: '--password-file', file: values['password-file'], envName: 'BACKSPACE_PASSWORD', form: 'line' },
    warn
  )
}
