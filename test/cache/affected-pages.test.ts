import t from 'tap'
import { build, createOrder, redisFor, validOrder, type TestApp } from '../helper.js'
import { redisKeys } from '../../src/cache/keys.js'
import { pausedReader } from '../instances.js'
import { scrape } from '../scrape.js'

// A PUT or DELETE never moves an order in the newest-first list, so it touches only the cached
// pages that hold the order (for every limit in use), not every page as a POST does: each is
// rewritten in place when it holds exactly the order's previous bytes, deleted otherwise.

interface Listed { data: Array<{ _id: string, customer: string }> }

async function seed (app: TestApp, count: number): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < count; i++) ids.push((await createOrder(app, { ...validOrder, customer: `Customer ${i}` }))._id)
  return ids.reverse() // newest first, as the list shows them
}

const cacheStatus = async (app: TestApp, url: string) => (await app.inject(url)).headers['x-cache']

// Pages by limit; the order changed below is the third newest: limit 2 page 2, limit 3 page 1,
// limit 10 page 1.
const PAGES = ['/orders?page=1&limit=2', '/orders?page=2&limit=2', '/orders?page=3&limit=2',
  '/orders?page=1&limit=3', '/orders?page=2&limit=3', '/orders?page=1&limit=10']
const HOLDING_THIRD = new Set(['/orders?page=2&limit=2', '/orders?page=1&limit=3', '/orders?page=1&limit=10'])

for (const method of ['PUT', 'DELETE'] as const) {
  t.test(`${method} rewrites only the cached pages holding the order, for every limit, and drops its entry`, async (t) => {
    const app = await build(t)
    const ids = await seed(app, 6)
    for (const url of PAGES) {
      await app.inject(url)
      t.equal(await cacheStatus(app, url), 'HIT', `${url} warm`)
    }
    const changed = ids[2]!
    await app.inject(`/orders/${changed}`)
    const untouched = new Map<string, string>()
    for (const url of PAGES) if (!HOLDING_THIRD.has(url)) untouched.set(url, (await app.inject(url)).body)

    const write = await app.inject({ method, url: `/orders/${changed}`, ...(method === 'PUT' ? { payload: { customer: 'Changed Customer' } } : {}) })
    t.equal(write.statusCode, 200)
    const redis = redisFor(t, app)
    t.equal(await redis.scard(redisKeys.pagesHolding(changed)), HOLDING_THIRD.size, 'the rewritten pages still hold the order')

    for (const url of PAGES) {
      const response = await app.inject(url)
      t.equal(response.headers['x-cache'], 'HIT', `${url}: still cached`)
      const shown = (response.json() as Listed).data.find((order) => order._id === changed)
      if (HOLDING_THIRD.has(url)) {
        t.equal(shown?.customer, method === 'PUT' ? 'Changed Customer' : 'Customer 3', `${url} shows the write`)
        // The rewritten bytes are exactly what a fresh load sends.
        const page = new URL(url, 'http://x').searchParams
        await redis.del(redisKeys.listPage(Number(page.get('page')), Number(page.get('limit'))))
        const fresh = await app.inject(url)
        t.equal(fresh.headers['x-cache'], 'MISS')
        t.equal(response.body, fresh.body, `${url}: the rewritten page is byte for byte a fresh load`)
      } else {
        t.equal(response.body, untouched.get(url), `${url}: untouched`)
      }
    }
    t.equal(await cacheStatus(app, `/orders/${changed}`), 'MISS', 'the order\'s own entry was invalidated')
    t.equal(await scrape(app, 'cache_list_pages_rewritten_total'), HOLDING_THIRD.size, 'three pages rewritten')
    t.equal(await scrape(app, 'cache_list_pages_invalidated_count'), 1, 'one changed order counted')
    t.equal(await scrape(app, 'cache_list_pages_invalidated_sum'), 0, 'no page deleted')
    t.equal(await scrape(app, 'cache_list_generation_bumps_total'), 6, 'only the six POSTs bumped the list generation')
  })
}

t.test('a page that holds other bytes of the order than the write started from is deleted, not rewritten', async (t) => {
  const app = await build(t)
  const ids = await seed(app, 3)
  const url = '/orders?page=1&limit=2'
  await app.inject(url)
  // Changed behind the service's back (an operator, a migration): the cached page now holds
  // bytes that are not the ones the next write reads as its previous version.
  const { MongoClient, ObjectId } = await import('mongodb')
  const client = await MongoClient.connect(app.config.MONGODB_URL)
  t.teardown(() => client.close())
  await client.db().collection('orders').updateOne({ _id: new ObjectId(ids[0]) }, { $set: { address: '9 Behind The Back Road' } })

  t.equal((await app.inject({ method: 'PUT', url: `/orders/${ids[0]}`, payload: { customer: 'Through The Service' } })).statusCode, 200)
  const after = await app.inject(url)
  t.equal(after.headers['x-cache'], 'MISS', 'the page was deleted')
  t.equal((after.json() as Listed).data[0]?.customer, 'Through The Service')
  t.equal(await scrape(app, 'cache_list_pages_invalidated_sum'), 1, 'counted as deleted')
  t.equal(await scrape(app, 'cache_list_pages_rewritten_total'), 0)
})

