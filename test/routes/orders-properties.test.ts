import t, { type Test } from 'tap'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { build, createOrder, type TestApp } from '../helper.js'
import { ORDERS_COLLECTION } from '../../src/orders/repository.js'
import { OpenApiOracle, isDecimalMultiple } from './openapi-oracle.js'

// Property-based tests (fast-check) of the validation of every route, with the service's own
// OpenAPI document as the oracle. For generated requests, valid and not:
// - never a 5xx;
// - the answer is one the document lists: its status, a body matching that status's schema;
// - the document decides: a request it calls valid is accepted (or refused only for the
//   order's state: 404, 412, 422), one it calls invalid is 400;
// - a refused request writes nothing: the orders collection is byte-for-byte unchanged.
// Every check inside a property throws (node:assert), never a tap assertion (which records a
// failure and carries on: fast-check would see the run pass, and neither shrink nor report it).
// FAST_CHECK_RUNS raises the number of runs per property (default 100). A failure fails the
// test with fast-check's report: the seed, the path and the shrunk counterexample, and the
// command that replays exactly that counterexample:
//   FAST_CHECK_SEED=<seed> FAST_CHECK_PATH=<path> npx tap test/routes/orders-properties.test.ts
// (FAST_CHECK_SEED alone reruns the whole sequence of that seed.)

const RUNS = Number(process.env.FAST_CHECK_RUNS ?? 100)
const SEED = process.env.FAST_CHECK_SEED === undefined ? undefined : Number(process.env.FAST_CHECK_SEED)
const PATH = process.env.FAST_CHECK_PATH
const PARAMETERS: fc.Parameters<unknown> = {
  numRuns: RUNS,
  ...(SEED === undefined ? {} : { seed: SEED }),
  ...(PATH === undefined ? {} : { path: PATH })
}

/**
 * fc.assert with this file's parameters. Its error (which fails the tap test) carries the seed
 * and path; the replay command is added to it.
 */
async function holds<Ts> (t: Test, property: fc.IRawProperty<Ts>): Promise<void> {
  try {
    await fc.assert(property, PARAMETERS as fc.Parameters<Ts>)
    t.pass(`the property held over ${RUNS} runs${SEED === undefined ? '' : ` of seed ${SEED}`}`)
  } catch (err) {
    const found = err instanceof Error ? /seed: (-?\d+), path: "([^"]*)"/.exec(err.message) : null
    if (err instanceof Error && found) {
      err.message += `\nReplay it: FAST_CHECK_SEED=${found[1]} FAST_CHECK_PATH=${found[2]} npx tap test/routes/orders-properties.test.ts`
    }
    throw err
  }
}

// ---- arbitraries: mostly near the rules' edges, so valid and invalid both come up often ----

