import t from 'tap'
import { once } from 'node:events'
import { build, createOrder, pauseOnce, redisFor } from '../helper.js'
import { redisKeys } from '../../src/keys.js'

t.test('PUT and DELETE take the order lock with a random token and leave nothing behind', async (t) => {
  const app = await build(t)
  const redis = redisFor(t, app)
  const order = await createOrder(app)
  const seen: Array<string | null> = []
  const writer = await build(t, {
    env: { MONGODB_URL: app.config.MONGODB_URL, REDIS_URL: app.config.REDIS_URL },
    seams: {
      beforeWrite: async (orderId) => {
        seen.push(await redis.get(redisKeys.orderLock(orderId)))
        const ttl = await redis.ttl(redisKeys.orderLock(orderId))
        t.ok(ttl > 0 && ttl <= 10, `lock TTL is LOCK_TTL_SECONDS (${ttl})`)
      }
    }
  })
  t.equal((await writer.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Locked Writer' } })).statusCode, 200)
  t.equal((await writer.inject({ method: 'DELETE', url: `/orders/${order._id}` })).statusCode, 200)
  t.equal(seen.length, 2)
  t.ok(seen.every((token) => typeof token === 'string' && /^[0-9a-f]{32}$/.test(token)), 'the lock holds a random token')
  t.not(seen[0], seen[1], 'a new token per acquisition')
  t.equal(await redis.exists(redisKeys.orderLock(order._id)), 0, 'released after the write')
  t.equal(writer.counters.lock.acquired, 2)
  t.equal(writer.counters.lock.released, 2)
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
  t.equal(app.counters.lock.contended, 2)
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
  t.equal(app.counters.lock.contended, 0)
})

t.test('release is owner-only: an expired holder cannot delete the next owner\'s lock', async (t) => {
  const app = await build(t)
  const redis = redisFor(t, app)
  const lock = await app.orderLocks.acquire('0123456789abcdef01234567')
  // Our lock expires and another instance takes it.
  await redis.set(lock.key, 'next-owner', 'EX', 10)
  await app.orderLocks.release(lock)
  t.equal(await redis.get(lock.key), 'next-owner', 'the next owner still holds it')
  t.equal(app.counters.lock.released, 0)
})

t.test('fencing: a writer whose lock expired mid-write gets 409 and changes nothing', async (t) => {
  const writer = pauseOnce<string>()
  writer.arm()
  const env = { LOCK_TTL_SECONDS: '1' }
  const slow = await build(t, { env, seams: { beforeWrite: writer.seam } })
  const fast = await build(t, { env: { ...env, MONGODB_URL: slow.config.MONGODB_URL, REDIS_URL: slow.config.REDIS_URL } })
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

  const slowWrite = slow.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Slow Writer' } })
  await writer.paused
  await expired

  const fastWrite = await fast.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Fast Writer' } })
  t.equal(fastWrite.statusCode, 200, 'the next writer got the expired lock')
  t.equal(fastWrite.json().version, 2)

  writer.resume()
  const late = await slowWrite
  t.equal(late.statusCode, 409, 'the stale writer is fenced off')
  t.equal(late.json().code, 'VERSION_CONFLICT')
  t.equal(slow.counters.lock.fencingRejections, 1)

  const final = (await fast.inject(`/orders/${order._id}`)).json()
  t.equal(final.customer, 'Fast Writer', 'the newer write survives')
  t.equal(final.version, 2)
  t.equal(await redis.exists(lockKey), 0, 'no lock left behind')
})
