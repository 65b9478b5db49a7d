import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { createCache, type CacheTarget, type Leader } from '../../src/cache/create-cache.js'

export type CachePolicy = (request: FastifyRequest) => CacheTarget

declare module 'fastify' {
  interface FastifyInstance {
    cache: ReturnType<typeof createCache>
  }
  interface FastifyContextConfig {
    /** Opts a GET route into the read-through cache: where its response lives in Redis. */
    cache?: CachePolicy
  }
}

export interface CachePluginOptions {
  /** Test seam: awaited between a miss's MongoDB read and its cache fill. */
  beforeFill?: (target: CacheTarget) => Promise<void>
}

const JSON_TYPE = 'application/json; charset=utf-8'

// What a request that missed must do once its response is ready: fill, and share it.
interface MissTicket {
  target: CacheTarget
  generation: string
  leader?: Leader
}

function asArray<T> (value: T | T[] | undefined): T[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}

/**
 * Decorates `cache` and wires it into every route whose `config.cache` names a policy:
 * a preHandler answers hits (and joins in-flight loads), an onSend hook fills the cache with
 * the exact bytes sent on a miss. Must be registered before the routes it serves.
 */
export default fp<CachePluginOptions>(async function cachePlugin (app, opts) {
  const config = app.config
  const cache = createCache({
    redis: app.redis,
    counters: app.counters,
    log: app.log.child({ component: 'cache' }),
    options: {
      enabled: config.CACHE_ENABLED,
      ttlSeconds: config.CACHE_TTL_SECONDS,
      readTimeoutMs: config.CACHE_REDIS_TIMEOUT_MS,
      writeTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
      breakerThreshold: config.CACHE_BREAKER_THRESHOLD,
      breakerCooldownMs: config.CACHE_BREAKER_COOLDOWN_MS,
      invalidationRetryMs: config.CACHE_INVALIDATION_RETRY_MS,
      beforeFill: opts.beforeFill
    }
  })
  app.decorate('cache', cache)
  app.addHook('onClose', async () => cache.close())

  const tickets = new WeakMap<FastifyRequest, MissTicket>()

  function sendShared (reply: FastifyReply, cacheStatus: string, body: Buffer | string, etag: string) {
    if (etag) reply.header('etag', etag)
    return reply.header('x-cache', cacheStatus).type(JSON_TYPE).send(body)
  }

  function lookupHook (policy: CachePolicy) {
    return async function cacheLookup (request: FastifyRequest, reply: FastifyReply) {
      const target = policy(request)
      const result = await cache.lookup(target)
      if (result.status === 'HIT') return sendShared(reply, 'HIT', result.body, result.etag)
      reply.header('x-cache', result.status)
      if (result.status === 'BYPASS') return
      const load = cache.joinOrLead(target, result.generation)
      if ('leader' in load) {
        tickets.set(request, { target, generation: result.generation, leader: load.leader })
        return
      }
      try {
        const response = await load.shared
        return sendShared(reply, 'MISS', response.body, response.etag)
      } catch {
        // The leader failed (404, database error): load on our own, without leading.
        tickets.set(request, { target, generation: result.generation })
      }
    }
  }

  // onSend and onResponse are callback-style: a hit (no ticket) passes through them on every
  // request, and an async hook would cost it a promise and a microtask each.
  function cacheFill (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) {
    const ticket = tickets.get(request)
    if (!ticket) return done(null, payload)
    tickets.delete(request)
    if (reply.statusCode !== 200 || typeof payload !== 'string') {
      ticket.leader?.reject()
      return done(null, payload)
    }
    const response = { body: payload, etag: String(reply.getHeader('etag') ?? '') }
    ticket.leader?.resolve(response)
    // The fill never fails (it fails open); the response waits for it so that the next
    // request from this client finds the entry.
    cache.fill(ticket.target, ticket.generation, response).then(() => done(null, payload), () => done(null, payload))
  }

  // A request that ended without reaching onSend must not leave its followers waiting.
  function releaseFollowers (request: FastifyRequest, _reply: FastifyReply, done: () => void) {
    const ticket = tickets.get(request)
    if (ticket) {
      ticket.leader?.reject()
      tickets.delete(request)
    }
    done()
  }

  app.addHook('onRoute', (route: RouteOptions) => {
    const policy = route.config?.cache
    if (!policy) return
    route.preHandler = [...asArray(route.preHandler), lookupHook(policy)]
    route.onSend = [...asArray(route.onSend), cacheFill]
    route.onResponse = [...asArray(route.onResponse), releaseFollowers]
  })
}, { name: 'cache', dependencies: ['redis-connection'] })
