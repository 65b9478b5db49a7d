import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import type { ServiceMetrics } from '../metrics/service-metrics.js'
import type { RedisClient } from '../redis/create-redis-client.js'
import { withDeadline } from '../redis/deadline.js'
import type { CachedResponse, CacheStatus, Load } from './cached-response.js'
import { BreakerOpenError, type CircuitBreaker } from './circuit-breaker.js'
import type { EntryRead, EntryReader } from './entry-reader.js'
import type { CacheTarget } from './keys.js'
import type { NearTier } from './near/near-tier.js'
import { fillIfGeneration } from './scripts/fill-if-generation.js'
import { createSingleFlight } from './single-flight.js'
import { createBypassReads } from './bypass-reads.js'
import { createMissLease } from './miss-lease.js'

// A cache entry is the response body prefixed by a two-line header:
//
//   <generation>\n<etag>\n<body bytes>
//
// The generation is the one the filler observed before reading MongoDB (the fill script
// writes it in front, see scripts/fill-if-generation.ts); a hit requires it to equal the current generation:
// the list generation, which a POST bumps, or the order's, which its PUT and DELETE bump. A PUT
// or DELETE does not bump the list generation: it rewrites or deletes the list pages holding its
// order (see PageTracking in src/cache/keys.ts). The body is sent exactly as stored: a hit slices the
// buffer, it never parses or re-serialises JSON. A miss takes a lease first
// (src/cache/miss-lease.ts), so that one instance of many loads a cold key.

const NEWLINE = 0x0a

/** What the fill script stores after the generation line. */
function entryPayload (etag: string, body: string): string {
  return `${etag}\n${body}`
}

function decodeEntry (stored: Buffer): { generation: Buffer, etag: string, body: Buffer } | undefined {
  const first = stored.indexOf(NEWLINE)
  if (first < 0) return undefined
  const second = stored.indexOf(NEWLINE, first + 1)
  if (second < 0) return undefined
  return {
    generation: stored.subarray(0, first),
    etag: stored.toString('latin1', first + 1, second),
    body: stored.subarray(second + 1)
  }
}

type Lookup =
  // `stored`: the entry as Redis holds it (in the response's slot, if it has one).
  | { status: 'HIT', response: CachedResponse, stored: Buffer }
  // Noted before loading: the generation ('' when the key has none yet) and, for a list page,
  // the change clock ('' when no entity has changed yet); and the near tier's epoch.
  | { status: 'MISS', generation: string, changeClock: string, nearEpoch: number }
  | { status: 'BYPASS' }

/**
 * The read-through core: lookup (one MGET of the generation and the entry), fill
 * (compare-and-set on the generation seen before the load) and single-flight (concurrent
 * misses of one key and generation share one load). Reads fail open: any Redis problem (down,
 * frozen, erroring, breaker open, an invalidation owed) is BYPASS and the caller is served
 * from MongoDB. Every Redis call goes through `redisCall`: the breaker and its deadline.
 */
