import t from 'tap'
import { build, createOrder, redisFor, validOrder } from '../helper.js'
import { redisKeys } from '../../src/cache/keys.js'
import { ownRedis } from '../processes.js'
import { instances, pausedReader } from '../instances.js'
import { scrape } from '../scrape.js'

// Command statistics are per server, so the tests that read them run their own redis-server.

t.test('a list miss fills the contract key with TTL, then hits with the same bytes', async (t) => {
  const app = await build(t)
  const redis = redisFor(t, app)
  await createOrder(app)

  const miss = await app.inject('/orders')
  t.equal(miss.statusCode, 200)
  t.equal(miss.headers['x-cache'], 'MISS')
  const key = 'flowops:order-service:v1:orders:list:page:1:limit:10'
  t.equal(await redis.exists(key), 1, 'stored under the exact contract key')
  const ttl = await redis.ttl(key)
  t.ok(ttl > 0 && ttl <= 60, `TTL is CACHE_TTL_SECONDS (${ttl})`)

  const hit = await app.inject('/orders')
  t.equal(hit.statusCode, 200)
  t.equal(hit.headers['x-cache'], 'HIT')
  t.match(hit.headers['content-type'], /^application\/json/)
  t.equal(hit.body, miss.body, 'a hit replies with the bytes the miss sent')
  t.equal(await scrape(app, 'cache_hits_total'), 1)
})

t.test('a hit is one Redis round trip (MGET) and nothing else', async (t) => {
  const app = await build(t, { env: { REDIS_URL: (await ownRedis(t)).url } })
  const redis = redisFor(t, app)
  await createOrder(app)
  await app.inject('/orders?page=1&limit=5')
  await redis.config('RESETSTAT')
  for (let i = 0; i < 10; i++) {
    const hit = await app.inject('/orders?page=1&limit=5')
    t.equal(hit.headers['x-cache'], 'HIT')
  }
  const stats = await redis.info('commandstats')
  const calls = Object.fromEntries([...stats.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)].map((m) => [m[1], Number(m[2])]))
  // Only this test's client ran INFO; every other call is the service's. The Redis watch's PING
  // (src/cache/redis-watch.ts) runs on its own clock, whatever the requests: on a slow machine
  // the ten hits can outlast its interval, and it is no part of a hit.
  t.same(Object.keys(calls).filter((name) => name !== 'info' && name !== 'config|resetstat' && name !== 'ping').sort(), ['mget'])
  t.equal(calls.mget, 10)
})

t.test('the entity cache: MISS then HIT, with the ETag kept', async (t) => {
  const app = await build(t)
  const order = await createOrder(app)
  const miss = await app.inject(`/orders/${order._id}`)
  t.equal(miss.headers['x-cache'], 'MISS')
  t.equal(miss.headers.etag, '"1"')
  const hit = await app.inject(`/orders/${order._id}`)
  t.equal(hit.headers['x-cache'], 'HIT')
  t.equal(hit.headers.etag, '"1"')
  t.equal(hit.body, miss.body)
  const redis = redisFor(t, app)
  t.equal(await redis.exists(`flowops:order-service:v1:orders:entity:${order._id}`), 1)
})

t.test('404s are not cached', async (t) => {
  const app = await build(t)
  const id = '0123456789abcdef01234567'
  t.equal((await app.inject(`/orders/${id}`)).statusCode, 404)
  const again = await app.inject(`/orders/${id}`)
  t.equal(again.statusCode, 404)
  t.equal(again.headers['x-cache'], 'MISS')
})

t.test('a POST invalidates every cached list page; PUT and DELETE their entity, and rewrite the pages holding it (here both)', async (t) => {
  const app = await build(t)
  const first = await createOrder(app)
  const warm = async () => {
    for (const url of ['/orders', '/orders?page=2&limit=1', `/orders/${first._id}`]) {
      await app.inject(url)
      t.equal((await app.inject(url)).headers['x-cache'], 'HIT', `${url} warm`)
    }
  }
  const expectMisses = async (label: string) => {
    t.equal((await app.inject('/orders')).headers['x-cache'], 'MISS', `${label}: page 1 invalidated`)
    t.equal((await app.inject('/orders?page=2&limit=1')).headers['x-cache'], 'MISS', `${label}: page 2 invalidated`)
  }
  const expectRewritten = async (label: string, shows: (order: Record<string, unknown>) => boolean) => {
    for (const url of ['/orders', '/orders?page=2&limit=1']) {
      const page = await app.inject(url)
      t.equal(page.headers['x-cache'], 'HIT', `${label}: ${url} still cached`)
      t.ok(shows(page.json().data.find((o: { _id: string }) => o._id === first._id)), `${label}: ${url} shows the write`)
    }
  }

  await warm()
  await createOrder(app, { ...validOrder, customer: 'Grace Hopper' })
  await expectMisses('POST')
  t.equal((await app.inject(`/orders/${first._id}`)).headers['x-cache'], 'HIT', 'POST leaves other entities cached')
  t.equal((await app.inject('/orders')).json().data[0].customer, 'Grace Hopper')

  await warm()
  await app.inject({ method: 'PUT', url: `/orders/${first._id}`, payload: { address: '1 New Street, Paris' } })
  await expectRewritten('PUT', (order) => order.address === '1 New Street, Paris')
  const afterPut = await app.inject(`/orders/${first._id}`)
  t.equal(afterPut.headers['x-cache'], 'MISS', 'PUT invalidated the entity')
  t.equal(afterPut.json().address, '1 New Street, Paris')

  await warm()
  await app.inject({ method: 'DELETE', url: `/orders/${first._id}` })
  await expectRewritten('DELETE', (order) => order.status === 'Cancelled')
  const afterDelete = await app.inject(`/orders/${first._id}`)
  t.equal(afterDelete.headers['x-cache'], 'MISS', 'DELETE invalidated the entity')
  t.equal(afterDelete.json().status, 'Cancelled')
})

