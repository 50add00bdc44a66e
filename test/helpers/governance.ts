// Helpers for governance tests: a polling wait, and a modified client that appends any
// governance operation to its own log without the library's local checks.
import { blank, seenLength } from '../../lib/governance/governance.js'
import { encodeGovOperation, type ClockEntry, type GovActionValue, type GovOperation } from '../../lib/governance/codec.js'
import { MessageType } from '../../lib/messages.js'
import type { Room } from '../../lib/index.js'

/** Resolves once `cond` holds, polling: state that settles over several events. */
export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((resolve) => setTimeout(resolve, 20))
}

/**
 * Appends an operation as a modified client would: no role check, and a clock of the caller's
 * choosing (`clock: []` names no causal state at all, the back-dated case).
 */
export async function inject(room: Room, action: GovActionValue, fields: Partial<GovOperation> = {}, clock?: ClockEntry[]): Promise<void> {
  const op: GovOperation = { ...blank(action), ...fields, clock: clock ?? currentClock(room) }
  await room.appendRecord({ type: MessageType.GOVERN, text: '', payload: encodeGovOperation(op) })
}

/** The clock an honest client would name now. */
export function currentClock(room: Room): ClockEntry[] {
  const writers = (room as unknown as { writers: { values(): Iterable<{ local: boolean; key: Buffer }> } }).writers
  const clock: ClockEntry[] = []
  for (const f of writers.values()) {
    if (f.local) continue
    const length = seenLength(f as never)
    if (length > 0) clock.push({ core: f.key.subarray(0, 16), length })
  }
  return clock
}
