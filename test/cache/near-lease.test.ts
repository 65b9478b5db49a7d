import t, { type Test } from 'tap'
import { build, createOrder, isolatedRedisUrl, type TestApp } from '../helper.js'
import { eventually, ownRedis } from '../processes.js'
import { throughRelay } from '../relay.js'
import { scrape } from '../scrape.js'
import { whileNearStaysOn } from '../near-cache-helpers.js'

// The near tier's lease, at its default (CACHE_NEAR_LEASE_MS 10): a near hit is served only
// within the lease of a heartbeat answered behind every message published before it, and a write
// whose message reached a near tier answers no sooner than the lease after its script
// (src/cache/near/subscriber.ts, src/cache/near/write-settle.ts). So a read sent after another
// instance acknowledged a write never gets the old bytes from a near copy, however late its
// invalidation message is: here it is held in a relay on the reader's Redis connections.
// Past the lease, a read of a near copy waits for a PING sent after it arrived (its catch-up)
// rather than reading Redis: the last two tests, at a 1 ms lease.

const NEAR_DEFAULT_LEASE = { CACHE_NEAR_MAX_BYTES: String(1024 * 1024) }
const versionOf = (body: string) => (JSON.parse(body) as { version: number }).version

/** Reads `url` until the near cache serves it (a lease that ran out on a busy machine only makes a read go to Redis). */
async function warmNear (app: TestApp, url: string): Promise<void> {
  await eventually(async () => {
    const before = await scrape(app, 'cache_near_hits_total')
    await app.inject(url)
    return await scrape(app, 'cache_near_hits_total') === before + 1
  })
}

/** A writer (near cache off) and a reader with the near cache (at the default lease unless `readerEnv` says), whose Redis connections go through a relay. */
async function writerAndRelayedReader (t: Test, readerEnv: Record<string, string> = NEAR_DEFAULT_LEASE) {
  const redisUrl = await isolatedRedisUrl(t)
  const writer = await build(t, { env: { REDIS_URL: redisUrl } })
  const { relay, url: relayedRedis } = await throughRelay(t, redisUrl)
  const reader = await build(t, { env: { ...readerEnv, MONGODB_URL: writer.config.MONGODB_URL, REDIS_URL: relayedRedis } })
  return { writer, reader, relay }
}

/**
 * With `url` near on the reader, the writer PUTs the order while the reader's relay holds the
 * PUT's invalidation message (and everything after it on that connection). Resolves, once the
 * PUT is acknowledged and the message held, to the version the reader had.
 */
async function putWithMessageHeld (t: Test, { writer, reader, relay }: Awaited<ReturnType<typeof writerAndRelayedReader>>, url: string, customer: string): Promise<number> {
  await warmNear(reader, url)
  const version = versionOf((await reader.inject(url)).body)
  const held = relay.holdNextReply('cache:invalidations')
  const put = await writer.inject({ method: 'PUT', url, payload: { customer } })
  t.equal(put.statusCode, 200, 'the writer acknowledged the PUT')
  await held
  return version
}

t.test('a read sent after another instance acknowledged a write is not served the old near copy, its message held', async (t) => {
  const instances = await writerAndRelayedReader(t)
  const { writer, reader, relay } = instances
  t.equal(reader.config.CACHE_NEAR_LEASE_MS, 10, 'the reader runs the default lease')
  const order = await createOrder(writer)
  const url = `/orders/${order._id}`

  // Three times: without the writer's wait, the read finds the old near copy only when it falls
  // within the reader's lease, which a busy machine can miss once.
  for (let trial = 1; trial <= 3; trial++) {
    await whileNearStaysOn(t, reader, async (round) => {
      const version = await putWithMessageHeld(t, instances, url, `Written In Trial ${trial} Round ${round}`)
      const read = await reader.inject(url)
      const exercised = reader.cache.status().near === 'on'
      relay.release()
      if (!exercised) return false
      t.equal(versionOf(read.body), version + 1, 'the read sent after the acknowledgement shows the PUT')
      t.not(read.headers['x-cache'], 'HIT', 'it came from the database: the near copy was out of its lease, and Redis no longer held the entry')
      await eventually(async () => versionOf((await reader.inject(url)).body) === version + 1 && await scrape(reader, 'cache_near_bytes') > 0)
      return true
    })
  }
})

t.test('a new order: a list page read after the acknowledgement shows it, the page\'s near copy held back', async (t) => {
  const { writer, reader, relay } = await writerAndRelayedReader(t)
  await createOrder(writer)
  const url = '/orders?limit=10'

  // Three times, as above.
  for (let trial = 1; trial <= 3; trial++) {
    await whileNearStaysOn(t, reader, async (round) => {
      await warmNear(reader, url)
      const held = relay.holdNextReply('cache:invalidations')
      const created = await createOrder(writer, { customer: `Created In Trial ${trial} Round ${round}`, address: '1 Lease Street', items: [{ sku: 'L', qty: 1, price: 1 }] })
      await held
      const page = await reader.inject(url)
      const exercised = reader.cache.status().near === 'on'
      relay.release()
      if (!exercised) return false
      const ids = (JSON.parse(page.body) as { data: Array<{ _id: string }> }).data.map(({ _id }) => _id)
      t.equal(ids[0], created._id, 'the first page read after the 201 starts with the new order')
      return true
    })
  }
})

