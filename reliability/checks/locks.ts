import type { LockWatch } from '../lock-watch.js'
import { maxOf } from '../stats.js'
import { check, examples, type Check } from './check.js'

// No lock key outlives its TTL: every holding seen had a TTL of at most LOCK_TTL_SECONDS, and
// was gone within it (plus the polling interval, the precision of the observation).

const PRECISION_MS = 250

export function lockChecks (watch: LockWatch, lockTtlSeconds: number): Check[] {
  const ttlMs = lockTtlSeconds * 1000
  const holdings = [...watch.holdings.values()]
  const noTtl = holdings.filter((h) => h.noTtl || h.maxPttl > ttlMs)
  const overstayed = holdings.filter((h) => h.lastSeen - h.firstSeen > ttlMs + PRECISION_MS)
  const longest = maxOf(holdings.map((h) => h.lastSeen - h.firstSeen))
  const seen = `${holdings.length} lock holdings seen in ${watch.polls} polls (${watch.failedPolls} failed while Redis was down)`
  return [
    check('every lock key has a TTL of at most LOCK_TTL_SECONDS', noTtl.length === 0,
      `${seen}; ${noTtl.length} without a TTL or with a longer one${examples(noTtl.map((h) => `${h.key} pttl ${h.maxPttl}`))}`),
    check('no lock key outlives its TTL', overstayed.length === 0,
      `longest seen ${Math.round(longest)} ms against a TTL of ${ttlMs} ms; ${overstayed.length} overstayed` +
      examples(overstayed.map((h) => `${h.key} ${Math.round(h.lastSeen - h.firstSeen)} ms`)))
  ]
}
