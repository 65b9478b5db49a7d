import { once } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import type { ContentCoding } from '../http/representations.js'
import type { ServiceMetrics } from '../metrics/service-metrics.js'
import type { RedisClient } from '../redis/create-redis-client.js'
import type { CachedResponse, Load, OnStatus } from './cached-response.js'
import { createChanges } from './changes.js'
import { createCircuitBreaker } from '../redis/call-guards.js'
import { COPY_SUFFIXES, createCompressedCopies } from './compressed-copies.js'
import { createEntryReader } from './entry-reader.js'
import type { Invalidation } from './invalidation.js'
import { createInvalidator } from './invalidator.js'
import { redisKeys, type CacheTarget, type KeyLayout } from './keys.js'
import { createNearTier } from './near/near-tier.js'
import { createWriteSettle } from './near/write-settle.js'
import { createReadThrough } from './read-through.js'
import { watchRedis } from './redis-watch.js'

/**
 * The cache, as plugins see it: a facade over a small stack.
 *
 *   near tier (near/)       -> in this process, coherent through Redis Pub/Sub; a do-nothing object when off
 *   compressed copies       -> a client that takes br or gzip is sent a stored copy
 *   read-through core       -> lookup, fill, single-flight (read-through.ts), under the breaker and deadlines (src/redis/call-guards.ts)
 *   invalidator             -> what writes owe Redis, delivered or retried (invalidator.ts)
 *
 * Reads fail open (BYPASS), writes' invalidations are owed and retried until they land, and
 * while one is owed this instance serves no cache hit (src/cache/invalidator.ts).
 */
