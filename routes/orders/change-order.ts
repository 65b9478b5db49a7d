import type { FastifyInstance } from 'fastify'
import { OrderNotFoundError, VersionConflictError } from '../../src/errors.js'
import { assertIfMatch } from '../../src/etag.js'
import { assertModifiable, type OrderChanges } from '../../src/domain/order.js'
import type { Order } from '../../src/schemas/order.js'

export interface ChangeOrderSeams {
  /** Test seam: awaited under the lock, after the order is read and before it is written. */
  beforeWrite?: (orderId: string) => Promise<void>
}

/**
 * The write path shared by PUT and DELETE:
 * lock -> read -> If-Match -> rules -> conditional update on the version read -> invalidate -> unlock.
 * The version condition is the fence: if our lock expired and someone else wrote meanwhile,
 * the update matches nothing and we answer 409 without writing.
 */
export async function changeOrder (app: FastifyInstance, seams: ChangeOrderSeams, request: {
  orderId: string
  ifMatch: string | undefined
  changes: OrderChanges
}): Promise<Order> {
  const { orderId, ifMatch, changes } = request
  return app.orderLocks.withLock(orderId, async () => {
    const current = await app.orders.findById(orderId)
    if (!current) throw new OrderNotFoundError(orderId)
    assertIfMatch(orderId, ifMatch, current.version)
    assertModifiable(orderId, current.status)
    if (seams.beforeWrite) await seams.beforeWrite(orderId)
    let updated
    try {
      updated = await app.orders.updateIfVersion(orderId, current.version, changes)
    } finally {
      // Also when the update failed: a lost reply can hide a committed write, and an extra
      // invalidation only costs a cache miss.
      await app.cache.invalidate(orderId)
    }
    if (!updated) {
      app.counters.lock.fencingRejections++
      throw new VersionConflictError(orderId, current.version)
    }
    return updated
  })
}
