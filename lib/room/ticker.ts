// Periodic work of many rooms in one wakeup. Each room used to keep its own intervals (the
// stalled-read sweep every second, the topology's safety net every 3 s), each started when the
// room first connected, so a member in 100 rooms woke up about 135 times a second with nothing
// to do: on this machine about 20 ms of CPU a second, ten times what the node costs idle with
// no rooms (docs/PERFORMANCE.md, session 19). Tasks of the same period now share one interval,
// so the process wakes once per period for all of them.

/** A task `every` runs; `stop` takes it off. */
export interface Tick {
  stop(): void
}

interface Shared {
  readonly tasks: Set<() => void>
  timer: ReturnType<typeof setInterval> | null
}

const shared = new Map<number, Shared>()

/**
 * Runs `task` every `ms` (the first time within `ms`, on the period's shared tick) until
 * stopped. The shared interval keeps no process alive, as an unref'd `setInterval` would not.
 * A task that throws is reported as an uncaught exception, as its own interval's would be,
 * after the tick's other tasks have run.
 */
export function every(ms: number, task: () => void): Tick {
  let entry = shared.get(ms)
  if (!entry) shared.set(ms, (entry = { tasks: new Set(), timer: null }))
  const own = entry
  // Its own function, so the same task added twice runs twice and stops one at a time.
  const run = (): void => task()
  own.tasks.add(run)
  if (own.timer === null) {
    own.timer = setInterval(() => tick(own), ms)
    own.timer.unref?.()
  }
  return {
    stop(): void {
      if (!own.tasks.delete(run) || own.tasks.size > 0 || own.timer === null) return
      clearInterval(own.timer)
      own.timer = null
    }
  }
}

function tick(entry: Shared): void {
  for (const task of [...entry.tasks]) {
    // A task stopped by one before it in this tick does not run.
    if (!entry.tasks.has(task)) continue
    try {
      task()
    } catch (err) {
      process.nextTick(() => {
        throw err
      })
    }
  }
}

/** How many tasks of each period are running (tests). */
export function ticking(): Map<number, number> {
  return new Map([...shared].map(([ms, s]) => [ms, s.tasks.size]))
}
