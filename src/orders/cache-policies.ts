import type { FastifyRequest } from 'fastify'
import type { CacheTarget, KeyLayout } from '../redis/keys.js'
import type { CacheInvalidation } from '../cache/invalidator.js'
import { orderIdOf, type IdParams, type OrderList, type PaginationQuery } from './schemas.js'

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

/** The orders a cached list page holds: a PUT or DELETE of one of them invalidates the page. */
export function ordersOnPage (result: unknown): string[] {
  return (result as OrderList).data.map((order) => order._id)
}

/** A new order shifts every list page. */
export function everyListPage (): CacheInvalidation {
  return { newOrder: true }
}

/**
 * A changed order (PUT, DELETE): its entry, and only the list pages holding it. A change never
 * moves an order in the newest-first list: neither createdAt nor _id can change.
 */
export function theOrderAndPagesHoldingIt (request: FastifyRequest): CacheInvalidation {
  return { changedOrderId: orderIdOf(request.params as IdParams) }
}
