import t from 'tap'
import { build, createOrder } from '../helper.js'
import { eventually, ownRedis } from '../processes.js'
import { FAST_DEADLINES } from '../instances.js'
import { standaloneKeys } from '../../src/cache/keys.js'

// Redis out of memory (maxmemory reached, noeviction) answers every read and refuses every write,
// the invalidation's script included. So a write's invalidation is owed while the page it
// covers is still in Redis and still readable, and nothing else hides it: a frozen Redis runs
// the queued invalidation before the next read when it thaws, a killed one comes back empty.
// Only the owed-invalidation gate (`delivery.owed`, src/cache/invalidator.ts, read by every
// lookup) keeps this instance from serving that page. Mutant 1 removes the gate.

t.test('Redis refusing writes (out of memory) while it answers reads: no hit of a page an owed invalidation covers', async (t) => {
  const redis = await ownRedis(t)
  const app = await build(t, { env: { REDIS_URL: redis.url, ...FAST_DEADLINES, CACHE_INVALIDATION_RETRY_MS: '50' } })
  await createOrder(app)
  await app.inject('/orders')
  t.equal((await app.inject('/orders')).headers['x-cache'], 'HIT', 'page 1 is cached')

  // Any memory in use is over one byte: every write command is refused from here on.
  await app.redis.config('SET', 'maxmemory-policy', 'noeviction')
  await app.redis.config('SET', 'maxmemory', '1')

  const created = await createOrder(app, { customer: 'Written Out Of Memory', address: '1 Full Street', items: [{ sku: 'M', qty: 1, price: 3 }] })
  t.equal(app.cache.status().invalidationPending, true, 'the POST was answered, its list invalidation refused by Redis and owed')
  t.equal(await app.redis.exists(standaloneKeys.listPage(1, 10).key), 1, 'Redis still holds the old page 1, readable')

  const next = await app.inject('/orders')
  t.equal(next.statusCode, 200)
  t.not(next.headers['x-cache'], 'HIT', 'no hit while the invalidation is owed')
  t.equal(next.json().data[0]._id, created._id, 'the next GET shows the new order')

  await app.redis.config('SET', 'maxmemory', '0')
  await eventually(() => !app.cache.status().invalidationPending)
  await app.inject('/orders')
  const again = await app.inject('/orders')
  t.equal(again.headers['x-cache'], 'HIT', 'hits again once the invalidation landed')
  t.equal(again.json().data[0]._id, created._id, 'and the hit shows the new order')
})
