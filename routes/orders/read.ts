import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { CacheTarget, KeyLayout } from '../../src/cache/keys.js'
import { OrderNotFoundError } from '../../src/http/errors.js'
import { errorResponses } from '../../src/http/error-schema.js'
import { etagOf } from '../../src/http/representations.js'
import {
  IdParamsSchema, IfNoneMatchHeadersSchema, NotModifiedSchema, OrderListSchema, OrderSchema, PaginationQuerySchema,
  type IdParams, type OrderList, type PaginationQuery
} from '../../src/orders/schemas.js'

// The cache policies these routes declare in `config.cache`: where each cached GET lives in
// Redis, in the cache's neutral terms (list pages, entities by id). They run after validation,
// so page, limit and id are already checked and defaulted.

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

// Read-through cached (config.cache.at): on a hit the cache plugin answers from Redis and these
// handlers do not run; on a miss they are the load, shared by every concurrent miss.
const readOrders: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/orders', {
    schema: {
      summary: 'List orders, newest first (read-through cached; X-Cache tells HIT, MISS or BYPASS)',
      description: 'ETag: a digest of the page (per content coding); Cache-Control: no-cache; If-None-Match answers 304.',
      querystring: PaginationQuerySchema,
      headers: IfNoneMatchHeadersSchema,
      response: { 200: OrderListSchema, 304: NotModifiedSchema, ...errorResponses(400, 429, 503) }
    },
    config: { cache: { at: orderListPage, holds: ordersOnPage } }
  }, async (request) => app.orders.list(request.query.page, request.query.limit))

  app.get('/orders/:id', {
    schema: {
      summary: 'One order (read-through cached); ETag is its version, for If-Match',
      description: 'ETag: "<version>", or "<version>-br" / "<version>-gzip" for a compressed answer; ' +
        'Cache-Control: no-cache; If-None-Match answers 304.',
      params: IdParamsSchema,
      headers: IfNoneMatchHeadersSchema,
      response: { 200: OrderSchema, 304: NotModifiedSchema, ...errorResponses(400, 404, 429, 503) }
    },
    config: { cache: { at: oneOrder } }
  }, async (request, reply) => {
    const orderId = request.params.id
    const order = await app.orders.findById(orderId)
    if (!order) throw new OrderNotFoundError(orderId)
    reply.header('etag', etagOf(order.version))
    return order
  })
}

export default readOrders
