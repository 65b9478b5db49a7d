import t from 'tap'
import { createOrder, validOrder } from '../helper.js'
import { FAST_DEADLINES, instances } from '../instances.js'
import { ownRedis } from '../processes.js'

// "No read returns an order older than an acknowledged write", across instances, through a 3 s
// freeze of a standalone Redis. A writes; B only reads. During the freeze A's POST is answered
// (201: POST never needs Redis) with its list invalidation owed; right after the thaw A's PUT
// is answered 200. Before the change announcement (src/cache/changes.ts) and the Redis watch
// (src/cache/redis-watch.ts), B served the order's old entry and the pre-POST page from Redis
// as HITs right after the thaw: A's invalidations were only queued behind the owed one.

const FAST = { ...FAST_DEADLINES, CACHE_BREAKER_COOLDOWN_MS: '200' }
// Retries far apart: only what the design does, not a lucky retry, can make B right.
const NO_EARLY_RETRY = { CACHE_INVALIDATION_RETRY_MS: '60000' }
const FREEZE_MS = 3000

const versionOf = (body: string) => (JSON.parse(body) as { version: number }).version

t.test('a 3 s freeze: after the thaw, another instance serves nothing older than A\'s acknowledged writes', async (t) => {
  const redis = await ownRedis(t)
  const [a, b] = await instances(t, 2, { REDIS_URL: redis.url, ...FAST, ...NO_EARLY_RETRY })
  const order = await createOrder(a)
  const url = `/orders/${order._id}`
  for (let i = 0; i < 2; i++) {
    await b.inject(url)
    await b.inject('/orders')
  }
  t.equal((await b.inject(url)).headers['x-cache'], 'HIT', 'B holds the order cached')
  t.equal((await b.inject('/orders')).headers['x-cache'], 'HIT', 'and list page 1')

  await redis.freeze()
  t.teardown(() => redis.thaw())
  const frozenAt = performance.now()
  const posted = await a.inject({ method: 'POST', url: '/orders', payload: { ...validOrder, customer: 'Posted While Frozen' } })
  t.equal(posted.statusCode, 201, 'POST answered while Redis is frozen')
  const blocked = await a.inject({ method: 'PUT', url, payload: { customer: 'Blocked While Frozen' } })
  t.equal(blocked.statusCode, 503, 'PUT refused while Redis is frozen (no lock)')
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, FREEZE_MS - (performance.now() - frozenAt))))
  redis.thaw()

  // B reads page 1 again (it may cache it now), then A writes.
  for (let i = 0; i < 2; i++) await b.inject('/orders')
  const postedAfter = await a.inject({ method: 'POST', url: '/orders', payload: { ...validOrder, customer: 'Posted After Thaw' } })
  t.equal(postedAfter.statusCode, 201, 'A\'s POST right after the thaw is acknowledged')
  const put = await a.inject({ method: 'PUT', url, payload: { customer: 'Written After Thaw' } })
  t.equal(put.statusCode, 200, 'A\'s PUT right after the thaw is acknowledged')
  const acknowledged = versionOf(put.body)

  const one = await b.inject(url)
  t.equal(one.statusCode, 200)
  t.ok(versionOf(one.body) >= acknowledged, `B's GET ${url}: version ${versionOf(one.body)} (${String(one.headers['x-cache'])}), acknowledged ${acknowledged}`)
  const list = (await b.inject('/orders')).json<{ data: Array<{ _id: string, customer: string }>, pagination: { total: number } }>()
  t.equal(list.pagination.total, 3, 'B\'s list page counts the orders POSTed during the freeze and after it')
  t.equal(list.data.find((o) => o._id === order._id)?.customer, 'Written After Thaw', 'and shows the PUT acknowledged after the thaw')
  for (const created of [posted, postedAfter]) t.ok(list.data.some((o) => o._id === created.json<{ _id: string }>()._id), 'and holds each POSTed order')
})
