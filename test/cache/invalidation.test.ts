import t from 'tap'
import { setTimeout as delay } from 'node:timers/promises'
import { build, createOrder, redisFor, validOrder } from '../helper.js'
import { ownRedis, timed } from '../processes.js'
import { scrape } from '../scrape.js'

// What the invalidator sends: each mutation's invalidation lands once (concurrent ones may
// merge into one script call), retries only follow a failed delivery, and once an
// invalidation is owed, later mutations queue behind it instead of each waiting for Redis.

const RETRY_MS = 20

function scriptCalls (commandStats: string): number {
  let calls = 0
  for (const match of commandStats.matchAll(/cmdstat_(eval|evalsha):calls=(\d+)/g)) calls += Number(match[2])
  return calls
}

t.test('healthy Redis: 30 concurrent POSTs send at most 30 invalidations and no retry', async (t) => {
  const app = await build(t, { env: { REDIS_URL: (await ownRedis(t)).url, CACHE_INVALIDATION_RETRY_MS: String(RETRY_MS) } })
  const redis = redisFor(t, app)
  await redis.config('RESETSTAT')
  const created = await Promise.all(Array.from({ length: 30 }, () =>
    app.inject({ method: 'POST', url: '/orders', payload: validOrder })))
  t.ok(created.every((r) => r.statusCode === 201))
  // Nothing is pending now, so no retry timer may fire; give one the time to show itself.
  await delay(RETRY_MS * 10)
  const calls = scriptCalls(await redis.info('commandstats'))
  t.ok(calls >= 1 && calls <= 30, `${calls} invalidation scripts for 30 POSTs`)
  t.equal(await scrape(app, 'cache_invalidation_retries_total'), 0, 'no retry')
  t.equal(await scrape(app, 'cache_invalidations_total'), 30, 'one invalidation per mutation')
})

// While an invalidation is owed, a later mutation still sends its own and waits for it, up to the
// deadline: answered sooner, with its invalidation only queued, it would let another instance
// that has seen no failure serve the page it changed once Redis is back (the cross-instance
// staleness of test/faults/cross-instance-freeze.test.ts). Bounded all the same: never a hang.
t.test('frozen Redis: once an invalidation is owed, later mutations wait for theirs, bounded by the deadline', async (t) => {
  const owned = await ownRedis(t)
  const app = await build(t, { env: { REDIS_URL: owned.url, REDIS_COMMAND_TIMEOUT_MS: '400', CACHE_REDIS_TIMEOUT_MS: '50' } })
  const order = await createOrder(app)
  await app.inject(`/orders/${order._id}`)
  owned.freeze()
  t.teardown(() => owned.thaw())

  const first = await timed(app.inject({ method: 'POST', url: '/orders', payload: validOrder }))
  t.equal(first.result.statusCode, 201)
  t.ok(first.ms >= 350, `the first POST waited for its invalidation (${first.ms.toFixed(0)} ms)`)
  t.equal(await scrape(app, 'cache_invalidation_pending'), 1, 'an invalidation is owed: no hits')

  for (let i = 0; i < 3; i++) {
    const next = await timed(app.inject({ method: 'POST', url: '/orders', payload: validOrder }))
    t.equal(next.result.statusCode, 201)
    t.ok(next.ms < 2 * 400 + 200, `a later POST waited at most two deadlines (${next.ms.toFixed(0)} ms)`)
  }

  owned.thaw()
  const list = await app.inject('/orders?limit=100')
  t.equal(list.json().pagination.total, 5, 'every POST is visible')
})

t.test('a refused mutation (4xx) invalidates nothing; a committed one invalidates once', async (t) => {
  const app = await build(t)
  const order = await createOrder(app)
  const before = await scrape(app, 'cache_invalidations_total')
  t.equal((await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'x' } })).statusCode, 400)
  t.equal((await app.inject({ method: 'PUT', url: '/orders/0123456789abcdef01234567', payload: { customer: 'Nobody Here' } })).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: '/orders', payload: { customer: 'No Items', address: '1 Empty Street', items: [] } })).statusCode, 400)
  t.equal(await scrape(app, 'cache_invalidations_total'), before, 'nothing was written, nothing invalidated')
  t.equal((await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Someone Else' } })).statusCode, 200)
  t.equal(await scrape(app, 'cache_invalidations_total'), before + 1)
})
