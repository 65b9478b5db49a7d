import type { FastifyBaseLogger } from 'fastify'
import { Cluster, type Redis } from 'ioredis'
import type { RedisClient } from '../redis/create-redis-client.js'
import { DeadlineExceededError, withDeadline } from '../redis/call-guards.js'

/**
 * Watches whether Redis answers, on its own clock, whatever the traffic: a PING to every master
 * every `intervalMs`; one unanswered for `timeoutMs`, or a connection lost, calls `onOutOfReach`
 * (once per outage), and the first answer after it `onBack`.
 *
 * Why: a write's invalidation that cannot land within `invalidationTimeoutMs` is owed, and the
 * write is answered anyway (a POST must not need Redis). The instance that wrote serves no hit
 * until it lands, but another instance, which saw no failure of its own, would serve the old
 * page the moment Redis is back. An outage long enough to fail an invalidation is long enough
 * for this watch to see on every instance (intervalMs + timeoutMs < invalidationTimeoutMs, by
 * construction), and each one then owes the same invalidation itself (invalidator.suspect).
 */
export function watchRedis ({ redis, invalidationTimeoutMs, log, onOutOfReach, onBack }: {
  redis: RedisClient
  invalidationTimeoutMs: number
  log: FastifyBaseLogger
  onOutOfReach: (why: string) => void
  onBack: () => void
}) {
  // A quarter of the invalidation's deadline between pings, half of it for an answer: any
  // silence as long as the deadline is seen before it ends.
  const intervalMs = Math.max(10, Math.floor(invalidationTimeoutMs / 4))
  const timeoutMs = Math.max(10, invalidationTimeoutMs - 2 * intervalMs)
  let outOfReach = false
  let inFlight = false

  function lost (why: string): void {
    if (outOfReach) return
    outOfReach = true
    log.warn({ why }, 'redis out of reach')
    onOutOfReach(why)
  }

  const masters = (): Redis[] => redis instanceof Cluster ? redis.nodes('master') : [redis]

  async function check (): Promise<void> {
    const nodes = masters()
    if (redis.status !== 'ready' || nodes.length === 0) return lost(`connection ${redis.status}`)
    try {
      // withDeadline blames Redis only for Redis's delay, not for a stall of this process.
      await withDeadline(Promise.all(nodes.map((node) => node.ping())), timeoutMs, 'redis watch')
    } catch (err) {
      return lost(err instanceof DeadlineExceededError ? `no answer to PING within ${timeoutMs} ms` : `PING failed: ${String(err)}`)
    }
    if (outOfReach) {
      outOfReach = false
      log.info('redis answers again')
      onBack()
    }
  }

  redis.on('close', () => lost('connection closed'))
  const timer = setInterval(() => {
    if (inFlight) return
    inFlight = true
    check().finally(() => { inFlight = false })
  }, intervalMs)
  timer.unref()

  return {
    close: (): void => clearInterval(timer)
  }
}
