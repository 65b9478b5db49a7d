import type { Cluster, Redis, Result } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { RedisClient } from '../redis/create-redis-client.js'
import type { LuaScript } from '../redis/lua-script.js'
import { withDeadline } from '../redis/call-guards.js'
import type { ServiceMetrics } from '../metrics/service-metrics.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    releaseLockIfOwner (keyCount: number, lockKey: string, token: string): Result<number, Context>
  }
}

// KEYS: the lock. ARGV: the token its holder set. Compare-and-delete in one step, so a holder
// whose lock expired can never delete the next holder's lock.
const LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`

export const releaseIfOwnerScript: LuaScript = { name: 'releaseLockIfOwner', lua: LUA }

/** Deletes the lock only if it still holds our token. True released, false not ours (expired). */
async function releaseIfOwner (redis: Redis | Cluster, lock: { key: string, token: string }): Promise<boolean> {
  return await redis.releaseLockIfOwner(1, lock.key, lock.token) === 1
}

/** How often owed releases are tried again while there are any. */
const RETRY_MS = 100

/** A lock this process holds (src/lock/create-lock.ts). */
export interface HeldLock {
  orderId: string
  key: string
  token: string
  acquiredAt: number
}

/**
 * Releasing a lock: the owner-only compare-and-delete (the script above), and the releases
 * that may not have landed, tried again until they do or the lock's TTL has freed it anyway.
 * Without the retries, a lock answered every PUT of its order 409 ORDER_LOCKED for the rest of
 * LOCK_TTL_SECONDS, with nobody holding it, when:
 * - its release could not be sent, or its answer never came (owed at once);
 * - its SET NX was applied after we gave up on it: owed, and tried until one release frees it
 *   or the TTL has (not only until one answers: a Redis Cluster client retries a command
 *   through a failover by itself, so the SET may land on the promoted master after our release
 *   found nothing to free);
 * - its release was applied by a master that died before replicating it, while the lock itself
 *   had reached the replica that took over: the release "landed", and is lost. So every release
 *   of the last LOCK_TTL_SECONDS is kept, and all of them are owed again whenever the client
 *   reconnects (Sentinel: to the promoted master) or the Cluster's nodes change.
 * Sent again, late, the owner-only release can never delete another holder's lock.
 */
export function createLockReleases ({ redis, timeoutMs, lockTtlMs, metrics, log }: {
  redis: RedisClient
  timeoutMs: number
  lockTtlMs: number
  metrics: ServiceMetrics
  log: FastifyBaseLogger
}) {
  // Per lock and token (one key holds many locks over time, and the replica that takes over may
  // hold any of them): the lock's key, its token and when it expires by itself at the latest.
  type Release = { key: string, token: string, until: number, untilFreed?: boolean }
  const owed = new Map<string, Release>()
  // Releases that landed, oldest first.
  const recent = new Map<string, Release>()
  const idOf = (key: string, token: string) => `${key}\n${token}`
  let timer: NodeJS.Timeout | undefined
  let longestHeldMs = 0

  // Every tick sends each owed release again, whether or not the earlier ones have answered or
  // given up (each waits up to the command deadline): once the client reaches the lock's master
  // (a Cluster's slot map catching up after a failover, say), a release follows within a tick,
  // not only after the slowest of the last round's attempts gave up.
  async function retry (): Promise<void> {
    if (redis.status !== 'ready') return
    try {
      await Promise.all([...owed].map(async ([id, { key, token, until }]) => {
        if (Date.now() > until) return owed.delete(id)
        try {
          const released = await withDeadline(releaseIfOwner(redis, { key, token }), timeoutMs, 'owed lock release')
          if (released || owed.get(id)?.untilFreed !== true) owed.delete(id)
          if (released) log.info({ key }, 'owed lock release freed a lock')
        } catch { /* still owed: tried again on the next tick */ }
      }))
    } finally {
      if (owed.size === 0) stop()
    }
  }

  function stop (): void {
    clearInterval(timer)
    timer = undefined
  }

  const onReady = () => { retry().catch(() => {}) }

  /** The master behind some keys may have changed: every recent release is owed again. */
  function reReleaseRecent (): void {
    const now = Date.now()
    for (const [id, entry] of recent) {
      if (entry.until < now) recent.delete(id)
      else owed.set(id, entry)
    }
    if (owed.size > 0) {
      timer ??= setInterval(onReady, RETRY_MS)
      timer.unref()
    }
    onReady()
  }
  redis.on('ready', reReleaseRecent)
  redis.on('+node', reReleaseRecent)
  redis.on('-node', reReleaseRecent)

  /**
   * A release that did not land (or may not have): owed until it does or the lock has
   * expired. `untilFreed`: an abandoned acquisition, whose SET may still land later, tried
   * until a release frees the lock, not only until one is answered.
   */
  function owe (key: string, token: string, untilFreed = false): void {
    owed.set(idOf(key, token), { key, token, until: Date.now() + lockTtlMs, ...(untilFreed ? { untilFreed } : {}) })
    queueMicrotask(onReady)
    timer ??= setInterval(onReady, RETRY_MS)
    timer.unref()
  }

  /** A release that landed: kept for its lock's TTL, in case its master dies before replicating it. */
  function landed (key: string, token: string): void {
    const now = Date.now()
    for (const [oldest, { until }] of recent) {
      if (until >= now) break
      recent.delete(oldest)
    }
    recent.set(idOf(key, token), { key, token, until: now + lockTtlMs })
  }

  return {
    /** Releases a held lock, owner-only; a release that fails is owed until it lands. Never throws. */
    async release (lock: HeldLock): Promise<void> {
      const heldMs = Date.now() - lock.acquiredAt
      metrics.lock.holdSeconds.observe(heldMs / 1000)
      if (heldMs > longestHeldMs) {
        longestHeldMs = heldMs
        metrics.lock.holdSecondsMax.set(heldMs / 1000)
      }
      try {
        const released = await withDeadline(releaseIfOwner(redis, lock), timeoutMs, 'lock release')
        landed(lock.key, lock.token)
        if (released) metrics.lock.released.inc()
        else log.warn({ orderId: lock.orderId, heldMs }, 'lock had expired before release; the version check fenced the write')
      } catch (err) {
        // The write itself already committed or failed; the release is owed until it lands.
        log.warn({ err, orderId: lock.orderId }, 'lock release failed; retrying it until it lands or the lock expires')
        owe(lock.key, lock.token)
      }
    },

    owe,

    close (): void {
      stop()
      redis.off('ready', reReleaseRecent)
      redis.off('+node', reReleaseRecent)
      redis.off('-node', reReleaseRecent)
    }
  }
}