const SPACES = [' ', '\t', '\n', '\u00a0', '\u2003', '\u3000', '\ufeff']
const LETTERS = ['a', 'Z', '7', '-', 'é', '😀', '\u0000', '"', '\\']
/** Text around the trimmed-length rules: spaces of several kinds around a core of characters. */
const paddedText = (minCore: number, maxCore: number) => fc.tuple(
  fc.array(fc.constantFrom(...SPACES), { maxLength: 3 }),
  fc.string({ minLength: minCore, maxLength: maxCore, unit: fc.constantFrom(...LETTERS, ...LETTERS, ' ') }),
  fc.array(fc.constantFrom(...SPACES), { maxLength: 3 })
).map(([before, core, after]) => before.join('') + core + after.join(''))
/** Mostly a valid value; one time in `odds`, something near or past an edge. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, edge: fc.Arbitrary<U>, odds = 8) =>
  fc.oneof({ weight: odds, arbitrary: valid }, { weight: 1, arbitrary: edge })
const text = (min: number, maxLength: number) => mostly(paddedText(min + 1, min + 6), fc.oneof(
  paddedText(0, min + 1),
  fc.string({ maxLength, unit: 'binary' }),
  fc.string({ minLength: maxLength - 2, maxLength: maxLength + 2 }),
  fc.oneof(fc.integer(), fc.constant(null), fc.boolean(), fc.constant({ $gt: '' }))
))
const price = mostly(fc.integer({ min: 0, max: 100_000_000 }).map((cents) => cents / 100), fc.oneof(
  fc.double({ min: -1, max: 1_100_000, noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0.29, 0.1 + 0.2, 1.005, 0.001, 1e-7, 1_000_000, 1_000_000.01, 999_999.99, 5e-324, '1.00', null)
))
const qty = mostly(fc.integer({ min: 1, max: 10_000 }), fc.oneof(
  fc.integer({ min: -5, max: 20_000 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant('3')
))
const item = fc.record({ sku: text(1, 64), qty, price })
const items = mostly(fc.array(item, { minLength: 1, maxLength: 3 }), fc.oneof(
  fc.constant([]),
  fc.record({ sku: text(1, 64), qty, price }, { requiredKeys: [] }).map((partial) => [partial]),
  fc.tuple(item, fc.constantFrom('color', 'discount', '$set')).map(([i, key]) => [{ ...i, [key]: 1 }]),
  fc.integer({ min: 99, max: 101 }).map((n) => Array.from({ length: n }, (_, i) => ({ sku: `S${i}`, qty: 1, price: 1 }))),
  fc.oneof(fc.constant(null), fc.constant('items'), item)
), 12)
const status = mostly(fc.constantFrom('Pending', 'Completed', 'Cancelled'), fc.constantFrom('pending', 'Shipped', '', 3))
const fields = { customer: text(2, 200), address: text(5, 500), items, status }
const extraField = fc.constantFrom('totalAmount', 'version', '_id', 'discount', '$where', 'createdAt')

/** A JSON body: mostly order-shaped with any field missing, wrong or extra; sometimes anything. */
const orderBody = (required: Array<keyof typeof fields>) => fc.oneof(
  { weight: 10, arbitrary: fc.record(fields, { requiredKeys: required }) },
  { weight: 2, arbitrary: fc.record(fields, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.tuple(fc.record(fields, { requiredKeys: required }), extraField, fc.jsonValue()).map(([body, key, value]) => ({ ...body, [key]: value })) },
  { weight: 1, arbitrary: fc.jsonValue() }
)

/** Bodies that are not valid JSON, or that Fastify must refuse before validation. */
const rawBody = fc.constantFrom(
  '', '{', '{"customer":"Ada",}', 'null', '[]', '"order"', 'NaN',
  '{"customer":"Ada Lovelace","address":"12 Analytical Row","items":[{"sku":"S","qty":1,"price":1}],"__proto__":{"x":1}}',
  '{"customer":"Ada Lovelace","address":"12 Analytical Row","items":[{"sku":"S","qty":1,"price":1}],"constructor":{"prototype":{"x":1}}}'
)

const HEX = '0123456789abcdef'
const unknownId = fc.string({ minLength: 24, maxLength: 24, unit: fc.constantFrom(...HEX) })
const junkId = fc.oneof(
  fc.string({ maxLength: 30 }).filter((id) => id.length > 0).map(encodeURIComponent),
  fc.constantFrom('%zz', 'a'.repeat(201), 'ffffffffffffffffffffffffff', 'G'.repeat(24), '665f1c2e8b3e4a001234567')
)

/** If-Match values: mostly absent, current or *; else stale, weak, lists, empty, malformed. */
const ifMatch = (version: number) => mostly(fc.constantFrom(undefined, `"${version}"`, '*'), fc.oneof(
  fc.constantFrom(`"${version + 1}"`, `W/"${version}"`, '', `"0", "${version}"`, `${version}`, `"${version}`, 'W/', '"a""b"'),
  fc.string({ maxLength: 12, unit: fc.constantFrom('"', 'W', '/', ',', ' ', '1', '*', 'x') })
), 3)

// ---- helpers ----

async function snapshot (app: TestApp): Promise<string> {
  const docs = await app.mongo.db!.collection(ORDERS_COLLECTION).find({}, { sort: { _id: 1 } }).toArray()
  return JSON.stringify(docs)
}

function send (body: unknown) {
  return typeof body === 'string' && body.startsWith('raw:')
    ? { payload: body.slice(4), headers: { 'content-type': 'application/json' } }
    : { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
}

// ---- the properties ----

t.test('the document\'s decimal multipleOf reads numbers as their decimal text', async (t) => {
  t.ok(isDecimalMultiple(0.29, 0.01))
  t.ok(isDecimalMultiple(999_999.99, 0.01))
  t.notOk(isDecimalMultiple(0.1 + 0.2, 0.01))
  t.notOk(isDecimalMultiple(1e-7, 0.01))
  await holds(t, fc.property(fc.integer({ min: 0, max: 100_000_000 }), (cents) => isDecimalMultiple(cents / 100, 0.01)))
})

t.test('POST /orders: accepted exactly when the document says the body is valid; a refusal writes nothing', async (t) => {
  const app = await build(t)
  const oracle = await OpenApiOracle.of(app)
  let accepted = 0
  let refused = 0
  await holds(t, fc.asyncProperty(fc.oneof({ weight: 12, arbitrary: orderBody(['customer', 'address', 'items']) }, { weight: 1, arbitrary: rawBody.map((raw) => `raw:${raw}`) }), async (body) => {
    const before = await snapshot(app)
    const response = await app.inject({ method: 'POST', url: '/orders', ...send(body) })
    assert.ok(response.statusCode < 500, `no 5xx (${response.statusCode} ${response.body.slice(0, 200)})`)
    oracle.assertAnswer('POST', '/orders', response)
    const valid = !(typeof body === 'string' && body.startsWith('raw:')) && oracle.acceptsBody('POST', '/orders', body)
    if (response.statusCode === 201) {
      accepted++
      assert.ok(valid, `accepted, so the document calls it valid: ${JSON.stringify(body).slice(0, 300)}`)
      const read = await app.inject(`/orders/${response.json()._id}`)
      assert.deepEqual(read.json(), response.json(), 'what was created is what GET reads')
      return
    }
    refused++
    assert.equal(response.statusCode, 400, `refused with 400 (${response.body.slice(0, 200)})`)
    assert.ok(!valid, `refused, so the document calls it invalid: ${JSON.stringify(body).slice(0, 300)} -> ${response.body.slice(0, 200)}`)
    assert.equal(await snapshot(app), before, 'a refused request writes nothing')
  }))
  t.ok(accepted > 0 && refused > 0, `both outcomes came up (${accepted} accepted, ${refused} refused)`)
})

t.test('PUT /orders/:id: a body or If-Match the document refuses is 400; nothing but a 200 writes', async (t) => {
  const app = await build(t)
  const oracle = await OpenApiOracle.of(app)
  const completed = await createOrder(app, { customer: 'Done Customer', address: '1 Final Road', items: [{ sku: 'S', qty: 1, price: 1 }], status: 'Completed' })
  const outcomes = new Map<number, number>()
  await holds(t, fc.asyncProperty(
    fc.oneof({ weight: 12, arbitrary: orderBody([]) }, { weight: 1, arbitrary: rawBody.map((raw) => `raw:${raw}`) }),
    fc.constantFrom('fresh', 'fresh', 'fresh', 'FRESH', 'completed', 'unknown', 'junk'),
    unknownId, junkId, ifMatch(1),
    async (body, target, unknown, junk, tag) => {
      const fresh = await createOrder(app)
      const id = { fresh: fresh._id, FRESH: fresh._id.toUpperCase(), completed: completed._id, unknown, junk }[target] as string
      const before = await snapshot(app)
      const response = await app.inject({
        method: 'PUT',
        url: `/orders/${id}`,
        ...send(body),
        headers: { ...send(body).headers, ...(tag === undefined ? {} : { 'if-match': tag }) }
      })
      outcomes.set(response.statusCode, (outcomes.get(response.statusCode) ?? 0) + 1)
      assert.ok(response.statusCode < 500, `no 5xx (${response.statusCode} ${response.body.slice(0, 200)})`)
      oracle.assertAnswer('PUT', '/orders/{id}', response)
      const valid = !(typeof body === 'string' && body.startsWith('raw:')) &&
        oracle.acceptsBody('PUT', '/orders/{id}', body) &&
        oracle.acceptsParameter('PUT', '/orders/{id}', 'id', decodeURIComponentSafe(id)) &&
        oracle.acceptsParameter('PUT', '/orders/{id}', 'if-match', tag)
      if (valid) assert.ok([200, 404, 412, 422].includes(response.statusCode), `a valid request is refused only for the order's state (${response.statusCode})`)
      else assert.equal(response.statusCode, 400, `an invalid request is 400 (${response.body.slice(0, 200)})`)
      if (response.statusCode === 200) {
        assert.equal(response.json().version, 2, 'one update, one version')
        assert.deepEqual((await app.inject(`/orders/${fresh._id}`)).json(), response.json(), 'GET reads the update')
      } else {
        assert.equal(await snapshot(app), before, 'a refused request writes nothing')
      }
    }))
  t.ok((outcomes.get(200) ?? 0) > 0 && (outcomes.get(400) ?? 0) > 0, `updates and refusals both came up (${JSON.stringify([...outcomes])})`)
})

t.test('DELETE /orders/:id: an id or If-Match the document refuses is 400; nothing but a 200 writes', async (t) => {
  const app = await build(t)
  const oracle = await OpenApiOracle.of(app)
  const outcomes = new Map<number, number>()
  await holds(t, fc.asyncProperty(
    fc.constantFrom('fresh', 'cancelled', 'unknown', 'junk'), unknownId, junkId, ifMatch(1),
    async (target, unknown, junk, tag) => {
      const fresh = await createOrder(app)
      const cancelled = await createOrder(app, { customer: 'Gone Customer', address: '1 Cancelled Road', items: [{ sku: 'S', qty: 1, price: 1 }], status: 'Cancelled' })
      const id = { fresh: fresh._id, cancelled: cancelled._id, unknown, junk }[target] as string
      const before = await snapshot(app)
      const response = await app.inject({ method: 'DELETE', url: `/orders/${id}`, headers: tag === undefined ? {} : { 'if-match': tag } })
      outcomes.set(response.statusCode, (outcomes.get(response.statusCode) ?? 0) + 1)
      assert.ok(response.statusCode < 500, `no 5xx (${response.statusCode} ${response.body.slice(0, 200)})`)
      oracle.assertAnswer('DELETE', '/orders/{id}', response)
      const valid = oracle.acceptsParameter('DELETE', '/orders/{id}', 'id', decodeURIComponentSafe(id)) &&
        oracle.acceptsParameter('DELETE', '/orders/{id}', 'if-match', tag)
      if (valid) assert.ok([200, 404, 412, 422].includes(response.statusCode), `a valid request is refused only for the order's state (${response.statusCode})`)
      else assert.equal(response.statusCode, 400, `an invalid request is 400 (${response.body.slice(0, 200)})`)
      if (response.statusCode === 200) assert.equal(response.json().order.status, 'Cancelled')
      else assert.equal(await snapshot(app), before, 'a refused request writes nothing')
    }))
  t.ok((outcomes.get(200) ?? 0) > 0 && (outcomes.get(400) ?? 0) > 0, `cancellations and refusals both came up (${JSON.stringify([...outcomes])})`)
})

t.test('GET /orders: a query the document allows is 200, anything else 400, every answer as documented', async (t) => {
  const app = await build(t)
  const oracle = await OpenApiOracle.of(app)
  for (let i = 0; i < 3; i++) await createOrder(app)
  const number = fc.oneof(
    fc.integer({ min: -2, max: 1_000_002 }).map(String),
    fc.constantFrom('', '1.5', '1e2', '0x10', ' 3', '+3', '03', 'abc', '9'.repeat(30), '-0', '١'),
    fc.string({ maxLength: 6 })
  )
  await holds(t, fc.asyncProperty(fc.option(number), fc.option(number), fc.option(fc.constantFrom('sort', 'page[]', 'q', 'LIMIT')), async (page, limit, extra) => {
    const query = new URLSearchParams()
    if (page !== null) query.set('page', page)
    if (limit !== null) query.set('limit', limit)
    if (extra !== null) query.set(extra, '1')
    const response = await app.inject(`/orders?${query.toString()}`)
    assert.ok(response.statusCode < 500, `no 5xx (${response.statusCode})`)
    oracle.assertAnswer('GET', '/orders', response)
    const valid = extra === null &&
      oracle.acceptsParameter('GET', '/orders', 'page', page ?? undefined) &&
      oracle.acceptsParameter('GET', '/orders', 'limit', limit ?? undefined)
    assert.equal(response.statusCode, valid ? 200 : 400, `page=${page} limit=${limit} ${extra ?? ''}: ${response.body.slice(0, 150)}`)
  }))
})

t.test('GET /orders/:id: a 24-hex id is 200 or 404, anything else 400, every answer as documented', async (t) => {
  const app = await build(t)
  const oracle = await OpenApiOracle.of(app)
  const order = await createOrder(app)
  await holds(t, fc.asyncProperty(fc.oneof(fc.constant(order._id), fc.constant(order._id.toUpperCase()), unknownId, junkId), async (id) => {
    const response = await app.inject(`/orders/${id}`)
    assert.ok(response.statusCode < 500, `no 5xx (${response.statusCode})`)
    oracle.assertAnswer('GET', '/orders/{id}', response)
    const valid = oracle.acceptsParameter('GET', '/orders/{id}', 'id', decodeURIComponentSafe(id))
    if (valid) assert.ok([200, 404].includes(response.statusCode), `${id}: ${response.statusCode}`)
    else assert.equal(response.statusCode, 400, `${id}: ${response.body.slice(0, 150)}`)
  }))
})

function decodeURIComponentSafe (text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
