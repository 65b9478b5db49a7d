import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import type { ServiceMetrics } from '../metrics/service-metrics.js'
import { createRedisClient } from '../redis/create-redis-client.js'
import { CONTENT_CODINGS } from '../http/compression.js'
import { redisKeys } from '../redis/keys.js'
import type { CachedResponse } from './create-cache.js'

/** How often the invalidation connection is checked, and how late its answer may be. */
const HEARTBEAT_MS = 100
const HEARTBEAT_TIMEOUT_MS = 250

interface NearEntry {
  response: CachedResponse
  bytes: number
  expiresAt: number
  isListPage: boolean
}

/**
 * The opt-in near cache (CACHE_NEAR_MAX_BYTES > 0): recent entries kept in this process, so a
 * hit costs no Redis round trip. It holds only what Redis held (stored from a Redis hit or a
 * fill Redis accepted) and stays coherent through Redis itself:
 *
 * - Every invalidation script publishes what it invalidated on one Pub/Sub channel (every list
 *   page, or the page and entity keys), and each instance drops those entries on receipt.
 *   Pub/Sub rather than CLIENT TRACKING: the message says what the service invalidated (a
 *   whole list generation is one message, not one per page key), it needs no per-connection
 *   tracking state, and it works the same on a standalone Redis and under Sentinel.
 * - The instance that writes drops its own entries before it answers (`dropFor...`).
 * - Whenever the invalidation connection is not known to be alive (closed, reconnecting, or a
 *   heartbeat PING unanswered for HEARTBEAT_TIMEOUT_MS: a frozen Redis), the near cache is
 *   emptied and serves nothing until the connection is back and subscribed.
 * - A Redis hit that raced an invalidation is not stored: the lookup notes an epoch that every
 *   drop advances, and a store is refused if it moved (the reply may predate the message).
 *   Coming back on also advances it: a lookup noted while off may predate a missed message.
 *
 * What can be stale, and for how long: after a write acknowledged by another instance, this one
 * may serve the old bytes until the invalidation message reaches it (on loopback, 2 ms at worst in
 * 200 trials, measured by npm run bench:near-staleness), or, if that connection stalls, until the heartbeat
 * declares it lost (HEARTBEAT_TIMEOUT_MS + HEARTBEAT_MS). An entry lives at most
 * CACHE_TTL_SECONDS in this process; the pages-holding sets that name list pages to
 * invalidate live twice that, so they outlive every near copy.
 */
export function createNearCache ({ config, metrics, log }: { config: Config, metrics: ServiceMetrics, log: FastifyBaseLogger }) {
  const maxBytes = config.CACHE_NEAR_MAX_BYTES
  const ttlMs = config.CACHE_TTL_SECONDS * 1000
  // Map iteration order is insertion order: re-inserting on every hit makes the first key the
  // least recently used.
  const entries = new Map<string, NearEntry>()
  let totalBytes = 0
  let epoch = 0
  let subscribed = false
  let alive = false
  let pingSentAt: number | undefined

  const subscriber = createRedisClient(config, { connectionName: 'flowops-order-service-near-cache' })

  function clear (why: string): void {
    epoch++
    if (entries.size > 0) log.info({ why, entries: entries.size }, 'near cache emptied')
    entries.clear()
    totalBytes = 0
    metrics.cache.nearBytes.set(0)
  }

  function remove (key: string): void {
    const entry = entries.get(key)
    if (!entry) return
    entries.delete(key)
    totalBytes -= entry.bytes
  }

  function lost (why: string): void {
    const wasActive = subscribed && alive
    subscribed = false
    alive = false
    pingSentAt = undefined
    clear(why)
    if (wasActive) log.warn({ why }, 'near cache off until its invalidation connection is back')
  }

  function dropInvalidated (message: string): void {
    epoch++
    const [lists, ...keys] = message.split('\n')
    if (lists === '1') {
      for (const [key, entry] of entries) if (entry.isListPage) remove(key)
    }
    for (const key of keys) {
      remove(key)
      for (const coding of CONTENT_CODINGS) remove(`${key}:${coding}`)
    }
    metrics.cache.nearBytes.set(totalBytes)
  }

  subscriber.on('message', (_channel: string, message: string) => dropInvalidated(message))
  subscriber.on('close', () => lost('invalidation connection closed'))
  subscriber.on('ready', () => {
    subscriber.subscribe(redisKeys.invalidationChannel).then(() => {
      // Messages were missed while off: a lookup that noted the epoch then must not store.
      epoch++
      subscribed = true
      alive = true
      log.info('near cache on: subscribed to invalidations')
    }, (err: unknown) => lost(`subscribe failed: ${String(err)}`))
  })
  subscriber.on('error', () => { /* 'close' follows; the main client logs Redis outages */ })

  // A frozen Redis keeps the socket open and sends nothing: only an unanswered PING shows it.
  const heartbeat = setInterval(() => {
    if (!subscribed) return
    if (pingSentAt !== undefined) {
      if (Date.now() - pingSentAt > HEARTBEAT_TIMEOUT_MS && alive) {
        alive = false
        clear('invalidation connection did not answer its heartbeat')
        log.warn('near cache off: its invalidation connection does not answer')
      }
      return
    }
    pingSentAt = Date.now()
    subscriber.ping().then(() => {
      pingSentAt = undefined
      if (subscribed && !alive) {
        epoch++
        alive = true
        log.info('near cache on again: its invalidation connection answers')
      }
    }, () => { /* the connection is failing: 'close' follows */ })
  }, HEARTBEAT_MS)
  heartbeat.unref()

  return {
    /** Whether near hits may be served now. */
    active: (): boolean => subscribed && alive,

    /** Notes the epoch before a Redis lookup; `store` refuses if a drop happened since. */
    epoch: (): number => epoch,

    get (key: string): CachedResponse | undefined {
      const entry = entries.get(key)
      if (!entry) return undefined
      if (entry.expiresAt <= Date.now()) {
        remove(key)
        return undefined
      }
      entries.delete(key)
      entries.set(key, entry)
      return entry.response
    },

    store (key: string, response: CachedResponse, notedEpoch: number, isListPage: boolean): void {
      if (notedEpoch !== epoch || !(subscribed && alive)) return
      const bytes = response.body.length + response.etag.length + key.length
      if (bytes > maxBytes) return
      remove(key)
      entries.set(key, { response, bytes, expiresAt: Date.now() + ttlMs, isListPage })
      totalBytes += bytes
      for (const [oldest] of entries) {
        if (totalBytes <= maxBytes) break
        remove(oldest)
      }
      metrics.cache.nearBytes.set(totalBytes)
    },

    /**
     * A compressed copy made in this process from a near entry, held while that entry is: its
     * drop drops the copy too. Call it in the same tick as the `get` that returned the entry.
     */
    storeDerived (key: string, response: CachedResponse, isListPage: boolean): void {
      this.store(key, response, epoch, isListPage)
    },

    /** This instance's own mutation: drop before answering, without waiting for the message. */
    dropForMutation (entityKey: string | undefined): void {
      // Which near pages hold a changed order is not known here; this instance drops them all.
      dropInvalidated(entityKey ? `1\n${entityKey}` : '1')
    },

    close (): void {
      clearInterval(heartbeat)
      subscriber.disconnect()
    }
  }
}

export type NearCache = ReturnType<typeof createNearCache>
