import type { FastifyBaseLogger } from 'fastify'
import type { ServiceMetrics } from '../metrics/service-metrics.js'

// What guards a Redis call, and why they are one module: a frozen or failing Redis must cost a
// bounded wait, never a hang. Every call has a deadline (below); the cache's read path adds a
// circuit breaker, which stops calling for a while after repeated failures, and `readPathCall`
// runs a call under both and turns any failure into "go on without Redis" (fail open). Writes
// (the lock, invalidations, change announcements) use the deadline alone: they fail closed or
// are retried, and must not be refused because slow reads opened the breaker.

/** A Redis call that did not answer in time (a frozen or overloaded server). */
export class DeadlineExceededError extends Error {
  override name = 'DeadlineExceededError'
  readonly code = 'DEADLINE_EXCEEDED'
}

/**
 * Settles like `promise`, or rejects with DeadlineExceededError after `ms`. A frozen Redis
 * keeps its socket open, so no connection error ever comes: only a deadline notices.
 *
 * The deadline only blames Redis for Redis's delay. A stall of this process's own (a long GC
 * pause, a burst of requests on a saturated CPU, being descheduled) must not count:
 * - the clock starts when the command has left: ioredis's autopipelining sends queued commands
 *   from a setImmediate, so the timer is armed from one too, right after that send, not when a
 *   long burst of request handling queued the call;
 * - an expired deadline decides in the next check phase, after the poll phase has read what the
 *   sockets hold (Node runs expired timers before it reads them), so an answer that arrived
 *   during a stall wins.
 * Without this, one stall of ours failed every call in flight at once, opened the breaker, and
 * sent a burst of reads to MongoDB while Redis was perfectly healthy.
 */
export function withDeadline<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false
    let timer: NodeJS.Timeout | undefined
    const expire = () => {
      setImmediate(() => {
        if (settled) return
        settled = true
        reject(new DeadlineExceededError(`${what}: no answer within ${ms} ms`))
      })
    }
    setImmediate(() => {
      if (!settled) timer = setTimeout(expire, ms)
    })
    promise.then(
      (value) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        reject(err)
      }
    )
  })
}

type BreakerState = 'closed' | 'open' | 'half-open'

/** A call the breaker refused: it is open, or its one half-open probe is out. */
export class BreakerOpenError extends Error {
  override name = 'BreakerOpenError'
}

/**
 * Consecutive-failure circuit breaker for the cache's Redis calls. Closed: every call goes
 * through. After `threshold` consecutive failures it opens: calls are refused (the caller goes
 * straight to MongoDB) for `cooldownMs`. Then it lets one probe through (half-open); the
 * probe's outcome closes or re-opens it. A probe that never reports is forgotten after another
 * cooldown, so the breaker cannot stick open.
 *
 * Asking is apart from calling: `isOpen` only looks, and the only way to take the probe is
 * `call`, which runs the Redis call and settles the probe with its outcome in a `finally`. So
 * code that makes no Redis call (the near cache's check) cannot take the probe and leave it
 * out, which once kept an instance in BYPASS for good after a short Redis stall.
 */
export function createCircuitBreaker ({ threshold, cooldownMs, now = Date.now }: {
  threshold: number
  cooldownMs: number
  now?: () => number
}) {
  let consecutiveFailures = 0
  let openedAt = 0
  let probeStartedAt = 0

  function state (): BreakerState {
    if (consecutiveFailures < threshold) return 'closed'
    return now() - openedAt < cooldownMs ? 'open' : 'half-open'
  }

  const probeOut = () => probeStartedAt !== 0 && now() - probeStartedAt < cooldownMs

  function succeeded (): void {
    consecutiveFailures = 0
    probeStartedAt = 0
  }

  function failed (): void {
    consecutiveFailures++
    probeStartedAt = 0
    if (consecutiveFailures >= threshold) openedAt = now()
  }

  return {
    state,

    /** Whether a call would be refused now (open, or half-open with its probe out). Takes nothing. */
    isOpen (): boolean {
      const current = state()
      return current === 'open' || (current === 'half-open' && probeOut())
    },

    /**
     * Runs `redisCall` if the breaker lets it (in half-open, as the one probe) and records its
     * outcome; rejects with BreakerOpenError, without running it, when it does not.
     */
    async call<T> (redisCall: () => Promise<T>): Promise<T> {
      const current = state()
      if (current === 'open' || (current === 'half-open' && probeOut())) throw new BreakerOpenError('cache breaker open')
      if (current === 'half-open') probeStartedAt = now()
      let ok = false
      try {
        const value = await redisCall()
        ok = true
        return value
      } finally {
        if (ok) succeeded()
        else failed()
      }
    }
  }
}

export type CircuitBreaker = ReturnType<typeof createCircuitBreaker>

/**
 * How the read path calls Redis: under the breaker and the read deadline
 * (CACHE_REDIS_TIMEOUT_MS). A call that fails, times out or is refused by the open breaker
 * resolves to undefined, and the read goes on without Redis (fail open).
 */
export function readPathCall ({ breaker, timeoutMs, metrics, log }: {
  breaker: CircuitBreaker
  timeoutMs: number
  metrics: ServiceMetrics
  log: FastifyBaseLogger
}) {
  return async function redisCall<T> (what: string, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await breaker.call(() => withDeadline(call(), timeoutMs, `cache ${what}`))
    } catch (err) {
      if (err instanceof BreakerOpenError) return undefined
      metrics.redisErrors.inc({ component: 'cache' })
      log.debug({ err }, `cache ${what}: redis call failed`)
      return undefined
    }
  }
}
