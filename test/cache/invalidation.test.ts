import t from 'tap'
import { setTimeout as delay } from 'node:timers/promises'
import { build, createOrder, redisFor, validOrder, type TestApp } from '../helper.js'
import { ownRedis } from '../processes.js'
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
  // A healthy Redis is one that answers: the deadline of lock and invalidation calls (and the
  // Redis watch's, derived from it) is 5 s here, so that a machine busy with a benchmark beside
  // the suite does not turn a slow answer into a retry (one did at the default 500 ms).
  const app = await build(t, { env: { REDIS_URL: (await ownRedis(t)).url, CACHE_INVALIDATION_RETRY_MS: String(RETRY_MS), REDIS_COMMAND_TIMEOUT_MS: '5000' } })
  const redis = redisFor(t, app)
  await redis.config('RESETSTAT')
  const created = await Promise.all(Array.from({ length: 30 }, () =>
    app.inject({ method: 'POST', url: '/orders', payload: validOrder })))
  t.ok(created.every((r) => r.statusCode === 201))
  t.equal(await scrape(app, 'cache_invalidation_pending'), 0, 'nothing owed once every POST is answered')
  // A retry is armed (for RETRY_MS, the first backoff step) before the answer of the mutation
  // whose delivery failed. Node runs timers in order of expiry (creation order for equal ones),
  // so a timer of RETRY_MS armed now fires after any such retry: not a guess at a duration.
  await delay(RETRY_MS)
  const calls = scriptCalls(await redis.info('commandstats'))
  t.ok(calls >= 1 && calls <= 30, `${calls} invalidation scripts for 30 POSTs`)
  t.equal(await scrape(app, 'cache_invalidation_retries_total'), 0, 'no retry')
  t.equal(await scrape(app, 'cache_invalidations_total'), 30, 'one invalidation per mutation')
})

const DEADLINE_MS = 400

/**
 * POSTs, each timed from the moment its insert resolved to its answer. The repository's insert
 * is wrapped to note that moment (it still does the real insert): nothing is faked.
 */
function timeSinceInsert (app: TestApp) {
  const insert = app.orders.insert.bind(app.orders)
  let insertedAt = 0
  app.orders.insert = async (...args: Parameters<typeof insert>) => {
    const outcome = await insert(...args)
    insertedAt = performance.now()
    return outcome
  }
  return {
    async post () {
      const response = await app.inject({ method: 'POST', url: '/orders', payload: validOrder })
      return { statusCode: response.statusCode, ms: performance.now() - insertedAt }
    }
  }
}

// While an invalidation is owed, a later mutation still sends its own and waits for it, up to the
// deadline: answered sooner, with its invalidation only queued, it would let another instance
// that has seen no failure serve the page it changed once Redis is back (the cross-instance
// staleness of test/faults/cross-instance-freeze.test.ts). Bounded all the same: never a hang.
t.test('frozen Redis: once an invalidation is owed, later mutations wait for theirs, bounded by the deadline', async (t) => {
  const owned = await ownRedis(t)
  const app = await build(t, { env: { REDIS_URL: owned.url, REDIS_COMMAND_TIMEOUT_MS: String(DEADLINE_MS), CACHE_REDIS_TIMEOUT_MS: '50' } })
  const order = await createOrder(app)
  await app.inject(`/orders/${order._id}`)
  await owned.freeze()
  t.teardown(() => owned.thaw())

  // Timed from the end of each POST's insert (the MongoDB part, whose duration this test does
  // not bound), to its answer: the wait for the invalidation and the reply.
  const sinceInsert = timeSinceInsert(app)
  const first = await sinceInsert.post()
  t.equal(first.statusCode, 201)
  // A deadline timer never fires early; 5 ms for clock granularity between timer and performance.now().
  t.ok(first.ms >= DEADLINE_MS - 5, `the first POST waited for its invalidation's deadline (${first.ms.toFixed(0)} ms)`)
  t.equal(await scrape(app, 'cache_invalidation_pending'), 1, 'an invalidation is owed: no hits')

  for (let i = 0; i < 3; i++) {
    const next = await sinceInsert.post()
    t.equal(next.statusCode, 201)
    // At most two deadlines (the send in flight, then its own), plus a margin for timers firing
    // late and the reply on a loaded 2-core machine: one more deadline, far above what it takes
    // idle (a few ms) and far below what a third wait (or no deadline: a hang) would take.
    t.ok(next.ms < 3 * DEADLINE_MS, `a later POST waited at most two deadlines, plus margin (${next.ms.toFixed(0)} ms)`)
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
