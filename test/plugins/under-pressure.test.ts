import t, { type Test } from 'tap'
import { build, validOrder, type TestApp } from '../helper.js'
import { eventually } from '../processes.js'
import { assertError } from '../routes/contract.js'
import { metric } from '../metrics-text.js'

// Load shedding (plugins/external/under-pressure.ts) under real pressure: a heap limit every
// sample exceeds, and an event loop this test blocks.

async function assertShed (t: Test, app: TestApp) {
  const read = await app.inject('/orders')
  assertError(t, read, 503, 'OVERLOADED')
  t.equal(read.headers['retry-after'], '10', 'Retry-After')
  assertError(t, await app.inject({ method: 'POST', url: '/orders', payload: validOrder }), 503, 'OVERLOADED')
}

t.test('over a limit, API requests get 503 OVERLOADED; health and metrics are still served', async (t) => {
  const app = await build(t, { env: { LOAD_SHEDDING_MAX_HEAP_USED_BYTES: '1', LOAD_SHEDDING_SAMPLE_INTERVAL_MS: '10' } })
  await eventually(() => app.isUnderPressure())
  await assertShed(t, app)
  t.equal((await app.orders.list(1, 10)).pagination.total, 0, 'the shed POST did no work')
  for (const url of ['/health', '/health/ready']) t.equal((await app.inject(url)).statusCode, 200, `${url} is not shed`)

  const metrics = await app.inject('/metrics')
  t.equal(metrics.statusCode, 200, '/metrics is not shed')
  t.equal(metric(metrics.body, 'flowops_order_service_http_request_duration_seconds_count', { method: 'GET', route: '/orders', status_code: '503' }), 1,
    'shed requests show in the request metrics')
})

t.test('a blocked event loop sheds load until it recovers', async (t) => {
  const app = await build(t, { env: { LOAD_SHEDDING_MAX_EVENT_LOOP_DELAY_MS: '5', LOAD_SHEDDING_SAMPLE_INTERVAL_MS: '1000' } })
  t.equal((await app.inject('/orders')).statusCode, 200, 'served while the loop is healthy')

  // The pressure lasts from one sample to the next, whose timing this test does not control (a
  // loaded machine may delay the requests below past it). Each sample gives a new mean delay,
  // so an unchanged value after the requests means they were all judged by the same sample,
  // one that showed the pressure: only such an attempt is judged, another is made otherwise.
  let judged = false
  for (let attempt = 1; attempt <= 5 && !judged; attempt++) {
    // Longer than the sample interval, so the next sample's mean delay is far over 5 ms.
    const until = Date.now() + 1500
    while (Date.now() < until) { /* blocking the event loop on purpose */ }
    await eventually(() => app.memoryUsage().eventLoopDelay > 5)
    const sampled = app.memoryUsage().eventLoopDelay
    const read = await app.inject('/orders')
    const write = await app.inject({ method: 'POST', url: '/orders', payload: validOrder })
    if (app.memoryUsage().eventLoopDelay !== sampled) {
      t.comment(`attempt ${attempt}: a new sample came before the requests were answered; again`)
      continue
    }
    judged = true
    assertError(t, read, 503, 'OVERLOADED')
    t.equal(read.headers['retry-after'], '10', 'Retry-After')
    assertError(t, write, 503, 'OVERLOADED')
  }
  t.ok(judged, 'the shedding was judged within one sample that showed the pressure')

  await eventually(async () => (await app.inject('/orders')).statusCode === 200)
  t.pass('served again once the loop is healthy')
})
