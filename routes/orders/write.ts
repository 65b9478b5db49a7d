import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Invalidation } from '../../src/cache/invalidation.js'
import type { ErrorBody, ErrorCode } from '../../src/http/errors.js'
import { errorResponses } from '../../src/http/error-schema.js'
import { etagOf } from '../../src/http/representations.js'
import {
  CancelOrderResponseSchema, CreateOrderBodySchema, CreateOrderHeadersSchema, IdParamsSchema, IfMatchHeadersSchema, OrderSchema,
  type IdParams,
  UpdateOrderBodySchema
} from '../../src/orders/schemas.js'
import type { OrderChanges } from '../../src/orders/repository.js'
import { createOrder, idempotencyKeyOf, prepareChanges, prepareNewOrder, writeOrder } from '../../src/orders/writes.js'

// The cache policies these routes declare in `config.cache.invalidates`: what each mutation
// invalidates, in the cache's neutral terms (every list page, or entities by id with the bytes
// their pages may be rewritten from and to), given the response about to be sent.

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
 * the change announced before the write (src/orders/writes.ts). A change never
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
