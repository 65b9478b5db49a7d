import { performance } from 'node:perf_hooks'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.js'
import type { ServiceMetrics } from '../../metrics/service-metrics.js'
import type { CachedResponse } from '../cached-response.js'
import { createInvalidationBus } from './invalidation-bus.js'
import type { RedisClient } from '../../redis/create-redis-client.js'
import { createNearStore } from './near-store.js'

/**
 * The near tier: recent entries kept in this process, so a hit costs no Redis round trip
 * (opt-in, CACHE_NEAR_MAX_BYTES > 0; when off, `nearTierOff`, which holds nothing). It holds
 * only what Redis held (stored from a Redis hit or a fill Redis accepted) and stays coherent
 * through Redis itself:
 *
 * - Every invalidation script publishes what it invalidated on one Pub/Sub channel (every list
 *   page, or the page and entity keys), and each instance drops those entries on receipt (the
 *   bus, invalidation-bus.ts). Pub/Sub rather than CLIENT TRACKING: the message says what the
 *   service invalidated (a whole list generation is one message, not one per page key), it
 *   needs no per-connection tracking state, and it works the same under Sentinel.
 * - The instance that writes drops its own entries at once (`dropForMutation`), not waiting
 *   for its message: its own next reads need not wait for its lease to renew.
 * - Whenever the bus is not known to be alive, the store is emptied and serves nothing until it is.
 * - A Redis hit that raced an invalidation is not stored: the caller notes `epoch()` before its
 *   Redis read, every drop advances it, and `store` refuses a noted epoch that moved (the reply
 *   may predate the message). Coming back on also advances it: a read noted while off may
 *   predate a missed message.
 * - A near hit is served only within the lease of the bus (CACHE_NEAR_LEASE_MS after a PING
 *   answered behind every earlier message: subscriber.ts), and a write whose message reached a
 *   near tier answers only once that lease has run out for every PING sent before its script
 *   (write-settle.ts). Past the lease, a read of what is held here waits for a PING sent
 *   after it arrived (`caughtUp`, shared by every read waiting then), and is then served from
 *   here: every message published before it arrived has been handled, so every write
 *   acknowledged before has dropped what it replaced. Otherwise the read goes to Redis.
 *
 * What can be stale: nothing a read sent after an acknowledgement gets, on any instance,
 * whatever the load (the lease bounds it by the clock, not by the message's delivery). An entry
 * lives at most CACHE_TTL_SECONDS here; the pages-holding sets that name list pages to
 * invalidate live twice that, so they outlive every near copy.
 */
export interface NearTier {
  /**
   * Whether the tier is configured at all (a plain field, fixed at start): the read path tests it
   * before calling into the tier, so a service without a near cache spends nothing on it.
   */
  readonly enabled: boolean
  /** 'off' when not configured; 'lost' while its bus is not known to be alive. */
  state: () => 'on' | 'lost' | 'off'
  /** Noted before a Redis read; `store` refuses if a drop happened since. */
  epoch: () => number
  /**
   * The response held for `key`, while the tier is on and its lease holds, or right after
   * `caughtUp` resolved true for this read; undefined otherwise.
   */
  get: (key: string, caughtUp?: boolean) => CachedResponse | undefined
  /** Whether one of `keys` is held, and only the lease keeps it from being served now. */
  heldPastLease: (keys: readonly string[]) => boolean
  /**
   * Waits (at most CACHE_REDIS_TIMEOUT_MS) until the bus has handled every message published
   * before this call: true when it has, and a read that asked before may be served what is held.
   */
  caughtUp: () => Promise<boolean>
  store: (key: string, response: CachedResponse, notedEpoch: number, isListPage: boolean) => void
  /** This instance's own mutation: drop before answering, without waiting for the message. */
  dropForMutation: (entityKeys: readonly string[]) => void
  close: () => void
}

/** The tier when CACHE_NEAR_MAX_BYTES is 0: holds nothing, stores nothing. */
const nearTierOff: NearTier = {
  enabled: false,
  state: () => 'off',
  epoch: () => 0,
  get: () => undefined,
  heldPastLease: () => false,
  caughtUp: async () => false,
  store: () => {},
  dropForMutation: () => {},
  close: () => {}
}

export function createNearTier ({ config, redis, metrics, log, channel, copySuffixes }: {
  config: Config
  /** The service's client (on a Cluster, the bus follows its masters). */
  redis: RedisClient
  metrics: ServiceMetrics
  log: FastifyBaseLogger
  /** The Pub/Sub channel the invalidation script publishes on. */
  channel: string
  /** A dropped key's compressed copies go with it (src/cache/compressed-copies.ts). */
  copySuffixes: readonly string[]
}): NearTier {
  if (config.CACHE_NEAR_MAX_BYTES <= 0) return nearTierOff
  const store = createNearStore({
    maxBytes: config.CACHE_NEAR_MAX_BYTES,
    ttlMs: config.CACHE_TTL_SECONDS * 1000,
    onBytes: (bytes) => metrics.cache.nearBytes.set(bytes)
  })
  let epoch = 0

  /** A message, or our own mutation: '1' or '0' (every list page or not), then keys, one per line. */
  function dropInvalidated (message: string): void {
    epoch++
    const [lists, ...keys] = message.split('\n')
    store.drop(keys.flatMap((key) => [key, ...copySuffixes.map((suffix) => key + suffix)]), lists === '1')
  }

  const bus = createInvalidationBus({
    config,
    redis,
    channel,
    log,
    onMessage: dropInvalidated,
    // Messages may have been missed while off: a read noted then must not store.
    onUp: () => { epoch++ },
    onDown: (why) => {
      epoch++
      if (store.size > 0) log.info({ why, entries: store.size }, 'near cache emptied')
      store.clear()
    }
  })

  return {
    enabled: true,
    state: () => bus.alive() ? 'on' : 'lost',
    epoch: () => epoch,
    get: (key, caughtUp = false) => bus.alive() && (caughtUp || bus.leased(performance.now())) ? store.get(key) : undefined,
    heldPastLease: (keys) => bus.alive() && !bus.leased(performance.now()) && keys.some((key) => store.has(key)),
    caughtUp: () => bus.caughtUp(config.CACHE_REDIS_TIMEOUT_MS),
    store (key, response, notedEpoch, isListPage) {
      if (notedEpoch === epoch && bus.alive()) store.set(key, response, isListPage)
    },
    // Which near pages hold a changed entity is not known here: this instance drops them all.
    dropForMutation: (entityKeys) => dropInvalidated(['1', ...entityKeys].join('\n')),
    close: () => bus.close()
  }
}
