// What every bench worker process does with its parent: send it typed messages over IPC,
// report a crash as an `error` message before exiting, and exit when the parent goes away,
// so nothing outlives a run.

/**
 * Installs the crash and exit handlers and returns the worker's typed `post`, and `fail`,
 * which reports an error to the parent and exits.
 */
export function workerChannel<M extends object>(): {
  post: (msg: M | { type: 'error'; message: string }) => void
  fail: (err: unknown) => void
} {
  const post = (msg: M | { type: 'error'; message: string }) => {
    process.send!(msg)
  }
  const fail = (err: unknown) => {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err)
    try {
      post({ type: 'error', message })
    } catch {}
    setTimeout(() => process.exit(1), 100)
  }
  process.on('uncaughtException', fail)
  process.on('unhandledRejection', fail)
  process.on('disconnect', () => process.exit(0))
  return { post, fail }
}
