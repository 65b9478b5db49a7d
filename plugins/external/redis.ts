import fp from 'fastify-plugin'
import { Redis } from 'ioredis'

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis
  }
}

/**
 * The Redis client. We use ioredis (the client @fastify/redis wraps) directly because
 * @fastify/redis holds the application's boot until Redis answers, and the spec says Redis
 * must never cost availability: with Redis down at start-up the service must still boot and
 * serve GET and POST. Here the client connects in the background and reconnects forever.
 *
 * The options make every failure fast and explicit, so callers can decide fail-open (cache)
 * or fail-closed (locks):
 * - enableOfflineQueue false: while disconnected a command fails at once instead of queueing;
 * - maxRetriesPerRequest 0 and autoResendUnfulfilledCommands false: a command that was in
 *   flight when the connection dropped fails instead of being silently replayed later (a
 *   replayed SET NX could take a lock nobody knows about);
 * - deadlines are per call, set by the cache and the lock helpers (a frozen Redis keeps the
 *   socket open, so only a deadline notices it).
 */
export default fp(async function redis (app) {
  const client = new Redis(app.config.REDIS_URL, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: true,
    connectTimeout: 1000,
    keepAlive: 5000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    connectionName: 'flowops-order-service'
  })

  // Log transitions, not every reconnection attempt: an outage must not flood the logs.
  let healthy = true
  client.on('ready', () => {
    if (!healthy) app.log.info('redis connection restored')
    healthy = true
  })
  client.on('error', (err: Error) => {
    if (healthy) app.log.warn({ err }, 'redis unavailable; reads fall back to MongoDB, updates answer 503')
    healthy = false
  })

  app.decorate('redis', client)
  app.addHook('onClose', async () => {
    // disconnect(), not quit(): quit waits for a reply that a frozen Redis never sends.
    client.disconnect()
  })
}, { name: 'redis-connection' })
