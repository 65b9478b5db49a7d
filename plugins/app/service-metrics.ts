import fp from 'fastify-plugin'
import { createServiceMetrics, METRIC_PREFIX, promClient } from '../../src/metrics/service-metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    serviceMetrics: ReturnType<typeof createServiceMetrics>
  }
}

/**
 * Decorates `serviceMetrics`, the counters and histograms the cache, the lock and the
 * repository increment as events happen, in this app's registry. The gauges below are states,
 * not events: they are read when Prometheus scrapes.
 */
export default fp(async function serviceMetrics (app) {
  const registers = [app.metricsRegistry]
  const metrics = createServiceMetrics(app.metricsRegistry)
  app.decorate('serviceMetrics', metrics)
  app.redis.on('error', () => metrics.redisErrors.inc({ component: 'connection' }))

  function gaugeFrom (name: string, help: string, read: () => number): void {
    // eslint-disable-next-line no-new
    new promClient.Gauge({ name: `${METRIC_PREFIX}${name}`, help, registers, collect () { this.set(read()) } })
  }
  gaugeFrom('redis_connected', 'Whether the Redis client is connected and ready (1) or not (0)', () => app.redis.status === 'ready' ? 1 : 0)
  // Registered now, read once the cache is decorated: the breaker as a number a dashboard can
  // threshold and graph.
  gaugeFrom('cache_breaker_state', 'Read-path circuit breaker: 0 closed, 1 half-open (probing), 2 open (Redis skipped)',
    () => ({ closed: 0, 'half-open': 1, open: 2 })[app.cache.status().breaker])
  gaugeFrom('cache_invalidation_pending', 'Whether a mutation was answered before its invalidation reached Redis (1: no cache hits are served)',
    () => app.cache.status().invalidationPending ? 1 : 0)
  gaugeFrom('cache_enabled', 'Whether the read-through cache is enabled (CACHE_ENABLED)', () => app.config.CACHE_ENABLED ? 1 : 0)
}, { name: 'service-metrics', dependencies: ['metrics', 'redis-connection'] })
