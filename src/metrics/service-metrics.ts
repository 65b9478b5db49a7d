import platformaticPromClient from '@platformatic/prom-client'

/**
 * The Prometheus client: @platformatic/prom-client, the faster drop-in fork of prom-client (the
 * same API), for the request metrics (plugins/external/metrics.ts) and the service metrics.
 */
export const promClient = platformaticPromClient
export type MetricsRegistry = InstanceType<typeof promClient.Registry>

export const METRIC_PREFIX = 'flowops_order_service_'

// Lock hold times: a write under the lock is a MongoDB read and a conditional update, normally
// milliseconds; the top buckets reach the lock TTL (LOCK_TTL_SECONDS, 10 s by default).
const LOCK_HOLD_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

// A changed order sits on one page per `limit` in use, more if new orders moved it within a TTL.
const LIST_PAGES_BUCKETS = [0, 1, 2, 3, 5, 10, 20, 50, 100]

/**
 * The service's own metrics, registered in the app's registry. The cache, the lock and the
 * repository get them passed in and count each event where it happens.
 */
export function createServiceMetrics (registry: MetricsRegistry) {
  const registers = [registry]
  const counter = (name: string, help: string) => new promClient.Counter({ name: `${METRIC_PREFIX}${name}`, help, registers })

  const redisErrors = new promClient.Counter({
    name: `${METRIC_PREFIX}redis_errors_total`,
    help: 'Redis failures by component: cache (read path and invalidations), lock (503 LOCK_UNAVAILABLE), connection (client errors)',
    labelNames: ['component'],
    registers
  })
  // Every series from start-up, at 0, so a rate over it exists before the first failure.
  for (const component of ['cache', 'lock', 'connection']) redisErrors.inc({ component }, 0)

  // Cross-instance miss coalescing (src/cache/miss-lease.ts): per miss load of this process, the
  // lease won (it loaded), waited for (another instance filled it in time), left when the
  // generation moved while waiting (it loaded), or timed out.
  const missLeases = new promClient.Counter({
    name: `${METRIC_PREFIX}cache_miss_leases_total`,
    help: 'Misses that took the lease and loaded (won), got the entry another instance loaded (waited), loaded when a write moved the generation they waited on (moved), or loaded after waiting out the lease (timed_out)',
    labelNames: ['outcome'],
    registers
  })
  for (const outcome of ['won', 'waited', 'moved', 'timed_out']) missLeases.inc({ outcome }, 0)

  return {
    cache: {
      hits: counter('cache_hits_total', 'Reads answered from Redis'),
      misses: counter('cache_misses_total', 'Reads that found no current entry and went to MongoDB (or joined a load in flight)'),
      bypasses: counter('cache_bypasses_total', 'Reads that skipped the cache (disabled, Redis down, breaker open, invalidation pending)'),
      fills: counter('cache_fills_total', 'Entries stored after a miss'),
      staleFillsRefused: counter('cache_stale_fills_refused_total', 'Fills refused because a mutation invalidated the key meanwhile'),
      dedupedMisses: counter('cache_deduped_misses_total', 'Misses that shared an in-flight MongoDB load (whatever its outcome) instead of querying'),
      missLeases,
      eagerRefreshes: counter('cache_eager_refreshes_total', 'Entries reloaded in the background because a hit found them in the last part of their TTL (CACHE_REFRESH_AHEAD_PERCENT); one instance per key'),
      graceHits: counter('cache_grace_hits_total', 'Reads answered with an entry past its TTL, its generation current, because MongoDB failed or was slower than CACHE_SOFT_TIMEOUT_MS (X-Cache: GRACE)'),
      bypassCoalesced: counter('cache_bypass_coalesced_total', 'BYPASS reads that shared another read\'s MongoDB query of the same key instead of querying'),
      invalidations: counter('cache_invalidations_total', 'Invalidations requested by mutations'),
      invalidationRetries: counter('cache_invalidation_retries_total', 'Redeliveries of invalidations that could not reach Redis'),
      nearHits: counter('cache_near_hits_total', 'Reads answered from the in-process near cache (also counted in cache_hits_total)'),
      nearCatchUps: counter('cache_near_catch_ups_total', 'Reads of a near copy past its lease that waited for a PING of their own instead of reading Redis'),
      nearBytes: new promClient.Gauge({ name: `${METRIC_PREFIX}cache_near_bytes`, help: 'Bytes held by the near cache', registers }),
      listPagesRewritten: counter('cache_list_pages_rewritten_total', 'Cached list pages a PUT or DELETE rewrote in place (they held exactly the order\'s previous bytes) instead of deleting'),
      compressedHits: counter('cache_compressed_hits_total', 'Hits answered with a stored compressed copy (also counted in cache_hits_total)'),
      listGenerationBumps: counter('cache_list_generation_bumps_total', 'Deliveries that invalidated every cached list page at once (new orders)'),
      listPagesInvalidated: new promClient.Histogram({
        name: `${METRIC_PREFIX}cache_list_pages_invalidated`,
        help: 'Per changed order (PUT or DELETE), the cached list pages its invalidation deleted: the pages holding it',
        buckets: LIST_PAGES_BUCKETS,
        registers
      })
    },
    lock: {
      acquired: counter('lock_acquired_total', 'Order locks taken'),
      contended: counter('lock_contended_total', 'Writes answered 409 ORDER_LOCKED because another request held the lock'),
      unavailable: counter('lock_unavailable_total', 'Lock attempts that failed because Redis was unreachable or frozen (503 LOCK_UNAVAILABLE, or an optimistic write)'),
      fencingRejections: counter('lock_fencing_rejections_total', 'Writes refused by the version check after the lock expired (409 VERSION_CONFLICT)'),
      released: counter('lock_released_total', 'Order locks released by their owner'),
      optimisticWrites: counter('lock_optimistic_writes_total', 'Writes that went ahead without the lock because Redis was unreachable (LOCK_FALLBACK=optimistic)'),
      holdSeconds: new promClient.Histogram({
        name: `${METRIC_PREFIX}lock_hold_seconds`,
        help: 'Time each order lock was held, from acquisition to release',
        buckets: LOCK_HOLD_BUCKETS_SECONDS,
        registers
      }),
      holdSecondsMax: new promClient.Gauge({
        name: `${METRIC_PREFIX}lock_hold_seconds_max`,
        help: 'Longest time any order lock was held since start-up',
        registers
      })
    },
    database: {
      reads: counter('database_reads_total', 'Order reads that went to MongoDB (a list page counts once)'),
      writes: counter('database_writes_total', 'Order writes to MongoDB (inserts and conditional updates)'),
      errors: counter('mongodb_errors_total', 'Requests that failed with a MongoDB error (unreachable, timed out or rejected)')
    },
    // Every Redis failure by where it happened; the lock's count is also lock_unavailable_total.
    redisErrors
  }
}

export type ServiceMetrics = ReturnType<typeof createServiceMetrics>
