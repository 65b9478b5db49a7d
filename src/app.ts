import Fastify, { LogController, type FastifyHttpOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, Server } from 'node:http'
import { trustProxy, type Config } from './config.js'
import { schemaErrorFormatter, validatorCompiler } from './http/validation.js'
import { clientErrorHandler, frameworkErrors } from './http/early-errors.js'
import { loggerOptions } from './logger-options.js'
import mongodb from '../plugins/external/mongodb.js'
import redis from '../plugins/external/redis.js'
import metrics from '../plugins/external/metrics.js'
import cors from '../plugins/external/cors.js'
import helmet from '../plugins/external/helmet.js'
import underPressure from '../plugins/external/under-pressure.js'
import rateLimit from '../plugins/external/rate-limit.js'
import compression from '../plugins/external/compress.js'
import bearerAuth from '../plugins/external/bearer-auth.js'
import swagger from '../plugins/external/swagger.js'
import serviceMetrics from '../plugins/app/service-metrics.js'
import errorHandler from '../plugins/app/error-handler.js'
import notFound from '../plugins/app/not-found.js'
import jsonBody from '../plugins/app/json-body.js'
import requestId from '../plugins/app/request-id.js'
import accessLog from '../plugins/app/access-log.js'
import drainOnClose from '../plugins/app/drain-on-close.js'
import orders from '../plugins/app/orders.js'
import cache from '../plugins/app/cache.js'
import lock from '../plugins/app/lock.js'
import health from '../routes/health.js'
import readOrders from '../routes/orders/read.js'
import writeOrders from '../routes/orders/write.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

/**
 * The operability layers a request passes through, by name. The service always has them all;
 * only the benchmark's launcher (bench/service-without.ts) leaves some out, to measure what each
 * one costs a request (the per-layer A/B rows of bench/REPORT.md). No configuration variable
 * reaches this.
 */
export const OPERABILITY_LAYERS = ['metrics', 'request-id', 'cors', 'security-headers', 'logging', 'load-shedding'] as const
export type OperabilityLayer = typeof OPERABILITY_LAYERS[number]

interface AppOptions {
  config: Config
  /** Log to stdout through pino-pretty (development) instead of JSON lines. */
  prettyLogs?: boolean
  /** Benchmark only: layers to leave out (see OPERABILITY_LAYERS). */
  without?: ReadonlySet<OperabilityLayer>
}

const USABLE_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/

function incomingRequestId (request: IncomingMessage): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && USABLE_REQUEST_ID.test(given) ? given : randomUUID()
}

/** The Fastify options: buildApp is what the server and every test run, so both get these. */
function serverOptions (options: AppOptions): FastifyHttpOptions<Server> {
  const { config, without } = options
  return {
    logger: without?.has('logging') ? false : loggerOptions(options),
    // One access-log line per request instead of Fastify's two (plugins/app/access-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Reject prototype poisoning in JSON bodies (the default is to throw; keep it explicit).
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // The caller's X-Request-Id when it is a sane token, so one id follows a request across
    // services; anything else (too long, odd characters that would pollute logs) is replaced.
    requestIdHeader: false,
    ...(without?.has('request-id') ? {} : { genReqId: incomingRequestId }),
    trustProxy: trustProxy(config),
    routerOptions: { maxParamLength: 200 },
    frameworkErrors,
    clientErrorHandler,
    schemaErrorFormatter,
    // Timeouts, so that no client can hold a connection, a socket and a file descriptor for
    // ever: the whole request (headers and body) must arrive within REQUEST_TIMEOUT_MS, or it
    // gets 408 REQUEST_TIMEOUT (src/http/early-errors.ts) and its connection is closed. Node
    // checks for expired requests every connectionsCheckingInterval (30 s by default: far too
    // coarse for a 30 s limit). An idle keep-alive connection is kept KEEP_ALIVE_TIMEOUT_MS
    // (72 s, Fastify's default: longer than the idle timeout of common load balancers, so that
    // they close it first and never send a request on a connection the service is closing).
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    http: {
      headersTimeout: config.REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(1000, config.REQUEST_TIMEOUT_MS)
    },
    // While closing, plugins/app/drain-on-close answers new requests with the contract's
    // 503 SHUTTING_DOWN body instead of Fastify's own.
    return503OnClosing: false,
    forceCloseConnections: 'idle'
  }
}

/** Builds the whole service: plugins, then routes. Used by src/server.ts and by every test. */
export async function buildApp (options: AppOptions) {
  const app = Fastify(serverOptions(options)).withTypeProvider<TypeBoxTypeProvider>()
  const has = (layer: OperabilityLayer) => options.without?.has(layer) !== true
  app.setValidatorCompiler(validatorCompiler)
  // Bodies are JSON only: a text/plain body is 415, not a string that fails validation; JSON
  // through Fastify's own parser, with the refusal of prototype poisoning explained.
  app.removeContentTypeParser('text/plain')
  await app.register(jsonBody)
  app.decorate('config', options.config)

  // External connections and the metrics registry, configuration only; then the service's
  // metrics, which everything below counts into, and the one error handler.
  await app.register(mongodb)
  await app.register(redis)
  await app.register(metrics, { requestMetrics: has('metrics') })
  await app.register(serviceMetrics)
  await app.register(errorHandler)

  // Global hooks, the same for every route, in this order on every request (metrics' first, as
  // registered above, so the early answers below are counted): request ids; security headers,
  // which every answer needs, CORS preflights included; plain OPTIONS, 404 and 405 (not-found)
  // before CORS, which would take a plain OPTIONS for a bad preflight; CORS; refusing new work
  // once shutting down and under load; the rate limit; response compression (an onSend hook on
  // each route declared after it). Authentication is the
  // `onRequest: app.authenticate` each mutating route declares, so it always runs after all of
  // them (a token guesser is rate limited). The API document collects the routes declared after it.
  if (has('logging')) await app.register(accessLog)
  if (has('request-id')) await app.register(requestId)
  if (has('security-headers')) await app.register(helmet)
  await app.register(notFound)
  if (has('cors')) await app.register(cors)
  await app.register(drainOnClose)
  if (has('load-shedding')) await app.register(underPressure)
  await app.register(rateLimit)
  await app.register(compression)
  await app.register(bearerAuth)
  await app.register(swagger)

  // The service's own decorators; the cache carries out the routes' `config.cache` as they are
  // declared.
  await app.register(orders)
  await app.register(lock)
  await app.register(cache)

  await app.register(health)
  await app.register(readOrders)
  await app.register(writeOrders)

  return app
}
