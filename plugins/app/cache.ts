import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { createCache, type Cache } from '../../src/cache/create-cache.js'
import type { CachedResponse, OnStatus } from '../../src/cache/cached-response.js'
import type { Invalidation } from '../../src/cache/invalidation.js'
import { clusterKeys, standaloneKeys, type CacheTarget, type KeyLayout } from '../../src/cache/keys.js'
import { redisTopology } from '../../src/redis/create-redis-client.js'
import { asArray } from '../../src/http/as-array.js'
import { contentTag, negotiateCoding, noneMatchHolds, tagInCoding } from '../../src/http/representations.js'
import { isDatabaseUnavailable } from '../../src/http/database-errors.js'

/** What a route declares in `config.cache`: a cached GET says where it lives, a write what it invalidates. */
export interface CacheRouteConfig {
  /** Opts a GET route into the read-through cache: where its response lives in Redis. */
  at?: (request: FastifyRequest, keys: KeyLayout) => CacheTarget
  /** For a cached list: the entity ids its handler's result holds (a change to one invalidates it). */
  holds?: (result: unknown) => string[]
  /**
   * What a mutating route invalidates, sent before its response, given the response about to
   * be sent (its status on `reply`, its serialised body as `payload`): the route knows which of
   * its answers may come from a write. Undefined: nothing.
   */
  invalidates?: (request: FastifyRequest, reply: FastifyReply, payload: unknown) => Invalidation | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    cache: Cache
  }
  interface FastifyContextConfig {
    cache?: CacheRouteConfig
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

/**
 * Decorates `cache` and carries out what routes declare in `config.cache`, one hook each:
 * - `at`: a preHandler answers the request from the near tier (cache.nearHit, when there is
 *   one) or through cache.read (cache.readCopy, in a content coding); on a miss it runs the
 *   route's handler as the load, and every concurrent miss shares its outcome;
 * - `invalidates`: an onSend hook sends the invalidation and holds the response until it has
 *   landed (or failed and is owed), so the client that wrote reads its write.
 */
export default fp(async function cachePlugin (app) {
  const keys = redisTopology(app.config) === 'cluster' ? clusterKeys : standaloneKeys
  const cache = createCache({ redis: app.redis, keys, servesInGrace: isDatabaseUnavailable, metrics: app.serviceMetrics, log: app.log.child({ component: 'cache' }), config: app.config })
  app.decorate('cache', cache)
  app.addHook('onClose', () => cache.close())

  // The route's own handler, and its result serialised by the route's 200 response schema: the
  // bytes Fastify would send, and what a hit sends back as they are. Its tag is the handler's
  // (an order's version), else a digest of those bytes (a list page), stored with them.
  // The handler runs as a load, whose result may be shared by other requests or be made after
  // this response has gone (an eager refresh): it is handed a reply of its own that only keeps
  // headers, and a cached route's handler may set no other header than its ETag.
  async function render (request: FastifyRequest, reply: FastifyReply, holds?: (result: unknown) => string[]): Promise<CachedResponse> {
    const headers = new Map<string, unknown>()
    const detached = {
      header (name: string, value: unknown) { headers.set(name.toLowerCase(), value); return detached },
      getHeader: (name: string) => headers.get(name.toLowerCase())
    }
    const result: unknown = await request.routeOptions.handler.call(app, request, detached as unknown as FastifyReply)
    const body = reply.serializeInput(result as Record<string, unknown>, '200') as string
    return { body, etag: String(headers.get('etag') ?? contentTag(body)), heldIds: holds?.(result) }
  }

  /**
   * Sends a cached route's answer: the bytes as they are, the tag of their coding (RFC 9110
   * 8.8.3), and Cache-Control: no-cache, so that every client and shared cache asks again
   * each time (the data changes at any write, on any instance) and is answered 304 with no body
   * when its copy is current (If-None-Match, weak comparison).
   */
  function send (request: FastifyRequest, reply: FastifyReply, response: CachedResponse): FastifyReply {
    const etag = tagInCoding(response.etag, response.coding)
    reply.header('etag', etag).header('cache-control', 'no-cache')
    // Served in grace (X-Cache: GRACE): how long ago the entry was filled (RFC 9111 5.1).
    if (response.ageSeconds !== undefined) reply.header('age', String(response.ageSeconds))
    if (noneMatchHolds(request.headers['if-none-match'], etag)) {
      response.slot?.release()
      return reply.code(304).send()
    }
    if (response.coding) reply.header('content-encoding', response.coding)
    response.slot?.releaseWhenSent(reply.raw)
    return reply.header('content-type', JSON_TYPE).send(response.body)
  }

  function serveCached (at: NonNullable<CacheRouteConfig['at']>, holds?: CacheRouteConfig['holds']) {
    const varyOf = varyWithAcceptEncoding()
    return async function serveCached (request: FastifyRequest, reply: FastifyReply) {
      const target = at(request, keys)
      // The answer depends on Accept-Encoding whichever coding it ends up in.
      reply.header('vary', varyOf(reply.getHeader('vary')))
      const coding = negotiateCoding(request.headers['accept-encoding'])
      const near = cache.nearHit?.(target, coding)
      if (near) return send(request, reply.header('x-cache', 'HIT'), near)
      const load = () => render(request, reply, holds)
      const onStatus: OnStatus = (status) => reply.header('x-cache', status)
      return send(request, reply, await (coding ? cache.readCopy(target, coding, load, onStatus) : cache.read(target, load, onStatus)))
    }
  }

  function invalidateBeforeSend (invalidates: NonNullable<CacheRouteConfig['invalidates']>) {
    return async function invalidateBeforeSend (request: FastifyRequest, reply: FastifyReply, payload: unknown) {
      const invalidation = invalidates(request, reply, payload)
      if (invalidation) await cache.invalidate(invalidation)
      return payload
    }
  }

  // One route-config key, one hook each, as @fastify/rate-limit does.
  app.addHook('onRoute', (route: RouteOptions) => {
    const { at, holds, invalidates } = route.config?.cache ?? {}
    if (at) route.preHandler = [...asArray(route.preHandler), serveCached(at, holds)]
    if (invalidates) route.onSend = [...asArray(route.onSend), invalidateBeforeSend(invalidates)]
  })
}, { name: 'cache', dependencies: ['redis-connection', 'service-metrics'] })
