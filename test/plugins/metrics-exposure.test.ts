import t from 'tap'
import { build } from '../helper.js'
import { freePort } from '../free-port.js'

// Who can read /metrics and the API document: METRICS_TOKEN requires a bearer token,
// METRICS_PORT moves /metrics to a port of its own (off the service's port), DOCS_ENABLED=false
// serves neither /docs nor /openapi.json. The defaults (open, same port, docs on) are the
// README's.

t.test('METRICS_TOKEN: /metrics needs the bearer token', async (t) => {
  const app = await build(t, { env: { METRICS_TOKEN: 's3cret-token' } })
  const none = await app.inject('/metrics')
  t.equal(none.statusCode, 401)
  t.equal(none.json().code, 'UNAUTHORIZED')
  t.match(none.headers['www-authenticate'], /^Bearer/)
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode, 401)
  const ok = await app.inject({ url: '/metrics', headers: { authorization: 'Bearer s3cret-token' } })
  t.equal(ok.statusCode, 200)
  t.match(ok.body, /http_request_duration_seconds/)
})

t.test('METRICS_PORT: /metrics on a port of its own, not on the service\'s', async (t) => {
  const port = await freePort()
  const app = await build(t, { env: { METRICS_PORT: String(port), METRICS_TOKEN: 'port-token', HOST: '127.0.0.1' } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.equal((await app.inject('/metrics')).statusCode, 404, 'the service\'s port does not serve it')
  const base = `http://127.0.0.1:${port}`
  t.equal((await fetch(`${base}/metrics`)).status, 401, 'the token applies there too')
  const ok = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer port-token' } })
  t.equal(ok.status, 200)
  t.match(await ok.text(), /cache_hits_total/)
  t.equal((await fetch(`${base}/orders`)).status, 404, 'and nothing else')
})

t.test('the defaults: /metrics open on the service\'s port, docs served; DOCS_ENABLED=false turns the docs off', async (t) => {
  const open = await build(t)
  t.equal((await open.inject('/metrics')).statusCode, 200)
  t.equal((await open.inject('/openapi.json')).statusCode, 200)
  const off = await build(t, { env: { DOCS_ENABLED: 'false' } })
  t.equal((await off.inject('/openapi.json')).statusCode, 404)
  t.equal((await off.inject('/docs')).statusCode, 404)
  t.equal((await off.inject('/orders')).statusCode, 200, 'the API is unaffected')
})
