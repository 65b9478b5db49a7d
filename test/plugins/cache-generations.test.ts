import t from 'tap'
import { build, createOrder, redisFor } from '../helper.js'
import { redisKeys } from '../../src/cache/keys.js'
import { pausedReader } from '../instances.js'
import { scrape } from '../scrape.js'

// Generations never come back to a value an old entry or a slow filler holds: a missing
// generation is created from the server clock by a first fill or a bump, and a fill never
// matches a generation that vanished.

t.test('a generation that vanished mid-read (expiry, Redis restart) refuses the fill', async (t) => {
  // The held fill is in flight: its deadline must outlast the hold.
  const { writer, reader: app, relay } = await pausedReader(t)
  const redis = redisFor(t, writer)
  const order = await createOrder(writer)
  const generationKey = redisKeys.entityGeneration(order._id)
  await writer.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'First Change' } })
  t.ok(Number(await redis.get(generationKey)) > 0, 'the PUT created the generation from the clock')

  await relay.whileHolding('eval', () => app.inject(`/orders/${order._id}`), async () => {
    t.equal((await writer.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Changed Meanwhile' } })).statusCode, 200)
    await redis.del(generationKey) // as if it expired, or Redis restarted empty
  })

  t.equal(await scrape(app, 'cache_stale_fills_refused_total'), 1, 'the fill was refused')
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
