import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { createCache, type CachedResponse } from '../../src/cache/create-cache.js'
import type { CacheInvalidation } from '../../src/cache/invalidator.js'
import { clusterKeys, standaloneKeys, type CacheTarget, type KeyLayout } from '../../src/redis/keys.js'
import { redisTopology } from '../../src/redis/create-redis-client.js'
import { mayHaveWritten } from '../../src/http/errors.js'
import { negotiateCoding, type ContentCoding } from '../../src/http/compression.js'
import type { Order } from '../../src/orders/schemas.js'

declare module 'fastify' {
  interface FastifyInstance {
    cache: ReturnType<typeof createCache>
  }
  interface FastifyRequest {
    /** Set by a PUT or DELETE that changed an order: the invalidation rewrites list pages with it. */
    orderChange: { previous: Order, order: Order } | null
  }
  interface FastifyContextConfig {
    /** Opts a GET route into the read-through cache: where its response lives in Redis. */
    cache?: (request: FastifyRequest, keys: KeyLayout) => CacheTarget
    /** For a cached list: the orders its handler's result holds (a change to one invalidates it). */
    cacheHolds?: (result: unknown) => string[]
    /** What a mutating route invalidates: every list page (a new order), or one changed order. */
    invalidates?: (request: FastifyRequest, reply: FastifyReply) => CacheInvalidation
  }
}

const JSON_TYPE = 'application/json; charset=utf-8'

/**
 * Adds a field to Vary unless it is there already (field names are case-insensitive). Lower
 * case, as @fastify/compress writes and looks for it, so neither adds it twice.
 */
function appendVary (current: unknown, field: string): string {
  const existing = current === undefined ? '' : String(current)
  if (existing.toLowerCase().split(',').some((name) => name.trim() === field)) return existing
  return existing === '' ? field : `${existing}, ${field}`
}

/**
 * appendVary(current, 'accept-encoding'), remembering the last answer: every cached GET arrives
 * with the same Vary from the hooks before it (CORS's `Origin`, or none), so this is computed
 * once rather than split and lower-cased on every hit.
 */
function varyWithAcceptEncoding (): (current: unknown) => string {
  let lastCurrent: unknown = Symbol('none')
  let lastVary = ''
  return (current) => {
    if (current !== lastCurrent) {
      lastVary = appendVary(current, 'accept-encoding')
      lastCurrent = current
    }
    return lastVary
  }
}

function asArray<T> (value: T | T[] | undefined): T[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}

/**
 * Decorates `cache` and carries out what routes declare in their config, one hook each:
 * - `config.cache`: a preHandler answers the request from the near cache (cache.nearHit) or
 *   through cache.readThrough; on a miss it runs the route's handler as the load, and every
 *   concurrent miss shares its outcome;
 * - `config.invalidates`: an onSend hook sends the invalidation and holds the response until
 *   it has landed (or failed and is owed), so the client that wrote reads its write.
 */
export default fp(async function cachePlugin (app) {
  const keys = redisTopology(app.config) === 'cluster' ? clusterKeys : standaloneKeys
  const cache = createCache({ redis: app.redis, keys, metrics: app.serviceMetrics, log: app.log.child({ component: 'cache' }), config: app.config })
  app.decorate('cache', cache)
  app.decorateRequest('orderChange', null)
  app.addHook('onClose', () => cache.close())

  // The route's own handler, and its result serialised by the route's response schema: the
  // bytes Fastify would send, and what a hit sends back as they are.
  async function render (request: FastifyRequest, reply: FastifyReply, holds?: (result: unknown) => string[]): Promise<CachedResponse> {
    const result: unknown = await request.routeOptions.handler.call(app, request, reply)
    return { body: reply.serialize(result) as string, etag: String(reply.getHeader('etag') ?? ''), heldOrderIds: holds?.(result) }
  }

  function serveCached (cacheTarget: (request: FastifyRequest, keys: KeyLayout) => CacheTarget, holds?: (result: unknown) => string[]) {
    const varyOf = varyWithAcceptEncoding()
    function send (reply: FastifyReply, response: CachedResponse & { coding?: ContentCoding }): FastifyReply {
      if (response.etag) reply.header('etag', response.etag)
      if (response.coding) reply.header('content-encoding', response.coding)
      // A hit's bytes in a reused slot: given back once the response is done ('close' comes
      // after the last byte left, or when the connection went first; if it already went, now).
      if (response.release) {
        if (reply.raw.destroyed) response.release()
        else reply.raw.once('close', response.release)
      }
      return reply.header('content-type', JSON_TYPE).send(response.body)
    }
    return async function serveCached (request: FastifyRequest, reply: FastifyReply) {
      const target = cacheTarget(request, keys)
      // The answer depends on Accept-Encoding whichever coding it ends up in.
      reply.header('vary', varyOf(reply.getHeader('vary')))
      const coding = negotiateCoding(request.headers['accept-encoding'])
      const near = cache.nearHit(target, coding)
      if (near) return send(reply.header('x-cache', 'HIT'), near)
      const load = () => render(request, reply, holds)
      const onStatus = (status: string) => reply.header('x-cache', status)
      return send(reply, coding
        ? await cache.readThroughCompressed(target, coding, load, onStatus)
        : await cache.readThrough(target, load, onStatus))
    }
  }

  function invalidateBeforeSend (invalidates: (request: FastifyRequest, reply: FastifyReply) => CacheInvalidation) {
    return async function invalidateBeforeSend (request: FastifyRequest, reply: FastifyReply, payload: unknown) {
      if (mayHaveWritten(reply.statusCode, payload)) await cache.invalidate(invalidates(request, reply))
      return payload
    }
  }

  // One route-config opt-in, one hook, as @fastify/rate-limit does.
  app.addHook('onRoute', (route: RouteOptions) => {
    const { cache: cacheTarget, cacheHolds, invalidates } = route.config ?? {}
    if (cacheTarget) route.preHandler = [...asArray(route.preHandler), serveCached(cacheTarget, cacheHolds)]
    if (invalidates) route.onSend = [...asArray(route.onSend), invalidateBeforeSend(invalidates)]
  })
}, { name: 'cache', dependencies: ['redis-connection', 'service-metrics'] })
