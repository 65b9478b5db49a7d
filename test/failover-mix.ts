import type { TestApp } from './helper.js'
import { validOrder } from './helper.js'

// A steady mix of GET, POST and PUT against the in-process service, for the Redis failover
// tests: one client loop per order (so no PUT waits for another's lock), every request timed,
// and a request slower than HANG_MS fails the loop as a hang.

export const HANG_MS = 10_000

export interface Sample { kind: 'GET' | 'POST' | 'PUT', status: number, code?: string, ms: number, at: number, order?: string }

async function timedInject (app: TestApp, kind: Sample['kind'], url: string, payload?: object, order?: string): Promise<Sample> {
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${kind} ${url} hung`)), HANG_MS) })
  const response = await Promise.race([app.inject({ method: kind, url, ...(payload ? { payload } : {}) }), hang]).finally(() => clearTimeout(timer))
  const code = response.statusCode >= 400 ? (response.json() as { code?: string }).code : undefined
  return { kind, status: response.statusCode, ...(code ? { code } : {}), ms: performance.now() - started, at: performance.now(), ...(order ? { order } : {}) }
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
      samples.push(await timedInject(app, 'GET', n % 2 === 0 ? '/orders?limit=10' : `/orders/${id}`))
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
    writable: (since: number) => orders.every((id) => samples.some((s) => s.order === id && s.status === 200 && s.at - s.ms > since)),
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
 * with the dead master), by design: the service's client reconnects to the promoted master
 * within its retry backoff (at most 1000 ms: src/redis/create-redis-client.ts), then retries its
 * owed releases at once and every 100 ms, each within REDIS_COMMAND_TIMEOUT_MS (500 ms by
 * default): 1600 ms. The margin for a loaded 2-core machine is 1000 ms more. A lock nobody
 * releases answers 409 for its whole TTL (10 s), far past this.
 */
export const LOCKED_AFTER_PROMOTION_MS = 1000 + 100 + 500 + 1000

/** Statuses a PUT may answer during a failover. */
export const FAILOVER_PUT_STATUSES = ['200', '503 LOCK_UNAVAILABLE', '409 ORDER_LOCKED']
