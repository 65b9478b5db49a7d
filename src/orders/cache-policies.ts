import type { FastifyRequest } from 'fastify'
import type { CacheTarget, KeyLayout } from '../redis/keys.js'
import { orderIdOf, type IdParams, type PaginationQuery } from './schemas.js'

// What the order routes declare in their config: where each cached GET lives in Redis, and
// what each mutation invalidates. They run after validation, so page, limit and id are
// already checked and defaulted.

export function orderListPage (request: FastifyRequest, keys: KeyLayout): CacheTarget {
  const { page, limit } = request.query as PaginationQuery
  return keys.listPage(page, limit)
}

export function oneOrder (request: FastifyRequest, keys: KeyLayout): CacheTarget {
  return keys.entity(orderIdOf(request.params as IdParams))
}

/** A new order: every list page. */
export function everyListPage (): { orderId?: string } {
  return {}
}

/** A changed order: its entry, and every list page. */
export function theOrderAndEveryListPage (request: FastifyRequest): { orderId?: string } {
  return { orderId: orderIdOf(request.params as IdParams) }
}
