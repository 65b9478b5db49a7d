import t from 'tap'
import { build, createOrder } from '../helper.js'
import { assertError, assertOrderShape } from './contract.js'

// GET /orders/:id: the order with its ETag, 400 for a malformed id, 404 for an unknown one.

t.test('an existing order is 200 with ETag "1" and the read-through cache header', async (t) => {
  const app = await build(t)
  const created = await createOrder(app)

  const first = await app.inject(`/orders/${created._id}`)
  t.equal(first.statusCode, 200)
  t.match(first.headers['content-type'], /^application\/json/)
  t.equal(first.headers.etag, '"1"')
  t.equal(first.headers['x-cache'], 'MISS')
  assertOrderShape(t, first.json())
  t.same(first.json(), created, 'the order as created')

  const second = await app.inject(`/orders/${created._id}`)
  t.equal(second.statusCode, 200)
  t.equal(second.headers['x-cache'], 'HIT')
  t.equal(second.headers.etag, '"1"', 'a cache hit still carries the ETag')
  t.equal(second.body, first.body, 'a hit serves the same bytes')
})

t.test('an id in upper-case hex names the same order', async (t) => {
  const app = await build(t)
  const created = await createOrder(app)
  const response = await app.inject(`/orders/${created._id.toUpperCase()}`)
  t.equal(response.statusCode, 200)
  t.equal(response.json()._id, created._id)
})

const badIds: Array<[string, string]> = [
  ['too short', 'abc'],
  ['23 hex', '0'.repeat(23)],
  ['25 hex (too long)', 'a'.repeat(25)],
  ['48 hex (too long)', 'ab'.repeat(24)],
  ['200 characters', 'f'.repeat(200)],
  ['24 characters, not hex', 'z'.repeat(24)],
  ['a hex id with a trailing space', `${'a'.repeat(24)}%20`],
  ['an operator', '%7B%22%24gt%22%3A%22%22%7D'],
  ['a path traversal', '..%2F..%2Fetc%2Fpasswd'],
  ['a NUL byte', `${'a'.repeat(23)}%00`]
]

t.test('a malformed id is 400 VALIDATION_ERROR', async (t) => {
  const app = await build(t)
  for (const [name, id] of badIds) {
    await t.test(name, async (t) => {
      assertError(t, await app.inject(`/orders/${id}`), 400, 'VALIDATION_ERROR')
    })
  }
})

// The router refuses params over maxParamLength (200) and undecodable paths before any
// handler runs; the contract still wants a 400 with the service's own error body.
t.test('an id longer than the router accepts is 400 VALIDATION_ERROR', async (t) => {
  const app = await build(t)
  for (const length of [201, 1000]) {
    assertError(t, await app.inject(`/orders/${'a'.repeat(length)}`), 400, 'VALIDATION_ERROR')
  }
})

t.test('an undecodable id is 400 with a service error code', async (t) => {
  const app = await build(t)
  const response = await app.inject('/orders/%zz')
  t.equal(response.statusCode, 400, response.body)
  const body = response.json()
  t.same(Object.keys(body).sort(), ['code', 'error', 'message', 'statusCode'], 'the contract error body')
  t.notMatch(body.code, /^FST_/, 'a stable service code, not a Fastify internal one')
})

t.test('an unknown id is 404 ORDER_NOT_FOUND', async (t) => {
  const app = await build(t)
  await createOrder(app)
  const unknown = 'ffffffffffffffffffffffff'
  const response = await app.inject(`/orders/${unknown}`)
  assertError(t, response, 404, 'ORDER_NOT_FOUND')
  t.match(response.json().message, unknown, 'the message names the id')
  assertError(t, await app.inject(`/orders/${unknown}`), 404, 'ORDER_NOT_FOUND')
})

t.test('an unknown route is 404 ROUTE_NOT_FOUND', async (t) => {
  const app = await build(t)
  const cases: Array<[string, string]> = [
    ['GET', '/nope'],
    ['GET', '/orders/665f1c2e8b3e4a0012345678/items'],
    ['POST', '/orders/665f1c2e8b3e4a0012345678/items']
  ]
  // A known path with an unserved method is 405 with Allow: test/plugins/not-found.test.ts.
  for (const [method, url] of cases) {
    const response = await app.inject({ method: method as 'GET', url })
    assertError(t, response, 404, 'ROUTE_NOT_FOUND')
    t.match(response.json().message, url, `${method} ${url}: the message names the route`)
  }
})
