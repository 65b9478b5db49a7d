import t from 'tap'
import { lockedOutChecks } from '../../reliability/checks/locked-out.js'
import { databaseOutageChecks, quietPhaseChecks } from '../../reliability/checks/outage.js'
import { rollingRestartChecks } from '../../reliability/checks/rolling-restart.js'
import { missingFromFirstPage, staleReads } from '../../reliability/checks/stale-reads.js'
import { soakChecks } from '../../reliability/evaluate.js'
import { nearBoundOf } from '../../reliability/near-bound.js'
import type { LogEntry, OrderSnapshot } from '../../reliability/request-log.js'
import { heapAfterFullGcs, type SoakResult } from '../../reliability/soak.js'
import { Timeline } from '../../reliability/timeline.js'

// The reliability suite's oracles on hand-made request logs: each must flag the violation it
// exists for, and pass the same log without it. (A check that cannot fail proves nothing: the
// suite's verdicts are only as good as these.)

let seq = 0
const order = (id: string, version: number): OrderSnapshot =>
  ({ _id: id, customer: 'C', address: 'A', status: 'Pending', totalAmount: 1, version, updatedAt: '2026-01-01T00:00:00.000Z' })
function entry (fields: Partial<LogEntry> & Pick<LogEntry, 'kind' | 'method' | 'path' | 'sentAt' | 'doneAt' | 'status'>): LogEntry {
  return { seq: seq++, instance: 0, ...fields }
}
const create = (id: string, sentAt: number, doneAt: number) => entry({ kind: 'create', method: 'POST', path: '/orders', sentAt, doneAt, status: 201, order: order(id, 1) })
const put = (id: string, version: number, sentAt: number, doneAt: number, instance = 0, status = 200) =>
  entry({ kind: 'update', method: 'PUT', path: `/orders/${id}`, orderId: id, sentAt, doneAt, status, instance, ...(status === 200 ? { order: order(id, version) } : {}) })
const get = (id: string, version: number, sentAt: number, instance = 0) =>
  entry({ kind: 'get', method: 'GET', path: `/orders/${id}`, orderId: id, sentAt, doneAt: sentAt + 1, status: 200, instance, order: order(id, version), cache: 'HIT' })
const firstPage = (sentAt: number, ids: string[]) =>
  entry({ kind: 'list', method: 'GET', path: '/orders?page=1&limit=10', sentAt, doneAt: sentAt + 1, status: 200, listed: ids.map((id) => [id, 1]) })

t.test('stale reads: a GET older than an acknowledged write is flagged, with the write and the lag', async (t) => {
  const timeline = new Timeline()
  const log = [create('a', 0, 10), put('a', 2, 20, 30, 1), get('a', 1, 25), get('a', 1, 35, 2), get('a', 2, 40, 2)]
  const stale = staleReads(log, timeline)
  t.equal(stale.length, 1, 'only the read sent after the acknowledgement counts')
  t.match(stale[0], { id: 'a', shown: 1, acked: 2, instance: 2, cache: 'HIT', ack: { instance: 1, doneAt: 30 }, lagMs: 5 })
})

t.test('first list page: an order created before the read and newer than one it shows must be on it', async (t) => {
  const timeline = new Timeline()
  const older = create('old', 0, 10)
  const newer = create('new', 20, 30)
  t.equal(missingFromFirstPage([older, newer, firstPage(40, ['old'])], timeline).length, 1, 'a page without the newer order is stale')
  t.equal(missingFromFirstPage([older, newer, firstPage(40, ['new', 'old'])], timeline).length, 0, 'with it, it is not')
  t.equal(missingFromFirstPage([older, newer, firstPage(25, ['old'])], timeline).length, 0, 'read before the 201: not judged')
  // Created within the same millisecond as the shown order's answer: the order between them is not known.
  t.equal(missingFromFirstPage([older, create('tie', 11, 30), firstPage(40, ['old'])], timeline).length, 0, 'a tie is not judged')
})

