import type { FastifyRequest } from 'fastify'
import { cacheTargets, type CacheTarget } from '../redis/keys.js'
import { orderIdOf, type IdParams, type PaginationQuery } from './schemas.js'

// What the order routes declare in their config: where each cached GET lives in Redis, and
// what each mutation invalidates. They run after validation, so page, limit and id are
// already checked and defaulted.

export function orderListPage (request: FastifyRequest): CacheTarget {
  const { page, limit } = request.query as PaginationQuery
  return cacheTargets.listPage(page, limit)
}

export function oneOrder (request: FastifyRequest): CacheTarget {
  return cacheTargets.entity(orderIdOf(request.params as IdParams))
}

/** A new order: every list page. */
export function everyListPage (): { orderId?: string } {
  return {}
}

/** A changed order: its entry, and every list page. */
export function theOrderAndEveryListPage (request: FastifyRequest): { orderId?: string } {
  return { orderId: orderIdOf(request.params as IdParams) }
}
