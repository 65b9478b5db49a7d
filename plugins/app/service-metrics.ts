import fp from 'fastify-plugin'
import { METRIC_PREFIX, promClient } from '../external/metrics.js'
import type { BreakerState } from '../../src/cache/circuit-breaker.js'

// The breaker as a number a dashboard can threshold and graph.
const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 }

// Lock hold times: a write under the lock is a MongoDB read and a conditional update, normally
// milliseconds; the top buckets reach the lock TTL (LOCK_TTL_SECONDS, 10 s by default).
const LOCK_HOLD_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/**
 * Exports app.counters (src/counters.ts) as Prometheus metrics. The counters stay plain numbers
 * incremented on the hot path; the metrics read them in collect() callbacks, at scrape time
 * only. The lock hold time is the exception: a histogram needs every value, so it is observed
 * through counters.observers when a lock is released.
 */
export default fp(async function serviceMetrics (app) {
  const registers = [app.metricsRegistry]
  const { counters } = app

  // A counter whose value is read from app.counters at scrape time.
  function counterFrom (name: string, help: string, read: () => number): void {
    // eslint-disable-next-line no-new
    new promClient.Counter({
      name: `${METRIC_PREFIX}${name}`,
      help,
      registers,
      collect () {
        this.reset()
        this.inc(read())
      }
    })
  }

  function gaugeFrom (name: string, help: string, read: () => number): void {
    // eslint-disable-next-line no-new
    new promClient.Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      registers,
      collect () {
        this.set(read())
      }
    })
  }

  const { cache, lock, database, redis } = counters
  counterFrom('cache_hits_total', 'Reads answered from Redis', () => cache.hits)
  counterFrom('cache_misses_total', 'Reads that found no current entry and went to MongoDB', () => cache.misses)
  counterFrom('cache_bypasses_total', 'Reads that skipped the cache (disabled, Redis down, breaker open, invalidation pending)', () => cache.bypasses)
  counterFrom('cache_fills_total', 'Entries stored after a miss', () => cache.fills)
  counterFrom('cache_stale_fills_refused_total', 'Fills refused because a mutation invalidated the key meanwhile', () => cache.staleFillsRefused)
  counterFrom('cache_deduped_misses_total', 'Misses that shared an in-flight MongoDB load instead of querying', () => cache.dedupedMisses)
  counterFrom('cache_invalidations_total', 'Invalidations requested by committed mutations', () => cache.invalidations)
  counterFrom('cache_invalidation_retries_total', 'Background retries of invalidations that could not reach Redis', () => cache.invalidationRetries)
  counterFrom('cache_redis_errors_total', 'Failed or timed-out Redis calls of the cache (reads, fills, invalidations)', () => cache.redisErrors)

  counterFrom('lock_acquired_total', 'Order locks taken', () => lock.acquired)
  counterFrom('lock_contended_total', 'Writes answered 409 ORDER_LOCKED because another request held the lock', () => lock.contended)
  counterFrom('lock_unavailable_total', 'Lock attempts that failed because Redis was unreachable or frozen (503 LOCK_UNAVAILABLE)', () => lock.unavailable)
  counterFrom('lock_fencing_rejections_total', 'Writes refused by the version check after the lock expired (409 VERSION_CONFLICT)', () => lock.fencingRejections)
  counterFrom('lock_released_total', 'Order locks released by their owner', () => lock.released)
  gaugeFrom('lock_hold_seconds_max', 'Longest time any order lock was held since start-up', () => lock.holdTimeMsMax / 1000)
  const holdTime = new promClient.Histogram({
    name: `${METRIC_PREFIX}lock_hold_seconds`,
    help: 'Time each order lock was held, from acquisition to release',
    buckets: LOCK_HOLD_BUCKETS_SECONDS,
    registers
  })
  counters.observers.lockHeldMs = (heldMs) => holdTime.observe(heldMs / 1000)

  counterFrom('database_reads_total', 'Order reads that went to MongoDB (a list page counts once)', () => database.reads)
  counterFrom('database_writes_total', 'Order writes to MongoDB (inserts and conditional updates)', () => database.writes)
  counterFrom('mongodb_errors_total', 'Requests that failed with a MongoDB error (unreachable, timed out or rejected)', () => database.errors)

  // Every Redis failure by where it happened; the lock's count is also lock_unavailable_total.
  // eslint-disable-next-line no-new
  new promClient.Counter({
    name: `${METRIC_PREFIX}redis_errors_total`,
    help: 'Redis failures by component: cache (read path and invalidations), lock (503 LOCK_UNAVAILABLE), connection (client errors)',
    labelNames: ['component'],
    registers,
    collect () {
      this.reset()
      this.inc({ component: 'cache' }, cache.redisErrors)
      this.inc({ component: 'lock' }, lock.unavailable)
      this.inc({ component: 'connection' }, redis.connectionErrors)
    }
  })
  gaugeFrom('redis_connected', 'Whether the Redis client is connected and ready (1) or not (0)', () => app.redis.status === 'ready' ? 1 : 0)

  gaugeFrom('cache_breaker_state', 'Read-path circuit breaker: 0 closed, 1 half-open (probing), 2 open (Redis skipped)',
    () => BREAKER_STATE_VALUE[app.cache.status().breaker])
  gaugeFrom('cache_invalidation_pending', 'Whether an answered mutation\'s invalidation has not reached Redis yet (1: no cache hits are served)',
    () => app.cache.status().invalidationPending ? 1 : 0)
  gaugeFrom('cache_enabled', 'Whether the read-through cache is enabled (CACHE_ENABLED)', () => app.config.CACHE_ENABLED ? 1 : 0)
}, { name: 'service-metrics', dependencies: ['metrics', 'cache', 'lock', 'redis-connection'] })
