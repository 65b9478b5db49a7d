import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import type { ServiceMetrics } from '../metrics/service-metrics.js'
import type { RedisClient } from '../redis/create-redis-client.js'
import type { CacheTarget } from './keys.js'

// Eager refresh: a hit on an entry in the last part of its TTL (CACHE_REFRESH_AHEAD_PERCENT)
// reloads it in the background and fills it again, so that a key read steadily never expires
// (no miss, no latency step at each TTL). One reload per key at a time in this process, and one
// across instances: the first to take `<entry key>:refresh:<generation>:<change clock>` (SET NX,
// for the rest of the refresh window) reloads, the others go on serving the entry. The reload's
// fill is the miss's compare-and-set on the generation seen by the hit that started it, so a
// write that lands meanwhile refuses it, as it refuses a miss's fill. A reload that fails leaves
// the entry to expire as it would have: the next read misses.

export function createRefreshAhead ({ redis, redisCall, config, metrics, log }: {
  redis: RedisClient
  /** A read-path Redis call under the breaker and deadline (undefined: failed or refused). */
  redisCall: <T>(what: string, call: () => Promise<T>) => Promise<T | undefined>
  config: Pick<Config, 'CACHE_TTL_SECONDS' | 'CACHE_REFRESH_AHEAD_PERCENT'>
  metrics: ServiceMetrics
  log: FastifyBaseLogger
}) {
  const ttlMs = config.CACHE_TTL_SECONDS * 1000
  // The last part of the TTL in which a hit starts a refresh; 0: never.
  const windowMs = Math.floor(ttlMs * config.CACHE_REFRESH_AHEAD_PERCENT / 100)
  const dueFromAgeMs = windowMs === 0 ? Infinity : ttlMs - windowMs
  const refreshing = new Set<string>()

  return {
    /**
     * The age from which a hit's entry is due a refresh (Infinity: never). A field, compared by
     * the caller on every hit before anything here is called: most hits are not due.
     */
    dueFromAgeMs,

    /** Starts a refresh of an entry a hit found due (its age at least `dueFromAgeMs`), unless this process refreshes it already. */
    start (target: CacheTarget, noted: { generation: string, changeClock: string }, reload: () => Promise<void>): void {
      if (refreshing.has(target.key)) return
      refreshing.add(target.key)
      const lease = `${target.key}:refresh:${noted.generation}:${noted.changeClock}`
      redisCall('refresh lease', () => redis.set(lease, '1', 'PX', windowMs, 'NX'))
        .then(async (taken) => {
          if (taken !== 'OK') return // another instance refreshes it (or Redis failed: the entry expires as before)
          metrics.cache.eagerRefreshes.inc()
          await reload()
        })
        .catch((err: unknown) => log.debug({ err }, 'cache eager refresh failed; the entry expires as it would have'))
        .finally(() => refreshing.delete(target.key))
    }
  }
}

export type RefreshAhead = ReturnType<typeof createRefreshAhead>
