import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.js'
import { createRedisClient } from '../../redis/create-redis-client.js'

/** How often the invalidation connection is checked, and how late its answer may be. */
const HEARTBEAT_MS = 100
const HEARTBEAT_TIMEOUT_MS = 250

/**
 * The near tier's bus: a Pub/Sub subscriber to the channel every invalidation script publishes
 * on, and a heartbeat that tells whether it is known to be alive. It calls `onMessage` with
 * each message, `onUp` when it becomes alive (subscribed, or answering again) and `onDown`
 * when it is no longer known to be (closed, reconnecting, or a PING unanswered for
 * HEARTBEAT_TIMEOUT_MS: a frozen Redis keeps the socket open and sends nothing).
 */
export function createInvalidationBus ({ config, channel, log, onMessage, onUp, onDown }: {
  config: Config
  channel: string
  log: FastifyBaseLogger
  onMessage: (message: string) => void
  onUp: () => void
  onDown: (why: string) => void
}) {
  let subscribed = false
  let alive = false
  let pingSentAt: number | undefined
  const subscriber = createRedisClient(config, { connectionName: 'flowops-order-service-near-cache' })

  function lost (why: string): void {
    const wasAlive = subscribed && alive
    subscribed = false
    alive = false
    pingSentAt = undefined
    onDown(why)
    if (wasAlive) log.warn({ why }, 'near cache off until its invalidation connection is back')
  }

  subscriber.on('message', (_channel: string, message: string) => onMessage(message))
  subscriber.on('close', () => lost('invalidation connection closed'))
  subscriber.on('ready', () => {
    subscriber.subscribe(channel).then(() => {
      subscribed = true
      alive = true
      onUp()
      log.info('near cache on: subscribed to invalidations')
    }, (err: unknown) => lost(`subscribe failed: ${String(err)}`))
  })
  subscriber.on('error', () => { /* 'close' follows; the main client logs Redis outages */ })

  const heartbeat = setInterval(() => {
    if (!subscribed) return
    if (pingSentAt !== undefined) {
      if (Date.now() - pingSentAt > HEARTBEAT_TIMEOUT_MS && alive) {
        alive = false
        onDown('invalidation connection did not answer its heartbeat')
        log.warn('near cache off: its invalidation connection does not answer')
      }
      return
    }
    pingSentAt = Date.now()
    subscriber.ping().then(() => {
      pingSentAt = undefined
      if (subscribed && !alive) {
        alive = true
        onUp()
        log.info('near cache on again: its invalidation connection answers')
      }
    }, () => { /* the connection is failing: 'close' follows */ })
  }, HEARTBEAT_MS)
  heartbeat.unref()

  return {
    /** Whether every invalidation published now is known to reach this process. */
    alive: (): boolean => subscribed && alive,

    close (): void {
      clearInterval(heartbeat)
      subscriber.disconnect()
    }
  }
}
