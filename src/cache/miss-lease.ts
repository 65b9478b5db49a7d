import type { RedisClient } from '../redis/create-redis-client.js'
import type { CachedResponse } from './cached-response.js'
import type { CacheTarget } from './keys.js'

// Cross-instance miss coalescing: a lease per key and generation, in Redis, so that of the
// instances that miss one cold key at once, one loads it from MongoDB and the others wait for
// its fill (single-flight, src/cache/single-flight.ts, already makes it one load per process).
// The lease is `SET <entry key>:lease:<generation>:<change clock> 1 NX PX <wait>`: the
// generation is part of it, so a lease for an entry a write has already retired never holds
// back the load of the new one. A loser looks the entry up every POLL_MS until it is there
// (a hit, served as this request's MISS) or the wait is over; then it loads by itself. A holder
// that dies therefore delays the others by the wait at most: its lease expires by then. A waiter
// that sees the generation it noted move stops waiting at once: under a stream of POSTs a list
// page's holder would have its fill refused again and again, and every waiter would sit out the
// whole wait on each miss.
// Anything that goes wrong with Redis here (down, slow, breaker open) counts as winning: the
// read goes on as it would without leases.

export const LEASE_POLL_MS = 10

export type LeaseOutcome = 'won' | 'waited' | 'moved' | 'timed_out'

/**
 * What a waiter finds when it looks again: the filled entry; 'moved' when the generation it
 * noted is no longer current, so the holder's fill will be refused and waiting on is pointless;
 * undefined when neither (not filled yet). Only the generation counts: a list's change clock
 * moves with every PUT anywhere, and refuses the holder's fill only when the order changed is on
 * its page.
 */
export type Looked = CachedResponse | 'moved' | undefined

export interface MissLeaseDeps {
  redis: RedisClient
  /** A read-path Redis call under the breaker and deadline (undefined: failed or refused). */
  redisCall: <T>(what: string, call: () => Promise<T>) => Promise<T | undefined>
  /** A lookup for the waiter: the entry, if it is there now, or whether what it noted has moved. */
  currentEntry: (target: CacheTarget, noted: { generation: string, changeClock: string }) => Promise<Looked>
  waitMs: number
  counted: (outcome: LeaseOutcome) => void
}

export function createMissLease ({ redis, redisCall, currentEntry, waitMs, counted }: MissLeaseDeps) {
  return {
    /**
     * Takes the lease for this miss, or waits for the holder's fill. Resolves to the filled
     * entry when another instance filled it in time, undefined when this one must load.
     */
    async loadOrWait (target: CacheTarget, noted: { generation: string, changeClock: string }): Promise<CachedResponse | undefined> {
      const key = `${target.key}:lease:${noted.generation}:${noted.changeClock}`
      const taken = await redisCall('lease', () => redis.set(key, '1', 'PX', waitMs, 'NX'))
      if (taken !== null) {
        counted('won')
        return undefined
      }
      const until = performance.now() + waitMs
      while (performance.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, LEASE_POLL_MS))
        const looked = await currentEntry(target, noted)
        if (looked === 'moved') {
          // A write retired what the holder is loading (say, a POST bumped the list generation):
          // its fill will be refused, so this instance loads now rather than wait the rest out.
          counted('moved')
          return undefined
        }
        if (looked) {
          counted('waited')
          return looked
        }
      }
      counted('timed_out')
      return undefined
    }
  }
}

export type MissLease = ReturnType<typeof createMissLease>