t.test('a POST still invalidates every page, in O(1)', async (t) => {
  const app = await build(t)
  await seed(app, 4)
  for (const url of PAGES) await app.inject(url)
  await createOrder(app)
  for (const url of PAGES) t.equal(await cacheStatus(app, url), 'MISS', `${url}: MISS after the POST`)
})

t.test('a fill records its page in the pages-holding set of each order on it, for twice the entries\' TTL', async (t) => {
  const app = await build(t)
  const ids = await seed(app, 3)
  await app.inject('/orders?page=1&limit=2')
  const redis = redisFor(t, app)
  const page = redisKeys.listPage(1, 2)
  t.same(await redis.smembers(redisKeys.pagesHolding(ids[0]!)), [page])
  t.same(await redis.smembers(redisKeys.pagesHolding(ids[1]!)), [page])
  t.equal(await redis.exists(redisKeys.pagesHolding(ids[2]!)), 0, 'the third order is not on page 1')
  const ttl = await redis.ttl(redisKeys.pagesHolding(ids[0]!))
  t.ok(ttl > 60 && ttl <= 120, `the set outlives the entries it names, and their near-cache copies (${ttl} s)`)
})

// The deterministic paused-reader tests: a reader's connection to Redis goes through a relay
// that holds its fill script (test/instances.ts's pausedReader); another instance commits a PUT
// and invalidates meanwhile.

t.test('no stale fill for a page the PUT invalidates: a slow reader of it is refused', async (t) => {
  const { writer, reader, relay } = await pausedReader(t)
  const ids = await seed(writer, 4)
  const url = '/orders?page=2&limit=2' // holds ids[2] and ids[3]
  const old = await relay.whileHolding('eval', () => reader.inject(url), async () => {
    t.equal((await writer.inject({ method: 'PUT', url: `/orders/${ids[3]}`, payload: { customer: 'Changed Meanwhile' } })).statusCode, 200)
  })
  t.equal((old.json() as Listed).data[1]?.customer, 'Customer 0', 'the slow reader read before the PUT')
  t.equal(await scrape(reader, 'cache_stale_fills_refused_total'), 1, 'its fill was refused')

  const next = await reader.inject(url)
  t.equal(next.headers['x-cache'], 'MISS', 'nothing stale was stored')
  t.equal((next.json() as Listed).data[1]?.customer, 'Changed Meanwhile', 'the next GET shows the PUT')
  t.equal(await cacheStatus(reader, url), 'HIT', 'and the fresh page is cached')
})

t.test('a PUT does not refuse the fill of a page that does not hold its order', async (t) => {
  const { writer, reader, relay } = await pausedReader(t)
  const ids = await seed(writer, 4)
  const url = '/orders?page=1&limit=2' // holds ids[0] and ids[1], not ids[3]
  const read = await relay.whileHolding('eval', () => reader.inject(url), async () => {
    t.equal((await writer.inject({ method: 'PUT', url: `/orders/${ids[3]}`, payload: { customer: 'Changed Meanwhile' } })).statusCode, 200)
  })
  t.equal(read.headers['x-cache'], 'MISS')
  t.equal(await scrape(reader, 'cache_stale_fills_refused_total'), 0, 'the fill was stored')
  const hit = await reader.inject(url)
  t.equal(hit.headers['x-cache'], 'HIT', 'the page is served from the cache')
  t.equal(hit.body, read.body, 'with the bytes the reader loaded, still current')
  t.same((read.json() as Listed).data.map((o) => o._id), [ids[0], ids[1]], 'and the page never held the changed order')
})

t.test('a PUT after the page was filled rewrites it even when the reader noted an older change clock', async (t) => {
  const app = await build(t)
  const ids = await seed(app, 3)
  // A first PUT moves the change clock; the page is then filled and recorded.
  await app.inject({ method: 'PUT', url: `/orders/${ids[2]}`, payload: { customer: 'First Change' } })
  await app.inject('/orders?page=1&limit=2')
  t.equal(await cacheStatus(app, '/orders?page=1&limit=2'), 'HIT')
  await app.inject({ method: 'PUT', url: `/orders/${ids[1]}`, payload: { customer: 'Second Change' } })
  const after = await app.inject('/orders?page=1&limit=2')
  t.equal(after.headers['x-cache'], 'HIT', 'rewritten in place')
  t.equal((after.json() as Listed).data[1]?.customer, 'Second Change')
})
