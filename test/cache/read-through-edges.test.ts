import { setTimeout as delay } from 'node:timers/promises'
import t from 'tap'
import { build, createOrder, redisFor, validOrder } from '../helper.js'
import { mongoRelayed, pausedReader } from '../instances.js'
import { ownRedis } from '../processes.js'
import { scrape } from '../scrape.js'
import { redisKeys } from '../../src/cache/keys.js'

// Two edges of the read-through core (src/cache/read-through.ts) on real servers: an entry
// Redis holds that is not in the service's format (written by another version of the service
// sharing the Redis, say) is a miss and never sent; a fill Redis does not answer costs the read
// no more than the read-path deadline; and no fill is even tried on a Redis known to be down.

t.test('an entry not in the service\'s format is a miss, and is replaced by a good one', async (t) => {
  const app = await build(t)
  const order = await createOrder(app)
  const url = `/orders/${order._id}`
  const redis = redisFor(t, app)
  const expected = (await app.inject(url)).json()

  // The format is <generation>\n<etag>\n<body>: these lack the first or the second newline,
  // under the current generation, so only the format check keeps them from being a hit.
  const malformed: Array<[string, string]> = [['no newline', 'garbage'], ['one newline', '7\n{"_id":"not this order"}']]
  for (const [name, stored] of malformed) {
    await redis.set(redisKeys.entityGeneration(order._id), '7')
    await redis.set(redisKeys.entity(order._id), stored)
    const read = await app.inject(url)
    t.equal(read.statusCode, 200, `${name}: answered`)
    t.equal(read.headers['x-cache'], 'MISS', `${name}: a miss`)
    t.same(read.json(), expected, `${name}: with the order from MongoDB`)
    const again = await app.inject(url)
    t.equal(again.headers['x-cache'], 'HIT', `${name}: the fill replaced it`)
    t.same(again.json(), expected)
  }
})

t.test('a fill that Redis does not answer delays the read by the deadline, not until Redis answers', async (t) => {
  // A deadline long enough that the lookup before the fill never misses it on a loaded machine.
  const { writer, reader, relay } = await pausedReader(t, { CACHE_REDIS_TIMEOUT_MS: '1000' })
  const order = await createOrder(writer)
  const errorsBefore = await scrape(reader, 'redis_errors_total', { component: 'cache' })

  const held = relay.holdNext('eval') // the fill script (EVAL, then EVALSHA): the lookup is an MGET
  const reading = reader.inject(`/orders/${order._id}`)
  await held
  // The answer is due 1 s (the deadline) after the fill was sent; 10 s is the margin for a
  // loaded machine. Without the deadline it would wait for the release below, which comes later.
  const answered = await Promise.race([reading, delay(10_000).then(() => undefined)])
  t.ok(answered, 'answered while its fill is still held')
  t.equal(answered?.statusCode, 200)
  t.equal(answered?.headers['x-cache'], 'MISS')
  t.equal(answered?.json()._id, order._id, 'with the order from MongoDB')
  t.equal(await scrape(reader, 'cache_fills_total'), 0, 'no fill is counted')
  // At least the fill's: a call queued behind it on that connection may miss its deadline too.
  t.ok(await scrape(reader, 'redis_errors_total', { component: 'cache' }) > errorsBefore, 'the missed deadline is counted')
  relay.release()
  await reading
})

t.test('Redis lost while the read was at MongoDB: the read is served, and no fill is tried', async (t) => {
  const redis = await ownRedis(t)
  const direct = await build(t, { env: { REDIS_URL: redis.url } })
  const order = await createOrder(direct, { ...validOrder, customer: 'Read Before Redis Went' })
  // The reader's MongoDB replies pass through a relay that holds the one carrying the order.
  const { app: reader, relay } = await mongoRelayed(t, direct, { MONGODB_TIMEOUT_MS: '20000' })
  const errorsBefore = await scrape(reader, 'redis_errors_total', { component: 'cache' })

  const replyHeld = relay.holdNextReply('Read Before Redis Went')
  const reading = reader.inject(`/orders/${order._id}`)
  await replyHeld // its lookup has missed: it waits for MongoDB
  // Not events.once: it rejects on an 'error' first, and a stopped Redis may reset the socket
  // (ECONNRESET) before it closes; unawaited during the stop, that was an unhandled rejection
  // (once in the 5-in-a-row runs).
  const lost = new Promise((resolve) => reader.redis.once('close', resolve))
  await redis.stop()
  await lost
  relay.release()

  const read = await reading
  t.equal(read.statusCode, 200)
  t.equal(read.headers['x-cache'], 'MISS')
  t.equal(read.json().customer, 'Read Before Redis Went', 'the order from MongoDB')
  t.equal(await scrape(reader, 'redis_errors_total', { component: 'cache' }), errorsBefore, 'no fill was tried on the Redis it knows is down')
})

t.test('an entry without a usable fill time beside it (an earlier version\'s) is a hit, never refreshed', async (t) => {
  const app = await build(t)
  const order = await createOrder(app)
  const url = `/orders/${order._id}`
  const redis = redisFor(t, app)
  t.equal((await app.inject(url)).headers['x-cache'], 'MISS')
  const filledKey = `${redisKeys.entity(order._id)}:filled`
  t.equal(await redis.exists(filledKey), 1, 'a fill stores its time beside the entry')
  for (const [name, change] of [['none', () => redis.del(filledKey)], ['not a number', () => redis.set(filledKey, 'not-a-time')]] as const) {
    await change()
    const read = await app.inject(url)
    t.equal(read.headers['x-cache'], 'HIT', `fill time ${name}: a hit (its age is unknown)`)
    t.equal(read.json().version, 1)
  }
  t.equal(await scrape(app, 'cache_eager_refreshes_total'), 0, 'and no refresh')
})
