import { isServerError, type LogEntry } from '../request-log.js'
import type { Recovery } from '../recovery.js'
import type { Figures } from '../stats.js'
import { check, examples, type Check } from './check.js'

// The outage contract (README, "Behaviour when a dependency fails"), checked on the requests
// sent while the dependency was gone, and on the recovery after it came back. A request sent
// during the outage but answered after the dependency was back (`backAt`) may rightly succeed:
// the "503 only" rules apply to the requests answered before that moment.

const describe = (list: LogEntry[]) => examples(list.map((e) => `#${e.seq} ${e.method} ${e.path} -> ${e.status || e.error} ${e.code ?? ''}`.trim()))

export function redisOutageChecks (fault: string, entries: LogEntry[], backAt: number, figures: Figures, baseline: Figures): Check[] {
  const gets = entries.filter((e) => e.method === 'GET')
  const posts = entries.filter((e) => e.method === 'POST')
  const writes = entries.filter((e) => (e.method === 'PUT' || e.method === 'DELETE') && e.doneAt < backAt)
  const badReads = [...gets, ...posts].filter(isServerError)
  const badWrites = writes.filter((e) => e.status !== 503)
  const allowedP99 = baseline.getP99Ms + 100
  return [
    check(`${fault}: zero 5xx on GET and POST`, badReads.length === 0 && gets.length > 0,
      `${gets.length} GET, ${posts.length} POST; ${badReads.length} 5xx or unanswered${describe(badReads)}`),
    check(`${fault}: PUT/DELETE answer 503 only`, badWrites.length === 0 && writes.length > 0,
      `${writes.length} PUT/DELETE answered during the outage; ${badWrites.length} other answers${describe(badWrites)}`),
    check(`${fault}: GET p99 within 100 ms of baseline`, figures.getP99Ms <= allowedP99,
      `GET p99 ${figures.getP99Ms} ms, baseline ${baseline.getP99Ms} ms, allowed ${allowedP99} ms`)
  ]
}

/** A PUT/DELETE on an order whose lock another request holds is answered from Redis alone. */
const lockedOut = (e: LogEntry) => e.status === 409 && e.code === 'ORDER_LOCKED'

export function databaseOutageChecks (fault: string, entries: LogEntry[], backAt: number, boundMs: number): Check[] {
  const hits = entries.filter((e) => e.status === 200 && e.cache === 'HIT')
  const rest = entries.filter((e) => !hits.includes(e))
  const not503 = rest.filter((e) => e.status !== 503 && !lockedOut(e) && e.doneAt < backAt)
  const slow = rest.filter((e) => e.status === 503 && e.doneAt - e.sentAt > boundMs)
  const straddling = rest.filter((e) => e.doneAt >= backAt).length
  const slowest = Math.round(Math.max(0, ...rest.map((e) => e.doneAt - e.sentAt)))
  return [
    check(`${fault}: cached pages still served`, hits.length > 0,
      `${hits.length} of ${entries.filter((e) => e.method === 'GET').length} GETs answered 200 from the cache`),
    check(`${fault}: everything else 503 (or 409 ORDER_LOCKED, answered from Redis)`, not503.length === 0 && rest.length > 0,
      `${rest.length - straddling} other requests answered during the outage (${straddling} more answered after it), ` +
      `${rest.filter(lockedOut).length} of them 409 ORDER_LOCKED; ${not503.length} neither${describe(not503)}`),
    check(`${fault}: each 503 within ${boundMs} ms`, slow.length === 0,
      `slowest ${slowest} ms; ${slow.length} slower than ${boundMs} ms${describe(slow)}`)
  ]
}

export function recoveryChecks (fault: string, recovery: Recovery, boundMs: number, expectHits: boolean): Check[] {
  const checks = [
    check(`${fault}: recovers by itself within ${boundMs / 1000} s`, recovery.recoveredAfterMs <= boundMs,
      `last failure sent ${recovery.recoveredAfterMs} ms after the dependency was back (${recovery.failed} failures in recovery; ` +
      `by instance: ${recovery.byInstance.map((ms, i) => `#${i + 1} ${ms} ms`).join(', ')})`),
    check(`${fault}: writes succeed again`, recovery.firstWriteOkAfterMs !== null,
      `first successful write sent ${recovery.firstWriteOkAfterMs ?? 'never'} ms after`)
  ]
  if (expectHits) {
    checks.push(check(`${fault}: cache hits again`, recovery.firstHitAfterMs !== null,
      `first HIT sent ${recovery.firstHitAfterMs ?? 'never'} ms after`))
  }
  return checks
}
