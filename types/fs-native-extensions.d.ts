declare module 'fs-native-extensions' {
  /** An advisory lock on an open file (flock): false when another holder has it. */
  export function tryLock(fd: number, opts?: { shared?: boolean }): boolean
  export function unlock(fd: number): void
}
