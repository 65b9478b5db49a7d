import type { RedisClient } from '../redis/create-redis-client.js'
import type { FastifyBaseLogger } from 'fastify'
import { withDeadline } from '../redis/call-guards.js'
import type { ServiceMetrics } from '../metrics/service-metrics.js'
import type { Invalidation, Rewrite } from './invalidation.js'
import type { InvalidationCall, KeyLayout } from './keys.js'
import type { WriteSettle } from './near/write-settle.js'
import { bumpGenerations, type Bumped } from './scripts/bump-generations.js'

const MAX_RETRY_DELAY_MS = 1000

/**
 * Two changes of one entity delivered together: the pages can be rewritten from the first's
 * `from` to the second's `to` only if the second started where the first ended.
 */
function chainRewrites (earlier: Rewrite | null, later: Rewrite | null): Rewrite | null {
  return earlier && later && earlier.to === later.from ? { from: earlier.from, to: later.to } : null
}

const hasWork = (call: InvalidationCall) => call.listGenerations.length > 0 || call.pagesOf !== undefined || call.entities.length > 0

/**
 * Invalidation after a mutation. A POST bumps the list generation, one key, so invalidating
 * every cached page is O(1). A PUT or DELETE invalidates the order's entry and only the list
 * pages recorded as holding it (see PageTracking in src/cache/keys.ts).
 *
 * Each mutation waits until a delivery that carries its invalidation has landed (or failed):
 * one script call is on the wire at a time, and the mutations that arrive meanwhile share the
 * next one. A failed delivery is not dropped: its work stays pending and is redelivered with
 * capped exponential backoff, the only retries there are. From that failure until everything
 * owed has landed, the invalidation is "owed": this instance serves no cache hit (the cache
 * reads `delivery.owed`), and later mutations queue their work behind it without waiting for
 * a Redis that just failed them.
 */
