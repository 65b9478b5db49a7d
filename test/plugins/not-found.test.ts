import t from 'tap'
import { build } from '../helper.js'
import { assertError } from '../routes/contract.js'
import { listening, rawRequest } from '../raw-http.js'

// Requests no route takes (plugins/app/not-found.ts), by RFC 9110: 404 for a path nothing
// serves, 405 with Allow for a known path asked with a method it does not serve, 204 with
// Allow for a plain OPTIONS. All with the contract's error body and the usual headers.

const ID = '665f1c2e8b3e4a0012345678'
const ORDER = ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']
const ORDERS = ['GET', 'HEAD', 'POST', 'OPTIONS']

const allowOf = (header: unknown) => String(header ?? '').split(',').map((method) => method.trim()).filter(Boolean)

t.test('a known path with a method it does not serve is 405 with Allow, and changes nothing', async (t) => {
  const app = await build(t)
  const cases: Array<[string, string, string[]]> = [
    ['PATCH', `/orders/${ID}`, ORDER],
    ['POST', `/orders/${ID}`, ORDER],
    ['TRACE', '/orders', ORDERS],
    ['DELETE', '/orders', ORDERS],
    ['PUT', '/orders', ORDERS],
    ['PROPFIND', '/orders', ORDERS],
    ['POST', '/health', ['GET', 'HEAD', 'OPTIONS']],
    ['DELETE', '/health/ready', ['GET', 'HEAD', 'OPTIONS']]
  ]
  for (const [method, url, allowed] of cases) {
    const response = await app.inject({ method: method as 'GET', url, payload: method === 'TRACE' ? undefined : { status: 'Cancelled' } })
    assertError(t, response, 405, 'METHOD_NOT_ALLOWED')
    t.same(allowOf(response.headers.allow), allowed, `${method} ${url}: Allow lists what the path serves`)
    t.match(response.json().message, url, 'the message names the path')
    t.equal(response.headers['x-content-type-options'], 'nosniff', 'security headers')
    t.ok(response.headers['x-request-id'], 'X-Request-Id')
  }
  for (const [method, headers] of [['PATCH', { 'content-type': 'text/plain' }], ['QUERY', {}], ['POST', { 'content-type': 'application/json' }]] as const) {
    const response = await app.inject({ method: method as 'GET', url: `/orders/${ID}`, headers, payload: method === 'QUERY' ? undefined : '{not json' })
    assertError(t, response, 405, 'METHOD_NOT_ALLOWED')
    t.same(allowOf(response.headers.allow), ORDER, `${method} with ${JSON.stringify(headers)}: 405 comes before the body is read`)
  }
  const browser = await app.inject({ method: 'PATCH', url: `/orders/${ID}`, headers: { origin: 'https://ui.example' } })
  t.equal(browser.statusCode, 405)
  t.ok(browser.headers['access-control-allow-origin'], 'a 405 carries the CORS headers, so a browser app can read it')
  t.equal(await app.mongo.db!.collection('orders').countDocuments(), 0, 'nothing was written')
})

t.test('a path nothing serves is 404 ROUTE_NOT_FOUND, whatever the method', async (t) => {
  const app = await build(t)
  for (const [method, url] of [['GET', '/nope'], ['PATCH', '/nope'], ['GET', `/orders/${ID}/items`], ['DELETE', '/docs/static/x'], ['OPTIONS', '/nope']]) {
    const response = await app.inject({ method: method as 'GET', url })
    assertError(t, response, 404, 'ROUTE_NOT_FOUND')
    t.equal(response.headers.allow, undefined, `${method} ${url}: no Allow`)
    t.match(response.json().message, url, 'the message names the route')
  }
})

t.test('OPTIONS that is not a CORS preflight is 204 with Allow; a preflight stays CORS', async (t) => {
  const app = await build(t)
  for (const [url, allowed] of [['/orders', ORDERS], [`/orders/${ID}`, ORDER]] as const) {
    const response = await app.inject({ method: 'OPTIONS', url })
    t.equal(response.statusCode, 204, url)
    t.same(allowOf(response.headers.allow), allowed, `${url}: Allow`)
    t.equal(response.body, '', 'no body')
  }
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: `/orders/${ID}`,
    headers: { origin: 'https://ui.example', 'access-control-request-method': 'PUT' }
  })
  t.equal(preflight.statusCode, 204)
  t.ok(preflight.headers['access-control-allow-methods'], 'answered by CORS')
  t.equal(preflight.headers['x-frame-options'], 'DENY', 'a preflight carries the security headers too')
  t.ok(preflight.headers['x-request-id'], 'and X-Request-Id')
})

t.test('CONNECT, which Node does not route, gets 405 with Allow (or 404), not a dropped connection', async (t) => {
  const { port } = await listening(t)
  const known = await rawRequest(port, 'CONNECT /orders HTTP/1.1\r\nHost: localhost\r\n\r\n')
  assertError(t, known, 405, 'METHOD_NOT_ALLOWED')
  t.same(allowOf(known.headers.allow), ORDERS)
  t.equal(known.headers['x-content-type-options'], 'nosniff')
  const unknown = await rawRequest(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
  assertError(t, unknown, 404, 'ROUTE_NOT_FOUND')
})
