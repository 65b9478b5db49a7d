import type { RedisClient } from '../redis/create-redis-client.js'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import { withDeadline } from '../redis/deadline.js'
import type { ServiceMetrics } from '../metrics/service-metrics.js'
import { createCircuitBreaker } from './circuit-breaker.js'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { COMPRESSION_THRESHOLD_BYTES, compressBody, type ContentCoding } from '../http/compression.js'
import { decodeCompressedCopy, decodeEntry, entryPayload, type CompressedCoding } from './entry.js'
import { createInvalidator, type CacheInvalidation } from './invalidator.js'
import { createNearCache } from './near-cache.js'
import { defineCacheScripts } from './scripts.js'
import { createSingleFlight } from './single-flight.js'
import { createEntryReader, type EntryRead } from './entry-reader.js'
import { compressedCopyOf, type CacheTarget, type KeyLayout } from '../redis/keys.js'

/** A cacheable response: the exact bytes sent, and the ETag sent with them. */
export interface CachedResponse {
  body: Buffer | string
  etag: string
  /** For a list page: the orders on it, so that a change to one of them invalidates it. */
  heldOrderIds?: string[]
  /** For a hit whose bytes are in a reused slot (see EntryReader): call once they have been sent. */
  release?: () => void
}

type CacheStatus = 'HIT' | 'MISS' | 'BYPASS'

type Lookup =
  // `stored`: the entry as Redis holds it (in a reused slot until the response's `release`).
  | { status: 'HIT', response: CachedResponse, stored: Buffer }
  // Noted before loading: the generation ('' when the key has none yet) and, for a list page,
  // the change clock ('' when no order has changed yet); and the near cache's epoch.
  | { status: 'MISS', generation: string, changeClock: string, nearEpoch: number }
  | { status: 'BYPASS' }

/**
 * The read-through cache. Reads fail open: any Redis problem (down, frozen, erroring, breaker
 * open) turns into BYPASS and the caller is served from MongoDB. Fills are compare-and-set on
 * the generation observed before the MongoDB read, so a slow reader can never store data older
 * than a mutation that invalidated meanwhile.
 */
