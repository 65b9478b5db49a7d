import fp from 'fastify-plugin'
import fastifyMongodb from '@fastify/mongodb'

/**
 * MongoDB, the system of record, through the official plugin. Every driver timeout is set
 * explicitly from MONGODB_TIMEOUT_MS so that a dead or frozen database turns into a 503
 * within a bounded time instead of a hanging request. Start-up needs MongoDB: without it the
 * service cannot create its indexes, so it fails after the timeout (and an orchestrator
 * restarts it) rather than serving writes it cannot honour.
 */
export default fp(async function mongodb (app) {
  const timeout = app.config.MONGODB_TIMEOUT_MS
  await app.register(fastifyMongodb, {
    url: app.config.MONGODB_URL,
    forceClose: true,
    serverSelectionTimeoutMS: timeout,
    connectTimeoutMS: timeout,
    socketTimeoutMS: timeout,
    waitQueueTimeoutMS: timeout,
    maxPoolSize: 50,
    appName: 'flowops-order-service'
  })
}, { name: 'mongodb-connection' })
