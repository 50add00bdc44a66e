// The subset of brittle that the tests use.
declare module 'brittle' {
  interface Assertion {
    is(actual: unknown, expected: unknown, message?: string): void
    not(actual: unknown, expected: unknown, message?: string): void
    ok(value: unknown, message?: string): void
    absent(value: unknown, message?: string): void
    alike(actual: unknown, expected: unknown, message?: string): void
    unlike(actual: unknown, expected: unknown, message?: string): void
    pass(message?: string): void
    fail(message?: string): void
    comment(...args: unknown[]): void
    exception: {
      (fn: (() => unknown) | Promise<unknown>, expected?: RegExp | ErrorConstructor, message?: string): Promise<void>
      all(fn: (() => unknown) | Promise<unknown>, expected?: RegExp, message?: string): Promise<void>
    }
    execution(fn: (() => unknown) | Promise<unknown>, message?: string): Promise<void>
  }
  export interface Test extends Assertion {
    plan(n: number): void
    teardown(fn: () => unknown, opts?: { order?: number }): void
    timeout(ms: number): void
    tmp(): Promise<string>
    test(name: string, fn: (t: Test) => unknown): Promise<void>
  }
  interface TestFn {
    (name: string, fn: (t: Test) => unknown): void
    (name: string, opts: { timeout?: number; skip?: boolean }, fn: (t: Test) => unknown): void
    solo(name: string, fn: (t: Test) => unknown): void
    skip(name: string, fn: (t: Test) => unknown): void
  }
  const test: TestFn
  export default test
  /** Runs in file order like a test, whatever `solo` picks: set-up and tear-down for a file. */
  export function hook(name: string, fn: (t: Test) => unknown): void
}
