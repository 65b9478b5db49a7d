import type { FastifyBaseLogger } from 'fastify'
import type { ServiceMetrics } from '../metrics/service-metrics.js'
import { withDeadline } from '../redis/deadline.js'
import { BreakerOpenError, type CircuitBreaker } from './circuit-breaker.js'

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
