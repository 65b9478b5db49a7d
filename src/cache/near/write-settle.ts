import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'

/** After a message reached a subscriber, near tiers are taken to exist for this long (see below). */
const NEAR_TIERS_SEEN_FOR_MS = 60_000

/**
 * The writer's half of the near tier's lease (src/cache/near/subscriber.ts): a write whose
 * message a near tier (on any instance) may have received answers no sooner than
 * CACHE_NEAR_LEASE_MS after the reply of its script. An instance serves a near hit only within
 * the lease of a PING answered after every message published before that PING; a PING sent
 * before the script ran has run out by then, and one sent after came back behind the message.
 * So a read sent after the acknowledgement finds the old bytes dropped on every instance, or
 * goes to Redis.
 *
 * Which scripts count: a change's announcement (it retires the entry and the pages holding
 * it, before the database write), a new order's list bump, and the invalidation of a write made
 * without an announcement (LOCK_FALLBACK=optimistic). An announced PUT's or DELETE's own
 * invalidation writes only new bytes, so it does not.
 *
 * When: PUBLISH counts the subscribers on the node that ran the script only. A near tier can
 * still get the message some other way: on a Redis Cluster, through the cluster bus, from a
 * master its subscribers do not know yet (a failover it has not seen), or on a subscriber the
 * server dropped that it has not yet seen closed. So once any script reached a subscriber, every
 * counted write waits for NEAR_TIERS_SEEN_FOR_MS, whatever its own count, and so does a delivery
 * that failed (it may have published). Where no near tier has been seen (none configured in the
 * fleet), nothing waits.
 */
export function createWriteSettle (leaseMs: number) {
  let until = 0
  let seenAt = -Infinity
  return {
    /** A counted script's reply (or failure: 0): `receivers` subscribers received its message. */
    published (receivers: number): void {
      const now = performance.now()
      if (receivers > 0) seenAt = now
      if (now - seenAt < NEAR_TIERS_SEEN_FOR_MS) until = Math.max(until, now + leaseMs)
    },
    /**
     * Resolves once every counted message so far has outlived every lease that predates it.
     * "So far": the end is taken when called, so messages other writes publish meanwhile do
     * not move it (a steady stream of them would hold this answer for as long as it lasts). A
     * timer's delay is whole milliseconds (a fraction is cut off, so it can fire before the
     * end), hence rounded up, and checked again against the clock.
     */
    async settled (): Promise<void> {
      const end = until
      for (let wait = end - performance.now(); wait > 0; wait = end - performance.now()) await sleep(Math.ceil(wait))
    }
  }
}

export type WriteSettle = ReturnType<typeof createWriteSettle>
