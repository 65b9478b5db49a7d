import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { withDeadline } from '../src/redis/call-guards.js'
import { ErrorSchema, retryAfterOf } from '../src/http/errors.js'
import { errorResponses } from '../src/http/error-schema.js'

const ReadinessSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  service: Type.Literal('order-service'),
  mongodb: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  redis: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  cache: Type.Object({
    enabled: Type.Boolean(),
    breaker: Type.String({ description: 'closed, open or half-open' }),
    invalidationPending: Type.Boolean(),
    near: Type.Union([Type.Literal('off'), Type.Literal('on'), Type.Literal('lost')], {
      description: 'the near cache (CACHE_NEAR_MAX_BYTES): off, on, or lost (its invalidation connection is down: serving from Redis)'
    })
  })
})

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health', {
    schema: {
      summary: 'Liveness: the process answers',
      response: { 200: Type.Object({ status: Type.Literal('ok'), service: Type.Literal('order-service') }), ...errorResponses(503) }
    }
  }, async () => ({ status: 'ok' as const, service: 'order-service' as const }))

  // Readiness: ready to take traffic when MongoDB answers. Redis being down does not make the
  // service unready (reads fall back, POST works); the body says so for operators.
  app.get('/health/ready', {
    schema: {
      summary: 'Readiness: MongoDB answers; the body tells whether Redis is up',
      response: { 200: ReadinessSchema, 503: Type.Union([ReadinessSchema, ErrorSchema]) }
    }
  }, async (_request, reply) => {
    const timeout = app.config.REDIS_COMMAND_TIMEOUT_MS
    const [mongodb, redis] = await Promise.all([
      app.orders.ping().then(() => 'up' as const, () => 'down' as const),
      app.redis.status === 'ready'
        ? withDeadline(app.redis.ping(), timeout, 'redis ping').then(() => 'up' as const, () => 'down' as const)
        : Promise.resolve('down' as const)
    ])
    const ready = mongodb === 'up'
    if (!ready) reply.header('retry-after', String(retryAfterOf('DATABASE_UNAVAILABLE')))
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ok' : 'unavailable',
      service: 'order-service',
      mongodb,
      redis,
      cache: app.cache.status()
    })
  })
}

export default health
