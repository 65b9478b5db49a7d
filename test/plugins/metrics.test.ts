import t from 'tap'
import { build, createOrder } from '../helper.js'
import { metric, parseMetrics } from '../metrics-text.js'

const P = 'flowops_order_service_'
const REQUESTS = `${P}http_request_duration_seconds_count`

t.test('GET /metrics serves the Prometheus text format with the service prefix', async (t) => {
  const app = await build(t)
  const response = await app.inject('/metrics')
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const names = new Set(parseMetrics(response.body).map((sample) => sample.name))
  t.ok(names.has(`${P}cache_hits_total`), 'service counters')
  t.ok(names.has(`${P}process_cpu_user_seconds_total`), 'process metrics, prefixed too')
  t.ok(names.has(`${P}nodejs_eventloop_lag_p99_seconds`), 'event-loop lag')
  t.notOk([...names].some((name) => !name.startsWith(P)), 'every metric name carries the prefix')
})

t.test('requests are counted and timed by route pattern and status, never by raw URL', async (t) => {
  const app = await build(t)
  const order = await createOrder(app)
  await app.inject(`/orders/${order._id}`)
  await app.inject(`/orders/${order._id}`)
  await app.inject('/orders/0123456789abcdef01234567')
  await app.inject('/orders?page=0')
  await app.inject('/health')

  const text = (await app.inject('/metrics')).body
  t.equal(metric(text, REQUESTS, { method: 'POST', route: '/orders', status_code: '201' }), 1)
  t.equal(metric(text, REQUESTS, { method: 'GET', route: '/orders/:id', status_code: '200' }), 2)
  t.equal(metric(text, REQUESTS, { method: 'GET', route: '/orders/:id', status_code: '404' }), 1)
  t.equal(metric(text, REQUESTS, { method: 'GET', route: '/orders', status_code: '400' }), 1)
  t.equal(metric(text, `${P}http_request_duration_seconds_bucket`, { method: 'GET', route: '/orders/:id', status_code: '200', le: '+Inf' }), 2,
    'a duration histogram')
  t.notMatch(text, order._id, 'no order id in any label')
  t.notMatch(text, /route="\/(health|metrics)/, 'health checks and scrapes are not API traffic')

  const again = (await app.inject('/metrics')).body
  t.equal(metric(again, REQUESTS, { method: 'GET', route: '/orders/:id', status_code: '200' }), 2, 'a scrape does not count itself')
})

t.test('two apps in one process keep separate request metrics', async (t) => {
  const first = await build(t)
  const second = await build(t)
  await first.inject('/orders')
  const text = (await second.inject('/metrics')).body
  t.notMatch(text, /route="\/orders"/, 'the second app saw no request')
  t.equal(metric((await first.inject('/metrics')).body, REQUESTS, { method: 'GET', route: '/orders', status_code: '200' }), 1)
})
