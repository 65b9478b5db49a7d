import t from 'tap'
import { build, validOrder, type TestApp } from '../helper.js'
import { assertError, assertOrderShape } from './contract.js'

// POST /orders: 201 with the created order, or a contract error that changes nothing.

const post = (app: TestApp, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/orders', headers, payload: payload as object })

const json = (text: string) => ({ payload: text, headers: { 'content-type': 'application/json' } })
const withItem = (item: object) => ({ ...validOrder, items: [{ sku: 'SKU-1', qty: 1, price: 1, ...item }] })
const without = (field: string) => Object.fromEntries(Object.entries(validOrder).filter(([key]) => key !== field))
const items = (count: number) => Array.from({ length: count }, (_, i) => ({ sku: `SKU-${i}`, qty: 1, price: 1 }))
const validJson = JSON.stringify(validOrder).slice(1, -1) // the fields, without the braces

t.test('a valid order is created: 201, Location, ETag and every field', async (t) => {
  const app = await build(t)
  const response = await post(app, {
    customer: '  Ada Lovelace  ',
    address: '\t12 Analytical Row, London \n',
    items: [{ sku: 'SKU-1', qty: 3, price: 0.1 }, { sku: 'SKU-2', qty: 1, price: 19.99 }]
  })
  t.equal(response.statusCode, 201)
  const order = response.json()
  assertOrderShape(t, order)
  t.equal(response.headers.location, `/orders/${order._id}`)
  t.equal(response.headers.etag, '"1"')
  t.equal(order.customer, 'Ada Lovelace', 'customer is trimmed')
  t.equal(order.address, '12 Analytical Row, London', 'address is trimmed')
  t.same(order.items, [{ sku: 'SKU-1', qty: 3, price: 0.1 }, { sku: 'SKU-2', qty: 1, price: 19.99 }])
  t.equal(order.totalAmount, 20.29)
  t.equal(order.status, 'Pending', 'status defaults to Pending')
  t.equal(order.version, 1)
  t.equal(order.createdAt, order.updatedAt, 'createdAt equals updatedAt on create')
  t.ok(Math.abs(Date.parse(order.createdAt) - Date.now()) < 60_000, 'createdAt is now')

  const read = await app.inject(`/orders/${order._id}`)
  t.equal(read.statusCode, 200)
  t.same(read.json(), order, 'GET returns what POST returned')
})

t.test('a given status is kept', async (t) => {
  const app = await build(t)
  for (const status of ['Pending', 'Completed', 'Cancelled']) {
    const response = await post(app, { ...validOrder, status })
    t.equal(response.statusCode, 201, status)
    t.equal(response.json().status, status)
  }
})

t.test('a JSON content type with a charset is accepted', async (t) => {
  const app = await build(t)
  const response = await post(app, JSON.stringify(validOrder), { 'content-type': 'application/json; charset=utf-8' })
  t.equal(response.statusCode, 201)
})

t.test('totalAmount is computed by the server, exact to the cent', async (t) => {
  const app = await build(t)
  const cases: Array<[string, Array<{ qty: number, price: number }>, number]> = [
    ['3 x 0.10', [{ qty: 3, price: 0.1 }], 0.3],
    ['0.10 + 0.20', [{ qty: 1, price: 0.1 }, { qty: 1, price: 0.2 }], 0.3],
    ['10 x 0.10', Array.from({ length: 10 }, () => ({ qty: 1, price: 0.1 })), 1],
    ['1.15 + 4.35', [{ qty: 1, price: 1.15 }, { qty: 1, price: 4.35 }], 5.5],
    ['7 x 19.99', [{ qty: 7, price: 19.99 }], 139.93],
    ['free items', [{ qty: 5, price: 0 }], 0],
    ['largest qty x price', [{ qty: 10_000, price: 999_999.99 }], 9_999_999_900],
    ['100 largest lines', Array.from({ length: 100 }, () => ({ qty: 10_000, price: 999_999.99 })), 999_999_990_000]
  ]
  for (const [name, lines, expected] of cases) {
    const response = await post(app, { ...validOrder, items: lines.map((line, i) => ({ sku: `S${i}`, ...line })) })
    t.equal(response.statusCode, 201, name)
    t.equal(response.json().totalAmount, expected, `${name} = ${expected}`)
  }
})

t.test('a client totalAmount is not accepted', async (t) => {
  const app = await build(t)
  assertError(t, await post(app, { ...validOrder, totalAmount: 0 }), 400, 'VALIDATION_ERROR')
})

// [name, request, status, code]. A request is an object payload, or a raw payload and headers.
type Request = { payload: unknown, headers?: Record<string, string> }
const mistakes: Array<[string, Request, number, string]> = [
  ['missing customer', { payload: without('customer') }, 400, 'VALIDATION_ERROR'],
  ['missing address', { payload: without('address') }, 400, 'VALIDATION_ERROR'],
  ['missing items', { payload: without('items') }, 400, 'VALIDATION_ERROR'],
  ['customer 1 char once trimmed', { payload: { ...validOrder, customer: '   A   ' } }, 400, 'VALIDATION_ERROR'],
  ['customer only spaces', { payload: { ...validOrder, customer: '      ' } }, 400, 'VALIDATION_ERROR'],
  ['address 4 chars once trimmed', { payload: { ...validOrder, address: '  Road  ' } }, 400, 'VALIDATION_ERROR'],
  ['customer over 200 chars', { payload: { ...validOrder, customer: 'c'.repeat(201) } }, 400, 'VALIDATION_ERROR'],
  ['address over 500 chars', { payload: { ...validOrder, address: 'a'.repeat(501) } }, 400, 'VALIDATION_ERROR'],
  ['customer a number', { payload: { ...validOrder, customer: 12345 } }, 400, 'VALIDATION_ERROR'],
  ['unknown field', { payload: { ...validOrder, discount: 10 } }, 400, 'VALIDATION_ERROR'],
  ['items empty', { payload: { ...validOrder, items: [] } }, 400, 'VALIDATION_ERROR'],
  ['101 items', { payload: { ...validOrder, items: items(101) } }, 400, 'VALIDATION_ERROR'],
  ['items not an array', { payload: { ...validOrder, items: { sku: 'S', qty: 1, price: 1 } } }, 400, 'VALIDATION_ERROR'],
  ['unknown item field', { payload: withItem({ color: 'red' }) }, 400, 'VALIDATION_ERROR'],
  ['item missing price', { payload: { ...validOrder, items: [{ sku: 'S', qty: 1 }] } }, 400, 'VALIDATION_ERROR'],
  ['sku empty', { payload: withItem({ sku: '' }) }, 400, 'VALIDATION_ERROR'],
  ['sku only spaces', { payload: withItem({ sku: '   ' }) }, 400, 'VALIDATION_ERROR'],
  ['sku over 64 chars', { payload: withItem({ sku: 's'.repeat(65) }) }, 400, 'VALIDATION_ERROR'],
  ['qty 0', { payload: withItem({ qty: 0 }) }, 400, 'VALIDATION_ERROR'],
  ['qty 1.5', { payload: withItem({ qty: 1.5 }) }, 400, 'VALIDATION_ERROR'],
  ['qty 10001', { payload: withItem({ qty: 10_001 }) }, 400, 'VALIDATION_ERROR'],
  ['qty "3" is not coerced', { payload: withItem({ qty: '3' }) }, 400, 'VALIDATION_ERROR'],
  ['qty null', { payload: withItem({ qty: null }) }, 400, 'VALIDATION_ERROR'],
  ['price negative', { payload: withItem({ price: -0.01 }) }, 400, 'VALIDATION_ERROR'],
  ['price 3 decimals (0.001)', { payload: withItem({ price: 0.001 }) }, 400, 'VALIDATION_ERROR'],
  ['price 3 decimals (1.005)', { payload: withItem({ price: 1.005 }) }, 400, 'VALIDATION_ERROR'],
  ['price 9 decimals (0.100000001)', { payload: withItem({ price: 0.100000001 }) }, 400, 'VALIDATION_ERROR'],
  ['price "1.00" is not coerced', { payload: withItem({ price: '1.00' }) }, 400, 'VALIDATION_ERROR'],
  ['status not in the enum', { payload: { ...validOrder, status: 'Shipped' } }, 400, 'VALIDATION_ERROR'],
  ['status in the wrong case', { payload: { ...validOrder, status: 'pending' } }, 400, 'VALIDATION_ERROR'],
  ['operator object as customer', { payload: { ...validOrder, customer: { $gt: '' } } }, 400, 'VALIDATION_ERROR'],
  ['top-level $set', { payload: { ...validOrder, $set: { status: 'Completed' } } }, 400, 'VALIDATION_ERROR'],
  ['body is an array', { payload: [validOrder] }, 400, 'VALIDATION_ERROR'],
  ['body is null', json('null'), 400, 'VALIDATION_ERROR'],
  ['body is a string', json('"an order"'), 400, 'VALIDATION_ERROR'],
  ['no body and no content type', { payload: undefined }, 400, 'VALIDATION_ERROR'],
  ['__proto__ key', json(`{${validJson},"__proto__":{"status":"Completed"}}`), 400, 'VALIDATION_ERROR'],
  ['nested __proto__ key', json(`{${validJson.replace('"sku"', '"__proto__":{},"sku"')}}`), 400, 'VALIDATION_ERROR'],
  ['escaped __proto__ key', json(`{${validJson},"\\u005f_proto__":{"status":"Completed"}}`), 400, 'VALIDATION_ERROR'],
  ['constructor.prototype key', json(`{${validJson},"constructor":{"prototype":{"x":1}}}`), 400, 'VALIDATION_ERROR'],
  ['malformed JSON', json('{"customer": "Ada",'), 400, 'INVALID_JSON'],
  ['empty JSON body', json(''), 400, 'INVALID_JSON'],
  ['text/plain', { payload: JSON.stringify(validOrder), headers: { 'content-type': 'text/plain' } }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ['application/xml', { payload: '<order/>', headers: { 'content-type': 'application/xml' } }, 415, 'UNSUPPORTED_MEDIA_TYPE']
]

t.test('every client mistake is a contract error and creates nothing', async (t) => {
  const app = await build(t)
  for (const [name, request, status, code] of mistakes) {
    await t.test(name, async (t) => {
      const response = await post(app, request.payload, request.headers)
      t.not(response.statusCode, 500, 'never a 500')
      assertError(t, response, status, code)
    })
  }
  const list = await app.inject('/orders')
  t.equal(list.json().pagination.total, 0, 'GET /orders total is unchanged')
  t.equal(await app.mongo.db!.collection('orders').countDocuments(), 0, 'nothing reached MongoDB')
  t.equal(Object.hasOwn(Object.prototype, 'status'), false, 'Object.prototype untouched')
})

t.test('a refused body says what is refused and why', async (t) => {
  const app = await build(t)
  const unknown = await post(app, { ...validOrder, discount: 10 })
  assertError(t, unknown, 400, 'VALIDATION_ERROR')
  t.match(unknown.json().message, /body must NOT have additional properties: "discount" is not a known field/, 'the unknown field is named')
  const unknownItemField = await post(app, withItem({ color: 'red' }))
  t.match(unknownItemField.json().message, /body\/items\/0 must NOT have additional properties: "color"/, 'with its path')

  const proto = await post(app, json(`{${validJson},"__proto__":{"status":"Completed"}}`).payload, json('').headers)
  assertError(t, proto, 400, 'VALIDATION_ERROR')
  t.match(proto.json().message, /"__proto__".*prototype poisoning/, '__proto__ is named as refused, with the reason')
  t.notMatch(proto.json().message, /not valid JSON/, 'valid JSON is not called invalid')
  const constructor = await post(app, json(`{${validJson},"constructor":{"prototype":{"x":1}}}`).payload, json('').headers)
  t.match(constructor.json().message, /"constructor\.prototype".*prototype poisoning/)
  const malformed = await post(app, json('{"customer": "Ada",').payload, json('').headers)
  assertError(t, malformed, 400, 'INVALID_JSON')
  t.equal(await app.mongo.db!.collection('orders').countDocuments(), 0, 'nothing was created')
})

t.test('a body over BODY_LIMIT_BYTES is 413 PAYLOAD_TOO_LARGE', async (t) => {
  const app = await build(t, { env: { BODY_LIMIT_BYTES: '1024' } })
  const small = await post(app, validOrder)
  t.equal(small.statusCode, 201, 'a small order still fits')

  const big = { ...validOrder, items: items(40) }
  t.ok(JSON.stringify(big).length > 1024, 'the payload is over the limit')
  assertError(t, await post(app, big), 413, 'PAYLOAD_TOO_LARGE')
  const list = await app.inject('/orders')
  t.equal(list.json().pagination.total, 1, 'only the small order exists')
})