export function createCache ({ redis, keys, metrics, log, config }: {
  redis: RedisClient
  /** Where entries live: the brief's keys, or hash-tagged ones on a Redis Cluster. */
  keys: KeyLayout
  metrics: ServiceMetrics
  log: FastifyBaseLogger
  config: Config
}) {
  defineCacheScripts(redis)
  const breaker = createCircuitBreaker({ threshold: config.CACHE_BREAKER_THRESHOLD, cooldownMs: config.CACHE_BREAKER_COOLDOWN_MS })
  const readTimeoutMs = config.CACHE_REDIS_TIMEOUT_MS
  // An entity generation must outlive every entry tagged with it (see bumpGenerations); the
  // list generation is one key and never expires.
  // The same TTL serves the changed-at stamps a list fill is checked against, which must outlive
  // the slowest reader between its lookup and its fill: a MongoDB read (a find and a count, each
  // bounded by MONGODB_TIMEOUT_MS) included.
  const entityGenerationTtlSeconds = Math.max(config.CACHE_TTL_SECONDS * 2 + 60, Math.ceil(config.MONGODB_TIMEOUT_MS * 3 / 1000))
  const invalidator = createInvalidator({
    redis,
    keys,
    metrics,
    log,
    timeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    retryMs: config.CACHE_INVALIDATION_RETRY_MS,
    entityGenerationTtlSeconds
  })
  // Other instances may serve hits while our invalidation is undelivered: deliver it the moment
  // the connection is back rather than at the next backoff step.
  redis.on('ready', () => invalidator.redeliverNow())
  const loads = createSingleFlight<CachedResponse>()
  // Entries and their compressed copies are read through it.
  const entries = createEntryReader({ config, fallback: redis, metrics, log: log.child({ layer: 'entries' }) })
  const near = config.CACHE_NEAR_MAX_BYTES > 0 ? createNearCache({ config, metrics, log: log.child({ layer: 'near' }) }) : undefined

  function usable (): boolean {
    return config.CACHE_ENABLED && invalidator.hitsAllowed() && redis.status === 'ready' && breaker.allows()
  }

  function redisFailed (err: unknown, what: string): void {
    metrics.redisErrors.inc({ component: 'cache' })
    breaker.failed()
    log.debug({ err }, `cache ${what}: redis call failed`)
  }

  /**
   * One round trip: the current generation and the entry together (and a list's change clock).
   * The near cache is not consulted here: `nearHit` is, before any of this; a Redis hit is kept
   * near for the next request.
   *
   * Read through `entries` (src/cache/entry-reader.ts): a hit may come in a reused slot (the
   * response's `release`).
   */
  async function lookup (target: CacheTarget): Promise<Lookup> {
    if (!usable()) return { status: 'BYPASS' }
    const nearActive = near?.active() === true
    const nearEpoch = near?.epoch() ?? 0
    const keysRead = target.tracking ? [target.generationKey, target.key, target.tracking.changeClock] : [target.generationKey, target.key]
    const reading = entries.read(keysRead)
    let read: EntryRead
    try {
      read = await withDeadline(reading, readTimeoutMs, 'cache lookup')
      breaker.succeeded()
    } catch (err) {
      redisFailed(err, 'lookup')
      // A reply after the deadline still came in a slot: give it back.
      reading.then((late) => late.release?.(), () => {})
      return { status: 'BYPASS' }
    }
    const [generation, stored, changeClock] = read.found
    const entry = generation && stored ? decodeEntry(stored) : undefined
    if (generation && stored && entry?.generation.equals(generation)) {
      // Kept near as a copy of its own: a slot is reused once this response has gone.
      if (nearActive) near.store(target.key, read.release ? { body: Buffer.from(entry.body), etag: entry.etag } : entry, nearEpoch, target.isListPage)
      return { status: 'HIT', response: read.release ? { ...entry, release: read.release } : entry, stored }
    }
    read.release?.()
    return {
      status: 'MISS',
      generation: generation?.toString('latin1') ?? '',
      changeClock: changeClock?.toString('latin1') ?? '',
      nearEpoch
    }
  }

  /**
   * Stores a freshly loaded response, unless the generation changed since the lookup or, for a
   * list page, one of its orders changed after the lookup noted the change clock.
   */
  async function fill (target: CacheTarget, noted: { generation: string, changeClock: string, nearEpoch: number }, response: CachedResponse): Promise<void> {
    if (!usable()) return
    const { tracking } = target
    const heldKeys = tracking ? (response.heldOrderIds ?? []).flatMap((id) => [tracking.changedAt(id), tracking.pagesHolding(id)]) : []
    try {
      const stored = await withDeadline(redis.fillIfGeneration(2 + heldKeys.length, target.generationKey, target.key, ...heldKeys,
        noted.generation, entryPayload(response.etag, response.body.toString()), config.CACHE_TTL_SECONDS,
        target.generationExpires ? entityGenerationTtlSeconds : 0, noted.changeClock), readTimeoutMs, 'cache fill')
      breaker.succeeded()
      if (stored === 1) {
        metrics.cache.fills.inc()
        if (near?.active()) near.store(target.key, { body: Buffer.from(response.body), etag: response.etag }, noted.nearEpoch, target.isListPage)
      } else {
        metrics.cache.staleFillsRefused.inc()
      }
    } catch (err) {
      redisFailed(err, 'fill')
    }
  }

  /**
   * The read path, whole: look up; on a miss join the load in flight for this key and
   * generation or lead it (load from MongoDB, fill), and every request that joined gets the
   * leader's outcome, a response or the error it failed with. The generation (and a list's
   * change clock) is part of the load's identity, so a request that saw a newer one never
   * joins an older load, which may have read MongoDB before the change it saw committed.
   * `onStatus` learns HIT, MISS or BYPASS as soon as it is known, also when the load fails.
   */
  async function readThrough (target: CacheTarget, load: () => Promise<CachedResponse>, onStatus: (status: CacheStatus) => void): Promise<{ response: CachedResponse, stored?: Buffer }> {
    const found = await lookup(target)
    onStatus(found.status)
    if (found.status === 'HIT') {
      metrics.cache.hits.inc()
      return found
    }
    if (found.status === 'BYPASS') {
      metrics.cache.bypasses.inc()
      return { response: await load() }
    }
    metrics.cache.misses.inc()
    const response = await loads.run(`${found.generation}:${found.changeClock}@${target.key}`, async () => {
      const loaded = await load()
      // The leader's response waits for the fill, so the next request finds the entry.
      await fill(target, found, loaded)
      return loaded
    }, () => metrics.cache.dedupedMisses.inc())
    return { response }
  }

  /**
   * Stores the compressed copy (or, for a body too small to compress, a note saying so) of an
   * entry just read from Redis, only while that entry is still exactly what was read: its
   * SHA-1 is checked in the script, so a copy can never outlive a rewrite or deletion it raced.
   */
  async function fillCompressedCopy (target: CacheTarget, copy: CacheTarget, stored: Buffer, coding: CompressedCoding, body: Buffer, etag: string): Promise<void> {
    if (!usable()) return
    try {
      const digest = createHash('sha1').update(stored).digest('hex')
      await withDeadline(redis.fillCompressedCopy(target.key, copy.key, digest, Buffer.concat([Buffer.from(`${coding} ${etag}\n`, 'latin1'), body])),
        readTimeoutMs, 'cache compressed fill')
      breaker.succeeded()
    } catch (err) {
      redisFailed(err, 'compressed fill')
    }
  }

  return {
    /**
     * The near cache, the read path's first step, answered synchronously (no promise, no
     * Redis): the entry in the coding asked for when the near cache is on, coherent and holds
     * it; otherwise undefined, and the caller goes on to readThrough or readThroughCompressed,
     * which read Redis. For a coding, the stored copy, else the identity entry compressed now
     * and kept near beside it (a near entry has no Redis bytes to check a stored copy against;
     * made in the tick the entry was read, so it is as current). The fast path of the hottest
     * requests, so it is kept free of awaits.
     */
    nearHit (target: CacheTarget, coding: ContentCoding | undefined): (CachedResponse & { coding?: ContentCoding }) | undefined {
      if (near === undefined || !near.active() || !usable()) return undefined
      const copy = coding ? compressedCopyOf(target, coding) : undefined
      const heldCopy = copy ? near.get(copy.key) : undefined
      const held = heldCopy ?? near.get(target.key)
      if (!held) return undefined
      metrics.cache.nearHits.inc()
      metrics.cache.hits.inc()
      if (!coding || !copy) return held
      if (heldCopy) {
        metrics.cache.compressedHits.inc()
        return decodeCompressedCopy(heldCopy)
      }
      const identity = Buffer.isBuffer(held.body) ? held.body : Buffer.from(held.body)
      const compressed = identity.length >= COMPRESSION_THRESHOLD_BYTES ? compressBody(identity, coding) : undefined
      near.storeDerived(copy.key, { body: compressed ?? identity, etag: `${compressed ? coding : 'identity'} ${held.etag}` }, target.isListPage)
      return compressed ? { body: compressed, etag: held.etag, coding } : held
    },

    /** The read path for a client that takes the identity coding. */
    async readThrough (target: CacheTarget, load: () => Promise<CachedResponse>, onStatus: (status: CacheStatus) => void): Promise<CachedResponse> {
      return (await readThrough(target, load, onStatus)).response
    },

    /**
     * The read path for a client that accepts `coding`: the entry's compressed copy when it
     * has one (one round trip, as any hit); otherwise the entry, through readThrough, and when
     * that was a Redis hit, its compressed copy is made once and stored beside it. The answer
     * says its coding; without one it is the identity bytes (a small body, or a miss, which
     * @fastify/compress compresses on the way out).
     */
    async readThroughCompressed (target: CacheTarget, coding: ContentCoding, load: () => Promise<CachedResponse>,
      onStatus: (status: CacheStatus) => void): Promise<CachedResponse & { coding?: ContentCoding }> {
      const copy = compressedCopyOf(target, coding)
      const found = await lookup(copy)
      if (found.status === 'HIT') {
        onStatus('HIT')
        metrics.cache.hits.inc()
        metrics.cache.compressedHits.inc()
        // The copy's bytes may be in a slot: its release goes with them.
        return { ...decodeCompressedCopy(found.response), ...(found.response.release ? { release: found.response.release } : {}) }
      }
      if (found.status === 'BYPASS') {
        // Redis just failed (or is off limits): a second lookup would only pay its deadline again.
        onStatus('BYPASS')
        metrics.cache.bypasses.inc()
        return load()
      }
      const { response, stored } = await readThrough(target, load, onStatus)
      if (!stored) return response
      const identity = Buffer.isBuffer(response.body) ? response.body : Buffer.from(response.body)
      if (identity.length < COMPRESSION_THRESHOLD_BYTES) {
        await fillCompressedCopy(target, copy, stored, 'identity', identity, response.etag)
        return response
      }
      const compressed = compressBody(identity, coding)
      await fillCompressedCopy(target, copy, stored, coding, compressed, response.etag)
      response.release?.()
      return { body: compressed, etag: response.etag, coding }
    },

    /**
     * A new order invalidates every list page; a changed one its entry and the pages holding
     * it. Resolves once it landed or failed.
     */
    invalidate (mutation: CacheInvalidation): Promise<void> {
      // This instance's near copies go now, whatever Redis does, and again once the script
      // has landed: a lookup between the two may have read the old bytes and stored them.
      const entityKey = mutation.changedOrderId ? keys.entity(mutation.changedOrderId).key : undefined
      near?.dropForMutation(entityKey)
      // Not gated by the read-path breaker: a breaker opened by slow reads must not stop a
      // mutation from invalidating for the other instances. It has its own deadline.
      return invalidator.invalidate(mutation).then(() => near?.dropForMutation(entityKey))
    },

    /** Resolves once both connections the cache reads on are ready, for whoever waits on Redis. */
    async connected (): Promise<void> {
      if (redis.status !== 'ready') await once(redis, 'ready')
      await entries.ready()
    },

    status () {
      return {
        enabled: config.CACHE_ENABLED,
        breaker: breaker.state(),
        invalidationPending: !invalidator.hitsAllowed(),
        near: near ? (near.active() ? 'on' as const : 'lost' as const) : 'off' as const
      }
    },

    close: (): Promise<void> => {
      near?.close()
      entries.close()
      return invalidator.close()
    }
  }
}