// A reader paused between its MongoDB read and its cache fill (its Redis connection goes
// through a relay that holds the fill script); another instance commits a mutation and
// invalidates meanwhile; the reader resumes. Its fill must be refused.
for (const scope of ['list', 'entity'] as const) {
  // The entity has no generation before the PUT (its first fill would create it); the list's
  // was created by the POST.
  t.test(`no stale fill (${scope}): a slow reader cannot store pre-mutation data`, async (t) => {
    // The held fill is in flight: its deadline must outlast the hold.
    const { writer, reader: app, relay } = await pausedReader(t)
    const order = await createOrder(writer)
    const url = scope === 'list' ? '/orders' : `/orders/${order._id}`

    const old = await relay.whileHolding('eval', () => app.inject(url), async () => {
      const put = await writer.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Changed Meanwhile' } })
      t.equal(put.statusCode, 200)
    })
    t.equal(old.headers['x-cache'], 'MISS')
    // The reader was paused after its MongoDB read: what it loaded, and tried to store, predates the PUT.
    const loaded = scope === 'list' ? old.json().data.find((o: { _id: string }) => o._id === order._id) : old.json()
    t.equal(loaded.customer, order.customer, 'the slow reader read before the PUT')
    t.equal(loaded.version, 1)
    t.equal(await scrape(app, 'cache_stale_fills_refused_total'), 1, 'the fill was refused')

    const next = await app.inject(url)
    t.equal(next.headers['x-cache'], 'MISS', 'nothing stale was stored')
    const shown = scope === 'list' ? next.json().data.find((o: { _id: string }) => o._id === order._id) : next.json()
    t.equal(shown.customer, 'Changed Meanwhile', 'the next GET shows the mutation')
    t.equal((await app.inject(url)).headers['x-cache'], 'HIT', 'and the fresh data is cached')
  })
}

t.test('concurrent misses on one key share one MongoDB query', async (t) => {
  const app = await build(t)
  await createOrder(app)
  const order = await createOrder(app)
  const readsBefore = await scrape(app, 'database_reads_total')

  const responses = await Promise.all(Array.from({ length: 25 }, () => app.inject('/orders?limit=20')))
  t.ok(responses.every((r) => r.statusCode === 200 && r.headers['x-cache'] === 'MISS'))
  t.ok(responses.every((r) => r.body === responses[0]?.body), 'all got the same bytes')
  t.equal(await scrape(app, 'database_reads_total') - readsBefore, 1, 'one MongoDB query for 25 concurrent misses')
  t.equal(await scrape(app, 'cache_deduped_misses_total'), 24)

  const entityReads = await scrape(app, 'database_reads_total')
  const entity = await Promise.all(Array.from({ length: 10 }, () => app.inject(`/orders/${order._id}`)))
  t.ok(entity.every((r) => r.statusCode === 200 && r.headers.etag === '"1"'))
  t.equal(await scrape(app, 'database_reads_total') - entityReads, 1, 'one MongoDB query for 10 concurrent entity misses')
})

t.test('CACHE_ENABLED=false bypasses the cache but still invalidates for other instances', async (t) => {
  const app = await build(t, { env: { CACHE_ENABLED: 'false' } })
  await createOrder(app)
  const first = await app.inject('/orders')
  const second = await app.inject('/orders')
  t.equal(first.headers['x-cache'], 'BYPASS')
  t.equal(second.headers['x-cache'], 'BYPASS')
  const redis = redisFor(t, app)
  t.ok(Number(await redis.get(redisKeys.listGeneration)) > 0, 'the POST bumped the list generation')
})

t.test('no KEYS, SCAN or FLUSH is ever sent', async (t) => {
  const app = await build(t, { env: { REDIS_URL: (await ownRedis(t)).url } })
  const redis = redisFor(t, app)
  await redis.config('RESETSTAT')
  const order = await createOrder(app)
  for (let i = 0; i < 3; i++) {
    await app.inject('/orders')
    await app.inject(`/orders/${order._id}`)
    await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: `Customer ${i}` } })
  }
  const stats = await redis.info('commandstats')
  t.notMatch(stats, /cmdstat_(keys|scan|flushdb|flushall):/)
  t.match(stats, /cmdstat_mget:/, 'the workload did reach Redis')
})

t.test('across instances: concurrent misses cost at most one MongoDB query per instance', async (t) => {
  const apps = await instances(t, 3)
  const [first] = apps
  await createOrder(first)
  const reads = () => Promise.all(apps.map((app) => scrape(app, 'database_reads_total')))
  const readsBefore = await reads()
  const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => apps[i % 3]!.inject('/orders')))
  t.ok(responses.every((r) => r.statusCode === 200 && r.body === responses[0]?.body), 'every instance answered the same page')
  const readsAfter = await reads()
  const queries = readsAfter.reduce((sum, after, i) => sum + after - (readsBefore[i] ?? 0), 0)
  t.comment(`30 concurrent misses on 3 instances: ${queries} MongoDB queries`)
  t.ok(queries >= 1 && queries <= apps.length, `${queries} queries for 30 misses on ${apps.length} instances`)
})
