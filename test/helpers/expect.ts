import type { Test } from 'brittle'
import { isBackspaceError } from '../../lib/index.js'

/** Asserts that `fn` throws (or rejects with) a BackspaceError with `code`. */
export async function expectCode(t: Test, fn: (() => unknown) | Promise<unknown>, code: string): Promise<void> {
  try {
    await (typeof fn === 'function' ? fn() : fn)
    t.fail(`expected ${code}, but nothing was thrown`)
  } catch (err) {
    t.ok(isBackspaceError(err) && err.code === code, `${code}: ${(err as Error).message}`)
  }
}
