import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import { redisKeys } from '../keys.js'
import { cacheTargets } from './targets.js'
import { withDeadline } from '../deadline.js'
import type { Counters } from '../counters.js'
import './scripts.js'

/**
 * Invalidation after a committed mutation. The list generation is one key, so invalidating
 * every cached page is O(1); a PUT or DELETE also bumps that order's entity generation.
 *
 * If Redis cannot be reached, the invalidation is not dropped: it stays pending and is retried
 * in the background with capped exponential backoff, and until it lands this instance
 * serves no cache hit (the caller checks `hitsAllowed`). Pending work from several
 * mutations merges into one script call.
 */
export function createInvalidator ({ redis, counters, log, timeoutMs, retryMs, entityGenerationTtlSeconds }: {
  redis: Redis
  counters: Counters
  log: FastifyBaseLogger
  timeoutMs: number
  retryMs: number
  entityGenerationTtlSeconds: number
}) {
  let listsPending = false
  const entitiesPending = new Set<string>()
  let retryTimer: NodeJS.Timeout | undefined
  let retryDelay = retryMs
  let flushing: Promise<boolean> | undefined
  let closed = false
  // From a failed delivery until a later flush that includes it lands, the mutation was already
  // answered, so cached data may be older than what a client has seen: no hits until then.
  // Mutations are numbered so that steady new writes cannot keep this set forever: a flush
  // clears it when its snapshot covers the newest mutation that was owed.
  let owed = false
  let mutationSeq = 0
  let owedUpTo = 0

  async function send (orderIds: string[]): Promise<void> {
    const keys: string[] = [redisKeys.listGeneration]
    for (const id of orderIds) {
      const entity = cacheTargets.entity(id)
      keys.push(entity.generationKey, entity.key)
    }
    await withDeadline(
      redis.bumpGenerations(keys.length, ...keys, entityGenerationTtlSeconds),
      timeoutMs,
      'cache invalidation'
    )
  }

  /** Sends everything pending. Resolves true when nothing is pending any more. */
  function flush (): Promise<boolean> {
    // One flush at a time; a mutation arriving meanwhile is picked up by the next one.
    flushing ??= (async () => {
      const coversUpTo = mutationSeq
      const orderIds = [...entitiesPending]
      listsPending = false
      entitiesPending.clear()
      try {
        await send(orderIds)
        if (coversUpTo >= owedUpTo) owed = false
        return true
      } catch (err) {
        counters.cache.redisErrors++
        listsPending = true
        for (const id of orderIds) entitiesPending.add(id)
        owed = true
        owedUpTo = Math.max(owedUpTo, coversUpTo)
        log.warn({ err }, 'cache invalidation failed; retrying in the background, no cache hits until it lands')
        return false
      } finally {
        flushing = undefined
      }
    })()
    return flushing
  }

  function scheduleRetry (): void {
    if (closed || retryTimer) return
    retryTimer = setTimeout(async () => {
      retryTimer = undefined
      counters.cache.invalidationRetries++
      if (await flush()) {
        retryDelay = retryMs
        log.info('pending cache invalidation delivered')
        if (hasWork()) scheduleRetry()
      } else {
        retryDelay = Math.min(retryDelay * 2, 1000)
        scheduleRetry()
      }
    }, retryDelay)
    retryTimer.unref()
  }

  /** Delivers now what is pending (the connection just came back); the backoff restarts. */
  function retryNow (): void {
    if (closed || !hasWork()) return
    if (retryTimer) clearTimeout(retryTimer)
    retryTimer = undefined
    retryDelay = retryMs
    counters.cache.invalidationRetries++
    flush().then((delivered) => { if (!delivered || hasWork()) scheduleRetry() }, () => scheduleRetry())
  }

  function hasWork (): boolean {
    return listsPending || entitiesPending.size > 0
  }

  return {
    /** False while an answered mutation's invalidation has not reached Redis yet. */
    hitsAllowed: (): boolean => !owed,
    retryNow,

    /**
     * Records the invalidation a committed mutation needs and tries to deliver it now. With
     * `tryNow` false (Redis known to be down) it only queues, so the mutation's response is not
     * delayed by a call that cannot succeed.
     */
    async invalidate (orderId: string | undefined, tryNow: boolean): Promise<void> {
      counters.cache.invalidations++
      mutationSeq++
      listsPending = true
      if (orderId) entitiesPending.add(orderId)
      if (flushing) await flushing // a flush in progress took a snapshot without this mutation
      if (!tryNow) {
        owed = true
        owedUpTo = mutationSeq
        scheduleRetry()
      } else if (!(await flush()) || hasWork()) {
        scheduleRetry()
      }
    },

    /**
     * Stops retrying; first makes one last attempt to deliver what is pending, so that a
     * shutting-down instance does not leave other instances serving pre-mutation pages until
     * their TTL.
     */
    async close (): Promise<void> {
      closed = true
      if (retryTimer) clearTimeout(retryTimer)
      retryTimer = undefined
      if (flushing) await flushing
      if (hasWork()) await flush()
    }
  }
}

export type Invalidator = ReturnType<typeof createInvalidator>
