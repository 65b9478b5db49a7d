import { now, type LogEntry } from './request-log.js'

// Named phases of a run, back to back: a request belongs to the phase in which it was sent.

export interface Phase {
  name: string
  start: number
  end: number
}

export class Timeline {
  readonly phases: Phase[] = []

  /** Ends the current phase (if any) and starts `name` now. */
  enter (name: string): void {
    const at = now()
    this.close(at)
    this.phases.push({ name, start: at, end: Number.POSITIVE_INFINITY })
  }

  close (at: number = now()): void {
    const last = this.phases.at(-1)
    if (last && last.end === Number.POSITIVE_INFINITY) last.end = at
  }

  get (name: string): Phase | undefined {
    return this.phases.find((phase) => phase.name === name)
  }

  entriesOf (entries: LogEntry[], name: string): LogEntry[] {
    const phase = this.get(name)
    if (!phase) return []
    return entries.filter((entry) => entry.sentAt >= phase.start && entry.sentAt < phase.end)
  }

  phaseAt (at: number): string {
    return this.phases.find((phase) => at >= phase.start && at < phase.end)?.name ?? 'outside the phases'
  }
}
