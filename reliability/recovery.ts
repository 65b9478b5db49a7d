import { isOk, isServerError, type LogEntry } from './request-log.js'
import { maxOf } from './stats.js'
import type { Phase } from './timeline.js'

// How a recovery phase went, measured from the moment the dependency was back: when the last
// request that still failed (5xx or no answer) was sent, and when writes and cache hits came back.
// A failure answered after the phase ended belongs to what came next (the next fault), not to
// this recovery.

export interface Recovery {
  /** From the dependency back to the sending of the last failed request; 0 if none failed. */
  recoveredAfterMs: number
  /** The same for each service instance: one stuck instance shows here. */
  byInstance: number[]
  firstWriteOkAfterMs: number | null
  firstHitAfterMs: number | null
  /** The same for each service instance. */
  firstHitByInstance: Array<number | null>
  failed: number
}

const after = (phase: Phase, entry: LogEntry | undefined) => entry === undefined ? null : Math.round(entry.sentAt - phase.start)

function lastFailureAfter (phase: Phase, failed: LogEntry[]): number {
  return failed.length === 0 ? 0 : Math.round(maxOf(failed.map((e) => e.sentAt), -Infinity) - phase.start)
}

export function recoveryOf (phase: Phase, entries: LogEntry[], writeKinds: string[], instances: number): Recovery {
  const failed = entries.filter((e) => isServerError(e) && e.doneAt < phase.end)
  return {
    recoveredAfterMs: lastFailureAfter(phase, failed),
    byInstance: Array.from({ length: instances }, (_, i) => lastFailureAfter(phase, failed.filter((e) => e.instance === i))),
    firstWriteOkAfterMs: after(phase, entries.filter((e) => writeKinds.includes(e.kind) && isOk(e)).sort((a, b) => a.sentAt - b.sentAt)[0]),
    firstHitAfterMs: after(phase, entries.filter((e) => e.cache === 'HIT').sort((a, b) => a.sentAt - b.sentAt)[0]),
    firstHitByInstance: Array.from({ length: instances }, (_, i) =>
      after(phase, entries.filter((e) => e.cache === 'HIT' && e.instance === i).sort((a, b) => a.sentAt - b.sentAt)[0])),
    failed: failed.length
  }
}
