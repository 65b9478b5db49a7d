import t from 'tap'
import { once } from 'node:events'
import { build, createOrder, redisFor } from '../helper.js'
import { redisKeys } from '../../src/cache/keys.js'
import { mongoRelayed } from '../instances.js'
import { scrape } from '../scrape.js'

// A writer is paused under its lock by holding its conditional update (findAndModify) on the
// way to MongoDB, through a relay the test owns.

t.test('PUT and DELETE take the order lock with a random token and leave nothing behind', async (t) => {
  const app = await build(t)
  const redis = redisFor(t, app)
  const order = await createOrder(app)
  const { app: writer, relay } = await mongoRelayed(t, app)
  const seen: Array<string | null> = []
  for (const method of ['PUT', 'DELETE'] as const) {
    const updateHeld = relay.holdNext('findAndModify')
    const write = writer.inject({ method, url: `/orders/${order._id}`, ...(method === 'PUT' ? { payload: { customer: 'Locked Writer' } } : {}) })
    await updateHeld
    seen.push(await redis.get(redisKeys.orderLock(order._id)))
    const ttl = await redis.ttl(redisKeys.orderLock(order._id))
    t.ok(ttl > 0 && ttl <= 10, `lock TTL is LOCK_TTL_SECONDS (${ttl})`)
    relay.release()
    t.equal((await write).statusCode, 200, method)
  }
  t.equal(seen.length, 2)
  t.ok(seen.every((token) => typeof token === 'string' && /^[0-9a-f]{32}$/.test(token)), 'the lock holds a random token')
  t.not(seen[0], seen[1], 'a new token per acquisition')
  t.equal(await redis.exists(redisKeys.orderLock(order._id)), 0, 'released after the write')
  t.equal(await scrape(writer, 'lock_acquired_total'), 2)
  t.equal(await scrape(writer, 'lock_released_total'), 2)
})

t.test('a lock held by someone else: 409 ORDER_LOCKED with Retry-After, and their lock survives', async (t) => {
  const app = await build(t)
  const redis = redisFor(t, app)
  const order = await createOrder(app)
  await redis.set(redisKeys.orderLock(order._id), 'someone-else', 'EX', 10)
  for (const method of ['PUT', 'DELETE'] as const) {
    const response = await app.inject({ method, url: `/orders/${order._id}`, ...(method === 'PUT' ? { payload: { customer: 'Too Late' } } : {}) })
    t.equal(response.statusCode, 409, method)
    t.equal(response.json().code, 'ORDER_LOCKED')
    t.equal(response.headers['retry-after'], '1')
  }
  t.equal(await redis.get(redisKeys.orderLock(order._id)), 'someone-else', 'the other owner keeps its lock')
  t.equal(await scrape(app, 'lock_contended_total'), 2)
  t.equal((await app.inject(`/orders/${order._id}`)).json().version, 1, 'nothing was written')
})

t.test('configured retries wait for a lock that is released meanwhile', async (t) => {
  const app = await build(t, { env: { LOCK_RETRY_COUNT: '8', LOCK_RETRY_DELAY_MS: '20', LOCK_RETRY_JITTER_MS: '5' } })
  const redis = redisFor(t, app)
  const order = await createOrder(app)
  // Held for 150 ms by another owner, then it expires.
  await redis.set(redisKeys.orderLock(order._id), 'someone-else', 'PX', 150)
  const response = await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Patient Writer' } })
  t.equal(response.statusCode, 200)
  t.equal(response.json().customer, 'Patient Writer')
  t.equal(await scrape(app, 'lock_contended_total'), 0)
})

t.test('release is owner-only: an expired holder cannot delete the next owner\'s lock', async (t) => {
  const app = await build(t)
  const redis = redisFor(t, app)
  const lockKey = redisKeys.orderLock('0123456789abcdef01234567')
  await app.orderLocks.withLock('0123456789abcdef01234567', async () => {
    // Our lock expires and another instance takes it.
    await redis.set(lockKey, 'next-owner', 'EX', 10)
  })
  t.equal(await redis.get(lockKey), 'next-owner', 'the next owner still holds it')
  t.equal(await scrape(app, 'lock_released_total'), 0)
})

t.test('fencing: a writer whose lock expired mid-write gets 409 and changes nothing', async (t) => {
  const env = { LOCK_TTL_SECONDS: '1' }
  const fast = await build(t, { env })
  // The held update is in flight: the driver's socket timeout must outlast the hold.
  const { app: slow, relay } = await mongoRelayed(t, fast, { ...env, MONGODB_TIMEOUT_MS: '20000' })
  const order = await createOrder(slow)
  const lockKey = redisKeys.orderLock(order._id)

  // Await the lock's expiry as a Redis keyspace event, not a sleep.
  const redis = redisFor(t, slow)
  const subscriber = redisFor(t, slow)
  await redis.config('SET', 'notify-keyspace-events', 'Ex')
  const db = new URL(slow.config.REDIS_URL).pathname.slice(1) || '0'
  await subscriber.subscribe(`__keyevent@${db}__:expired`)
  const expired = (async () => {
    for (;;) {
      const [, key] = await once(subscriber, 'message') as [string, string]
      if (key === lockKey) return
    }
  })()

  const updateHeld = relay.holdNext('findAndModify')
  const slowWrite = slow.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Slow Writer' } })
  await updateHeld
  await expired

  const fastWrite = await fast.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Fast Writer' } })
  t.equal(fastWrite.statusCode, 200, 'the next writer got the expired lock')
  t.equal(fastWrite.json().version, 2)

  relay.release()
  const late = await slowWrite
  t.equal(late.statusCode, 409, 'the stale writer is fenced off')
  t.equal(late.json().code, 'VERSION_CONFLICT')
  t.equal(await scrape(slow, 'lock_fencing_rejections_total'), 1)

  const final = (await fast.inject(`/orders/${order._id}`)).json()
  t.equal(final.customer, 'Fast Writer', 'the newer write survives')
  t.equal(final.version, 2)
  t.equal(await redis.exists(lockKey), 0, 'no lock left behind')
})
