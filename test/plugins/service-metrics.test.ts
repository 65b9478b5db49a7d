import t from 'tap'
import { ObjectId } from 'mongodb'
import { build, createOrder, redisFor, redisReady } from '../helper.js'
import { redisKeys } from '../../src/cache/keys.js'
import { ORDERS_COLLECTION } from '../../src/orders/repository.js'
import { eventually, ownMongo, ownRedis } from '../processes.js'
import { scrapeAll } from '../scrape.js'
import { mongoRelayed, pausedReader } from '../instances.js'

// Each scenario that should move a service counter, observed where operators see it: in a
// scrape of GET /metrics.

t.test('a miss, a fill, a hit; writes, reads and invalidations', async (t) => {
  const app = await build(t)
  const before = await scrapeAll(app)
  t.equal(before('cache_hits_total'), 0)
  t.equal(before('cache_breaker_state'), 0, 'breaker closed')
  t.equal(before('redis_connected'), 1)
  t.equal(before('cache_enabled'), 1)

  await createOrder(app)
  t.equal((await app.inject('/orders')).headers['x-cache'], 'MISS')
  t.equal((await app.inject('/orders')).headers['x-cache'], 'HIT')

  const m = await scrapeAll(app)
  t.equal(m('cache_misses_total'), 1)
  t.equal(m('cache_fills_total'), 1)
  t.equal(m('cache_hits_total'), 1)
  t.equal(m('cache_bypasses_total'), 0)
  t.equal(m('cache_invalidations_total'), 1, 'the POST invalidated the list pages')
  t.equal(m('database_writes_total'), 1)
  t.equal(m('database_reads_total'), 1, 'the hit did not read MongoDB')
  t.equal(m('cache_invalidation_pending'), 0)
})

t.test('CACHE_ENABLED=false: every read is a bypass', async (t) => {
  const app = await build(t, { env: { CACHE_ENABLED: 'false' } })
  await createOrder(app)
  await app.inject('/orders')
  await app.inject('/orders')
  const m = await scrapeAll(app)
  t.equal(m('cache_bypasses_total'), 2)
  t.equal(m('cache_hits_total'), 0)
  t.equal(m('cache_misses_total'), 0)
  t.equal(m('cache_enabled'), 0)
})

t.test('concurrent misses are de-duplicated; a stale fill is refused', async (t) => {
  // The reader's fill is held on its way to Redis, in flight: its deadline outlasts the hold.
  const { writer, reader: app, relay } = await pausedReader(t)
  const order = await createOrder(app)
  await Promise.all(Array.from({ length: 5 }, () => app.inject('/orders?limit=7')))
  t.equal((await scrapeAll(app))('cache_deduped_misses_total'), 4, 'four misses joined the first one\'s load')

  await relay.whileHolding('eval', () => app.inject(`/orders/${order._id}`),
    () => writer.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Changed Meanwhile' } }))
  t.equal((await scrapeAll(app))('cache_stale_fills_refused_total'), 1)
})

t.test('locks: acquired, released and hold time; contended -> 409', async (t) => {
  const app = await build(t)
  const order = await createOrder(app)
  t.equal((await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'First Change' } })).statusCode, 200)
  await redisFor(t, app).set(redisKeys.orderLock(order._id), 'someone-else', 'EX', 10)
  t.equal((await app.inject({ method: 'DELETE', url: `/orders/${order._id}` })).statusCode, 409)

  const m = await scrapeAll(app)
  t.equal(m('lock_acquired_total'), 1)
  t.equal(m('lock_released_total'), 1)
  t.equal(m('lock_contended_total'), 1)
  t.equal(m('lock_hold_seconds_count'), 1, 'one hold observed')
  t.equal(m('lock_hold_seconds_bucket', { le: '10' }), 1, 'within the lock TTL')
  t.ok(m('lock_hold_seconds_sum') > 0, 'the hold time was observed')
  t.equal(m('lock_hold_seconds_max'), m('lock_hold_seconds_sum'), 'one hold: the longest is the only one')
  t.equal(m('lock_unavailable_total'), 0)
})

