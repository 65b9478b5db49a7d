import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis, Result } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import { redisKeys } from '../keys.js'
import { withDeadline } from '../deadline.js'
import { LockUnavailableError, OrderLockedError } from '../errors.js'
import type { Counters } from '../counters.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** Deletes the lock only if it still holds our token. 1 released, 0 not ours (expired). */
    releaseLockIfOwner (lockKey: string, token: string): Result<number, Context>
  }
}

const RELEASE_IF_OWNER = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`

const MAX_RETRY_DELAY_MS = 1000

export interface LockOptions {
  ttlSeconds: number
  /** Deadline of each lock call: past it, the lock service counts as unavailable (503). */
  timeoutMs: number
  retryCount: number
  retryDelayMs: number
  retryJitterMs: number
}

export interface HeldLock {
  orderId: string
  key: string
  token: string
  acquiredAt: number
}

/**
 * Per-order mutual exclusion across instances: `SET key <random token> NX EX ttl`, released
 * by an atomic compare-and-delete so a holder whose lock expired can never delete the next
 * holder's lock. Fail-closed: a held lock is 409 ORDER_LOCKED, an unreachable, frozen or
 * erroring Redis is 503 LOCK_UNAVAILABLE (told apart by what Redis answered, not by text).
 * The lock is an efficiency measure; safety against an expired lock comes from the version
 * check in the MongoDB update (fencing), see orders-repository.
 */
export function createLock ({ redis, counters, log, options }: {
  redis: Redis
  counters: Counters
  log: FastifyBaseLogger
  options: LockOptions
}) {
  redis.defineCommand('releaseLockIfOwner', { numberOfKeys: 1, lua: RELEASE_IF_OWNER })

  async function release (lock: HeldLock): Promise<void> {
    const heldMs = Date.now() - lock.acquiredAt
    counters.lock.holdTimeMsTotal += heldMs
    counters.lock.holdTimeMsMax = Math.max(counters.lock.holdTimeMsMax, heldMs)
    counters.observers.lockHeldMs(heldMs)
    try {
      const released = await withDeadline(redis.releaseLockIfOwner(lock.key, lock.token), options.timeoutMs, 'lock release')
      if (released === 1) counters.lock.released++
      else log.warn({ orderId: lock.orderId, heldMs }, 'lock had expired before release; the version check fenced the write')
    } catch (err) {
      // Nothing else to do: the TTL frees it. The write itself already committed or failed.
      log.warn({ err, orderId: lock.orderId }, 'lock release failed; it will expire by its TTL')
    }
  }

  async function trySet (key: string, token: string): Promise<boolean> {
    const attempt = redis.set(key, token, 'EX', options.ttlSeconds, 'NX')
    try {
      return (await withDeadline(attempt, options.timeoutMs, 'lock acquire')) === 'OK'
    } catch (err) {
      counters.lock.unavailable++
      // A frozen Redis may still apply the SET when it wakes. Queue the owner-only release on
      // the same connection right behind it, so the lock is not left held for its whole TTL.
      if (redis.status === 'ready') redis.releaseLockIfOwner(key, token).catch(() => {})
      throw new LockUnavailableError({ cause: err })
    }
  }

  async function acquire (orderId: string): Promise<HeldLock> {
    const key = redisKeys.orderLock(orderId)
    const token = randomBytes(16).toString('hex')
    for (let attempt = 0; ; attempt++) {
      if (await trySet(key, token)) {
        counters.lock.acquired++
        return { orderId, key, token, acquiredAt: Date.now() }
      }
      if (attempt >= options.retryCount) {
        counters.lock.contended++
        throw new OrderLockedError(orderId)
      }
      // Exponential backoff, capped so a long retry budget never turns into minutes of waiting.
      const backoff = Math.min(options.retryDelayMs * 2 ** attempt, MAX_RETRY_DELAY_MS)
      await sleep(backoff + Math.random() * options.retryJitterMs)
    }
  }

  return {
    acquire,
    release,

    /** Runs `work` while holding the order's lock; always releases, owner-only. */
    async withLock<T> (orderId: string, work: (lock: HeldLock) => Promise<T>): Promise<T> {
      const lock = await acquire(orderId)
      try {
        return await work(lock)
      } finally {
        await release(lock)
      }
    }
  }
}

export type Lock = ReturnType<typeof createLock>
