import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import type { ServiceMetrics } from '../metrics/service-metrics.js'
import type { RedisClient } from '../redis/create-redis-client.js'
import type { CachedResponse, Load, Lookup, Noted, OnStatus } from './cached-response.js'
import { readPathCall, type CircuitBreaker } from '../redis/call-guards.js'
import { decodeEntry, entryAge, entryPayload, type EntryRead, type EntryReader } from './entry-reader.js'
import type { CacheTarget } from './keys.js'
import type { NearTier } from './near/near-tier.js'
import { fillIfGeneration } from './scripts/fill-if-generation.js'
import { createSingleFlight } from './single-flight.js'
import { createBypassReads } from './bypass-reads.js'
import { createMissLease } from './miss-lease.js'
import { createRefreshAhead } from './refresh-ahead.js'
import { createGrace } from './grace.js'

/**
 * The read-through core: lookup (one MGET of the generation and the entry), fill
 * (compare-and-set on the generation seen before the load) and single-flight (concurrent
 * misses of one key and generation share one load). Reads fail open: any Redis problem (down,
 * frozen, erroring, breaker open, an invalidation owed) is BYPASS and the caller is served
 * from MongoDB. Every Redis call goes through `redisCall`: the breaker and its deadline.
 */
export function createReadThrough ({ redis, entries, breaker, near, delivery, servesInGrace, metrics, log, config, generationTtlSeconds }: {
  redis: RedisClient
  entries: EntryReader
  breaker: CircuitBreaker
  near: NearTier
  /** The invalidator's delivery: `owed` while this instance owes an invalidation (src/cache/invalidator.ts), no hit then. */
  delivery: { readonly owed: boolean }
  /** Whether a load's error is the database failing, when an entry in grace answers instead (src/cache/grace.ts). */
  servesInGrace: (err: unknown) => boolean
  metrics: ServiceMetrics
  log: FastifyBaseLogger
  config: Config
  /** TTL of an entity generation a fill creates (it must outlive every entry tagged with it). */
  generationTtlSeconds: number
}) {
  const redisCall = readPathCall({ breaker, timeoutMs: config.CACHE_REDIS_TIMEOUT_MS, metrics, log })
  const ttlMs = config.CACHE_TTL_SECONDS * 1000
  const loads = createSingleFlight<CachedResponse>()
  const lease = config.CACHE_LEASE_WAIT_MS > 0
    ? createMissLease({
      redis,
      redisCall,
      waitMs: config.CACHE_LEASE_WAIT_MS,
      counted: (outcome) => metrics.cache.missLeases.inc({ outcome }),
      currentEntry: async (target, noted) => {
        const found = await lookup(target)
        if (found.status === 'HIT') {
          // Shared with every request that joined this load: a copy, and the slot given back.
          const { slot, ...entry } = found.response
          const copy = { ...entry, body: Buffer.from(entry.body) }
          slot?.release()
          return copy
        }
        if (found.status === 'BYPASS') return undefined
        if (found.status === 'PAST_TTL') found.response.slot?.release()
        // Only the generation: a list's change clock moves at every PUT anywhere (src/cache/miss-lease.ts).
        return ('noted' in found ? found.noted : found).generation !== noted.generation ? 'moved' : undefined
      }
    })
    : undefined
  const refreshAhead = createRefreshAhead({ redis, redisCall, config, metrics, log })
  const grace = createGrace({ softTimeoutMs: config.CACHE_SOFT_TIMEOUT_MS, servesInGrace })
  const bypassReads = createBypassReads<CachedResponse>({ maxConcurrent: config.CACHE_BYPASS_MAX_CONCURRENT, maxQueued: config.CACHE_BYPASS_MAX_QUEUED, coalesced: () => metrics.cache.bypassCoalesced.inc() })

  /** A read served from MongoDB without the cache: coalesced per key and bounded (src/cache/bypass-reads.ts). */
  function bypass (target: CacheTarget, load: Load): Promise<CachedResponse> {
    metrics.cache.bypasses.inc()
    return bypassReads.run(target.key, load)
  }

  /** Whether the read path may use Redis now. Only looks: takes nothing from the breaker. */
  const usable = (): boolean => config.CACHE_ENABLED && !delivery.owed && redis.status === 'ready' && !breaker.isOpen()
  /** Whether what Redis answers is kept near too: the field first, so a service without a near cache calls nothing. */
  const keepsNear = (): boolean => near.enabled && near.state() === 'on'

  /** One round trip: the current generation and the entry together (and a list's change clock). */
  async function lookup (target: CacheTarget): Promise<Lookup> {
    if (!usable()) return { status: 'BYPASS' }
    const nearEpoch = near.enabled ? near.epoch() : 0
    let reading: Promise<EntryRead> | undefined
    const read = await redisCall('lookup', () => {
      reading = entries.read(target.tracking
        ? [target.generationKey, target.key, target.filledKey, target.tracking.changeClock]
        : [target.generationKey, target.key, target.filledKey])
      return reading
    })
    if (!read) {
      // A reply after the deadline still came in a slot: give it back.
      reading?.then((late) => late.slot?.release(), () => {})
      return { status: 'BYPASS' }
    }
    const [generation, stored, filled, changeClock] = read.found
    const noted = { generation: generation?.toString('latin1') ?? '', changeClock: changeClock?.toString('latin1') ?? '', nearEpoch }
    const entry = generation && stored ? decodeEntry(stored) : undefined
    if (entry && stored && entry.generation.equals(generation as Buffer)) {
      const ageMs = entryAge(filled)
      // Without grace an entry is never past its TTL: Redis expires it (whatever the clocks say).
      const status = config.CACHE_GRACE_SECONDS > 0 && ageMs !== undefined && ageMs >= ttlMs ? 'PAST_TTL' : 'HIT'
      // Kept near as a copy of its own: a slot is reused once this response has gone.
      if (status === 'HIT' && keepsNear()) near.store(target.key, read.slot ? { body: Buffer.from(entry.body), etag: entry.etag } : entry, nearEpoch, target.isListPage)
      return { status, response: read.slot ? { ...entry, slot: read.slot } : entry, stored, noted, ageMs }
    }
    read.slot?.release()
    return { status: 'MISS', ...noted }
  }

  /** Stores a loaded response, unless its generation (or, for a list page, one of its entities) changed since the lookup. */
  async function fill (target: CacheTarget, noted: Noted, response: CachedResponse): Promise<void> {
    if (!usable()) return
    const { tracking } = target
    const stored = await redisCall('fill', () => fillIfGeneration(redis, {
      generationKey: target.generationKey,
      entryKey: target.key,
      filledKey: target.filledKey,
      changeMarker: target.changeMarker,
      held: tracking ? (response.heldIds ?? []).map((id) => ({ changedAt: tracking.changedAt(id), pagesHolding: tracking.pagesHolding(id) })) : [],
      observedGeneration: noted.generation,
      observedChangeClock: noted.changeClock,
      payload: entryPayload(response.etag, response.body.toString()),
      entryTtlSeconds: config.CACHE_TTL_SECONDS,
      graceSeconds: config.CACHE_GRACE_SECONDS,
      generationTtlSeconds: target.generationExpires ? generationTtlSeconds : 0
    }))
    if (stored === undefined) return
    if (!stored) {
      metrics.cache.staleFillsRefused.inc()
      return
    }
    metrics.cache.fills.inc()
    if (keepsNear()) near.store(target.key, { body: Buffer.from(response.body), etag: response.etag }, noted.nearEpoch, target.isListPage)
  }

  /**
   * A miss's load: joined by every concurrent miss of this key and generation in the process
   * (single-flight) and, across instances, led by the lease's holder (miss-lease.ts); then
   * filled. The generation (and a list's change clock) is part of the load's identity, so a
   * request that saw a newer one never joins an older load, which may have read MongoDB before
   * the change it saw committed.
   */
  function loadAndFill (target: CacheTarget, noted: Noted, load: Load): Promise<CachedResponse> {
    return loads.run(`${noted.generation}:${noted.changeClock}@${target.key}`, async () => {
      // Another instance may be loading this key and generation: wait for its fill (bounded).
      const filled = await lease?.loadOrWait(target, noted)
      if (filled) return filled
      const loaded = await load()
      // The leader's response waits for the fill, so the next request finds the entry.
      await fill(target, noted, loaded)
      return loaded
    }, () => metrics.cache.dedupedMisses.inc())
  }

  /** A hit in the last part of its entry's TTL: reload and fill it in the background (src/cache/refresh-ahead.ts). */
  function refreshIfDue (target: CacheTarget, noted: Noted, ageMs: number | undefined, load: Load): void {
    if (ageMs === undefined || ageMs < refreshAhead.dueFromAgeMs) return
    refreshAhead.start(target, noted, async () => { await fill(target, noted, await load()) })
  }

  /**
   * The read path, whole: look up; a hit is served (and refreshed in the background when due);
   * on a miss join the load in flight for this key and generation or lead it (loadAndFill), and
   * every request that joined gets the leader's outcome, a response or the error it failed with.
   * An entry past its TTL, kept for grace, is reloaded as on a miss and served (GRACE, with its
   * age) only when the reload fails for the database or is slower than the soft timeout.
   * `onStatus` learns HIT, MISS, BYPASS or GRACE as soon as it is known, even if the load fails.
   */
  async function readThrough (target: CacheTarget, load: Load, onStatus: OnStatus): Promise<{ response: CachedResponse, stored?: Buffer }> {
    const found = await lookup(target)
    if (found.status === 'HIT') {
      onStatus('HIT')
      metrics.cache.hits.inc()
      refreshIfDue(target, found.noted, found.ageMs, load)
      return found
    }
    if (found.status === 'BYPASS') {
      onStatus('BYPASS')
      return { response: await bypass(target, load) }
    }
    onStatus('MISS')
    metrics.cache.misses.inc()
    if (found.status === 'MISS') return { response: await loadAndFill(target, found, load) }
    // Past its TTL, kept for grace: reloaded as on a miss, and served if the reload cannot be had.
    const reloaded = await grace.reloadOrGrace(loadAndFill(target, found.noted, load))
    if (reloaded) {
      found.response.slot?.release()
      return { response: reloaded.loaded }
    }
    onStatus('GRACE')
    metrics.cache.graceHits.inc()
    return { response: { ...found.response, ageSeconds: Math.floor((found.ageMs ?? 0) / 1000) }, stored: found.stored }
  }

  return {
    usable,
    redisCall,
    lookup,
    bypass,
    refreshIfDue,
    /** The read path with the `stored` bytes of a hit, which the compressed copies are made from. */
    readThrough,
    /** The read path for the identity response: what a facade without a near tier hands the plugin as it is. */
    read: async (target: CacheTarget, load: Load, onStatus: OnStatus): Promise<CachedResponse> => (await readThrough(target, load, onStatus)).response
  }
}

export type ReadThrough = ReturnType<typeof createReadThrough>