t.test('locked out: a 409 ORDER_LOCKED needs a live holder, give or take a second', async (t) => {
  const locked = (sentAt: number) => entry({ kind: 'update', method: 'PUT', path: '/orders/a', orderId: 'a', sentAt, doneAt: sentAt + 5, status: 409, code: 'ORDER_LOCKED' })
  const holder = put('a', 2, 0, 100)
  t.equal(lockedOutChecks([holder, locked(50)], [], 10_000)[0]?.passed, true, 'while the holder is in flight')
  t.equal(lockedOutChecks([holder, locked(900)], [], 10_000)[0]?.passed, true, 'within a second of its answer')
  const orphan = lockedOutChecks([holder, locked(1500)], [], 10_000)[0]
  t.equal(orphan?.passed, false, 'past a second, with no holder: an orphan lock')
  t.match(orphan?.detail, /1400 ms after the last write/)
  // A write in flight on an instance that was SIGKILLed holds its lock until the lock's TTL.
  const killed = entry({ kind: 'update', method: 'PUT', path: '/orders/a', orderId: 'a', sentAt: 0, doneAt: 200, status: 0, error: 'socket hang up', instance: 1 })
  t.equal(lockedOutChecks([killed, locked(5000)], [{ instance: 1, at: 200 }], 10_000)[0]?.passed, true, 'a crashed holder, within the TTL')
  t.equal(lockedOutChecks([killed, locked(12_000)], [{ instance: 1, at: 200 }], 10_000)[0]?.passed, false, 'past the TTL, not even a crash explains it')
  // A holder in flight while Redis was frozen: its SET NX ran when Redis thawed, after it gave up.
  const hung = { start: 50, end: 3000 }
  t.equal(lockedOutChecks([holder, locked(3500)], [], 10_000, [hung])[0]?.passed, true, 'within a second of the thaw')
  t.equal(lockedOutChecks([holder, locked(4500)], [], 10_000, [hung])[0]?.passed, false, 'past a second after the thaw: an orphan lock')
  t.equal(lockedOutChecks([holder, locked(3500)], [], 10_000, [{ start: 200, end: 3000 }])[0]?.passed, false, 'a hang that began after the holder ended explains nothing')
})

t.test('rolling restart: any failed request through the balancer fails the check', async (t) => {
  const ok = get('a', 1, 0)
  t.equal(rollingRestartChecks([ok])[0]?.passed, true)
  const reset = entry({ kind: 'create', method: 'POST', path: '/orders', sentAt: 1, doneAt: 2, status: 0, error: 'socket hang up' })
  t.equal(rollingRestartChecks([ok, reset])[0]?.passed, false, 'a reset')
  t.equal(rollingRestartChecks([ok, { ...ok, seq: seq++, status: 502 }])[0]?.passed, false, 'a 502 from nginx')
})

t.test('near-cache bound: the window runs from the acknowledgement to the last stale answer on another instance', async (t) => {
  const log = [put('a', 2, 0, 10, 0), get('a', 1, 12, 1), get('a', 1, 13, 2), get('a', 1, 15, 0), get('a', 2, 20, 1), put('a', 3, 30, 40, 1), get('a', 3, 41, 2)]
  const bound = nearBoundOf(log)
  t.match(bound, { writes: 2, readsAfterWrites: 5, staleReads: 2 }, 'reads on the writer itself do not count')
  t.equal(bound.windowMaxMs, 4, 'the last stale answer came 4 ms after the acknowledgement')
})

