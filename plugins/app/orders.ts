import fp from 'fastify-plugin'
import { createOrdersRepository } from '../../src/orders/repository.js'

declare module 'fastify' {
  interface FastifyInstance {
    orders: ReturnType<typeof createOrdersRepository>
  }
}

/** Decorates `orders`, the MongoDB repository, and creates its index at start-up. */
export default fp(async function ordersRepository (app) {
  // MONGODB_URL names the database (mongodb://host:27017/flowops); without one, use flowops.
  const db = app.mongo.db ?? app.mongo.client.db('flowops')
  const orders = createOrdersRepository({ db, metrics: app.serviceMetrics })
  await orders.ensureIndexes()
  app.decorate('orders', orders)
}, { name: 'orders-repository', dependencies: ['mongodb-connection', 'service-metrics'] })
