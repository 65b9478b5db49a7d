import { isServerError, type LogEntry } from './request-log.js'

// Figures of a set of requests: counts by status and latency percentiles.

export interface Figures {
  requests: number
  byStatus: Record<string, number>
  byKind: Record<string, Record<string, number>>
  cache: Record<string, number>
  p50Ms: number
  p99Ms: number
  getP50Ms: number
  getP99Ms: number
  maxMs: number
  serverErrors: number
}

/**
 * The largest of `values` (`floor` when there are none). Not Math.max(...values): a spread passes
 * every value as an argument, and a phase of a full run holds more requests than V8 takes.
 */
export function maxOf (values: Iterable<number>, floor = 0): number {
  let max = floor
  for (const value of values) if (value > max) max = value
  return max
}

/** Nearest-rank percentile of unsorted values; 0 for none. */
export function percentile (values: number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] as number
}

const round = (ms: number) => Math.round(ms * 10) / 10

export function statusLabel (entry: LogEntry): string {
  return entry.status === 0 ? 'no answer' : String(entry.status)
}

function bump (counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1
}

export function figuresOf (entries: LogEntry[]): Figures {
  const byStatus: Record<string, number> = {}
  const byKind: Record<string, Record<string, number>> = {}
  const cache: Record<string, number> = {}
  for (const entry of entries) {
    bump(byStatus, statusLabel(entry))
    bump(byKind[entry.kind] ??= {}, statusLabel(entry))
    if (entry.cache) bump(cache, entry.cache)
  }
  const latency = (list: LogEntry[]) => list.map((entry) => entry.doneAt - entry.sentAt)
  const all = latency(entries)
  const gets = latency(entries.filter((entry) => entry.method === 'GET'))
  return {
    requests: entries.length,
    byStatus,
    byKind,
    cache,
    p50Ms: round(percentile(all, 50)),
    p99Ms: round(percentile(all, 99)),
    getP50Ms: round(percentile(gets, 50)),
    getP99Ms: round(percentile(gets, 99)),
    maxMs: round(maxOf(all)),
    serverErrors: entries.filter(isServerError).length
  }
}
