import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { OrderNotFoundError } from '../../src/errors.js'
import { etagOf } from '../../src/etag.js'
import { errorResponses, IdParamsSchema, PaginationQuerySchema } from '../../src/schemas/common.js'
import { OrderListSchema, OrderSchema } from '../../src/schemas/order.js'
import { orderEntityCache, orderListCache } from './cache-policies.js'

const readOrders: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/orders', {
    schema: {
      summary: 'List orders, newest first (read-through cached; X-Cache tells HIT, MISS or BYPASS)',
      querystring: PaginationQuerySchema,
      response: { 200: OrderListSchema, ...errorResponses(400, 503) }
    },
    config: { cache: orderListCache }
  }, async (request) => app.orders.list(request.query.page, request.query.limit))

  app.get('/orders/:id', {
    schema: {
      summary: 'One order (read-through cached); ETag is its version, for If-Match',
      params: IdParamsSchema,
      response: { 200: OrderSchema, ...errorResponses(400, 404, 503) }
    },
    config: { cache: orderEntityCache }
  }, async (request, reply) => {
    const order = await app.orders.findById(request.params.id)
    if (!order) throw new OrderNotFoundError(request.params.id)
    reply.header('etag', etagOf(order.version))
    return order
  })
}

export default readOrders
