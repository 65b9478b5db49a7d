import t from 'tap'
import { build, createOrder, isolatedRedisUrl } from '../helper.js'
import { throughRelay } from '../relay.js'
import { scrape } from '../scrape.js'
import { redisKeys } from '../../src/cache/keys.js'
import type { Invalidation, Rewrite } from '../../src/cache/invalidation.js'
import { Redis } from 'ioredis'

// Several changes of one order delivered together (src/cache/invalidator.ts): while one
// delivery is on the wire, the invalidations that arrive meanwhile wait for the next, and two
// rewrites of one order are chained into one (from the first's `from` to the last's `to`). Held
// here: the instance's first delivery is held by a relay on its Redis connection while two more
// invalidations of the same order arrive; they are the three the instance would send for the
// three PUTs made (for real, in MongoDB) by a writer whose cache is elsewhere.

t.test('three rewrites of one order, two of them delivered together: the cached page ends with the last bytes', async (t) => {
  // A writer on its own Redis: its PUTs change MongoDB, and their invalidations do not touch the page.
  const writer = await build(t)
  const { relay, url: relayedRedis } = await throughRelay(t, await isolatedRedisUrl(t))
  // The held delivery is in flight: its deadline, and the Redis watch's (half of it), outlast the hold.
  const app = await build(t, { env: { MONGODB_URL: writer.config.MONGODB_URL, REDIS_URL: relayedRedis, REDIS_COMMAND_TIMEOUT_MS: '10000' } })
  await createOrder(app)
  const order = await createOrder(app, { customer: 'Chained One', address: '1 Chain Street', items: [{ sku: 'C', qty: 1, price: 1 }] })
  const url = `/orders/${order._id}`
  await app.inject('/orders')
  t.equal((await app.inject('/orders')).headers['x-cache'], 'HIT', 'the page is cached')

  // The order's bytes at each version, as the route serialises them (a list page holds the same).
  const versions = [(await writer.inject(url)).body]
  for (const customer of ['Chained Two', 'Chained Three', 'Chained Four']) {
    const put = await writer.inject({ method: 'PUT', url, payload: { customer } })
    t.equal(put.statusCode, 200)
    versions.push(put.body)
  }
  const [v1, v2, v3, v4] = versions as [string, string, string, string]
  const redis = new Redis(app.config.REDIS_URL)
  t.teardown(() => { redis.disconnect() })
  t.ok((await redis.get(redisKeys.listPage(1, 10)))?.includes(v1), 'the page holds the order\'s first bytes')
  const change = (rewrite: Rewrite): Invalidation => ({ everyListPage: false, changed: [{ id: order._id, rewrite }] })

  // The first delivery (v1 -> v2; only it names 'Chained Two' in its `to`) is held on its way to Redis.
  const held = relay.holdNext('Chained Two')
  const first = app.cache.invalidate(change({ from: v1, to: v2 }))
  await held
  const queued = [app.cache.invalidate(change({ from: v2, to: v3 })), app.cache.invalidate(change({ from: v3, to: v4 }))]
  relay.release()
  await Promise.all([first, ...queued])

  t.equal(await scrape(app, 'cache_list_pages_rewritten_total'), 2, 'two deliveries, each rewriting the page: the second carried both queued changes')
  const stored = await redis.get(redisKeys.listPage(1, 10))
  t.ok(stored?.includes(v4), 'the page holds the last bytes')
  t.notOk(stored?.includes(v3) || stored?.includes(v2), 'and none of the intermediate ones')
  const page = await app.inject('/orders')
  t.equal(page.headers['x-cache'], 'HIT', 'still cached: rewritten in place')
  t.equal(page.json().data[0].customer, 'Chained Four')
  t.equal(page.json().data[0].version, 4)
  t.equal(page.body, (await writer.inject('/orders')).body, 'byte for byte the page MongoDB gives now')
})
