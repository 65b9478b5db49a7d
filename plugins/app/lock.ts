import fp from 'fastify-plugin'
import { createLock } from '../../src/lock/create-lock.js'

declare module 'fastify' {
  interface FastifyInstance {
    // Not `lock`: Fastify already has app.lock(), the shorthand for the WebDAV LOCK method.
    orderLocks: ReturnType<typeof createLock>
  }
}

/** Decorates `orderLocks`, the per-order Redis lock of PUT and DELETE. */
export default fp(async function lockPlugin (app) {
  const locks = createLock({
    redis: app.redis,
    metrics: app.serviceMetrics,
    log: app.log.child({ component: 'lock' }),
    config: app.config
  })
  app.decorate('orderLocks', locks)
  app.addHook('onClose', async () => locks.close())
}, { name: 'lock', dependencies: ['redis-connection', 'service-metrics'] })
