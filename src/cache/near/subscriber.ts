import { performance } from 'node:perf_hooks'
import type { FastifyBaseLogger } from 'fastify'
import type { RedisClient } from '../../redis/create-redis-client.js'
import { reconnectWhenEnded } from '../../redis/reconnect-when-ended.js'

/** How often an invalidation connection is checked, and how late its answer may be. */
const HEARTBEAT_MS = 100
const HEARTBEAT_TIMEOUT_MS = 250

export interface Subscriber {
  /** Whether every message published now on the server it is connected to is known to reach it. */
  alive: () => boolean
  /**
   * Whether, at `now` (performance.now()), every message published on its server more than
   * the lease ago is known to have been handled here (see `subscribe`). Asking keeps it renewed.
   */
  leased: (now: number) => boolean
  /**
   * Resolves true once a PING sent after this call has been answered: every message published
   * before the call has then been handled here, whatever the lease. False when that has not
   * happened within `budgetMs`, or the connection is not known to be alive.
   */
  caughtUp: (budgetMs: number) => Promise<boolean>
  close: () => void
}

/**
 * One Pub/Sub connection of the near tier's bus, subscribed to the invalidation channel, with a
 * heartbeat that tells whether it is known to be alive. It calls `onMessage` with each message,
 * `onUp` when it becomes alive (subscribed, or answering again) and `onDown` when it is no
 * longer known to be (closed, reconnecting, or a PING unanswered for HEARTBEAT_TIMEOUT_MS: a
 * frozen Redis keeps the socket open and sends nothing). It owns `connection`, made for it.
 *
 * The lease, what bounds a near hit's staleness by design rather than by delivery time: Redis
 * answers a PING on this connection after every message published before it ran, and ioredis
 * hands those messages to `onMessage` before it resolves the PING. So once the PING sent at s
 * is answered, every invalidation published before s has been handled here, and this instance
 * may serve near hits until s + leaseMs. A write whose invalidation reached a subscriber
 * answers no sooner than leaseMs after its script ran (src/cache/near/write-settle.ts): by then
 * every instance has either dropped the old bytes or let its lease run out. A busy or stalled
 * event loop, a slow Redis or a message held anywhere only make near reads fall back to Redis,
 * or wait for a PING of their own (`caughtUp`): one PING answers every read that came before it.
 */
export function subscribe ({ connection, channel, leaseMs, log, onMessage, onUp, onDown }: {
  connection: RedisClient
  channel: string
  leaseMs: number
  log: FastifyBaseLogger
  onMessage: (message: string) => void
  onUp: () => void
  onDown: (why: string) => void
}): Subscriber {
  let subscribed = false
  let alive = false
  let pingSentAt: number | undefined
  let leaseUntil = 0
  // Reads waiting for a PING sent after they asked (`caughtUp`), oldest first.
  let waiters: Array<{ at: number, resolve: (caughtUp: boolean) => void, late: NodeJS.Timeout }> = []

  function settleWaiters (caughtUp: boolean, sentBy = Infinity): void {
    if (waiters.length === 0) return
    const done = waiters.filter((w) => w.at <= sentBy)
    waiters = waiters.filter((w) => w.at > sentBy)
    for (const w of done) {
      clearTimeout(w.late)
      w.resolve(caughtUp)
    }
  }

  function lost (why: string): void {
    const wasAlive = subscribed && alive
    subscribed = false
    alive = false
    pingSentAt = undefined
    leaseUntil = 0
    settleWaiters(false)
    onDown(why)
    if (wasAlive) log.warn({ why }, 'near cache off until its invalidation connection is back')
  }

  /** One PING at a time: its answer renews the lease from when it was sent. */
  function ping (): void {
    if (!subscribed || pingSentAt !== undefined) return
    const sentAt = performance.now()
    pingSentAt = sentAt
    connection.ping().then(() => {
      if (pingSentAt !== sentAt) return
      pingSentAt = undefined
      leaseUntil = Math.max(leaseUntil, sentAt + leaseMs)
      if (subscribed && !alive) {
        alive = true
        onUp()
        log.info('near cache on again: its invalidation connection answers')
      }
      settleWaiters(true, sentAt)
      // Reads that asked after this PING went out wait for the next one.
      if (waiters.length > 0) ping()
    }, () => { /* the connection is failing: 'close' follows */ })
  }

  connection.on('message', (_channel: string, message: string) => onMessage(message))
  connection.on('close', () => lost('invalidation connection closed'))
  connection.on('ready', () => {
    connection.subscribe(channel).then(() => {
      subscribed = true
      alive = true
      onUp()
      log.info('near cache on: subscribed to invalidations')
      // A lease at once, rather than at the first near read or the next heartbeat.
      ping()
    }, (err: unknown) => lost(`subscribe failed: ${String(err)}`))
  })
  connection.on('error', () => { /* 'close' follows; the main client logs Redis outages */ })
  // Ended by ioredis itself (a Sentinel failover): it would stay ended, the near cache off for good.
  reconnectWhenEnded(connection)

  const heartbeat = setInterval(() => {
    if (!subscribed) return
    if (pingSentAt !== undefined) {
      if (performance.now() - pingSentAt > HEARTBEAT_TIMEOUT_MS && alive) {
        alive = false
        leaseUntil = 0
        settleWaiters(false)
        onDown('invalidation connection did not answer its heartbeat')
        log.warn('near cache off: its invalidation connection does not answer')
      }
      return
    }
    ping()
  }, HEARTBEAT_MS)
  heartbeat.unref()

  return {
    alive: (): boolean => subscribed && alive,
    leased (now: number): boolean {
      // Renewed once half of it has passed, so a steady stream of near reads never finds it run
      // out; idle, only the heartbeat pings.
      if (now >= leaseUntil - leaseMs / 2) ping()
      return now < leaseUntil
    },
    caughtUp (budgetMs: number): Promise<boolean> {
      if (!subscribed || !alive) return Promise.resolve(false)
      // A PING out longer than the budget already: the connection is stalled (a frozen Redis, say), do not wait on it.
      if (pingSentAt !== undefined && performance.now() - pingSentAt > budgetMs) return Promise.resolve(false)
      return new Promise((resolve) => {
        // Late: this read goes to Redis instead (a PING that long unanswered is the heartbeat's concern).
        const late = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter)
          resolve(false)
        }, budgetMs).unref()
        const waiter = { at: performance.now(), resolve, late }
        waiters.push(waiter)
        ping()
      })
    },
    close (): void {
      settleWaiters(false)
      clearInterval(heartbeat)
      connection.disconnect()
    }
  }
}
