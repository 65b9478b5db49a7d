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

// Logical databases are leased, not just handed out in turn: tap runs test files in parallel
// processes (.taprc jobs), and a database another live app still uses must never be given out
// again (on a 16-database Redis, such as docker-compose's, a plain counter wraps within one
// run). A lease is a key in database 0, taken with SET NX (atomic across processes), held
// until the test that took it ends; a database is flushed once its lease is taken, so whatever
// an earlier holder left behind is gone before the new one uses it. The TTL only matters for a
// test process that died holding its lease: far longer than any test file may run (.taprc's
// timeout: 120 s).
const LEASE_PREFIX = 'flowops-test:database-lease:'
const LEASE_TTL_MS = 10 * 60_000

export interface RedisDatabaseLease { url: string, release: () => Promise<void> }

/** Leases a logical database no other live test app uses, flushed for its new holder. */
export async function leaseRedisDatabase (baseUrl = TEST_REDIS_URL): Promise<RedisDatabaseLease> {
  const admin = new Redis(baseUrl, { lazyConnect: true, maxRetriesPerRequest: 1, db: 0 })
  try {
    await admin.connect()
    const [, configured] = (await admin.config('GET', 'databases')) as [string, string]
    const databases = Number(configured) - 1 // database 0 holds the leases
    if (!(databases >= 1)) throw new Error(`the test Redis has ${configured} logical databases: at least 2 are needed`)
    const token = randomBytes(12).toString('hex')
    // Start the search where the last lease was taken, so a database is seldom reused at once.
    const start = await admin.incr('flowops-test:next-database')
    for (let i = 0; i < databases; i++) {
      const database = 1 + ((start + i) % databases)
      if (await admin.set(LEASE_PREFIX + database, token, 'PX', LEASE_TTL_MS, 'NX') !== 'OK') continue
      const url = new URL(baseUrl)
      url.pathname = `/${database}`
      const owned = new Redis(url.toString(), { lazyConnect: true, maxRetriesPerRequest: 1 })
      try {
        await owned.connect()
        await owned.flushdb() // ours now: nobody else holds its lease
      } finally {
        owned.disconnect()
      }
      return { url: url.toString(), release: () => releaseLease(baseUrl, LEASE_PREFIX + database, token) }
    }
    throw new Error(`all ${databases} logical databases of the test Redis are leased by live tests`)
  } finally {
    admin.disconnect()
  }
}

/** Gives a lease back, only if it is still ours (compare-and-delete). */
async function releaseLease (baseUrl: string, key: string, token: string): Promise<void> {
  const admin = new Redis(baseUrl, { lazyConnect: true, maxRetriesPerRequest: 1, db: 0 })
  try {
    await admin.connect()
    await admin.eval('if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0', 1, key, token)
  } finally {
    admin.disconnect()
  }
}

/**
 * A Redis URL pointing at a logical database no other test app uses, leased until `t` ends
 * (released after the teardowns registered later, such as the app's close, have run: tap runs
 * teardowns last in, first out).
 */
export async function isolatedRedisUrl (t: Test, baseUrl = TEST_REDIS_URL): Promise<string> {
  const lease = await leaseRedisDatabase(baseUrl)
  t.teardown(lease.release)
  return lease.url
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
    // A test that names its own Redis (ownRedis) takes no lease.
    REDIS_URL: options.env?.REDIS_URL ?? await isolatedRedisUrl(t),
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
