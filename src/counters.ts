/**
 * Every operational counter of the service, in one place, so the metrics endpoint can read
 * them without knowing the cache or the lock. Plain numbers: incrementing must cost nothing on
 * the hot path.
 */
export function createCounters () {
  return {
    cache: {
      hits: 0,
      misses: 0,
      bypasses: 0,
      fills: 0,
      staleFillsRefused: 0,
      dedupedMisses: 0,
      invalidations: 0,
      invalidationRetries: 0,
      redisErrors: 0
    },
    lock: {
      acquired: 0,
      contended: 0,
      unavailable: 0,
      fencingRejections: 0,
      released: 0,
      holdTimeMsTotal: 0,
      holdTimeMsMax: 0
    },
    database: {
      /** Order reads that went to MongoDB (a list page counts once). */
      reads: 0,
      /** Order writes (inserts and conditional updates). */
      writes: 0,
      /** Requests that failed with a MongoDB error (unreachable, timed out or a rejected command). */
      errors: 0
    },
    redis: {
      /** Errors the Redis client reported on its connection (refused, reset, reconnect failures). */
      connectionErrors: 0
    },
    /**
     * Per-event observers, for the metrics that need every value and not a running total (the
     * lock hold time histogram). No-ops until the metrics plugin sets them.
     */
    observers: {
      lockHeldMs: (_heldMs: number): void => {}
    }
  }
}

export type Counters = ReturnType<typeof createCounters>
