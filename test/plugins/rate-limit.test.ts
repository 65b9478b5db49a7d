import t from 'tap'
import { build, createOrder, redisFor, validOrder } from '../helper.js'
import { assertError } from '../routes/contract.js'
import { instances } from '../instances.js'
import { redisKeys } from '../../src/cache/keys.js'
import { ownRedis } from '../processes.js'
import { metric } from '../metrics-text.js'

// app.inject comes from 127.0.0.1: every request of a test shares one client budget.
const CLIENT_KEY = `${redisKeys.rateLimitPrefix}127.0.0.1`

t.test('off by default: no limit, no headers, no Redis key', async (t) => {
  const app = await build(t)
  const responses = await Promise.all(Array.from({ length: 30 }, () => app.inject('/orders')))
  t.ok(responses.every((r) => r.statusCode === 200), '30 requests, none limited')
  t.equal(responses[0]?.headers['x-ratelimit-limit'], undefined)
  t.equal(await redisFor(t, app).exists(CLIENT_KEY), 0)
})

t.test('RATE_LIMIT_MAX: the next request is 429 RATE_LIMITED with Retry-After, counted in Redis', async (t) => {
  const app = await build(t, { env: { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' } })
  for (let i = 1; i <= 3; i++) {
    const response = await app.inject('/orders')
    t.equal(response.statusCode, 200, `request ${i} is within the limit`)
    t.equal(response.headers['x-ratelimit-limit'], '3')
    t.equal(response.headers['x-ratelimit-remaining'], String(3 - i))
  }
  const limited = await app.inject({ method: 'POST', url: '/orders', payload: validOrder })
  assertError(t, limited, 429, 'RATE_LIMITED')
  const retryAfter = Number(limited.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 60, `Retry-After: ${retryAfter}`)
  t.equal((await app.orders.list(1, 10)).pagination.total, 0, 'the limited POST created nothing')

  const redis = redisFor(t, app)
  t.ok(Number(await redis.get(CLIENT_KEY)) >= 4, 'the count lives in Redis under the service namespace')
  const ttl = await redis.pttl(CLIENT_KEY)
  t.ok(ttl > 0 && ttl <= 60000, `expires with the window (${ttl} ms)`)

  for (const url of ['/health', '/health/ready', '/metrics']) {
    t.equal((await app.inject(url)).statusCode, 200, `${url} is never limited`)
  }
  const metrics = (await app.inject('/metrics')).body
  t.equal(metric(metrics, 'flowops_order_service_http_request_duration_seconds_count', { method: 'POST', route: '/orders', status_code: '429' }), 1,
    'limited requests show in the request metrics')
})

t.test('instances on one Redis share the budget', async (t) => {
  const env = { RATE_LIMIT_MAX: '4' }
  const [first, second] = await instances(t, 2, env)
  t.equal((await first.inject('/orders')).statusCode, 200)
  t.equal((await second.inject('/orders')).statusCode, 200)
  t.equal((await first.inject('/orders')).statusCode, 200)
  t.equal((await second.inject('/orders')).statusCode, 200)
  t.equal((await first.inject('/orders')).statusCode, 429, 'the fifth request, on either instance, is limited')
  t.equal((await second.inject('/orders')).statusCode, 429)
})

t.test('behind a trusted proxy, each client (X-Forwarded-For) has its own budget', async (t) => {
  const client = (ip: string) => ({ url: '/orders', headers: { 'x-forwarded-for': ip } })
  const proxied = await build(t, { env: { RATE_LIMIT_MAX: '1', TRUST_PROXY: '127.0.0.1' } })
  t.equal((await proxied.inject(client('203.0.113.1'))).statusCode, 200)
  t.equal((await proxied.inject(client('203.0.113.2'))).statusCode, 200, 'another client, another budget')
  t.equal((await proxied.inject(client('203.0.113.1'))).statusCode, 429)
  t.equal(await redisFor(t, proxied).exists(`${redisKeys.rateLimitPrefix}203.0.113.2`), 1)

  const direct = await build(t, { env: { RATE_LIMIT_MAX: '1' } })
  t.equal((await direct.inject(client('203.0.113.1'))).statusCode, 200)
  t.equal((await direct.inject(client('203.0.113.2'))).statusCode, 429, 'without TRUST_PROXY the header is not believed')
})

t.test('Redis stopped: the limit is skipped, requests are served', async (t) => {
  const redis = await ownRedis(t)
  const app = await build(t, { env: { REDIS_URL: redis.url, RATE_LIMIT_MAX: '2' } })
  await createOrder(app)
  await redis.stop()
  for (let i = 0; i < 5; i++) {
    const response = await app.inject('/orders')
    t.equal(response.statusCode, 200, `GET ${i + 1}, over the limit, is served`)
    t.equal(response.headers['x-cache'], 'BYPASS')
  }
  t.equal((await app.inject({ method: 'POST', url: '/orders', payload: validOrder })).statusCode, 201, 'POST is served')
})

t.test('Redis frozen: the limit is skipped after its deadline, never a hang', async (t) => {
  const redis = await ownRedis(t)
  const app = await build(t, {
    env: { REDIS_URL: redis.url, RATE_LIMIT_MAX: '2', RATE_LIMIT_REDIS_TIMEOUT_MS: '100', CACHE_REDIS_TIMEOUT_MS: '50' }
  })
  await createOrder(app)
  await redis.freeze()
  for (let i = 0; i < 4; i++) {
    const started = performance.now()
    const response = await app.inject('/orders')
    const ms = performance.now() - started
    t.equal(response.statusCode, 200, `GET ${i + 1} is served`)
    t.ok(ms < 1000, `in ${ms.toFixed(0)} ms`)
  }
  redis.thaw()
})
