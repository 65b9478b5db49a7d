import fp from 'fastify-plugin'
import { createRedisClient, type RedisClient } from '../../src/redis/create-redis-client.js'
import { CACHE_SCRIPTS } from '../../src/cache/scripts/index.js'
import { releaseIfOwnerScript } from '../../src/lock/lock-release.js'
import { reconnectWhenEnded } from '../../src/redis/reconnect-when-ended.js'

declare module 'fastify' {
  interface FastifyInstance {
    redis: RedisClient
  }
}

/**
 * The Redis client. We use ioredis (the client @fastify/redis wraps) directly because
 * @fastify/redis holds the application's boot until Redis answers, and the spec says Redis
 * must never cost availability: with Redis down at start-up the service must still boot and
 * serve GET and POST. The client (standalone, cluster or sentinel, with fail-fast options) is
 * made by src/redis/create-redis-client.ts; it connects in the background and reconnects forever.
 */
export default fp(async function redis (app) {
  const client = createRedisClient(app.config, { connectionName: 'flowops-order-service', scripts: [...CACHE_SCRIPTS, releaseIfOwnerScript] })

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

  // ioredis can end a connection for good by itself (under Sentinel, in the middle of a
  // failover): connect again unless the app is closing (src/redis/reconnect-when-ended.ts).
  reconnectWhenEnded(client, { onEnded: () => app.log.warn('redis client ended by itself; connecting again') })

  app.decorate<RedisClient>('redis', client)
  // disconnect(), not quit(): quit waits for a reply that a frozen Redis never sends.
  app.addHook('onClose', async () => { client.disconnect() })
}, { name: 'redis-connection' })
