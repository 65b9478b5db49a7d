import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { RedisClient } from '../redis/create-redis-client.js'
import { withDeadline } from '../redis/call-guards.js'
import type { ServiceMetrics } from '../metrics/service-metrics.js'
import type { KeyLayout } from './keys.js'
import type { WriteSettle } from './near/write-settle.js'
import { announceChange, type Announced } from './scripts/announce-change.js'

/** The announcement of a change did not reach Redis, or not its replicas: the write must not go ahead. */
export class ChangeNotAnnouncedError extends Error {
  override name = 'ChangeNotAnnouncedError'
}

/**
 * Announcing a change before it is made: what makes "no read returns data older than an
 * acknowledged write" hold on every instance by design, without depending on an invalidation
 * that lands after the write (it may not: Redis frozen, killed, failing over).
 *
 * `begin(id)` runs under the entity's lock, before the MongoDB write (scripts/announce-change.ts,
 * one call per slot: one in all on a single Redis): for the entity, it deletes the entry and
 * moves its generation, and sets a change marker that refuses every fill of it; in each list
 * slot group, it parks the pages holding it and stamps it changed far in the future, which
 * refuses every fill of a page holding it. From then on no instance can hit or store the old
 * bytes. Only then is the write made; its invalidation (invalidator.ts, before the response)
 * ends the change: pages put back rewritten, the real clock stamped, the marker removed. If
 * that invalidation never lands, nothing stale is served: the entity and its pages are only
 * not cached until the marker and stamps expire.
 *
 * On a master with replicas online, each call is followed by WAIT for all of them: a failover must not
 * promote a replica that never saw the announcement. If any call fails, `begin` throws and the
 * write is not made (the caller answers 503); the invalidator is handed the end of what may have
 * landed.
 */
export function createChanges ({ redis, keys, metrics, timeoutMs, ttlSeconds, channel, copySuffixes, settle, onAbandoned }: {
  redis: RedisClient
  keys: KeyLayout
  metrics: ServiceMetrics
  /** A Redis call's deadline (REDIS_COMMAND_TIMEOUT_MS): each WAIT gets it, the whole announcement twice it. */
  timeoutMs: number
  /**
   * TTL of the change marker, the entity generation and the far-future stamps: at least as long
   * as the slowest write under the lock and the slowest reader (see src/cache/create-cache.ts).
   */
  ttlSeconds: number
  channel: string
  copySuffixes: readonly string[]
  /** Told how many near tiers received each announcement's message: the write's answer waits for their leases. */
  settle: WriteSettle
  /** An announcement that failed part-way: its end, owed to Redis like any invalidation. */
  onAbandoned: (id: string, token: string) => void
}) {
  /**
   * Runs one call in a slot, then waits for every replica of that slot's master to have it. A
   * replica's acknowledgement can lag on a loaded machine: the WAIT gets a whole deadline.
   */
  async function replicated (slotKey: string, call: () => Promise<Announced>): Promise<void> {
    const { replicas, receivers } = await call()
    settle.published(receivers)
    if (replicas === 0) return
    // A pipeline goes to the node of its keys' slot (ioredis), so the WAIT reaches that master.
    // A pipeline's exec() (unlike a transaction's) always resolves to one [error, reply] per command.
    const [, [error, acknowledged]] = await (redis as Redis).pipeline().exists(slotKey).wait(replicas, timeoutMs).exec() as
      [unknown, [Error | null, number]]
    // WAIT refused (say, a Redis user not allowed to run it): no replica is known to have the change.
    if (error) throw new ChangeNotAnnouncedError(`WAIT failed: ${error.message}`, { cause: error })
    if (acknowledged < replicas) throw new ChangeNotAnnouncedError(`${acknowledged} of ${replicas} replicas acknowledged the change within ${timeoutMs} ms`)
  }

  return {
    /** Announces a change of `id`; resolves to its token, which the write's invalidation carries. */
    async begin (id: string): Promise<string> {
      const token = randomBytes(12).toString('base64url')
      const calls = keys.change(id).map((call) => {
        // A key of the call's slot, for the WAIT that follows it there.
        const slotKey = call.tracking ? call.tracking.changeClock : call.entity.key
        return replicated(slotKey, () => announceChange(redis, { id, call, token, ttlSeconds, channel, copySuffixes }))
      })
      try {
        await withDeadline(Promise.all(calls), 2 * timeoutMs, 'change announcement')
      } catch (err) {
        metrics.redisErrors.inc({ component: 'cache' })
        onAbandoned(id, token)
        throw err instanceof ChangeNotAnnouncedError ? err : new ChangeNotAnnouncedError('the change could not be announced to Redis', { cause: err })
      }
      return token
    }
  }
}
