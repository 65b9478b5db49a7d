import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Invalidation } from '../cache/invalidation.js'
import type { ErrorBody, ErrorCode } from '../http/errors.js'
import type { CacheTarget, KeyLayout } from '../cache/keys.js'
import { OrderSchema, type IdParams, type OrderList, type PaginationQuery } from './schemas.js'

// What the order routes declare in `config.cache`: where each cached GET lives in Redis, and
// what each mutation invalidates, in the cache's neutral terms (list pages, entities by id).
// They run after validation, so page, limit and id are already checked and defaulted.

export function orderListPage (request: FastifyRequest, keys: KeyLayout): CacheTarget {
  const { page, limit } = request.query as PaginationQuery
  return keys.listPage(page, limit)
}

export function oneOrder (request: FastifyRequest, keys: KeyLayout): CacheTarget {
  return keys.entity((request.params as IdParams).id)
}

/** The orders a cached list page holds: a PUT or DELETE of one of them invalidates the page. */
export function ordersOnPage (result: unknown): string[] {
  return (result as OrderList).data.map((order) => order._id)
}

// 503s answered before a mutation could write anything. (DATABASE_UNAVAILABLE also wrote
// nothing; it still invalidates, as any other failure that reached the database.)
const REFUSED_BEFORE_WRITING: ReadonlySet<string> = new Set<ErrorCode>(['LOCK_UNAVAILABLE', 'OVERLOADED', 'SHUTTING_DOWN'])

/**
 * Whether a mutation's response says it may have written, and so owes an invalidation: a
 * success, or a 5xx other than a refusal up front (a lost reply can hide a committed write).
 * A 4xx wrote nothing. Here, with the routes' policies, rather than in the cache plugin: it
 * reads the service's own error codes, which a generic cache does not know.
 */
export function mayHaveWritten (statusCode: number, body: unknown): boolean {
  if (statusCode < 400) return true
  if (statusCode < 500) return false
  if (statusCode !== 503 || typeof body !== 'string') return true
  try {
    return !REFUSED_BEFORE_WRITING.has((JSON.parse(body) as ErrorBody).code)
  } catch {
    return true
  }
}

/** A new order shifts every list page: when the POST may have written. */
export const aNewOrder = (_request: FastifyRequest, reply: FastifyReply, payload: unknown): Invalidation | undefined =>
  mayHaveWritten(reply.statusCode, payload) ? { everyListPage: true, changed: [] } : undefined

/**
 * A changed order (PUT, DELETE): its entry, and only the list pages holding it, and the end of
 * the change announced before the write (src/orders/write-order.ts). A change never
 * moves an order in the newest-first list (neither createdAt nor _id can change), so a page
 * that holds exactly the order's previous bytes is rewritten with its new bytes and stays
 * cached; the bytes are the list's own, serialised by the same schema. A write whose outcome
 * is unknown (a 5xx) has no change to rewrite with: its pages are deleted.
 */
export function theOrderAndPagesHoldingIt (request: FastifyRequest, reply: FastifyReply, payload: unknown): Invalidation | undefined {
  const { id } = request.params as IdParams
  const { announced, previous, order } = request.orderChange ?? {}
  // An announced change is always ended, written or not (a 409 from the fence, say).
  if (!announced && !mayHaveWritten(reply.statusCode, payload)) return undefined
  const serializeOrder = reply.compileSerializationSchema(OrderSchema)
  const rewrite = previous && order && reply.statusCode < 300 ? { from: serializeOrder(previous), to: serializeOrder(order) } : null
  return { everyListPage: false, changed: [{ id, rewrite, ...(announced ? { change: announced } : {}) }] }
}