export function createCache ({ redis, keys, servesInGrace, metrics, log, config }: {
  redis: RedisClient
  /** Whether a load's error is the database failing: an entry in grace answers then (CACHE_GRACE_SECONDS). */
  servesInGrace: (err: unknown) => boolean
  /** Where entries live: the brief's keys, or hash-tagged ones on a Redis Cluster. */
  keys: KeyLayout
  metrics: ServiceMetrics
  log: FastifyBaseLogger
  config: Config
}) {
  const breaker = createCircuitBreaker({ threshold: config.CACHE_BREAKER_THRESHOLD, cooldownMs: config.CACHE_BREAKER_COOLDOWN_MS })
  // An entity generation must outlive every entry tagged with it; the same TTL serves the
  // changed-at stamps a list fill is checked against, which must outlive the slowest reader
  // between its lookup and its fill (a find and a count, each bounded by MONGODB_TIMEOUT_MS).
  const generationTtlSeconds = Math.max((config.CACHE_TTL_SECONDS + config.CACHE_GRACE_SECONDS) * 2 + 60, Math.ceil(config.MONGODB_TIMEOUT_MS * 3 / 1000))
  const settle = createWriteSettle(config.CACHE_NEAR_LEASE_MS)
  const invalidator = createInvalidator({
    redis,
    keys,
    metrics,
    log,
    timeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    retryMs: config.CACHE_INVALIDATION_RETRY_MS,
    entityGenerationTtlSeconds: generationTtlSeconds,
    channel: redisKeys.invalidationChannel,
    copySuffixes: COPY_SUFFIXES,
    settle
  })
  // Other instances may serve hits while our invalidation is undelivered: deliver it the moment
  // the connection is back rather than at the next backoff step.
  redis.on('ready', () => invalidator.redeliverNow())
  const watch = watchRedis({
    redis,
    invalidationTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    log,
    onOutOfReach: () => invalidator.suspect(),
    onBack: () => invalidator.redeliverNow()
  })
  const changes = createChanges({
    redis,
    keys,
    metrics,
    timeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    ttlSeconds: generationTtlSeconds,
    channel: redisKeys.invalidationChannel,
    copySuffixes: COPY_SUFFIXES,
    settle,
    onAbandoned: (id, token) => { invalidator.invalidate({ everyListPage: false, changed: [{ id, rewrite: null, change: token }] }).catch(() => {}) }
  })
  const entries = createEntryReader({ config, fallback: redis, metrics, log: log.child({ layer: 'entries' }) })
  const near = createNearTier({ config, redis, metrics, log: log.child({ layer: 'near' }), channel: redisKeys.invalidationChannel, copySuffixes: COPY_SUFFIXES })
  const core = createReadThrough({ redis, entries, breaker, near, delivery: invalidator.delivery, servesInGrace, metrics, log, config, generationTtlSeconds })
  const copies = createCompressedCopies({ redis, core, near, metrics })

  /** The near tier is on, and reads are not held back by the breaker or an owed invalidation. */
  const nearServes = (): boolean => near.state() === 'on' && core.usable()

  function nearHit (target: CacheTarget, coding: ContentCoding | undefined, caughtUp = false): CachedResponse | undefined {
    if (!nearServes()) return undefined
    const held = coding ? copies.nearHit(target, coding, caughtUp) : near.get(target.key, caughtUp)
    if (!held) return undefined
    metrics.cache.nearHits.inc()
    metrics.cache.hits.inc()
    return held
  }

  /** Whether the near tier holds the response, and only its lease keeps it from being served. */
  function heldNearPastLease (target: CacheTarget, coding: ContentCoding | undefined): boolean {
    if (!nearServes()) return false
    return coding ? copies.heldNearPastLease(target, coding) : near.heldPastLease([target.key])
  }

  function readThrough (target: CacheTarget, coding: ContentCoding | undefined, load: Load, onStatus: OnStatus): Promise<CachedResponse> {
    return coding ? copies.readThrough(target, coding, load, onStatus) : core.read(target, load, onStatus)
  }

  /**
   * A read of what the near tier holds past its lease (a busy event loop, a slow PING): one
   * PING sent after it arrived, shared by every read waiting then, proves what is held current,
   * at the cost of no Redis read (src/cache/near/near-tier.ts). Late, it reads through Redis.
   */
  async function readCaughtUp (target: CacheTarget, coding: ContentCoding | undefined, load: Load, onStatus: OnStatus): Promise<CachedResponse> {
    metrics.cache.nearCatchUps.inc()
    const held = await near.caughtUp() ? nearHit(target, coding, true) : undefined
    if (!held) return await readThrough(target, coding, load, onStatus)
    onStatus('HIT')
    return held
  }

  function readNearFirst (target: CacheTarget, coding: ContentCoding | undefined, load: Load, onStatus: OnStatus): Promise<CachedResponse> {
    if (heldNearPastLease(target, coding)) return readCaughtUp(target, coding, load, onStatus)
    return readThrough(target, coding, load, onStatus)
  }

  // The reads plugins make. Without a near tier the facade only wires them: a read goes to the
  // core (identity) or the copies as it is, and no near check runs anywhere on it.
  const reads: {
    nearHit: ((target: CacheTarget, coding: ContentCoding | undefined) => CachedResponse | undefined) | undefined
    read: (target: CacheTarget, load: Load, onStatus: OnStatus) => Promise<CachedResponse>
    readCopy: (target: CacheTarget, coding: ContentCoding, load: Load, onStatus: OnStatus) => Promise<CachedResponse>
  } = near.enabled
    ? {
        nearHit: (target, coding) => nearHit(target, coding),
        read: (target, load, onStatus) => readNearFirst(target, undefined, load, onStatus),
        readCopy: (target, coding, load, onStatus) => readNearFirst(target, coding, load, onStatus)
      }
    : { nearHit: undefined, read: core.read, readCopy: copies.readThrough }

  // The writes' invalidation. Without a near tier the facade only wires it to the invalidator.
  // With one, this instance's near copies go now, whatever Redis does, and again once the
  // invalidation has landed and its lease wait is over (still before the response): a lookup
  // between the two may have read the old bytes and stored them.
  const invalidate: (invalidation: Invalidation) => Promise<void> = near.enabled
    ? (invalidation) => {
        const entityKeys = invalidation.changed.map(({ id }) => keys.entity(id).key)
        near.dropForMutation(entityKeys)
        return invalidator.invalidate(invalidation).then(() => near.dropForMutation(entityKeys))
      }
    : invalidator.invalidate

  return {
    /**
     * The first step of a read, synchronous (no promise, no Redis), present only with a near
     * tier: the response in the coding asked for, when the near tier is on and holds it;
     * otherwise undefined, and the caller goes on to `read` or `readCopy`. The fast path of the
     * hottest requests, so it is kept free of awaits.
     */
    nearHit: reads.nearHit,

    /**
     * Reads through Redis: a hit, else the route's load (shared by concurrent misses, and
     * filled). `onStatus` learns HIT, MISS, BYPASS or GRACE as soon as it is known.
     */
    read: reads.read,

    /** `read` for a client that accepts `coding`: the entry's compressed copy (src/cache/compressed-copies.ts). */
    readCopy: reads.readCopy,

    /**
     * Announces a change of an entity before it is written (src/cache/changes.ts): resolves to
     * the token its invalidation carries; rejects (ChangeNotAnnouncedError) when the write must
     * not go ahead.
     */
    beginChange: changes.begin,

    /**
     * Sends a write's invalidation; resolves once it landed, or failed and is owed, and the
     * near tiers that received its messages can no longer serve what it replaced (write-settle.ts).
     * Not gated by the read-path breaker: a breaker opened by slow reads must not stop a
     * mutation from invalidating for the other instances. It has its own deadline.
     */
    invalidate,

    /** Resolves once both connections the cache reads on are ready, for whoever waits on Redis. */
    async connected (): Promise<void> {
      if (redis.status !== 'ready') await once(redis, 'ready')
      await entries.ready()
    },

    status () {
      return {
        enabled: config.CACHE_ENABLED,
        breaker: breaker.state(),
        invalidationPending: invalidator.delivery.owed,
        near: near.state()
      }
    },

    close: (): Promise<void> => {
      watch.close()
      near.close()
      entries.close()
      return invalidator.close()
    }
  }
}

export type Cache = ReturnType<typeof createCache>
