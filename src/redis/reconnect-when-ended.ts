import type { RedisClient } from './create-redis-client.js'

/** How long after ending by itself a client connects again: about the reconnection backoff's longest step. */
export const RECONNECT_AFTER_END_MS = 1000

/**
 * Keeps a client connecting for as long as nobody has closed it. ioredis can end a connection
 * for good by itself: under Sentinel, when its failover detector (told of the promotion by a
 * sentinel) closes the connector while the client is reconnecting, the connect under way
 * fails, and a failed connect ends the client: status 'end', no more reconnection. Seen in the
 * Sentinel failover test on the service's client (every PUT 503 from then on) and on the
 * cache's entry connection (every read on the fallback); it would take the near tier's bus
 * (near cache off) and the rate limiter's client (no limit) as well. Redis must never cost
 * availability: an end nobody asked for is followed by a connect, `delayMs` later.
 *
 * Asked for means `disconnect()` or `quit()` called on the client, by whoever owns it (the app
 * closing, a test's teardown): this wraps those two methods of this one client to note it.
 * ioredis's own `disconnect(true)` (reconnect) is not a close.
 */
export function reconnectWhenEnded (client: RedisClient, { onEnded, delayMs = RECONNECT_AFTER_END_MS }: {
  /** Told each time the client ended by itself (to log it). */
  onEnded?: () => void
  delayMs?: number
} = {}): void {
  let closed = false
  const disconnect = client.disconnect.bind(client)
  const quit = client.quit.bind(client)
  client.disconnect = (reconnect?: boolean) => {
    if (!reconnect) closed = true
    disconnect(reconnect)
  }
  client.quit = ((...args: Parameters<typeof quit>) => {
    closed = true
    return quit(...args)
  }) as typeof client.quit
  client.on('end', () => {
    if (closed) return
    onEnded?.()
    setTimeout(() => {
      if (!closed && client.status === 'end') client.connect().catch(() => { /* 'end' again, or 'error' and the backoff */ })
    }, delayMs).unref()
  })
}