export function createInvalidator ({ redis, keys, metrics, log, timeoutMs, retryMs, entityGenerationTtlSeconds, channel, copySuffixes, settle }: {
  redis: RedisClient
  keys: KeyLayout
  metrics: ServiceMetrics
  log: FastifyBaseLogger
  timeoutMs: number
  retryMs: number
  entityGenerationTtlSeconds: number
  /** Where each invalidation publishes what it invalidated (for near tiers). */
  channel: string
  /** Every compressed-copy key suffix: a deleted or rewritten entry's copies go with it. */
  copySuffixes: readonly string[]
  /** Told how many near tiers received a counted script's message (write-settle.ts); every `invalidate` ends with its wait. */
  settle: WriteSettle
}) {
  // What mutations still need delivered: every list page (a new order), and these changed orders.
  let listsPending = false
  // Per changed entity, how its pages may be rewritten in place (null: delete them).
  const ordersPending = new Map<string, Rewrite | null>()
  // Per changed entity, the token of the announced change its invalidation ends (the latest).
  const tokensPending = new Map<string, string>()
  const delivery = { owed: false } // read on every cache read (a field, not a call); written only here
  let sending: Promise<boolean> | undefined
  let nextSending: Promise<boolean> | undefined
  let retryTimer: NodeJS.Timeout | undefined
  let retryDelay = retryMs
  let closed = false

  const isPending = () => listsPending || ordersPending.size > 0

  /** One script call (its keys share a hash slot; one call in all, outside a Redis Cluster); `settles`: its receivers count (write-settle.ts). */
  const bump = (call: InvalidationCall, rewrites: ReadonlyMap<string, Rewrite | null>, changeTokens: ReadonlyMap<string, string>, settles: boolean) =>
    bumpGenerations(redis, { call, rewrites, changeTokens, stampTtlSeconds: entityGenerationTtlSeconds, channel, copySuffixes })
      .then((landed) => { if (settles) settle.published(landed.receivers); return landed })

  /** Counts each changed order's list pages, summed over the slot groups. */
  function countPages (perCall: Bumped[], orderIds: string[]): void {
    for (const id of orderIds) {
      const sum = (field: 'deleted' | 'rewritten') => perCall.reduce((total, { pages }) => total + (pages.get(id)?.[field] ?? 0), 0)
      metrics.cache.listPagesInvalidated.observe(sum('deleted'))
      metrics.cache.listPagesRewritten.inc(sum('rewritten'))
    }
  }

  /**
   * Sends everything pending; on failure puts it back and owes it. Bumps are idempotent in
   * effect (a generation only moves forward), so a partly delivered invalidation is simply
   * sent again whole.
   */
  async function send (): Promise<boolean> {
    const rewrites = new Map(ordersPending)
    const tokens = new Map(tokensPending)
    const orderIds = [...rewrites.keys()]
    const everyListPage = listsPending
    listsPending = false
    ordersPending.clear()
    tokensPending.clear()
    const settles = everyListPage || orderIds.some((id) => !tokens.has(id)) // unannounced changes: near tiers may hold what they replace
    try {
      const calls = keys.invalidation({ everyListPage, changed: orderIds.map((id) => ({ id, rewrite: rewrites.get(id) ?? null })) })
      // A new order in the same delivery shifts every page: nothing to rewrite then.
      if (everyListPage) for (const id of orderIds) rewrites.set(id, null)
      countPages(await withDeadline(Promise.all(calls.filter(hasWork).map((call) => bump(call, rewrites, tokens, settles))), timeoutMs, 'cache invalidation'), orderIds)
      if (everyListPage) metrics.cache.listGenerationBumps.inc()
    } catch (err) {
      if (settles) settle.published(0) // it may have published
      metrics.redisErrors.inc({ component: 'cache' })
      listsPending ||= everyListPage
      // Put back ahead of what arrived meanwhile. A rewrite that landed in some slot groups
      // only is sent again: where it landed, `from` is gone and the page is deleted instead.
      const arrived = new Map(ordersPending)
      ordersPending.clear()
      for (const [id, rewrite] of rewrites) ordersPending.set(id, rewrite)
      for (const [id, rewrite] of arrived) ordersPending.set(id, ordersPending.has(id) ? chainRewrites(ordersPending.get(id) ?? null, rewrite) : rewrite)
      for (const [id, token] of tokens) if (!tokensPending.has(id)) tokensPending.set(id, token)
      if (!delivery.owed) log.warn({ err }, 'cache invalidation failed; redelivering in the background, no cache hits until it lands')
      delivery.owed = true
      scheduleRetry()
      return false
    }
    retryDelay = retryMs
    if (delivery.owed && !isPending()) {
      delivery.owed = false
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
        return isPending() ? deliver() : (sending ?? true)
      })
      return nextSending
    }
    sending = send().finally(() => { sending = undefined })
    // Work queued without waiting while the invalidation was owed goes out right behind.
    return sending.then((delivered) => {
      if (delivered && delivery.owed && isPending() && !closed) deliver()
      return delivered
    })
  }

  function scheduleRetry (): void {
    if (closed || retryTimer) return
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      if (!isPending()) return
      metrics.cache.invalidationRetries.inc()
      deliver()
    }, retryDelay)
    retryTimer.unref()
    retryDelay = Math.min(retryDelay * 2, MAX_RETRY_DELAY_MS)
  }

  return {
    /** `owed` is true while a mutation was answered before its invalidation reached Redis: no cache hit then. */
    delivery: delivery as { readonly owed: boolean },

    /**
     * Redis was out of reach for longer than a write's invalidation may take (src/cache/redis-watch.ts):
     * another instance may have answered a POST whose list bump could not land. Owe a bump of
     * every list page, and serve no hit until it has landed: so no instance serves a page older
     * than an acknowledged POST once Redis is back, whichever instance's bump lands first.
     */
    suspect (): void {
      if (closed) return
      listsPending = true
      if (!delivery.owed) log.warn('redis was out of reach: no cache hits until every list page is invalidated')
      delivery.owed = true
      scheduleRetry()
    },

    /** The connection is back: redeliver what is owed now rather than at the next backoff step. */
    redeliverNow (): void {
      if (closed || !isPending() || sending) return
      clearTimeout(retryTimer)
      retryTimer = undefined
      metrics.cache.invalidationRetries.inc()
      deliver()
    },

    /**
     * Records the invalidation of a mutation (every list page for a new order; the order's
     * entry and the pages holding it for a changed one) and resolves once it has landed or
     * failed (then it is owed, and redelivered in the background), and near tiers that may
     * have received the write's messages can no longer serve what it replaced (write-settle.ts).
     */
    async invalidate (mutation: Invalidation): Promise<void> {
      metrics.cache.invalidations.inc()
      if (mutation.everyListPage) listsPending = true
      for (const { id, rewrite, change } of mutation.changed) {
        ordersPending.set(id, ordersPending.has(id) ? chainRewrites(ordersPending.get(id) ?? null, rewrite) : rewrite)
        if (change) tokensPending.set(id, change)
      }
      // With the connection down it only queues (every instance lost it, and owes a bump of its
      // own: src/cache/redis-watch.ts). Otherwise it is sent and waited for, even while one is
      // owed: a write answered before its invalidation landed must have waited the whole
      // deadline, long enough for every instance's watch to have seen the outage.
      if (redis.status !== 'ready') {
        delivery.owed = true
        scheduleRetry()
      } else await deliver()
      await settle.settled()
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
      if (isPending()) await send()
    }
  }
}
