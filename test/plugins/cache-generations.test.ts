import t from 'tap'
import { build, createOrder, pauseOnce, redisFor } from '../helper.js'
import { redisKeys } from '../../src/keys.js'

// Generations never come back to a value an old entry or a slow filler holds: a missing
// generation is created from the server clock, and a fill never matches a missing one.

t.test('a generation that vanished mid-read (expiry, Redis restart) refuses the fill', async (t) => {
  const reader = pauseOnce<unknown>()
  const app = await build(t, { seams: { beforeFill: reader.seam } })
  const redis = redisFor(t, app)
  const order = await createOrder(app)
  const generationKey = redisKeys.entityGeneration(order._id)

  reader.arm()
  const slowRead = app.inject(`/orders/${order._id}`)
  await reader.paused
  t.ok(Number(await redis.get(generationKey)) > 0, 'the first read created the generation from the clock')
  t.equal((await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Changed Meanwhile' } })).statusCode, 200)
  await redis.del(generationKey) // as if it expired, or Redis restarted empty
  reader.resume()
  await slowRead

  t.equal(app.counters.cache.staleFillsRefused, 1, 'the fill was refused')
  const next = await app.inject(`/orders/${order._id}`)
  t.equal(next.headers['x-cache'], 'MISS')
  t.equal(next.json().customer, 'Changed Meanwhile')
  t.equal((await app.inject(`/orders/${order._id}`)).headers['x-cache'], 'HIT')
})

t.test('entity generations carry a TTL, the list generation none', async (t) => {
  const app = await build(t)
  const redis = redisFor(t, app)
  const order = await createOrder(app)
  await app.inject('/orders')
  await app.inject(`/orders/${order._id}`)
  t.equal(await redis.ttl(redisKeys.listGeneration), -1, 'the list generation never expires')
  const ttl = await redis.ttl(redisKeys.entityGeneration(order._id))
  t.ok(ttl > 60 && ttl <= 180, `the entity generation outlives its entries (${ttl} s)`)
})
