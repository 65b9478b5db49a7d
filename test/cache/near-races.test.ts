import t from 'tap'
import { build, createOrder, isolatedRedisUrl } from '../helper.js'
import { eventually } from '../processes.js'
import { throughRelay } from '../relay.js'
import { scrape } from '../scrape.js'
import { NEAR, warmNear, whileNearStaysOn } from '../near-cache-helpers.js'

// The near cache's two races, each held deterministically by a relay on the instance's Redis
// connections (test/relay.ts): a Redis hit whose reply was on the wire while an invalidation
// reached the instance must not be stored near (the near tier's epoch), and a writer must drop
// its own near copies even when its invalidation message has not reached it yet.

const versionOf = (body: string) => (JSON.parse(body) as { version: number }).version

/** Reads `url` until it is a near hit (a Redis hit stores it near unless a message raced it). */
t.test('a Redis hit whose reply raced an invalidation is not stored near', async (t) => {
  const writer = await build(t, { env: NEAR })
  const { relay, url: relayedRedis } = await throughRelay(t, writer.config.REDIS_URL)
  // The held lookup is in flight: its deadline must outlast the hold, or it is a BYPASS.
  const reader = await build(t, { env: { ...NEAR, MONGODB_URL: writer.config.MONGODB_URL, REDIS_URL: relayedRedis, CACHE_REDIS_TIMEOUT_MS: '10000' } })
  await eventually(() => reader.cache.status().near === 'on')
  const raced = await createOrder(writer, { customer: 'Reply On The Wire', address: '1 Race Street', items: [{ sku: 'R', qty: 1, price: 1 }] })
  const barrier = await createOrder(writer)
  const url = `/orders/${raced._id}`
  await writer.inject(url) // cached in Redis, not near on the reader
  await warmNear(t, reader, `/orders/${barrier._id}`)
  t.ok(await scrape(reader, 'cache_near_bytes') > 0, 'the reader holds the barrier order near')

  // The reader's lookup has been answered by Redis with the old entry; the reply is held.
  const held = relay.holdNextReply('Reply On The Wire')
  const racing = reader.inject(url)
  await held
  t.equal((await writer.inject({ method: 'PUT', url, payload: { customer: 'Changed During The Reply' } })).statusCode, 200)
  // The barrier's messages are published after the PUT's, and reach the reader after them on its
  // one subscriber connection: once its near copy is gone, every message of the PUT has arrived.
  t.equal((await writer.inject({ method: 'PUT', url: `/orders/${barrier._id}`, payload: { customer: 'Barrier Changed' } })).statusCode, 200)
  await eventually(async () => await scrape(reader, 'cache_near_bytes') === 0)
  t.equal(reader.cache.status().near, 'on', 'the reader\'s near cache stayed on: only the epoch can refuse the store')
  relay.release()

  const old = await racing
  t.equal(old.headers['x-cache'], 'HIT', 'the racing read was a Redis hit')
  t.equal(versionOf(old.body), 1, 'of the bytes from before the PUT (it was sent before the PUT was acknowledged)')
  const nearHits = await scrape(reader, 'cache_near_hits_total')
  const next = await reader.inject(url)
  t.equal(versionOf(next.body), 2, 'the next read shows the PUT: the raced reply was not stored near')
  t.equal(await scrape(reader, 'cache_near_hits_total'), nearHits, 'it was not a near hit')
})

t.test('the writer drops its own near copies before it answers, though its invalidation message is held', async (t) => {
  const { relay, url: relayedRedis } = await throughRelay(t, await isolatedRedisUrl(t))
  const app = await build(t, { env: { ...NEAR, REDIS_URL: relayedRedis } })
  const order = await createOrder(app)
  const url = `/orders/${order._id}`
  // While the message is held, the heartbeat's PING replies queue behind it: after 250 ms the
  // near cache turns off and empties (src/cache/near/invalidation-bus.ts), and then nothing
  // here depends on the writer's own drop: such a round is played again.
  await whileNearStaysOn(t, app, async (round) => {
    await warmNear(t, app, url)
    const version = versionOf((await app.inject(url)).body)
    const held = relay.holdNextReply('cache:invalidations')
    t.equal((await app.inject({ method: 'PUT', url, payload: { customer: `Written In Round ${round}` } })).statusCode, 200)
    await held
    const read = await app.inject(url)
    const exercised = app.cache.status().near === 'on'
    relay.release()
    if (!exercised) return false
    t.equal(versionOf(read.body), version + 1, 'the writer shows its own write at once, its message still held')
    t.equal(JSON.parse(read.body).customer, `Written In Round ${round}`)
    return true
  })
})
