import { noAnswerWithin } from '../http-client.js'
import { isServerError, type LogEntry } from '../request-log.js'
import type { Recovery } from '../recovery.js'
import { maxOf, type Figures } from '../stats.js'
import { check, examples, type Check } from './check.js'

// The outage contract (README, "Behaviour when a dependency fails"), checked on the requests
// sent while the dependency was gone, and on the recovery after it came back. A request sent
// during the outage but answered after the dependency was back (`backAt`) may rightly succeed:
// the "503 only" rules apply to the requests answered before that moment.

const describe = (list: LogEntry[]) => examples(list.map((e) => `#${e.seq} ${e.method} ${e.path} -> ${e.status || e.error} ${e.code ?? ''}`.trim()))

/**
 * A p99 of fewer samples than this is their maximum, or close to it: one slow request decides it.
 * With 200, the p99 leaves out the two slowest. Each window of a check on a p99 must hold this many.
 */
export const MIN_P99_SAMPLES = 200

const isWrite = (e: LogEntry) => e.method === 'PUT' || e.method === 'DELETE'

/** The service's read deadline (CACHE_REDIS_TIMEOUT_MS, its default): what a hanging Redis may add to a read. */
export const READ_DEADLINE_MS = 50

export function redisOutageChecks (fault: string, entries: LogEntry[], backAt: number, figures: Figures, baseline: Figures, optimistic: number[], hangs = false): Check[] {
  const gets = entries.filter((e) => e.method === 'GET')
  const posts = entries.filter((e) => e.method === 'POST')
  const writes = entries.filter((e) => isWrite(e) && e.doneAt < backAt && !optimistic.includes(e.instance))
  const optimisticWrites = entries.filter((e) => isWrite(e) && e.doneAt < backAt && optimistic.includes(e.instance))
  const badReads = [...gets, ...posts].filter(isServerError)
  const badWrites = writes.filter((e) => e.status !== 503)
  const badOptimistic = optimisticWrites.filter(isServerError)
  const allowedP99 = baseline.getP99Ms + 100 + (hangs ? READ_DEADLINE_MS : 0)
  const checks = [
    check(`${fault}: zero 5xx on GET and POST`, badReads.length === 0 && gets.length > 0,
      `${gets.length} GET, ${posts.length} POST; ${badReads.length} 5xx or unanswered${describe(badReads)}`),
    check(`${fault}: PUT/DELETE answer 503 only (LOCK_FALLBACK=none)`, badWrites.length === 0 && writes.length > 0,
      `${writes.length} PUT/DELETE answered during the outage; ${badWrites.length} other answers${describe(badWrites)}`),
    check(`${fault}: GET p99 within 100 ms of baseline${hangs ? ' (and the read deadline, which a hanging Redis costs the first reads)' : ''}`, figures.getP99Ms <= allowedP99 && gets.length >= MIN_P99_SAMPLES,
      `GET p99 ${figures.getP99Ms} ms of ${gets.length} GETs (at least ${MIN_P99_SAMPLES} for a p99), baseline ${baseline.getP99Ms} ms, allowed ${allowedP99} ms`)
  ]
  if (optimistic.length > 0) {
    const applied = optimisticWrites.filter((e) => e.status >= 200 && e.status < 300).length
    checks.push(check(`${fault}: PUT/DELETE go ahead without the lock, no 5xx (LOCK_FALLBACK=optimistic)`, badOptimistic.length === 0 && applied > 0,
      `${optimisticWrites.length} PUT/DELETE answered during the outage, ${applied} 2xx; ${badOptimistic.length} 5xx or unanswered${describe(badOptimistic)}`))
  }
  return checks
}

/** A slow dependency: everything is answered, late; nothing fails (`methods`: the requests held to it). */
export function slowDependencyChecks (fault: string, entries: LogEntry[], methods: string[]): Check[] {
  const held = entries.filter((e) => methods.includes(e.method))
  const bad = held.filter(isServerError)
  return [
    check(`${fault}: zero 5xx on ${methods.join(', ')}`, bad.length === 0 && held.length > 0,
      `${held.length} answered; ${bad.length} 5xx or unanswered${describe(bad)}`)
  ]
}

/** An instance SIGKILLed: the others go on as if nothing happened. */
export function crashChecks (fault: string, entries: LogEntry[], crashed: number): Check[] {
  const others = entries.filter((e) => e.instance !== crashed)
  const bad = others.filter(isServerError)
  return [
    check(`${fault}: zero 5xx on the other instances`, bad.length === 0 && others.length > 0,
      `${others.length} requests to the other instances; ${bad.length} 5xx or unanswered${describe(bad)}`)
  ]
}

