import fp from 'fastify-plugin'
import fastifyMetricsModule from 'fastify-metrics'
import { METRIC_PREFIX, promClient, type MetricsRegistry } from '../../src/metrics/service-metrics.js'
import { OPERATIONAL_ROUTES } from '../../src/http/operational-routes.js'
import { DOCUMENTATION_PREFIX } from '../../src/http/security-headers.js'
import { OPENAPI_URL } from './swagger.js'

// A CommonJS module with `exports.default`: its default import is the module object.
const fastifyMetrics = fastifyMetricsModule.default

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus registry: request metrics here, service metrics by plugins/app/service-metrics. */
    metricsRegistry: MetricsRegistry
  }
}

// Request latency from a cache hit (well under a millisecond) to a write waiting on MongoDB.
const DURATION_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

// Process metrics (CPU, memory, event-loop lag, GC) describe the process, not one app: they are
// collected once, into prom-client's global registry, which fastify-metrics merges into every
// scrape. Collecting them per app would leak a GC observer per test app.
let processMetricsCollected = false
function collectProcessMetricsOnce (): void {
  if (processMetricsCollected) return
  processMetricsCollected = true
  promClient.collectDefaultMetrics({ prefix: METRIC_PREFIX })
}

/**
 * GET /metrics (Prometheus text format) through fastify-metrics, which also times every
 * registered route into a histogram labelled by method, route pattern (not the raw URL, so an
 * order id never becomes a label) and status code; its _count is the request count.
 * Registered before the plugins that can answer early (rate limit, load shedding, auth), so
 * their 401, 429 and 503 answers are counted too.
 */
export default fp<{ requestMetrics?: boolean }>(async function metrics (app, { requestMetrics = true }) {
  collectProcessMetricsOnce()
  // Per app, so several apps in one process (the tests) never collide on a metric name.
  const registry = new promClient.Registry()
  app.decorate('metricsRegistry', registry)

  await app.register(fastifyMetrics, {
    promClient,
    endpoint: {
      method: 'GET',
      url: '/metrics',
      schema: { hide: true },
      logLevel: 'warn',
      exposeHeadRoute: false,
      handler: async () => {} // replaced by fastify-metrics with the scrape handler
    },
    defaultMetrics: { enabled: false },
    routeMetrics: {
      // Off only in the benchmark's per-layer A/B (src/app.ts, OPERABILITY_LAYERS).
      enabled: requestMetrics ? { histogram: true, summary: false } : false,
      routeBlacklist: [...OPERATIONAL_ROUTES, new RegExp(`^${DOCUMENTATION_PREFIX}`), OPENAPI_URL],
      overrides: {
        histogram: {
          name: `${METRIC_PREFIX}http_request_duration_seconds`,
          help: 'HTTP request duration in seconds by method, route and status code (_count: requests)',
          buckets: DURATION_BUCKETS_SECONDS,
          registers: [registry]
        },
        // Not collected (summary: false above), but fastify-metrics creates it anyway: it goes
        // to this app's registry too, or a second app in the process would collide on its name.
        summary: {
          name: `${METRIC_PREFIX}http_request_summary_seconds`,
          help: 'unused: see http_request_duration_seconds',
          registers: [registry]
        }
      }
    }
  })
}, { name: 'metrics' })
