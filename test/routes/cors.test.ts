import t from 'tap'
import { build } from '../helper.js'

// CORS: the admin UI runs on another origin. Any origin by default; CORS_ORIGINS restricts it.

const preflight = (origin: string, method = 'PUT') => ({
  method: 'OPTIONS' as const,
  url: '/orders/665f1c2e8b3e4a0012345678',
  headers: {
    origin,
    'access-control-request-method': method,
    'access-control-request-headers': 'content-type,if-match'
  }
})

const exposed = (header: unknown) => String(header ?? '').split(',').map((name) => name.trim().toLowerCase())

t.test('by default a preflight from another origin is allowed', async (t) => {
  const app = await build(t)
  const response = await app.inject(preflight('https://ui.example'))
  t.equal(response.statusCode, 204)
  t.ok(['*', 'https://ui.example'].includes(String(response.headers['access-control-allow-origin'])), 'origin allowed')
  const methods = exposed(response.headers['access-control-allow-methods'])
  for (const method of ['get', 'post', 'put', 'delete']) t.ok(methods.includes(method), `allows ${method}`)
  const headers = exposed(response.headers['access-control-allow-headers'])
  for (const header of ['content-type', 'if-match']) t.ok(headers.includes(header), `allows ${header}`)
})

t.test('by default responses expose Location, ETag and X-Cache to another origin', async (t) => {
  const app = await build(t)
  const created = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: { origin: 'https://ui.example' },
    payload: { customer: 'Ada Lovelace', address: '12 Analytical Row', items: [{ sku: 'A', qty: 1, price: 1 }] }
  })
  t.equal(created.statusCode, 201)
  t.ok(created.headers['access-control-allow-origin'], 'the create response allows the origin')
  for (const response of [created, await app.inject({ url: '/orders', headers: { origin: 'https://ui.example' } })]) {
    const names = exposed(response.headers['access-control-expose-headers'])
    for (const header of ['location', 'etag', 'x-cache']) t.ok(names.includes(header), `exposes ${header}`)
  }
  const preflightResponse = await app.inject(preflight('https://ui.example', 'POST'))
  t.equal(preflightResponse.statusCode, 204)
  const names = exposed(preflightResponse.headers['access-control-expose-headers'])
  for (const header of ['location', 'etag', 'x-cache']) t.ok(names.includes(header), `the preflight exposes ${header}`)
})

t.test('CORS_ORIGINS restricts the allowed origins', async (t) => {
  const app = await build(t, { env: { CORS_ORIGINS: 'https://admin.example' } })

  const allowed = await app.inject(preflight('https://admin.example'))
  t.equal(allowed.statusCode, 204)
  t.equal(allowed.headers['access-control-allow-origin'], 'https://admin.example', 'the configured origin is allowed')

  const refused = await app.inject(preflight('https://evil.example'))
  t.notOk(refused.statusCode >= 500, 'never a 500')
  t.equal(refused.headers['access-control-allow-origin'], undefined, 'another origin gets no allow-origin')

  const read = await app.inject({ url: '/orders', headers: { origin: 'https://evil.example' } })
  t.equal(read.statusCode, 200, 'the server still answers; the browser enforces CORS')
  t.equal(read.headers['access-control-allow-origin'], undefined, 'no allow-origin on a simple request either')
})