export function createReadThrough ({ redis, entries, breaker, near, hitsAllowed, metrics, log, config, generationTtlSeconds }: {
  redis: RedisClient
  entries: EntryReader
  breaker: CircuitBreaker
  near: NearTier
  /** False while this instance owes an invalidation (src/cache/invalidator.ts): no hit then. */
  hitsAllowed: () => boolean
  metrics: ServiceMetrics
  log: FastifyBaseLogger
  config: Config
  /** TTL of an entity generation a fill creates (it must outlive every entry tagged with it). */
  generationTtlSeconds: number
}) {
  const timeoutMs = config.CACHE_REDIS_TIMEOUT_MS
  const loads = createSingleFlight<CachedResponse>()
  const lease = config.CACHE_LEASE_WAIT_MS > 0
    ? createMissLease({
      redis,
      redisCall,
      waitMs: config.CACHE_LEASE_WAIT_MS,
      counted: (outcome) => metrics.cache.missLeases.inc({ outcome }),
      currentEntry: async (target) => {
        const found = await lookup(target)
        if (found.status !== 'HIT') return undefined
        // Shared with every request that joined this load: a copy, and the slot given back.
        const { slot, ...entry } = found.response
        const copy = { ...entry, body: Buffer.from(entry.body) }
        slot?.release()
        return copy
      }
    })
    : undefined
  const bypassReads = createBypassReads<CachedResponse>({ maxConcurrent: config.CACHE_BYPASS_MAX_CONCURRENT, maxQueued: config.CACHE_BYPASS_MAX_QUEUED })

  /** A read served from MongoDB without the cache: coalesced per key and bounded (src/cache/bypass-reads.ts). */
  function bypass (target: CacheTarget, load: Load): Promise<CachedResponse> {
    metrics.cache.bypasses.inc()
    return bypassReads.run(target.key, load)
  }

  /** Whether the read path may use Redis now. Only looks: takes nothing from the breaker. */
  const usable = (): boolean => config.CACHE_ENABLED && hitsAllowed() && redis.status === 'ready' && !breaker.isOpen()

  /** One read-path Redis call under the breaker and the deadline; undefined when it failed or was refused. */
  async function redisCall<T> (what: string, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await breaker.call(() => withDeadline(call(), timeoutMs, `cache ${what}`))
    } catch (err) {
      if (err instanceof BreakerOpenError) return undefined
      metrics.redisErrors.inc({ component: 'cache' })
      log.debug({ err }, `cache ${what}: redis call failed`)
      return undefined
    }
  }

  /** One round trip: the current generation and the entry together (and a list's change clock). */
  async function lookup (target: CacheTarget): Promise<Lookup> {
    if (!usable()) return { status: 'BYPASS' }
    const nearEpoch = near.epoch()
    let reading: Promise<EntryRead> | undefined
    const read = await redisCall('lookup', () => {
      reading = entries.read(target.tracking ? [target.generationKey, target.key, target.tracking.changeClock] : [target.generationKey, target.key])
      return reading
    })
    if (!read) {
      // A reply after the deadline still came in a slot: give it back.
      reading?.then((late) => late.slot?.release(), () => {})
      return { status: 'BYPASS' }
    }
    const [generation, stored, changeClock] = read.found
    const entry = generation && stored ? decodeEntry(stored) : undefined
    if (entry && stored && entry.generation.equals(generation as Buffer)) {
      // Kept near as a copy of its own: a slot is reused once this response has gone.
      if (near.state() === 'on') near.store(target.key, read.slot ? { body: Buffer.from(entry.body), etag: entry.etag } : entry, nearEpoch, target.isListPage)
      return { status: 'HIT', response: read.slot ? { ...entry, slot: read.slot } : entry, stored }
    }
    read.slot?.release()
    return { status: 'MISS', generation: generation?.toString('latin1') ?? '', changeClock: changeClock?.toString('latin1') ?? '', nearEpoch }
  }

  /** Stores a loaded response, unless its generation (or, for a list page, one of its entities) changed since the lookup. */
  async function fill (target: CacheTarget, noted: { generation: string, changeClock: string, nearEpoch: number }, response: CachedResponse): Promise<void> {
    if (!usable()) return
    const { tracking } = target
    const stored = await redisCall('fill', () => fillIfGeneration(redis, {
      generationKey: target.generationKey,
      entryKey: target.key,
      changeMarker: target.changeMarker,
      held: tracking ? (response.heldIds ?? []).map((id) => ({ changedAt: tracking.changedAt(id), pagesHolding: tracking.pagesHolding(id) })) : [],
      observedGeneration: noted.generation,
      observedChangeClock: noted.changeClock,
      payload: entryPayload(response.etag, response.body.toString()),
      entryTtlSeconds: config.CACHE_TTL_SECONDS,
      generationTtlSeconds: target.generationExpires ? generationTtlSeconds : 0
    }))
    if (stored === undefined) return
    if (!stored) {
      metrics.cache.staleFillsRefused.inc()
      return
    }
    metrics.cache.fills.inc()
    if (near.state() === 'on') near.store(target.key, { body: Buffer.from(response.body), etag: response.etag }, noted.nearEpoch, target.isListPage)
  }

  return {
    usable,
    redisCall,
    lookup,
    bypass,

    /**
     * The read path, whole: look up; on a miss join the load in flight for this key and
     * generation or lead it (load, then fill), and every request that joined gets the leader's
     * outcome, a response or the error it failed with. The generation (and a list's change
     * clock) is part of the load's identity, so a request that saw a newer one never joins an
     * older load, which may have read MongoDB before the change it saw committed. `onStatus`
     * learns HIT, MISS or BYPASS as soon as it is known, also when the load fails.
     */
    async readThrough (target: CacheTarget, load: Load, onStatus: (status: CacheStatus) => void): Promise<{ response: CachedResponse, stored?: Buffer }> {
      const found = await lookup(target)
      onStatus(found.status)
      if (found.status === 'HIT') {
        metrics.cache.hits.inc()
        return found
      }
      if (found.status === 'BYPASS') return { response: await bypass(target, load) }
      metrics.cache.misses.inc()
      const response = await loads.run(`${found.generation}:${found.changeClock}@${target.key}`, async () => {
        // Another instance may be loading this key and generation: wait for its fill (bounded).
        const filled = await lease?.loadOrWait(target, found)
        if (filled) return filled
        const loaded = await load()
        // The leader's response waits for the fill, so the next request finds the entry.
        await fill(target, found, loaded)
        return loaded
      }, () => metrics.cache.dedupedMisses.inc())
      return { response }
    }
  }
}

export type ReadThrough = ReturnType<typeof createReadThrough>