t.test('database outage: a 503 is timed from its write, so a wait for one of the load driver\'s sockets is not the service\'s', async (t) => {
  const unavailable = (sentAt: number, writtenAt: number, doneAt: number) =>
    entry({ kind: 'get', method: 'GET', path: '/orders/x', orderId: 'x', sentAt, writtenAt, doneAt, status: 503, code: 'DATABASE_UNAVAILABLE' })
  const hit = entry({ kind: 'get', method: 'GET', path: '/orders/y', orderId: 'y', sentAt: 0, doneAt: 5, status: 200, cache: 'HIT' })
  const bound = (log: LogEntry[]) => databaseOutageChecks('database stopped', log, 100_000, 6000).find((c) => c.name.includes('each 503'))
  t.equal(bound([hit, unavailable(0, 3000, 8000)])?.passed, true, '8 s from being issued, 5 s from its write: within 6 s')
  t.equal(bound([hit, unavailable(0, 1000, 8000)])?.passed, false, '7 s from its write: over')
  t.match(bound([hit, unavailable(0, 1000, 8000)])?.detail, /slowest 7000 ms from its write \(8000 ms from being issued/)
})

t.test('baseline: a 5xx answered or a request gone silent while nothing failed fails; one caught by the next phase\'s fault does not', async (t) => {
  const timeoutMs = 15_000
  const quiet = (log: LogEntry[]) => quietPhaseChecks('baseline', log, 1000, timeoutMs)[0]
  const unavailable = (doneAt: number) => ({ ...put('q', 2, 900, doneAt, 0, 503), code: 'LOCK_UNAVAILABLE' })
  const silent = (sentAt: number) =>
    entry({ kind: 'get', method: 'GET', path: '/orders/q', sentAt, doneAt: sentAt + timeoutMs, status: 0, error: `no answer within ${timeoutMs} ms` })
  const reset = (doneAt: number) => entry({ kind: 'get', method: 'GET', path: '/orders/q', sentAt: 950, doneAt, status: 0, error: 'socket hang up' })
  t.equal(quiet([put('q', 2, 0, 10)])?.passed, true, 'every request answered 200')
  t.equal(quiet([put('q', 2, 0, 10), unavailable(999)])?.passed, false, 'a 503 answered before the baseline ended')
  t.equal(quiet([put('q', 2, 0, 10), reset(20)])?.passed, false, 'a connection lost before it ended')
  t.equal(quiet([put('q', 2, 0, 10), silent(500)])?.passed, false, 'a request that went silent in the baseline, though its timeout fired long after')
  t.equal(quiet([put('q', 2, 0, 10), unavailable(1200)])?.passed, true, 'a 503 answered after it ended: the next fault\'s')
  t.equal(quiet([put('q', 2, 0, 10), reset(1200)])?.passed, true, 'a connection lost after it ended: the next fault\'s')
  t.match(quiet([put('q', 2, 0, 10), unavailable(1200)])?.detail, /1 answered after it ended, 1 of them failed \(the next phase's fault: LOCK_UNAVAILABLE\)/)
  t.equal(quiet([])?.passed, false, 'nothing answered: nothing judged')
})

t.test('soak: the heap is judged by what full GCs leave, not by samples that hold garbage', async (t) => {
  const trace = [
    '[1650:0x2b63bc60]   431 ms: Scavenge 24.3 (52.0) -> 21.0 (56.0) MB, 3.27 / 0.06 ms  (average mu = 0.9)',
    '[1650:0x2b63bc60]  7107 ms: Mark-Compact 80.7 (113.2) -> 31.5 (110.2) MB, 8.05 / 0.06 ms  (+ 19.2 ms in 41 steps)',
    '{"level":40,"msg":"a log line between them"}',
    '[1650:0x2b63bc60] 26889 ms: Mark-Compact (reduce) 117.9 (151.5) -> 32.3 (129.0) MB, 3.42 / 0.02 ms'
  ].join('\n')
  const MB = 1024 * 1024
  t.same(heapAfterFullGcs(trace), [31.5 * MB, 32.3 * MB], 'each full GC\'s heap after it, scavenges left out')

  const sample = { at: 0, rssBytes: 140 * MB, heapUsedBytes: 48 * MB, heapTotalBytes: 80 * MB, externalBytes: 20 * MB, activeHandles: 90 }
  const soak = (heapAfterFullGc: number[]): SoakResult =>
    // The floor of the samples grew by a third (garbage): no longer what is judged.
    ({ seconds: 40, samples: [sample], heapFloor: { start: 35 * MB, end: 47 * MB }, heapAfterFullGc, start: sample, end: sample, skipped: 0 })
  const verdict = (heapAfterFullGc: number[]) => soakChecks(soak(heapAfterFullGc)).find((c) => c.name.startsWith('soak: heap after full GCs'))
  t.equal(verdict([31.5, 32.3, 31.4, 32.8].map((mb) => mb * MB))?.passed, true, 'a flat heap after full GCs passes, whatever the samples\' floor')
  t.equal(verdict([31.5, 32.3, 45, 46].map((mb) => mb * MB))?.passed, false, 'a heap after full GCs that grew by 40% fails')
  t.equal(verdict([31.5 * MB])?.passed, false, 'one full GC is too few to judge: a failure, not a pass')
})
