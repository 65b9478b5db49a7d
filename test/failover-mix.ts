import type { TestApp } from './helper.js'
import { validOrder } from './helper.js'

// A steady mix of GET, POST and PUT against the in-process service, for the Redis failover
// tests: one client loop per order (so no PUT waits for another's lock), every request timed,
// and a request slower than HANG_MS fails the loop as a hang.

export const HANG_MS = 10_000

/** An order as a response shows it: enough to tell how recent it is. */
export interface Shown { _id: string, version: number, createdAt: string }

export interface Sample {
  kind: 'GET' | 'POST' | 'PUT'
  status: number
  code?: string
  ms: number
  /** When the answer was in hand (performance.now()); it was sent at `at - ms`. */
  at: number
  /** A PUT's or an entity GET's order. */
  order?: string
  /** A GET answered 200: the orders it showed (a list page's in its order); a PUT 200 or POST 201: the order. */
  shown?: Shown[]
}

async function timedInject (app: TestApp, kind: Sample['kind'], url: string, payload?: object, order?: string): Promise<Sample> {
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${kind} ${url} hung`)), HANG_MS) })
  const response = await Promise.race([app.inject({ method: kind, url, ...(payload ? { payload } : {}) }), hang]).finally(() => clearTimeout(timer))
  const at = performance.now()
  const code = response.statusCode >= 400 ? (response.json() as { code?: string }).code : undefined
  const body = response.statusCode < 300 ? response.json() as Shown | { data: Shown[] } : undefined
  const shown = body && ('data' in body ? body.data : [body]).map(({ _id, version, createdAt }) => ({ _id, version, createdAt }))
  return { kind, status: response.statusCode, ...(code ? { code } : {}), ms: at - started, at, ...(order ? { order } : {}), ...(shown ? { shown } : {}) }
}

/** Starts one loop per order; `stop` ends them after their current request. */
export function startMix (app: TestApp, orders: string[]) {
  const samples: Sample[] = []
  /** The customer of each order's last PUT answered 200. */
  const acknowledged = new Map<string, string>()
  let running = true
  const isRunning = () => running
  const loops = orders.map(async (id, c) => {
    for (let n = 0; isRunning(); n++) {
      samples.push(await (n % 2 === 0 ? timedInject(app, 'GET', '/orders?limit=10') : timedInject(app, 'GET', `/orders/${id}`, undefined, id)))
      samples.push(await timedInject(app, 'POST', '/orders', { ...validOrder, customer: `Client ${c} #${n}` }))
      const customer = `Client ${c} v${n}`
      const put = await timedInject(app, 'PUT', `/orders/${id}`, { customer }, id)
      if (put.status === 200) acknowledged.set(id, customer)
      samples.push(put)
    }
  })
  return {
    samples,
    acknowledged,
    /** Whether every order had a PUT answered 200 that started after `since`. */
    writable: (since: number) => orders.every((id) => samples.some((s) => s.kind === 'PUT' && s.order === id && s.status === 200 && s.at - s.ms > since)),
    stop: async () => {
      running = false
      await Promise.all(loops)
    }
  }
}

/** What happened from `killedAt` on: statuses by kind, slowest request, when writes came back. */
export function summarize (samples: Sample[], killedAt: number) {
  const during = samples.filter((s) => s.at > killedAt)
  const byKind: Record<string, Record<string, number>> = {}
  for (const s of during) {
    const key = s.code ? `${s.status} ${s.code}` : String(s.status)
    byKind[s.kind] = { ...byKind[s.kind], [key]: (byKind[s.kind]?.[key] ?? 0) + 1 }
  }
  const puts = during.filter((s) => s.kind === 'PUT')
  const lastUnavailable = Math.max(killedAt, ...puts.filter((s) => s.code === 'LOCK_UNAVAILABLE').map((s) => s.at))
  return {
    byKind,
    requests: during.length,
    slowestMs: Math.max(...during.map((s) => s.ms)),
    /** The first PUT answered 200 after the last 503 LOCK_UNAVAILABLE. */
    firstWriteAt: puts.find((s) => s.status === 200 && s.at > lastUnavailable)?.at,
    lastLockedAt: Math.max(killedAt, ...puts.filter((s) => s.status === 409).map((s) => s.at)),
    /** When the last PUT answered 409 was sent: a PUT sent before a lock was freed may answer after. */
    lastLockedSentAt: Math.max(killedAt, ...puts.filter((s) => s.status === 409).map((s) => s.at - s.ms))
  }
}

