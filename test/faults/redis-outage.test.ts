import t from 'tap'
import type { Test } from 'tap'
import { build, createOrder, redisFor, redisReady, type TestApp } from '../helper.js'
import { redisKeys } from '../../src/cache/keys.js'
import { eventually, ownRedis, timed } from '../processes.js'
import { scrape } from '../scrape.js'
import { FAST_DEADLINES } from '../instances.js'

// The failure table of the design brief, for real: this file starts its own redis-server and
// stops it, freezes it (SIGSTOP) and restarts it under a running service.

const FAST = { ...FAST_DEADLINES, CACHE_BREAKER_COOLDOWN_MS: '60000' }
// Generous bounds: these prove "bounded, never a hang", not performance.
const READ_BOUND_MS = 1000
const WRITE_BOUND_MS = 2000
// For the tests of the read path's breaker: the Redis watch (src/cache/redis-watch.ts) sees an
// outage within about 3/4 of REDIS_COMMAND_TIMEOUT_MS and then keeps reads off Redis altogether
// (an invalidation is owed); a longer deadline lets three reads fail on Redis first.
const SLOW_WATCH = { REDIS_COMMAND_TIMEOUT_MS: '1500' }

async function setup (t: Test, env: Record<string, string> = {}) {
  const redis = await ownRedis(t)
  const app = await build(t, { env: { REDIS_URL: redis.url, ...FAST, ...env } })
  const order = await createOrder(app)
  return { redis, app, order }
}

async function assertFailureTable (t: Test, app: TestApp, orderId: string) {
  const list = await timed(app.inject('/orders'))
  t.equal(list.result.statusCode, 200, 'GET /orders is served from MongoDB')
  t.equal(list.result.headers['x-cache'], 'BYPASS')
  t.ok(list.ms < READ_BOUND_MS, `GET /orders answered in ${list.ms.toFixed(0)} ms`)

  const one = await timed(app.inject(`/orders/${orderId}`))
  t.equal(one.result.statusCode, 200, 'GET /orders/:id is served from MongoDB')
  t.equal(one.result.headers['x-cache'], 'BYPASS')
  t.ok(one.ms < READ_BOUND_MS, `GET /orders/:id answered in ${one.ms.toFixed(0)} ms`)

  const post = await timed(app.inject({ method: 'POST', url: '/orders', payload: { customer: 'During Outage', address: '1 Outage Road', items: [{ sku: 'X', qty: 1, price: 1 }] } }))
  t.equal(post.result.statusCode, 201, 'POST /orders succeeds')
  t.ok(post.ms < WRITE_BOUND_MS, `POST answered in ${post.ms.toFixed(0)} ms`)

  for (const method of ['PUT', 'DELETE'] as const) {
    const write = await timed(app.inject({ method, url: `/orders/${orderId}`, ...(method === 'PUT' ? { payload: { customer: 'Blocked Write' } } : {}) }))
    t.equal(write.result.statusCode, 503, `${method} is blocked`)
    t.equal(write.result.json().code, 'LOCK_UNAVAILABLE')
    t.equal(write.result.headers['retry-after'], '5')
    t.ok(write.ms < WRITE_BOUND_MS, `${method} answered in ${write.ms.toFixed(0)} ms`)
  }
  const unchanged = await app.inject(`/orders/${orderId}`)
  t.equal(unchanged.json().status, 'Pending', 'no blocked write changed the order')
  t.equal(unchanged.json().version, 1)
}

async function assertRecovered (t: Test, app: TestApp, orderId: string) {
  await redisReady(app)
  // The breaker probes again after its cooldown; a recovered Redis closes it at once.
  await eventually(async () => (await app.inject('/orders')).headers['x-cache'] !== 'BYPASS')
  t.equal((await app.inject('/orders')).headers['x-cache'], 'HIT', 'cache hits again')
  await app.inject(`/orders/${orderId}`)
  t.equal((await app.inject(`/orders/${orderId}`)).headers['x-cache'], 'HIT', 'the order is cached on the recovered Redis')
  const put = await app.inject({ method: 'PUT', url: `/orders/${orderId}`, payload: { customer: 'After Recovery' } })
  t.equal(put.statusCode, 200, 'writes work again')
  // The write went through the recovered Redis: its lock taken and released there, its
  // invalidation delivered there (a read after it is not the cached pre-write entry).
  const read = await app.inject(`/orders/${orderId}`)
  t.equal(read.json().customer, 'After Recovery', `a read after the write shows it (X-Cache ${read.headers['x-cache']})`)
  t.equal(read.json().version, put.json().version, 'the version the write answered')
  t.equal(await redisFor(t, app).exists(redisKeys.orderLock(orderId)), 0, 'the write\'s lock was released on the recovered Redis')
}

t.test('Redis stopped: reads bypass, POST works, PUT/DELETE 503; recovery on restart', async (t) => {
  const { redis, app, order } = await setup(t, { CACHE_BREAKER_COOLDOWN_MS: '100' })
  await app.inject('/orders')
  await redis.stop()
  await assertFailureTable(t, app, order._id)
  await redis.start()
  await assertRecovered(t, app, order._id)
})

