import fp from 'fastify-plugin'
import { createLock } from '../../src/lock/create-lock.js'

declare module 'fastify' {
  interface FastifyInstance {
    // Not `lock`: Fastify already has app.lock(), the shorthand for the WebDAV LOCK method.
    orderLocks: ReturnType<typeof createLock>
  }
}

/** Decorates `orderLocks`, the per-order Redis lock used by PUT and DELETE. */
export default fp(async function lockPlugin (app) {
  const config = app.config
  app.decorate('orderLocks', createLock({
    redis: app.redis,
    counters: app.counters,
    log: app.log.child({ component: 'lock' }),
    options: {
      ttlSeconds: config.LOCK_TTL_SECONDS,
      timeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
      retryCount: config.LOCK_RETRY_COUNT,
      retryDelayMs: config.LOCK_RETRY_DELAY_MS,
      retryJitterMs: config.LOCK_RETRY_JITTER_MS
    }
  }))
}, { name: 'lock', dependencies: ['redis-connection'] })
