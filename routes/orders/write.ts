import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { etagOf } from '../../src/etag.js'
import { prepareChanges, prepareNewOrder } from '../../src/domain/order.js'
import { errorResponses, IdParamsSchema, IfMatchHeadersSchema, orderIdOf } from '../../src/schemas/common.js'
import { CancelOrderResponseSchema, CreateOrderBodySchema, OrderSchema, UpdateOrderBodySchema } from '../../src/schemas/order.js'
import { changeOrder, type ChangeOrderSeams } from './change-order.js'

const writeOrders: FastifyPluginAsyncTypebox<ChangeOrderSeams> = async (app, seams) => {
  // POST takes no lock (a new order has no concurrent writer) and so works while Redis is down.
  app.post('/orders', {
    schema: {
      summary: 'Create an order; totalAmount is computed by the server',
      body: CreateOrderBodySchema,
      response: { 201: OrderSchema, ...errorResponses(400, 413, 415, 503) }
    }
  }, async (request, reply) => {
    const fields = prepareNewOrder(request.body)
    let order
    try {
      order = await app.orders.insert(fields)
    } finally {
      // Also when the insert failed: a lost reply can hide a committed insert.
      await app.cache.invalidate()
    }
    return reply.code(201).header('location', `/orders/${order._id}`).header('etag', etagOf(order.version)).send(order)
  })

  app.put('/orders/:id', {
    schema: {
      summary: 'Update an order under its lock; If-Match optional',
      params: IdParamsSchema,
      headers: IfMatchHeadersSchema,
      body: UpdateOrderBodySchema,
      response: { 200: OrderSchema, ...errorResponses(400, 404, 409, 412, 413, 415, 422, 503) }
    }
  }, async (request, reply) => {
    const order = await changeOrder(app, seams, {
      orderId: orderIdOf(request.params),
      ifMatch: request.headers['if-match'],
      changes: prepareChanges(request.body)
    })
    return reply.header('etag', etagOf(order.version)).send(order)
  })

  app.delete('/orders/:id', {
    schema: {
      summary: 'Cancel an order (status Cancelled) under its lock; If-Match optional',
      description: 'Cancels, does not remove: the order is kept with status Cancelled and GET /orders/{id} still ' +
        'answers 200 with it. Cancelling a Completed or Cancelled order is 422. A body is not needed; one that is sent ' +
        'must be JSON (415 otherwise, 413 over the size limit) and is ignored.',
      params: IdParamsSchema,
      headers: IfMatchHeadersSchema,
      response: { 200: CancelOrderResponseSchema, ...errorResponses(400, 404, 409, 412, 413, 415, 422, 503) }
    }
  }, async (request, reply) => {
    const order = await changeOrder(app, seams, {
      orderId: orderIdOf(request.params),
      ifMatch: request.headers['if-match'],
      changes: { status: 'Cancelled' }
    })
    return reply.header('etag', etagOf(order.version)).send({ message: 'Order cancelled successfully' as const, order })
  })
}

export default writeOrders