t.test('fencing: a write whose version moved under it is rejected and counted', async (t) => {
  const direct = await build(t)
  // The writer's conditional update is held on its way to MongoDB.
  const { app, relay } = await mongoRelayed(t, direct)
  const order = await createOrder(app)
  const updateHeld = relay.holdNext('findAndModify')
  const put = app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Fenced Writer' } })
  await updateHeld
  // Another writer (whose lock this one did not see) commits meanwhile.
  const db = direct.mongo.client.db(new URL(direct.config.MONGODB_URL).pathname.slice(1))
  await db.collection(ORDERS_COLLECTION).updateOne({ _id: new ObjectId(order._id) }, { $inc: { version: 1 } })
  relay.release()
  const response = await put
  t.equal(response.statusCode, 409)
  t.equal(response.json().code, 'VERSION_CONFLICT')
  t.equal((await scrapeAll(app))('lock_fencing_rejections_total'), 1)
})

t.test('Redis stopped: lock unavailable, Redis errors by component, not connected', async (t) => {
  const redis = await ownRedis(t)
  const app = await build(t, { env: { REDIS_URL: redis.url, CACHE_BREAKER_COOLDOWN_MS: '60000' } })
  const order = await createOrder(app)
  await redis.stop()
  // The client notices on its next reconnection attempt.
  await eventually(async () => app.redis.status !== 'ready' && (await scrapeAll(app))('redis_errors_total', { component: 'connection' }) > 0)

  t.equal((await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Blocked Write' } })).statusCode, 503)
  t.equal((await app.inject('/orders')).headers['x-cache'], 'BYPASS')

  const m = await scrapeAll(app)
  t.equal(m('lock_unavailable_total'), 1)
  t.equal(m('redis_errors_total', { component: 'lock' }), 1)
  t.ok(m('redis_errors_total', { component: 'connection' }) >= 1, 'the client reported the lost connection')
  t.equal(m('redis_connected'), 0)
  t.equal(m('cache_bypasses_total'), 1)

  await redis.start()
  await redisReady(app)
  t.equal((await scrapeAll(app))('redis_connected'), 1, 'connected again')
})

t.test('Redis frozen: read errors open the breaker; a pending invalidation is retried', async (t) => {
  const redis = await ownRedis(t)
  const app = await build(t, {
    // A deadline long enough that the Redis watch (3/4 of it) lets three reads fail on Redis first.
    env: { REDIS_URL: redis.url, CACHE_REDIS_TIMEOUT_MS: '50', REDIS_COMMAND_TIMEOUT_MS: '1500', CACHE_BREAKER_COOLDOWN_MS: '60000', CACHE_INVALIDATION_RETRY_MS: '50' }
  })
  await redis.freeze()
  t.teardown(() => redis.thaw())
  for (let page = 1; page <= 3; page++) await app.inject(`/orders?page=${page}`)
  const open = await scrapeAll(app)
  t.equal(open('redis_errors_total', { component: 'cache' }), 3)
  t.equal(open('cache_breaker_state'), 2, 'open')

  await createOrder(app)
  t.equal((await scrapeAll(app))('cache_invalidation_pending'), 1, 'the POST\'s invalidation could not be delivered')
  redis.thaw()
  await eventually(() => !app.cache.status().invalidationPending)
  const after = await scrapeAll(app)
  t.equal(after('cache_invalidation_pending'), 0)
  t.ok(after('cache_invalidation_retries_total') >= 1, 'delivered by a background retry')
})

t.test('MongoDB down: failed requests count as MongoDB errors', async (t) => {
  const mongo = await ownMongo(t)
  const app = await build(t, { env: { MONGODB_URL: mongo.url, MONGODB_TIMEOUT_MS: '1000' } })
  const order = await createOrder(app)
  t.equal((await scrapeAll(app))('mongodb_errors_total'), 0)
  await mongo.stop()
  t.equal((await app.inject(`/orders/${order._id}`)).statusCode, 503)
  t.equal((await app.inject('/orders?page=3')).statusCode, 503)
  t.equal((await scrapeAll(app))('mongodb_errors_total'), 2)
})
