import type { FastifyBaseLogger } from 'fastify'
import type { RedisClient } from '../../redis/create-redis-client.js'

/** How often an invalidation connection is checked, and how late its answer may be. */
const HEARTBEAT_MS = 100
const HEARTBEAT_TIMEOUT_MS = 250

export interface Subscriber {
  /** Whether every message published now on the server it is connected to is known to reach it. */
  alive: () => boolean
  close: () => void
}

/**
 * One Pub/Sub connection of the near tier's bus, subscribed to the invalidation channel, with a
 * heartbeat that tells whether it is known to be alive. It calls `onMessage` with each message,
 * `onUp` when it becomes alive (subscribed, or answering again) and `onDown` when it is no
 * longer known to be (closed, reconnecting, or a PING unanswered for HEARTBEAT_TIMEOUT_MS: a
 * frozen Redis keeps the socket open and sends nothing). It owns `connection`, made for it.
 */
export function subscribe ({ connection, channel, log, onMessage, onUp, onDown }: {
  connection: RedisClient
  channel: string
  log: FastifyBaseLogger
  onMessage: (message: string) => void
  onUp: () => void
  onDown: (why: string) => void
}): Subscriber {
  let subscribed = false
  let alive = false
  let pingSentAt: number | undefined

  function lost (why: string): void {
    const wasAlive = subscribed && alive
    subscribed = false
    alive = false
    pingSentAt = undefined
    onDown(why)
    if (wasAlive) log.warn({ why }, 'near cache off until its invalidation connection is back')
  }

  connection.on('message', (_channel: string, message: string) => onMessage(message))
  connection.on('close', () => lost('invalidation connection closed'))
  connection.on('ready', () => {
    connection.subscribe(channel).then(() => {
      subscribed = true
      alive = true
      onUp()
      log.info('near cache on: subscribed to invalidations')
    }, (err: unknown) => lost(`subscribe failed: ${String(err)}`))
  })
  connection.on('error', () => { /* 'close' follows; the main client logs Redis outages */ })

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
    connection.ping().then(() => {
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
    alive: (): boolean => subscribed && alive,
    close (): void {
      clearInterval(heartbeat)
      connection.disconnect()
    }
  }
}
