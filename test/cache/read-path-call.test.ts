import t from 'tap'
import { build } from '../helper.js'
import { scrape } from '../scrape.js'
import { createCircuitBreaker, readPathCall } from '../../src/redis/call-guards.js'

// How the read path calls Redis (`readPathCall` in src/redis/call-guards.ts): a call's value, or undefined
// when it fails, outlasts the read deadline or is refused by the open breaker; each failure is
// counted. The calls here are plain functions standing for Redis calls: what is tested is the
// wrapper's contract (the outages themselves are tested on real servers in test/faults/).

t.test('a value, undefined on failure or past the deadline (counted), then undefined from the open breaker without calling', async (t) => {
  const app = await build(t)
  const breaker = createCircuitBreaker({ threshold: 2, cooldownMs: 60_000 })
  const call = readPathCall({ breaker, timeoutMs: 50, metrics: app.serviceMetrics, log: app.log })
  const errorsBefore = await scrape(app, 'redis_errors_total', { component: 'cache' })

  t.equal(await call('lookup', async () => 'value'), 'value')
  t.equal(await call('lookup', async () => { throw new Error('refused') }), undefined, 'a failed call')
  t.equal(await call('lookup', () => new Promise(() => {})), undefined, 'a call past the deadline')
  t.equal(await scrape(app, 'redis_errors_total', { component: 'cache' }) - errorsBefore, 2, 'both counted')
  t.equal(breaker.state(), 'open', 'two failures in a row open the breaker')

  let called = false
  t.equal(await call('lookup', async () => { called = true; return 'value' }), undefined, 'refused while open')
  t.notOk(called, 'without calling')
  t.equal(await scrape(app, 'redis_errors_total', { component: 'cache' }) - errorsBefore, 2, 'a refusal is not a Redis error')
})
