import { LockUnavailableError, NoCurrentRepresentationError, OrderNotFoundError, VersionConflictError } from '../http/errors.js'
import { assertIfMatch } from '../http/representations.js'
import type { Lock } from '../lock/create-lock.js'
import type { ServiceMetrics } from '../metrics/service-metrics.js'
import type { OrdersRepository } from './repository.js'
import { assertModifiable, type OrderChanges } from './rules.js'
import type { Order } from './schemas.js'

/**
 * The write flow of PUT and DELETE:
 * lock -> read -> If-Match -> rules -> announce the change to the cache -> conditional update
 * on the version read -> release.
 * The announcement (src/cache/changes.ts) retires the order's cached entry and list pages on
 * every instance before the write is made, so an acknowledged write never depends on an
 * invalidation that lands after it. If it cannot be made while we hold the lock, Redis is
 * failing: 503 LOCK_UNAVAILABLE, nothing written. Without the lock (LOCK_FALLBACK=optimistic,
 * Redis unreachable) the write goes ahead unannounced, without trying, as that mode's failure table says.
 * The version condition is the fence: if our lock expired and someone else wrote meanwhile,
 * the update matches nothing and we answer 409 without writing. The same fence makes a write
 * without the lock safe (LOCK_FALLBACK=optimistic, while Redis is unreachable). The cache invalidation the
 * routes declare (`config.cache.invalidates`) is sent by the cache plugin before the response; it
 * rewrites cached list pages from the previous order to the new one, hence both are returned.
 *
 * When the database fails: a failure of the read, or of the update before it was sent, wrote
 * nothing (503 DATABASE_UNAVAILABLE); an update sent and not confirmed may have been applied,
 * now or later (503 WRITE_OUTCOME_UNKNOWN, from `orders.updateIfVersion`). The version fence is
 * what makes the client's retry safe then: with If-Match naming the version this request read,
 * a retry after an applied attempt is 412.
 */
export async function writeOrder (deps: {
  locks: Lock
  orders: OrdersRepository
  metrics: ServiceMetrics
  /** The cache's announcement of a change (resolves to its token). */
  announce: (orderId: string) => Promise<string>
}, request: {
  orderId: string
  ifMatch: string | undefined
  changes: OrderChanges
  /** Told the announcement's token as soon as it is made, whatever happens to the write after it. */
  announced: (token: string) => void
}): Promise<{ previous: Order, order: Order }> {
  const { locks, orders, metrics } = deps
  const { orderId, ifMatch, changes } = request
  return locks.withLock(orderId, async (locked) => {
    const current = await orders.findById(orderId)
    // No current representation: any If-Match, `*` included, is false, so 412 before 404.
    if (!current) throw ifMatch === undefined ? new OrderNotFoundError(orderId) : new NoCurrentRepresentationError(orderId, ifMatch.slice(0, 100))
    assertIfMatch(orderId, ifMatch, current.version)
    assertModifiable(orderId, current.status)
    // Without the lock, Redis has just failed a call within its deadline: the write goes ahead
    // unannounced rather than wait up to two more deadlines for an announcement that would fail
    // the same way (a frozen Redis held each optimistic write about 2 s, and its client's
    // connection with it, when it tried).
    if (locked) {
      try {
        request.announced(await deps.announce(orderId))
      } catch (err) {
        throw new LockUnavailableError({ cause: err })
      }
    }
    const updated = await orders.updateIfVersion(orderId, current.version, changes)
    if (!updated) {
      metrics.lock.fencingRejections.inc()
      throw new VersionConflictError(orderId, current.version)
    }
    return { previous: current, order: updated }
  })
}
