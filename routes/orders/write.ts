import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { errorResponses } from '../../src/http/error-schema.js'
import { etagOf } from '../../src/http/representations.js'
import { aNewOrder, theOrderAndPagesHoldingIt } from '../../src/orders/cache-policies.js'
import { prepareChanges, prepareNewOrder, type OrderChanges } from '../../src/orders/rules.js'
import {
  CancelOrderResponseSchema, CreateOrderBodySchema, CreateOrderHeadersSchema, IdParamsSchema, IfMatchHeadersSchema, OrderSchema,
  type IdParams,
  UpdateOrderBodySchema
} from '../../src/orders/schemas.js'
import { writeOrder } from '../../src/orders/write-order.js'
import { createOrder, idempotencyKeyOf } from '../../src/orders/create-order.js'

// Every mutation authenticates (onRequest: no hook unless API_TOKENS is set) and declares what
// it invalidates (config.cache.invalidates): the cache plugin sends it before the response.
const writeOrders: FastifyPluginAsyncTypebox = async (app) => {
  const deps = { locks: app.orderLocks, orders: app.orders, metrics: app.serviceMetrics, announce: app.cache.beginChange }

  /**
   * PUT and DELETE: the write flow, with the change recorded on the request as it happens (the
   * announcement's token, then the order before and after) for the invalidation it declares.
   */
  async function changeOrder (request: FastifyRequest, params: IdParams, ifMatch: string | undefined, changes: OrderChanges) {
    const change: NonNullable<typeof request.orderChange> = request.orderChange = {}
    const { previous, order } = await writeOrder(deps, {
      orderId: params.id,
      ifMatch,
      changes,
      announced: (token) => { change.announced = token }
    })
    Object.assign(change, { previous, order })
    return order
  }

  // POST takes no lock (a new order has no concurrent writer) and so works while Redis is down.
  app.post('/orders', {
    schema: {
      summary: 'Create an order; totalAmount is computed by the server',
      security: [{ bearerAuth: [] }],
      headers: CreateOrderHeadersSchema,
      body: CreateOrderBodySchema,
      response: { 201: OrderSchema, ...errorResponses(400, 401, 413, 415, 422, 429, 503) }
    },
    onRequest: app.authenticate,
    config: { cache: { invalidates: aNewOrder } }
  }, async (request, reply) => {
    const order = await createOrder(app.orders, prepareNewOrder(request.body), idempotencyKeyOf(request.headers['idempotency-key']))
    return reply.code(201).header('location', `/orders/${order._id}`).header('etag', etagOf(order.version)).send(order)
  })

  app.put('/orders/:id', {
    schema: {
      summary: 'Update an order under its lock; If-Match optional',
      security: [{ bearerAuth: [] }],
      params: IdParamsSchema,
      headers: IfMatchHeadersSchema,
      body: UpdateOrderBodySchema,
      response: { 200: OrderSchema, ...errorResponses(400, 401, 404, 409, 412, 413, 415, 422, 429, 503) }
    },
    onRequest: app.authenticate,
    config: { cache: { invalidates: theOrderAndPagesHoldingIt } }
  }, async (request, reply) => {
    const order = await changeOrder(request, request.params, request.headers['if-match'], prepareChanges(request.body))
    return reply.header('etag', etagOf(order.version)).send(order)
  })

  app.delete('/orders/:id', {
    schema: {
      summary: 'Cancel an order (status Cancelled) under its lock; If-Match optional',
      description: 'Cancels, does not remove: the order is kept with status Cancelled and GET /orders/{id} still ' +
        'answers 200 with it. Cancelling a Completed or Cancelled order is 422. A body is not needed; one that is sent ' +
        'must be JSON (415 otherwise, 413 over the size limit) and is ignored.',
      security: [{ bearerAuth: [] }],
      params: IdParamsSchema,
      headers: IfMatchHeadersSchema,
      response: { 200: CancelOrderResponseSchema, ...errorResponses(400, 401, 404, 409, 412, 413, 415, 422, 429, 503) }
    },
    onRequest: app.authenticate,
    config: { cache: { invalidates: theOrderAndPagesHoldingIt } }
  }, async (request, reply) => {
    const order = await changeOrder(request, request.params, request.headers['if-match'], { status: 'Cancelled' })
    return reply.header('etag', etagOf(order.version)).send({ message: 'Order cancelled successfully' as const, order })
  })
}

export default writeOrders
