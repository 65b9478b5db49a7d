import { Redis } from 'ioredis'

// Not a test file: the admin connection test/redis-cluster.ts and test/redis-sentinel.ts use to
// ask their own servers about themselves (CLUSTER NODES, SENTINEL, INFO).

/** A short-lived admin connection to one node. */
export async function ask<T> (port: number, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return await work(redis)
  } finally {
    redis.disconnect()
  }
}
