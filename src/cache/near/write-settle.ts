import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * The writer's half of the near tier's lease (src/cache/near/subscriber.ts): a write whose
 * message reached a subscriber (a near tier, on any instance) answers no sooner than
 * CACHE_NEAR_LEASE_MS after the reply of its script. An instance serves a near hit only within
 * the lease of a PING answered after every message published before that PING; a PING sent
 * before the script ran has run out by then, and one sent after came back behind the message.
 * So a read sent after the acknowledgement finds the old bytes dropped on every instance, or
 * goes to Redis.
 *
 * Which scripts count: a change's announcement (it retires the entry and the pages holding
 * it, before the database write) and a new order's list bump. A PUT's or DELETE's own
 * invalidation writes only new bytes, so it does not. No subscriber anywhere (no instance runs
 * the near cache): no wait.
 */
export function createWriteSettle (leaseMs: number) {
  let until = 0
  return {
    /** A script's reply: `receivers` subscribers received its message. */
    published (receivers: number): void {
      if (receivers > 0) until = Math.max(until, performance.now() + leaseMs)
    },
    /** Resolves once every message published so far has outlived every lease that predates it. */
    async settled (): Promise<void> {
      const wait = until - performance.now()
      if (wait > 0) await sleep(wait)
    }
  }
}

export type WriteSettle = ReturnType<typeof createWriteSettle>
