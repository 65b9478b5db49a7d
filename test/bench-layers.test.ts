import t from 'tap'
import { OPERABILITY_LAYERS } from '../src/app.js'
import { build, createOrder } from './helper.js'

// The benchmark's per-layer A/B (bench/service-without.ts) starts the service without chosen
// layers: each must really be gone, or its measured cost would be zero, and the rest must serve.

t.test('without every operability layer: no layer header, no request histogram; hits still served', async (t) => {
  const app = await build(t, { without: new Set(OPERABILITY_LAYERS) })
  await createOrder(app)
  const miss = await app.inject('/orders')
  t.equal(miss.statusCode, 200)
  t.equal(miss.headers['x-cache'], 'MISS', 'the first read fills the cache')
  const response = await app.inject({ url: '/orders', headers: { origin: 'https://admin.example', 'x-request-id': 'bench-1' } })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['x-cache'], 'HIT', 'the next is a hit: the cache layer is not one of those left out')
  t.equal(response.body, miss.body, 'with the bytes the miss sent')
  t.equal(response.json().pagination.total, 1, 'of the page holding the order')
  t.equal(response.headers['x-request-id'], undefined, 'no request id')
  t.equal(response.headers['content-security-policy'], undefined, 'no security headers')
  t.equal(response.headers['access-control-allow-origin'], undefined, 'no CORS')
  t.notMatch((await app.inject('/metrics')).body, /http_request_duration_seconds_count\{/, 'no request histogram')
  t.equal(app.log.level, undefined, 'no logger (Fastify\'s no-op one has no level)')
})

t.test('with every layer (the service as it always runs): all of them present', async (t) => {
  const app = await build(t)
  const response = await app.inject({ url: '/orders', headers: { origin: 'https://admin.example', 'x-request-id': 'bench-2' } })
  t.equal(response.headers['x-request-id'], 'bench-2')
  t.ok(response.headers['content-security-policy'])
  t.ok(response.headers['access-control-allow-origin'])
  t.match((await app.inject('/metrics')).body, /http_request_duration_seconds_count\{/)
})
