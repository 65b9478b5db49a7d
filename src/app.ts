import Fastify, { type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { trustProxy, type Config } from './config.js'
import { createCounters, type Counters } from './counters.js'
import { schemaErrorFormatter, validatorCompiler } from './validation.js'
import { clientErrorHandler, frameworkErrors } from './early-errors.js'
import mongodb from '../plugins/external/mongodb.js'
import redis from '../plugins/external/redis.js'
import metrics from '../plugins/external/metrics.js'
import cors from '../plugins/external/cors.js'
import helmet from '../plugins/external/helmet.js'
import underPressure from '../plugins/external/under-pressure.js'
import rateLimit from '../plugins/external/rate-limit.js'
import bearerAuth from '../plugins/external/bearer-auth.js'
import swagger from '../plugins/external/swagger.js'
import errorHandler from '../plugins/app/error-handler.js'
import notFound from '../plugins/app/not-found.js'
import jsonBody from '../plugins/app/json-body.js'
import requestId from '../plugins/app/request-id.js'
import drainOnClose from '../plugins/app/drain-on-close.js'
import ordersRepository from '../plugins/app/orders-repository.js'
import cache, { type CachePluginOptions } from '../plugins/app/cache.js'
import lock from '../plugins/app/lock.js'
import serviceMetrics from '../plugins/app/service-metrics.js'
import health from '../routes/health.js'
import readOrders from '../routes/orders/read.js'
import writeOrders from '../routes/orders/write.js'
import type { ChangeOrderSeams } from '../routes/orders/change-order.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    counters: Counters
  }
}

export interface AppOptions {
  config: Config
  /** Log to stdout through pino-pretty (development) instead of JSON lines. */
  prettyLogs?: boolean
  /** Test seams; production leaves them unset. */
  seams?: CachePluginOptions & ChangeOrderSeams
}

const USABLE_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/

function incomingRequestId (request: IncomingMessage): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && USABLE_REQUEST_ID.test(given) ? given : randomUUID()
}

/** The Fastify options, shared by the server and the tests so both run the same service. */
export function serverOptions ({ config, prettyLogs = false }: AppOptions): FastifyServerOptions {
  return {
    logger: {
      level: config.LOG_LEVEL,
      redact: ['req.headers.authorization'],
      ...(prettyLogs ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {})
    },
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Reject prototype poisoning in JSON bodies (the default is to throw; keep it explicit).
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // The caller's X-Request-Id when it is a sane token, so one id follows a request across
    // services; anything else (too long, odd characters that would pollute logs) is replaced.
    requestIdHeader: false,
    genReqId: incomingRequestId,
    trustProxy: trustProxy(config),
    routerOptions: { maxParamLength: 200 },
    frameworkErrors,
    clientErrorHandler,
    schemaErrorFormatter,
    // While closing, plugins/app/drain-on-close answers new requests with the contract's
    // 503 SHUTTING_DOWN body instead of Fastify's own.
    return503OnClosing: false,
    forceCloseConnections: 'idle'
  }
}

/** Builds the whole service: plugins, then routes. Used by src/server.ts and by every test. */
export async function buildApp (options: AppOptions) {
  const app = Fastify(serverOptions(options)).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  // Bodies are JSON only: a text/plain body is 415, not a string that fails validation; JSON
  // through Fastify's own parser, with the refusal of prototype poisoning explained.
  app.removeContentTypeParser('text/plain')
  await app.register(jsonBody)
  app.decorate('config', options.config)
  app.decorate('counters', createCounters())

  // External connections, configuration only.
  await app.register(mongodb)
  await app.register(redis)
  // The one error handler, before every route and hook whose errors it answers.
  await app.register(errorHandler)

  // Cross-cutting HTTP concerns. Their hooks run in this order on every request: metrics
  // first, so that the early answers of the others (503, 429, 401) are counted; then security
  // headers, which every answer needs, CORS preflights included; plain OPTIONS (not-found,
  // which also answers 404 and 405) before CORS, which would take it for a bad preflight; then
  // CORS, whose headers the other answers need too; refusing new work once shutting down, and
  // under load, before any work; the rate limit before authentication, so token guessing is
  // limited as well. All of them, and the API document, must precede the routes: they hook
  // into routes as they are declared.
  await app.register(metrics)
  await app.register(requestId)
  await app.register(helmet)
  await app.register(notFound)
  await app.register(cors)
  await app.register(drainOnClose)
  await app.register(underPressure)
  await app.register(rateLimit)
  await app.register(bearerAuth)
  await app.register(swagger)

  // The service's own plugins. The cache must precede the routes: it wires itself into the
  // routes that opt in through `config.cache` as they are declared.
  await app.register(ordersRepository)
  await app.register(cache, { beforeFill: options.seams?.beforeFill })
  await app.register(lock)
  await app.register(serviceMetrics)

  await app.register(health)
  await app.register(readOrders)
  await app.register(writeOrders, { beforeWrite: options.seams?.beforeWrite })

  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