/**
 * How long after the promotion a PUT may still be sent into a lock left behind (its release lost
 * with the dead master): the service's client finds the promoted master (Sentinel: a
 * reconnection attempt at most 500 ms after the last, src/redis/create-redis-client.ts; Cluster:
 * a slot-map refresh after a redirection), then sends its owed releases at once and every
 * 100 ms, each within REDIS_COMMAND_TIMEOUT_MS (500 ms by default). Issue 22's bound is 1 s; the
 * isolated test of it (test/topologies/orphan-lock.test.ts) holds that, measured at 0-93 ms (Cluster) and about
 * 430 ms (Sentinel).
 * These tests run the lock under a loop of requests on a loaded 2-core machine, where a
 * connection attempt or a slot refresh can itself take its timeout: 1 s more of margin.
 * A lock nobody releases answers 409 for its whole TTL (10 s), far past this.
 */
export const LOCKED_AFTER_PROMOTION_MS = 2000

/** Statuses a PUT may answer during a failover. */
export const FAILOVER_PUT_STATUSES = ['200', '503 LOCK_UNAVAILABLE', '409 ORDER_LOCKED']

const newer = (a: Shown, b: Shown) => a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a._id > b._id)

/**
 * Every GET answered during the run, judged against the writes acknowledged before it was sent
 * (in this one process, the order of `performance.now()` readings is the order of events): each
 * order it shows is at least at the version of that order's last PUT answered 200 by then, and
 * a first list page starts with an order at least as new as every POST answered 201 by then (a
 * page missing a newly created order is stale too). Returns how many GETs had an acknowledged
 * write to be judged by, and a line per stale one.
 */
export function staleReads (samples: Sample[]) {
  const writes = samples.filter((s) => (s.kind === 'PUT' && s.status === 200) || (s.kind === 'POST' && s.status === 201)).sort((a, b) => a.at - b.at)
  const reads = samples.filter((s) => s.kind === 'GET' && s.status === 200).sort((a, b) => (a.at - a.ms) - (b.at - b.ms))
  const acknowledgedVersion = new Map<string, number>()
  let newestCreated: Shown | undefined
  let w = 0
  let judged = 0
  const stale: string[] = []
  for (const read of reads) {
    const sentAt = read.at - read.ms
    for (; w < writes.length && writes[w]!.at < sentAt; w++) {
      const written = writes[w]!.shown![0]!
      if (writes[w]!.kind === 'PUT') acknowledgedVersion.set(written._id, Math.max(written.version, acknowledgedVersion.get(written._id) ?? 0))
      else if (!newestCreated || newer(written, newestCreated)) newestCreated = written
    }
    const shown = read.shown ?? []
    let bounded = false
    for (const order of shown) {
      const acknowledged = acknowledgedVersion.get(order._id)
      if (acknowledged === undefined) continue
      bounded = true
      if (order.version < acknowledged) stale.push(`GET sent at ${sentAt.toFixed(0)} ms showed order ${order._id} at version ${order.version}, though version ${acknowledged} was acknowledged`)
    }
    const first = shown[0]
    if (read.order === undefined && newestCreated && first) {
      bounded = true
      if (newer(newestCreated, first)) stale.push(`GET of the first list page sent at ${sentAt.toFixed(0)} ms starts with ${first._id}, older than ${newestCreated._id}, whose POST was acknowledged`)
    }
    if (bounded) judged++
  }
  return { judged, stale }
}
