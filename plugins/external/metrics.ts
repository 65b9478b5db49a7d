import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { METRIC_PREFIX, promClient, type MetricsRegistry } from '../../src/metrics/service-metrics.js'
import { OPERATIONAL_ROUTES } from '../../src/http/operational-routes.js'
import { DOCUMENTATION_PREFIX } from '../../src/http/security-headers.js'
import { OPENAPI_URL } from './swagger.js'
import { createMetricsServer, metricsTokenCheck } from '../../src/metrics/metrics-exposure.js'
import { UnauthorizedError } from '../../src/http/errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus registry: request metrics here, service metrics by plugins/app/service-metrics. */
    metricsRegistry: MetricsRegistry
    /** With METRICS_PORT set: the server of /metrics on that port. */
    metricsServer?: import('node:http').Server
  }
}

// Request latency from a cache hit (well under a millisecond) to a write waiting on MongoDB.
const DURATION_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

// Not API traffic: preflights and HEAD (as fastify-metrics, which this replaced, left them out),
// health checks, scrapes, the API document and its UI.
const UNTIMED_METHODS = new Set(['HEAD', 'OPTIONS', 'TRACE', 'CONNECT'])
const isUntimedRoute = (url: string) =>
  OPERATIONAL_ROUTES.has(url) || url === OPENAPI_URL || url === DOCUMENTATION_PREFIX || url.startsWith(`${DOCUMENTATION_PREFIX}/`)

// Process metrics (CPU, memory, event-loop lag, GC) describe the process, not one app: they are
// collected once, into prom-client's global registry, which every scrape merges in. Collecting
// them per app would leak a GC observer per test app.
let processMetricsCollected = false
function collectProcessMetricsOnce (): void {
  if (processMetricsCollected) return
  processMetricsCollected = true
  promClient.collectDefaultMetrics({ prefix: METRIC_PREFIX })
}

type Series = { observe: (seconds: number) => void }

/**
 * GET /metrics (Prometheus text format), and every request to a registered route timed into a
 * histogram labelled by method, route pattern (not the raw URL, so an order id never becomes a
 * label) and status code; its _count is the request count. Registered before the plugins that
 * can answer early (rate limit, load shedding, auth), so their 401, 429 and 503 answers count.
 *
 * One onResponse hook and Fastify's own clock (reply.elapsedTime), instead of fastify-metrics'
 * onRequest timer and label merging: the same histogram for about half the CPU per request
 * (bench/REPORT.md, the per-layer rows). Each route's series are found through a map filled
 * as routes are declared, and each (route, method, status) series is bound once, so a request
 * builds no label object.
 */
export default fp<{ requestMetrics?: boolean }>(async function metrics (app, { requestMetrics = true }) {
  collectProcessMetricsOnce()
  // Per app, so several apps in one process (the tests) never collide on a metric name.
  const registry = new promClient.Registry()
  app.decorate('metricsRegistry', registry)

  const render = async () => {
    const merged = promClient.Registry.merge([promClient.register, registry])
    return { contentType: merged.contentType, text: await merged.metrics() }
  }
  const allowed = metricsTokenCheck(app.config.METRICS_TOKEN)
  if (app.config.METRICS_PORT === '') {
    app.get('/metrics', { schema: { hide: true }, logLevel: 'warn', exposeHeadRoute: false }, async (request, reply) => {
      if (!allowed(request.headers.authorization)) {
        reply.header('www-authenticate', 'Bearer realm="metrics"')
        throw new UnauthorizedError('A valid bearer token is required to read the metrics')
      }
      const { contentType, text } = await render()
      return reply.type(contentType).send(text)
    })
  } else {
    // Its own port: listened on when the service listens, closed with it.
    const exposure = createMetricsServer({ render, allowed })
    app.decorate('metricsServer', exposure.server)
    app.addHook('onListen', async () => exposure.listen(Number(app.config.METRICS_PORT), app.config.HOST))
    app.addHook('onClose', async () => { if (exposure.server.listening) await exposure.close() })
  }

  // Off only in the benchmark's per-layer A/B (src/app.ts, OPERABILITY_LAYERS).
  if (!requestMetrics) return
  const durations = new promClient.Histogram({
    name: `${METRIC_PREFIX}http_request_duration_seconds`,
    help: 'HTTP request duration in seconds by method, route and status code (_count: requests)',
    labelNames: ['method', 'route', 'status_code'],
    buckets: DURATION_BUCKETS_SECONDS,
    registers: [registry]
  })

  // `METHOD url` of each timed route -> its series by status code.
  const timedRoutes = new Map<string, Map<number, Series>>()
  app.addHook('onRoute', (route: RouteOptions) => {
    if (isUntimedRoute(route.url)) return
    for (const method of [route.method].flat()) {
      if (!UNTIMED_METHODS.has(method)) timedRoutes.set(`${method} ${route.url}`, new Map())
    }
  })

  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    const route = request.routeOptions.url
    const byStatus = route === undefined ? undefined : timedRoutes.get(`${request.method} ${route}`)
    if (byStatus) {
      const status = reply.statusCode
      let series = byStatus.get(status)
      if (!series) {
        series = durations.labels({ method: request.method, route, status_code: status })
        byStatus.set(status, series)
      }
      series.observe(reply.elapsedTime / 1000)
    }
    done()
  })
}, { name: 'metrics' })
