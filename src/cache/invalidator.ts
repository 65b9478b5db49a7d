import type { RedisClient } from '../redis/create-redis-client.js'
import type { FastifyBaseLogger } from 'fastify'
import { withDeadline } from '../redis/deadline.js'
import type { ServiceMetrics } from '../metrics/service-metrics.js'
import type { InvalidationCall, KeyLayout } from '../redis/keys.js'
import './scripts.js'

const MAX_RETRY_DELAY_MS = 1000

/**
 * Invalidation after a mutation. The list generation is one key, so invalidating every cached
 * page is O(1); a PUT or DELETE also bumps that order's entity generation.
 *
 * Each mutation waits until a delivery that carries its invalidation has landed (or failed):
 * one script call is on the wire at a time, and the mutations that arrive meanwhile share the
 * next one. A failed delivery is not dropped: its work stays pending and is redelivered with
 * capped exponential backoff, the only retries there are. From that failure until everything
 * owed has landed, the invalidation is "owed": this instance serves no cache hit (the cache
 * checks `hitsAllowed`), and later mutations queue their work behind it without waiting for
 * a Redis that just failed them.
 */
export function createInvalidator ({ redis, keys, metrics, log, timeoutMs, retryMs, entityGenerationTtlSeconds }: {
  redis: RedisClient
  keys: KeyLayout
  metrics: ServiceMetrics
  log: FastifyBaseLogger
  timeoutMs: number
  retryMs: number
  entityGenerationTtlSeconds: number
}) {
  // What mutations still need delivered: every list page (any mutation), and these orders.
  let listsPending = false
  const ordersPending = new Set<string>()
  let owed = false
  let sending: Promise<boolean> | undefined
  let nextSending: Promise<boolean> | undefined
  let retryTimer: NodeJS.Timeout | undefined
  let retryDelay = retryMs
  let closed = false

  const hasWork = () => listsPending || ordersPending.size > 0

  /** One script call: its keys share a hash slot (one call in all, outside a Redis Cluster). */
  function bump ({ listGenerations, entities }: InvalidationCall): Promise<number> {
    const callKeys = [...listGenerations, ...entities.flatMap((entity) => [entity.generationKey, entity.key])]
    return redis.bumpGenerations(callKeys.length, ...callKeys, entityGenerationTtlSeconds, listGenerations.length)
  }

  /**
   * Sends everything pending; on failure puts it back and owes it. Bumps are idempotent in
   * effect (a generation only moves forward), so a partly delivered invalidation is simply
   * sent again whole.
   */
  async function send (): Promise<boolean> {
    const orderIds = [...ordersPending]
    listsPending = false
    ordersPending.clear()
    try {
      await withDeadline(Promise.all(keys.invalidation(orderIds).map(bump)), timeoutMs, 'cache invalidation')
    } catch (err) {
      metrics.redisErrors.inc({ component: 'cache' })
      listsPending = true
      for (const id of orderIds) ordersPending.add(id)
      if (!owed) log.warn({ err }, 'cache invalidation failed; redelivering in the background, no cache hits until it lands')
      owed = true
      scheduleRetry()
      return false
    }
    retryDelay = retryMs
    if (owed && !hasWork()) {
      owed = false
      log.info('owed cache invalidations delivered')
    }
    return true
  }

  /**
   * Delivers what is pending. A send in flight took its snapshot before the caller's work was
   * added, so the caller waits for the next send, shared with everyone who arrives meanwhile.
   */
  function deliver (): Promise<boolean> {
    if (sending) {
      nextSending ??= sending.then(() => {
        nextSending = undefined
        // Someone may have started the send that carries our work already.
        return hasWork() ? deliver() : (sending ?? true)
      })
      return nextSending
    }
    sending = send().finally(() => { sending = undefined })
    // Work queued without waiting while the invalidation was owed goes out right behind.
    return sending.then((delivered) => {
      if (delivered && owed && hasWork() && !closed) deliver()
      return delivered
    })
  }

  function scheduleRetry (): void {
    if (closed || retryTimer) return
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      if (!hasWork()) return
      metrics.cache.invalidationRetries.inc()
      deliver()
    }, retryDelay)
    retryTimer.unref()
    retryDelay = Math.min(retryDelay * 2, MAX_RETRY_DELAY_MS)
  }

  return {
    /** False while a mutation was answered before its invalidation reached Redis. */
    hitsAllowed: (): boolean => !owed,

    /** The connection is back: redeliver what is owed now rather than at the next backoff step. */
    redeliverNow (): void {
      if (closed || !hasWork() || sending) return
      clearTimeout(retryTimer)
      retryTimer = undefined
      metrics.cache.invalidationRetries.inc()
      deliver()
    },

    /**
     * Records the invalidation of a mutation (every list page, and the order when given) and
     * resolves once it has landed or failed. When one is owed already, or Redis is known to be
     * down, it only queues: the background redelivery carries it.
     */
    async invalidate (orderId: string | undefined): Promise<void> {
      metrics.cache.invalidations.inc()
      listsPending = true
      if (orderId) ordersPending.add(orderId)
      if (owed || redis.status !== 'ready') {
        owed = true
        scheduleRetry()
        return
      }
      await deliver()
    },

    /**
     * Stops redelivering; first makes one last attempt to deliver what is pending, so that a
     * shutting-down instance does not leave other instances serving pre-mutation pages until
     * their TTL.
     */
    async close (): Promise<void> {
      closed = true
      clearTimeout(retryTimer)
      retryTimer = undefined
      if (sending) await sending
      if (hasWork()) await send()
    }
  }
}
