import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { buildApp, type OperabilityLayer } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import type { RedisClient } from '../src/redis/create-redis-client.js'

// Every test app runs the real service against the real servers that scripts/test.sh started,
// isolated: its own MongoDB database and its own Redis logical database, so test files can run
// in parallel and in any order.

function required (name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set: run the tests with "npm test", which starts the servers`)
  return value
}

const TEST_MONGODB_URL = required('TEST_MONGODB_URL')
export const TEST_REDIS_URL = required('TEST_REDIS_URL')

/** A Redis URL pointing at a logical database no other test app uses. */
export async function isolatedRedisUrl (baseUrl = TEST_REDIS_URL): Promise<string> {
  const admin = new Redis(baseUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await admin.connect()
    const [, databases] = (await admin.config('GET', 'databases')) as [string, string]
    const next = await admin.incr('flowops-test:next-database')
    const url = new URL(baseUrl)
    url.pathname = `/${1 + (next % (Number(databases) - 1))}`
    return url.toString()
  } finally {
    admin.disconnect()
  }
}

/** A MongoDB URL naming a fresh database. */
export function isolatedMongoUrl (baseUrl = TEST_MONGODB_URL): string {
  const url = new URL(baseUrl)
  url.pathname = `/test_${randomBytes(6).toString('hex')}`
  return url.toString()
}

export interface BuildOptions {
  env?: Record<string, string>
  /** Wait for the Redis connection (default). False for tests that start with Redis down. */
  waitForRedis?: boolean
  /** Benchmark only: operability layers to leave out (buildApp's `without`). */
  without?: ReadonlySet<OperabilityLayer>
}

/** Builds the real app on isolated data, waits for ready, and closes it when the test ends. */
export async function build (t: Test, options: BuildOptions = {}) {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    MONGODB_URL: isolatedMongoUrl(),
    REDIS_URL: await isolatedRedisUrl(),
    ...options.env
  })
  const app = await buildApp({ config, ...(options.without ? { without: options.without } : {}) })
  t.teardown(async () => {
    await app.mongo.db?.dropDatabase().catch(() => {})
    await app.close()
  })
  await app.ready()
  if (options.waitForRedis !== false) await redisReady(app)
  return app
}

/**
 * The service connects to Redis in the background; this awaits its 'ready' event, and for the
 * app, its cache's entry connection (src/cache/entry-reader.ts) as well.
 */
export async function redisReady (app: { redis: RedisClient, cache?: { connected: () => Promise<void> } }): Promise<void> {
  if (app.redis.status !== 'ready') await once(app.redis, 'ready')
  await app.cache?.connected()
}

export type TestApp = Awaited<ReturnType<typeof build>>

/** A Redis client on the app's own logical database, for looking at what the service stored. */
export function redisFor (t: Test, app: TestApp): Redis {
  const client = new Redis(app.config.REDIS_URL)
  t.teardown(() => { client.disconnect() })
  return client
}

export const validOrder = {
  customer: 'Ada Lovelace',
  address: '12 Analytical Row, London',
  items: [{ sku: 'SKU-1', qty: 3, price: 0.1 }]
}

export async function createOrder (app: TestApp, body: object = validOrder) {
  const response = await app.inject({ method: 'POST', url: '/orders', payload: body })
  if (response.statusCode !== 201) throw new Error(`create failed: ${response.statusCode} ${response.body}`)
  return response.json()
}

/** A promise and its resolve handle: a test awaits it, so it pauses on an event, never on a sleep. */
export function deferred<T = void> () {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((_resolve) => { resolve = _resolve })
  return { promise, resolve }
}
