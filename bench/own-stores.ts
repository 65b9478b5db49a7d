import { Redis } from 'ioredis'
import { MongoClient } from 'mongodb'

// A benchmark script's own database and Redis logical database on the servers scripts/bench.sh
// started (MONGODB_URL, REDIS_URL), so that it never touches the main benchmark's data.

export interface OwnStores { mongoUrl: string, redisUrl: string }

export function ownStores (databaseName: string, redisDatabase: number): OwnStores {
  const mongoBase = process.env.MONGODB_URL
  const redisBase = process.env.REDIS_URL
  if (!mongoBase || !redisBase) throw new Error('MONGODB_URL and REDIS_URL are needed (scripts/bench.sh sets them)')
  return {
    mongoUrl: Object.assign(new URL(mongoBase), { pathname: `/${databaseName}` }).toString(),
    redisUrl: Object.assign(new URL(redisBase), { pathname: `/${redisDatabase}` }).toString()
  }
}

/** Empties both: the harness's own reset of its own databases (the service never flushes). */
export async function emptyStores ({ mongoUrl, redisUrl }: OwnStores): Promise<void> {
  const client = await MongoClient.connect(mongoUrl)
  await client.db().dropDatabase()
  await client.close()
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
  await redis.flushdb()
  redis.disconnect()
}
