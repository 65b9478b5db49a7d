import fp from 'fastify-plugin'
import { createOrdersRepository } from '../../src/orders/repository.js'
import type { Order } from '../../src/orders/schemas.js'

declare module 'fastify' {
  interface FastifyInstance {
    orders: ReturnType<typeof createOrdersRepository>
  }
  interface FastifyRequest {
    /**
     * Set by a PUT or DELETE: the token of the change announced to the cache (once it was), and
     * the order before and after the write (once it was made). Its invalidation ends the change
     * and rewrites list pages with them.
     */
    orderChange: { announced?: string, previous?: Order, order?: Order } | null
  }
}

/** Decorates `orders`, the MongoDB repository (its index created at start-up), and `request.orderChange`. */
export default fp(async function ordersRepository (app) {
  // MONGODB_URL names the database (mongodb://host:27017/flowops); without one, use flowops.
  const db = app.mongo.db ?? app.mongo.client.db('flowops')
  const orders = createOrdersRepository({ db, metrics: app.serviceMetrics })
  await orders.ensureIndexes()
  app.decorate('orders', orders)
  app.decorateRequest('orderChange', null)
}, { name: 'orders-repository', dependencies: ['mongodb-connection', 'service-metrics'] })
