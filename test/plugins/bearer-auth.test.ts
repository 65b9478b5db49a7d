import t from 'tap'
import { build, createOrder, redisFor, validOrder } from '../helper.js'
import { assertError } from '../routes/contract.js'
import { redisKeys } from '../../src/cache/keys.js'

const TOKENS = { API_TOKENS: 'alpha-token, beta-token' }
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

t.test('without API_TOKENS, writes need no token', async (t) => {
  const app = await build(t)
  const order = await createOrder(app)
  const put = await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Open Write' } })
  t.equal(put.statusCode, 200)
  t.equal(put.headers['www-authenticate'], undefined)
})

t.test('with API_TOKENS: POST, PUT and DELETE without a valid token are 401 and change nothing', async (t) => {
  const app = await build(t, { env: TOKENS })
  const created = await app.inject({ method: 'POST', url: '/orders', headers: bearer('alpha-token'), payload: validOrder })
  t.equal(created.statusCode, 201, 'a valid token creates')
  const id = created.json()._id
  const redis = redisFor(t, app)

  const attempts = [
    { method: 'POST' as const, url: '/orders', payload: validOrder },
    { method: 'PUT' as const, url: `/orders/${id}`, payload: { customer: 'Intruder' } },
    { method: 'DELETE' as const, url: `/orders/${id}` }
  ]
  for (const attempt of attempts) {
    const missing = await app.inject(attempt)
    assertError(t, missing, 401, 'UNAUTHORIZED')
    t.equal(missing.headers['www-authenticate'], 'Bearer realm="order-service"', `${attempt.method} without a token: challenge`)

    for (const authorization of ['Bearer wrong-token', 'Bearer alpha-token-but-longer', 'Basic YWxwaGE6dG9rZW4=', 'alpha-token']) {
      const wrong = await app.inject({ ...attempt, headers: { authorization } })
      assertError(t, wrong, 401, 'UNAUTHORIZED')
      t.equal(wrong.headers['www-authenticate'], 'Bearer realm="order-service", error="invalid_token"', `${attempt.method} with "${authorization}"`)
    }
  }
  t.equal(await redis.exists(redisKeys.orderLock(id)), 0, 'no lock was taken')
  const list = (await app.inject('/orders')).json()
  t.equal(list.pagination.total, 1, 'no unauthenticated POST created an order')
  t.equal(list.data[0].customer, validOrder.customer, 'no unauthenticated PUT changed it')
  t.equal(list.data[0].status, 'Pending', 'no unauthenticated DELETE cancelled it')

  const put = await app.inject({ method: 'PUT', url: `/orders/${id}`, headers: bearer('beta-token'), payload: { customer: 'Second Token' } })
  t.equal(put.statusCode, 200, 'every listed token works')
  const cancel = await app.inject({ method: 'DELETE', url: `/orders/${id}`, headers: bearer('alpha-token') })
  t.equal(cancel.statusCode, 200)
})

t.test('with API_TOKENS: reads, health, metrics and CORS preflights stay open', async (t) => {
  const app = await build(t, { env: TOKENS })
  const created = await app.inject({ method: 'POST', url: '/orders', headers: bearer('alpha-token'), payload: validOrder })
  for (const url of ['/orders', `/orders/${created.json()._id}`, '/health', '/health/ready', '/metrics', '/openapi.json']) {
    t.equal((await app.inject(url)).statusCode, 200, `GET ${url}`)
  }
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/orders',
    headers: { origin: 'https://admin.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' }
  })
  t.equal(preflight.statusCode, 204)
  t.match(String(preflight.headers['access-control-allow-headers']).toLowerCase(), /authorization/)
})

t.test('an unauthenticated request is refused before its body is read', async (t) => {
  const app = await build(t, { env: { ...TOKENS, BODY_LIMIT_BYTES: '1024' } })
  const response = await app.inject({ method: 'POST', url: '/orders', headers: { 'content-type': 'application/json' }, payload: 'x'.repeat(4096) })
  assertError(t, response, 401, 'UNAUTHORIZED')
})