t.test('Redis frozen (SIGSTOP): bounded delays, then the breaker skips Redis', async (t) => {
  const { redis, app, order } = await setup(t, SLOW_WATCH)
  await app.inject('/orders')
  await redis.freeze()
  for (let i = 0; i < 3; i++) {
    const read = await timed(app.inject(`/orders?page=${i + 1}`))
    t.equal(read.result.headers['x-cache'], 'BYPASS')
    t.ok(read.ms < READ_BOUND_MS, `read ${i + 1} waited at most the deadline (${read.ms.toFixed(0)} ms)`)
  }
  t.equal(app.cache.status().breaker, 'open', 'consecutive deadline misses opened the breaker')

  // With the breaker open a read does not wait for Redis at all.
  const errorsBefore = await scrape(app, 'redis_errors_total', { component: 'cache' })
  t.equal((await app.inject('/orders')).headers['x-cache'], 'BYPASS')
  t.equal(await scrape(app, 'redis_errors_total', { component: 'cache' }), errorsBefore, 'no Redis call was attempted')

  await assertFailureTable(t, app, order._id)
  redis.thaw()
})

t.test('Redis started after the service: boots without Redis, then uses it', async (t) => {
  const redis = await ownRedis(t)
  await redis.stop()
  const app = await build(t, { env: { REDIS_URL: redis.url, ...FAST, CACHE_BREAKER_COOLDOWN_MS: '100' }, waitForRedis: false })
  const order = await createOrder(app)
  await assertFailureTable(t, app, order._id)
  const ready = await app.inject('/health/ready')
  t.equal(ready.statusCode, 200, 'ready: MongoDB answers')
  t.equal(ready.json().redis, 'down')
  await redis.start()
  await assertRecovered(t, app, order._id)
})

t.test('an invalidation that cannot reach Redis is retried; no stale hit meanwhile or after', async (t) => {
  const { redis, app } = await setup(t, { CACHE_INVALIDATION_RETRY_MS: '50' })
  await app.inject('/orders')
  t.equal((await app.inject('/orders')).headers['x-cache'], 'HIT', 'page 1 is cached')

  await redis.freeze()
  const created = await createOrder(app, { customer: 'Written While Frozen', address: '9 Frozen Lane', items: [{ sku: 'F', qty: 1, price: 2 }] })
  t.equal(app.cache.status().invalidationPending, true, 'the invalidation is pending')
  redis.thaw()

  // The thawed Redis still holds the old page 1, but this instance serves no hit until the
  // invalidation lands: the very next GET shows the new order.
  const next = await app.inject('/orders')
  t.equal(next.statusCode, 200)
  t.equal(next.json().data[0]._id, created._id, 'the very next GET shows the new order')

  await eventually(() => !app.cache.status().invalidationPending)
  t.ok(await scrape(app, 'cache_invalidation_retries_total') >= 1, 'delivered by a background retry')
  const after = await app.inject('/orders')
  t.not(after.headers['x-cache'], 'HIT', 'the old page is no longer a hit')
  t.equal(after.json().data[0]._id, created._id)
  t.equal((await app.inject('/orders')).headers['x-cache'], 'HIT', 'and the fresh page is cached again')
})

t.test('an undelivered invalidation is sent the moment Redis is back', async (t) => {
  // Retries far apart, so only the reconnection can deliver it. Redis is stopped (not frozen),
  // so the failed attempt never reaches the server; the restarted Redis starts empty.
  const { redis, app } = await setup(t, { CACHE_INVALIDATION_RETRY_MS: '60000' })
  await redis.stop()
  await createOrder(app, { customer: 'Written While Down', address: '2 Reconnect Road', items: [{ sku: 'S', qty: 1, price: 1 }] })
  t.equal(app.cache.status().invalidationPending, true)
  await redis.start()
  await redisReady(app)
  const observer = redisFor(t, app)
  await eventually(() => !app.cache.status().invalidationPending)
  t.ok(Number(await observer.get(redisKeys.listGeneration)) > 0, 'the list generation was bumped on reconnection')
})

t.test('shutting down with an undeliverable invalidation does not hang', async (t) => {
  const { redis, app } = await setup(t)
  await redis.stop()
  await createOrder(app, { customer: 'Written While Down', address: '3 Closing Time Road', items: [{ sku: 'S', qty: 1, price: 1 }] })
  t.equal(app.cache.status().invalidationPending, true)
  const { ms } = await timed(app.close())
  t.ok(ms < WRITE_BOUND_MS, `closed in ${ms.toFixed(0)} ms`)
})

t.test('a breaker opened by slow reads does not hold back a mutation\'s invalidation', async (t) => {
  const { redis, app, order } = await setup(t, SLOW_WATCH)
  const observer = redisFor(t, app)
  await redis.freeze()
  for (let i = 0; i < 3; i++) await app.inject(`/orders?page=${i + 1}`)
  t.equal(app.cache.status().breaker, 'open')
  redis.thaw()
  const before = await observer.get(redisKeys.listChangeClock)

  const put = await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Seen Everywhere' } })
  t.equal(put.statusCode, 200)
  t.equal(app.cache.status().breaker, 'open', 'the read path still skips Redis')
  t.equal(app.cache.status().invalidationPending, false, 'delivered before the answer')
  t.ok(Number(await observer.get(redisKeys.listChangeClock)) > Number(before), 'the change landed: the change clock moved')
  t.ok(Number(await observer.get(redisKeys.entityGeneration(order._id))) > 0, 'and the order\'s generation was bumped for other instances')
})
