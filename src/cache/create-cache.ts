import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import { withDeadline } from '../deadline.js'
import type { Counters } from '../counters.js'
import { createCircuitBreaker } from './circuit-breaker.js'
import { decodeEntry, encodeEntry } from './entry.js'
import { createInvalidator } from './invalidator.js'
import { defineCacheScripts } from './scripts.js'
import type { CacheTarget } from './targets.js'

export type { CacheTarget } from './targets.js'

export type Lookup =
  | { status: 'HIT', body: Buffer, etag: string }
  | { status: 'MISS', generation: string }
  | { status: 'BYPASS' }

/** A response one request loaded from MongoDB and shares with concurrent misses on its key. */
export interface SharedResponse {
  body: string
  etag: string
}

/** The request that loads a missed key for everyone waiting on it. */
export interface Leader {
  resolve: (response: SharedResponse) => void
  reject: () => void
}

export interface CacheOptions {
  enabled: boolean
  ttlSeconds: number
  /** Deadline of each read-path Redis call (lookup, fill). */
  readTimeoutMs: number
  /** Deadline of invalidation calls. */
  writeTimeoutMs: number
  breakerThreshold: number
  breakerCooldownMs: number
  invalidationRetryMs: number
  /** Test seam: awaited between a miss's MongoDB read and its cache fill. */
  beforeFill?: (target: CacheTarget) => Promise<void>
}

/**
 * The read-through cache. Reads fail open: any Redis problem (down, frozen, erroring, breaker
 * open) turns into BYPASS and the caller serves from MongoDB. Fills are compare-and-set on the
 * generation observed before the MongoDB read, so a slow reader can never store data older
 * than a mutation that invalidated meanwhile.
 */
export function createCache ({ redis, counters, log, options }: {
  redis: Redis
  counters: Counters
  log: FastifyBaseLogger
  options: CacheOptions
}) {
  defineCacheScripts(redis)
  const breaker = createCircuitBreaker({ threshold: options.breakerThreshold, cooldownMs: options.breakerCooldownMs })
  // An entity generation must outlive every entry tagged with it (see bumpGenerations); the
  // list generation is one key and never expires.
  const entityGenerationTtlSeconds = options.ttlSeconds * 2 + 60
  const generationTtl = (target: CacheTarget) => (target.generationExpires ? entityGenerationTtlSeconds : 0)
  const invalidator = createInvalidator({
    redis,
    counters,
    log,
    timeoutMs: options.writeTimeoutMs,
    retryMs: options.invalidationRetryMs,
    entityGenerationTtlSeconds
  })
  // Other instances may serve hits while our invalidation is undelivered: deliver it the moment
  // the connection is back rather than at the next backoff step.
  redis.on('ready', () => invalidator.retryNow())
  const inFlight = new Map<string, Promise<SharedResponse>>()

  function redisUsable (): boolean {
    return redis.status === 'ready' && breaker.allows()
  }

  function readFailed (err: unknown): void {
    counters.cache.redisErrors++
    breaker.failed()
    log.debug({ err }, 'cache read path: redis call failed')
  }

  /** Registers the load `id` as in flight; its leader settles it exactly once. */
  function lead (id: string): Leader {
    let settle!: { resolve: (response: SharedResponse) => void, reject: (err: Error) => void }
    const shared = new Promise<SharedResponse>((resolve, reject) => { settle = { resolve, reject } })
    shared.catch(() => {}) // followers handle a failed leader themselves
    inFlight.set(id, shared)
    let done = false
    return {
      resolve (response: SharedResponse): void {
        if (done) return
        done = true
        inFlight.delete(id)
        settle.resolve(response)
      },
      reject (): void {
        if (done) return
        done = true
        inFlight.delete(id)
        settle.reject(new Error('leading request did not produce a cacheable response'))
      }
    }
  }

  return {
    async lookup (target: CacheTarget): Promise<Lookup> {
      if (!options.enabled || !invalidator.hitsAllowed() || !redisUsable()) {
        counters.cache.bypasses++
        return { status: 'BYPASS' }
      }
      let reply: Array<Buffer | null>
      try {
        // One round trip: the current generation and the entry together.
        reply = await withDeadline(redis.mgetBuffer(target.generationKey, target.key), options.readTimeoutMs, 'cache lookup')
        breaker.succeeded()
      } catch (err) {
        readFailed(err)
        counters.cache.bypasses++
        return { status: 'BYPASS' }
      }
      const generation = reply[0]
      const stored = reply[1]
      const entry = generation && stored ? decodeEntry(stored) : undefined
      if (generation && entry?.generation.equals(generation)) {
        counters.cache.hits++
        return { status: 'HIT', body: entry.body, etag: entry.etag }
      }
      counters.cache.misses++
      if (generation) return { status: 'MISS', generation: generation.toString('latin1') }
      // No generation yet (first read, expired, or Redis restarted): create one, a second round
      // trip that only this rare miss pays.
      try {
        const created = await withDeadline(redis.ensureGeneration(target.generationKey, generationTtl(target)),
          options.readTimeoutMs, 'cache generation')
        return { status: 'MISS', generation: created }
      } catch (err) {
        readFailed(err)
        return { status: 'BYPASS' }
      }
    },

    /** Stores a freshly loaded response, unless a mutation bumped the generation meanwhile. */
    async fill (target: CacheTarget, generation: string, response: SharedResponse): Promise<void> {
      if (options.beforeFill) await options.beforeFill(target)
      if (!invalidator.hitsAllowed() || !redisUsable()) return
      try {
        const stored = await withDeadline(
          redis.fillIfGeneration(target.generationKey, target.key, generation,
            encodeEntry(generation, response.etag, response.body), options.ttlSeconds),
          options.readTimeoutMs,
          'cache fill'
        )
        breaker.succeeded()
        if (stored === 1) counters.cache.fills++
        else counters.cache.staleFillsRefused++
      } catch (err) {
        readFailed(err)
      }
    },

    /**
     * In-process de-duplication of concurrent misses: the first miss on a key and generation
     * leads (it queries MongoDB, then settles the load), later ones get the leader's load to
     * wait for. The generation is part of the identity, so a request that saw a newer
     * generation never joins an older load.
     */
    joinOrLead (target: CacheTarget, generation: string): { shared: Promise<SharedResponse> } | { leader: Leader } {
      const id = `${generation}@${target.key}`
      const shared = inFlight.get(id)
      if (shared) {
        counters.cache.dedupedMisses++
        return { shared }
      }
      return { leader: lead(id) }
    },

    /** Invalidates every list page, and the order's entry when given. Call after the commit. */
    async invalidate (orderId?: string): Promise<void> {
      // Not gated by the read-path breaker: a breaker opened by slow reads must not stop a
      // committed mutation from invalidating for the other instances. It has its own deadline.
      await invalidator.invalidate(orderId, redis.status === 'ready')
    },

    status () {
      return {
        enabled: options.enabled,
        breaker: breaker.state(),
        invalidationPending: !invalidator.hitsAllowed()
      }
    },

    close (): Promise<void> {
      return invalidator.close()
    }
  }
}

export type Cache = ReturnType<typeof createCache>