t.test('a subscriber that stops answering: near hits stop within the lease, before the heartbeat gives up, and come back', async (t) => {
  const { relay, url: relayedRedis } = await throughRelay(t, await isolatedRedisUrl(t))
  const app = await build(t, { env: { ...NEAR_DEFAULT_LEASE, REDIS_URL: relayedRedis } })
  const order = await createOrder(app)
  const url = `/orders/${order._id}`
  await whileNearStaysOn(t, app, async () => {
    await warmNear(app, url)
    // The next PING reply on the subscriber connection, and everything after it, waits.
    await relay.holdNextReply('pong')
    const nearHits = await scrape(app, 'cache_near_hits_total')
    // The lease is a length of time: this waits it out (no event marks its end; the heartbeat's
    // own give-up, at 250 ms, is what the round checks it came before).
    await new Promise<void>((resolve) => { setTimeout(resolve, app.config.CACHE_NEAR_LEASE_MS + 5) })
    const read = await app.inject(url)
    const stillOn = app.cache.status().near === 'on'
    const nearHitsAfter = await scrape(app, 'cache_near_hits_total')
    relay.release()
    if (!stillOn) return false
    t.equal(read.headers['x-cache'], 'HIT', 'the read was served from Redis')
    t.equal(nearHitsAfter, nearHits, 'not from the near copy: its lease ran out with the PING unanswered')
    await warmNear(app, url)
    t.pass('near hits again once the PING was answered')
    return true
  })
})

/** How many MGETs (the cache's read of entries) `redis` has run. */
async function mgetCalls (app: TestApp): Promise<number> {
  const stats = await app.redis.info('commandstats')
  return Number(/^cmdstat_mget:calls=(\d+)/m.exec(stats)?.[1] ?? 0)
}

t.test('past its lease, a near copy is served after one PING of the read\'s own, with no Redis read', async (t) => {
  // A Redis of this test's own, so that its MGET count is this app's; a 1 ms lease, so that
  // reads a few milliseconds apart find it run out; a catch-up budget a busy machine cannot miss.
  const redis = await ownRedis(t)
  const app = await build(t, { env: { CACHE_NEAR_MAX_BYTES: String(1024 * 1024), CACHE_NEAR_LEASE_MS: '1', CACHE_REDIS_TIMEOUT_MS: '2000', REDIS_URL: redis.url } })
  const order = await createOrder(app)
  const url = `/orders/${order._id}`
  await warmNear(app, url)
  const before = { mgets: await mgetCalls(app), nearHits: await scrape(app, 'cache_near_hits_total'), catchUps: await scrape(app, 'cache_near_catch_ups_total') }
  const READS = 20
  for (let i = 0; i < READS; i++) {
    // Three leases apart: the lease of the last PING has run out (a length of time; no event marks it).
    await new Promise<void>((resolve) => { setTimeout(resolve, 3) })
    const read = await app.inject(url)
    t.equal(read.headers['x-cache'], 'HIT', `read ${i + 1} is a hit`)
  }
  t.equal(await scrape(app, 'cache_near_hits_total') - before.nearHits, READS, 'every read came from the near copy')
  t.ok(await scrape(app, 'cache_near_catch_ups_total') > before.catchUps, 'reads found the lease run out and caught up with a PING of their own')
  t.equal(await mgetCalls(app), before.mgets, 'none read Redis')
})

t.test('a read that catches up behind a held invalidation message gets the write, not the near copy', async (t) => {
  const instances = await writerAndRelayedReader(t, { CACHE_NEAR_MAX_BYTES: String(1024 * 1024), CACHE_NEAR_LEASE_MS: '1', CACHE_REDIS_TIMEOUT_MS: '2000' })
  const { writer, reader, relay } = instances
  const order = await createOrder(writer)
  const url = `/orders/${order._id}`

  await whileNearStaysOn(t, reader, async (round) => {
    const version = await putWithMessageHeld(t, instances, url, `Caught Up In Round ${round}`)
    const catchUps = await scrape(reader, 'cache_near_catch_ups_total')
    const reading = reader.inject(url)
    // The read waits for its PING, whose answer the relay holds behind the message.
    await eventually(async () => await scrape(reader, 'cache_near_catch_ups_total') === catchUps + 1)
    relay.release()
    const read = await reading
    if (reader.cache.status().near !== 'on') return false
    t.equal(versionOf(read.body), version + 1, 'the read shows the PUT: its PING was answered after the message dropped the near copy')
    t.not(read.headers['x-cache'], 'HIT', 'and it went on to Redis, which no longer held the entry')
    return true
  })
})