/**
 * A phase in which nothing fails (the baseline): no 5xx, nothing unanswered. A request sent near
 * its end may be caught by the fault that follows (a PUT in flight when Redis is killed is rightly
 * 503 LOCK_UNAVAILABLE), so a request is judged when it went wrong before `endAt`: an answer by
 * when it came, a client timeout by when the request went silent (`clientTimeoutMs` before it
 * fired: a request that hangs in the phase is judged, though its timeout fires after it). The
 * others are counted in the detail, with their codes.
 */
export function quietPhaseChecks (phase: string, entries: LogEntry[], endAt: number, clientTimeoutMs: number): Check[] {
  const timedOut = (e: LogEntry) => e.status === 0 && e.error === noAnswerWithin(clientTimeoutMs)
  const settledAt = (e: LogEntry) => timedOut(e) ? e.doneAt - clientTimeoutMs : e.doneAt
  const judged = entries.filter((e) => settledAt(e) < endAt)
  const bad = judged.filter(isServerError)
  const caught = entries.filter((e) => settledAt(e) >= endAt && isServerError(e))
  const codes = [...new Set(caught.map((e) => e.code ?? e.error ?? String(e.status)))].join(', ')
  return [
    check(`${phase}: zero 5xx, nothing unanswered, while nothing fails`, bad.length === 0 && judged.length > 0,
      `${judged.length} requests answered within it; ${bad.length} 5xx or unanswered${describe(bad)}; ` +
      `${entries.length - judged.length} answered after it ended, ${caught.length} of them failed (the next phase's fault${codes ? `: ${codes}` : ''})`)
  ]
}

/** A PUT/DELETE on an order whose lock another request holds is answered from Redis alone. */
const lockedOut = (e: LogEntry) => e.status === 409 && e.code === 'ORDER_LOCKED'

/**
 * How long the service took to answer: from the request's write on its socket, not from when the
 * load driver issued it. While the database is gone every instance holds requests for seconds,
 * the load driver's 48 sockets to it fill, and the next requests wait in its agent (cache hits
 * included); that wait says nothing of the service.
 */
const answerMs = (e: LogEntry) => e.doneAt - (e.writtenAt ?? e.sentAt)

export function databaseOutageChecks (fault: string, entries: LogEntry[], backAt: number, boundMs: number): Check[] {
  const hits = entries.filter((e) => e.status === 200 && e.cache === 'HIT')
  const rest = entries.filter((e) => !hits.includes(e))
  const not503 = rest.filter((e) => e.status !== 503 && !lockedOut(e) && e.doneAt < backAt)
  const slow = rest.filter((e) => e.status === 503 && answerMs(e) > boundMs)
  const straddling = rest.filter((e) => e.doneAt >= backAt).length
  const slowest = Math.round(maxOf(rest.map(answerMs)))
  const slowestIssued = Math.round(maxOf(rest.map((e) => e.doneAt - e.sentAt)))
  return [
    check(`${fault}: cached pages still served`, hits.length > 0,
      `${hits.length} of ${entries.filter((e) => e.method === 'GET').length} GETs answered 200 from the cache`),
    check(`${fault}: everything else 503 (or 409 ORDER_LOCKED, answered from Redis)`, not503.length === 0 && rest.length > 0,
      `${rest.length - straddling} other requests answered during the outage (${straddling} more answered after it), ` +
      `${rest.filter(lockedOut).length} of them 409 ORDER_LOCKED; ${not503.length} neither${describe(not503)}`),
    check(`${fault}: each 503 within ${boundMs} ms of its write`, slow.length === 0,
      `slowest ${slowest} ms from its write (${slowestIssued} ms from being issued, the load driver's socket wait included); ${slow.length} slower than ${boundMs} ms${describe(slow)}`)
  ]
}

/** After a fault, every instance serves cache hits again within this. */
export const HITS_AGAIN_MS = 5000

export function recoveryChecks (fault: string, recovery: Recovery, boundMs: number, expectHits: boolean): Check[] {
  const checks = [
    check(`${fault}: recovers by itself within ${boundMs / 1000} s`, recovery.recoveredAfterMs <= boundMs,
      `last failure sent ${recovery.recoveredAfterMs} ms after the dependency was back (${recovery.failed} failures in recovery; ` +
      `by instance: ${recovery.byInstance.map((ms, i) => `#${i + 1} ${ms} ms`).join(', ')})`),
    check(`${fault}: writes succeed again`, recovery.firstWriteOkAfterMs !== null,
      `first successful write sent ${recovery.firstWriteOkAfterMs ?? 'never'} ms after`)
  ]
  if (expectHits) {
    const late = recovery.firstHitByInstance.filter((ms) => ms === null || ms > HITS_AGAIN_MS).length
    checks.push(check(`${fault}: every instance serves cache hits again within ${HITS_AGAIN_MS / 1000} s`, late === 0,
      `first HIT sent after: ${recovery.firstHitByInstance.map((ms, i) => `#${i + 1} ${ms ?? 'never'} ms`).join(', ')}`))
  }
  return checks
}
