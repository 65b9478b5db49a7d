import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { RedisClient } from '../redis/create-redis-client.js'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import { redisKeys } from '../cache/keys.js'
import { createLockReleases, type HeldLock } from './lock-release.js'
import { withDeadline } from '../redis/call-guards.js'
import { LockUnavailableError, OrderLockedError } from '../http/errors.js'
import type { ServiceMetrics } from '../metrics/service-metrics.js'

const MAX_RETRY_DELAY_MS = 1000

/**
 * Per-order mutual exclusion across instances: `SET key <random token> NX EX ttl`, released
 * by an atomic compare-and-delete so a holder whose lock expired can never delete the next
 * holder's lock (src/lock/lock-release.ts). Fail-closed: a held lock is 409 ORDER_LOCKED, an
 * unreachable, frozen or erroring Redis is 503 LOCK_UNAVAILABLE (told apart by what Redis
 * answered, not by text), unless LOCK_FALLBACK=optimistic lets the write go ahead fenced by
 * the version alone.
 * The lock is an efficiency measure; safety against an expired lock comes from the version
 * check in the MongoDB update (fencing), see src/orders/repository.ts.
 */
export function createLock ({ redis, metrics, log, config }: {
  redis: RedisClient
  metrics: ServiceMetrics
  log: FastifyBaseLogger
  config: Config
}) {
  const timeoutMs = config.REDIS_COMMAND_TIMEOUT_MS
  const releases = createLockReleases({ redis, timeoutMs, lockTtlMs: config.LOCK_TTL_SECONDS * 1000, metrics, log })

  async function trySet (key: string, token: string): Promise<boolean> {
    const attempt = redis.set(key, token, 'EX', config.LOCK_TTL_SECONDS, 'NX')
    try {
      return (await withDeadline(attempt, timeoutMs, 'lock acquire')) === 'OK'
    } catch (err) {
      metrics.lock.unavailable.inc()
      metrics.redisErrors.inc({ component: 'lock' })
      // The SET may still be applied: by a frozen Redis when it wakes (the release, sent at once,
      // queues right behind it on the same connection), or by a Cluster client that retries it
      // through a failover. Its owner-only release is owed until it frees the lock or the TTL has.
      releases.owe(key, token, true)
      throw new LockUnavailableError({ cause: err })
    }
  }

  async function acquire (orderId: string): Promise<HeldLock> {
    const key = redisKeys.orderLock(orderId)
    const token = randomBytes(16).toString('hex')
    for (let attempt = 0; ; attempt++) {
      if (await trySet(key, token)) {
        metrics.lock.acquired.inc()
        return { orderId, key, token, acquiredAt: Date.now() }
      }
      if (attempt >= config.LOCK_RETRY_COUNT) {
        metrics.lock.contended.inc()
        throw new OrderLockedError(orderId)
      }
      // Exponential backoff, capped so a long retry budget never turns into minutes of waiting.
      const backoff = Math.min(config.LOCK_RETRY_DELAY_MS * 2 ** attempt, MAX_RETRY_DELAY_MS)
      await sleep(backoff + Math.random() * config.LOCK_RETRY_JITTER_MS)
    }
  }

  /**
   * LOCK_FALLBACK=optimistic: Redis could not be reached, so write without the lock. The
   * caller's update is conditional on the version it read (the fence), so of two writers
   * racing without the lock one wins and the other gets 409 VERSION_CONFLICT: no lost update.
   */
  function writeWithoutLock<T> (orderId: string, work: (locked: boolean) => Promise<T>): Promise<T> {
    metrics.lock.optimisticWrites.inc()
    log.debug({ orderId }, 'lock unavailable: writing optimistically, fenced by the version')
    return work(false)
  }

  return {
    /**
     * Runs `work` while holding the order's lock; always releases, owner-only. When Redis
     * cannot be reached: 503 LOCK_UNAVAILABLE, or with LOCK_FALLBACK=optimistic `work` runs
     * without the lock (it must be fenced by a version-conditional update); `work` is told which.
     */
    async withLock<T> (orderId: string, work: (locked: boolean) => Promise<T>): Promise<T> {
      let lock: HeldLock
      try {
        lock = await acquire(orderId)
      } catch (err) {
        if (err instanceof LockUnavailableError && config.LOCK_FALLBACK === 'optimistic') return writeWithoutLock(orderId, work)
        throw err
      }
      try {
        return await work(true)
      } finally {
        await releases.release(lock)
      }
    },

    /** Stops retrying owed releases (their locks expire by their TTL). */
    close: (): void => releases.close()
  }
}

export type Lock = ReturnType<typeof createLock>
