import fp from 'fastify-plugin'
import fastifyRateLimit from '@fastify/rate-limit'
import { redisKeys } from '../../src/cache/keys.js'
import { createRedisClient } from '../../src/redis/create-redis-client.js'
import { RateLimitedError } from '../../src/http/errors.js'
import { OPERATIONAL_ROUTES } from '../../src/http/operational-routes.js'
import { reconnectWhenEnded } from '../../src/redis/reconnect-when-ended.js'

/**
 * Per-client-IP rate limiting with @fastify/rate-limit, counted in Redis so every instance
 * shares one budget (keys under flowops:order-service:v1:ratelimit:). Off unless
 * RATE_LIMIT_MAX > 0. Over the limit: 429 RATE_LIMITED with Retry-After (seconds left in the
 * window). Health and metrics are never limited.
 *
 * Redis must never cost availability, so a failed Redis call skips the limit instead of
 * failing the request (skipOnError). The plugin's Redis store has no deadline of its own, and
 * a frozen Redis never answers: the limiter therefore gets its own connection to the same
 * Redis (standalone, cluster or sentinel, made like the service's client) with a command
 * timeout, so a frozen Redis delays a request by at most RATE_LIMIT_REDIS_TIMEOUT_MS. Its one
 * key per client IP is a single-key script, which a Redis Cluster serves as it is.
 *
 * One global onRequest hook (the plugin's `rateLimit()` handler, `global: false` so it rewrites
 * no route): every request is counted, whatever was registered before or after.
 */
export default fp(async function rateLimit (app) {
  const config = app.config
  if (config.RATE_LIMIT_MAX === 0) return

  const limiterRedis = createRedisClient(config, {
    connectionName: 'flowops-order-service-ratelimit',
    commandTimeout: config.RATE_LIMIT_REDIS_TIMEOUT_MS
  })
  // The service's own client already logs and counts Redis outages.
  limiterRedis.on('error', () => {})
  // Ended by ioredis itself (a Sentinel failover), it would stay ended: every request skipped, no limit.
  reconnectWhenEnded(limiterRedis)
  app.addHook('onClose', async () => { limiterRedis.disconnect() })

  await app.register(fastifyRateLimit, {
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    redis: limiterRedis,
    nameSpace: redisKeys.rateLimitPrefix,
    skipOnError: true,
    global: false,
    allowList: (request) => OPERATIONAL_ROUTES.has(request.routeOptions.url ?? ''),
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.after)
  })
  app.addHook('onRequest', app.rateLimit())
}, { name: 'rate-limit', dependencies: ['redis-connection'] })
