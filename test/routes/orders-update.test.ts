import t from 'tap'
import { ObjectId } from 'mongodb'
import { build, createOrder, redisFor, validOrder, type TestApp } from '../helper.js'
import { redisKeys } from '../../src/cache/keys.js'
import { assertError, assertOrderShape } from './contract.js'

// PUT /orders/:id and DELETE /orders/:id: versioned changes, final statuses, If-Match.

const put = (app: TestApp, id: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'PUT', url: `/orders/${id}`, headers, payload: payload as object })
const cancel = (app: TestApp, id: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'DELETE', url: `/orders/${id}`, headers })
const read = async (app: TestApp, id: string) => (await app.inject(`/orders/${id}`)).json()

const UNKNOWN_ID = 'ffffffffffffffffffffffff'

t.test('PUT address: 200, version 2, ETag "2", updatedAt moves, the rest is kept', async (t) => {
  const app = await build(t)
  // Stored with a creation time in the past, so the update's timestamp is strictly later.
  const _id = new ObjectId()
  const past = new Date('2024-01-01T00:00:00.000Z')
  await app.mongo.db!.collection('orders').insertOne({
    _id, ...validOrder, totalAmount: 0.3, status: 'Pending', version: 1, createdAt: past, updatedAt: past
  })
  const id = _id.toHexString()
  t.equal((await app.inject(`/orders/${id}`)).headers['x-cache'], 'MISS', 'the order is now cached')

  const response = await put(app, id, { address: '  7 Difference Engine Way, Cambridge  ' })
  t.equal(response.statusCode, 200)
  t.equal(response.headers.etag, '"2"')
  const order = response.json()
  assertOrderShape(t, order)
  t.equal(order.address, '7 Difference Engine Way, Cambridge', 'address is trimmed')
  t.equal(order.version, 2)
  t.equal(order.createdAt, past.toISOString(), 'createdAt is kept')
  t.ok(Date.parse(order.updatedAt) > past.getTime(), 'updatedAt is later than createdAt')
  t.same(
    { customer: order.customer, items: order.items, totalAmount: order.totalAmount, status: order.status },
    { customer: validOrder.customer, items: validOrder.items, totalAmount: 0.3, status: 'Pending' },
    'fields not sent are unchanged'
  )

  const after = await app.inject(`/orders/${id}`)
  t.same(after.json(), order, 'GET sees the update, not the cached order')
  t.equal(after.headers.etag, '"2"')
  t.equal(await redisFor(t, app).exists(redisKeys.orderLock(id)), 0, 'the lock is released')
})

t.test('PUT items recomputes totalAmount; every PUT bumps the version', async (t) => {
  const app = await build(t)
  const { _id: id } = await createOrder(app)
  const first = await put(app, id, { items: [{ sku: 'A', qty: 3, price: 0.1 }, { sku: 'B', qty: 2, price: 0.2 }] })
  t.equal(first.statusCode, 200)
  t.equal(first.json().totalAmount, 0.7)
  t.same(first.json().items, [{ sku: 'A', qty: 3, price: 0.1 }, { sku: 'B', qty: 2, price: 0.2 }])
  const second = await put(app, id, { customer: ' Charles Babbage ', status: 'Pending' })
  t.equal(second.statusCode, 200)
  t.same(
    { customer: second.json().customer, version: second.json().version, totalAmount: second.json().totalAmount },
    { customer: 'Charles Babbage', version: 3, totalAmount: 0.7 }
  )
})

const badBodies: Array<[string, unknown]> = [
  ['empty object', {}],
  ['unknown field', { notes: 'x' }],
  ['unknown field beside a valid one', { address: '1 Valid Road', version: 9 }],
  ['customer 1 char once trimmed', { customer: ' A ' }],
  ['address too short once trimmed', { address: '  abc  ' }],
  ['empty items', { items: [] }],
  ['price 3 decimals', { items: [{ sku: 'A', qty: 1, price: 0.001 }] }],
  ['qty as a string', { items: [{ sku: 'A', qty: '1', price: 1 }] }],
  ['status not in the enum', { status: 'Shipped' }],
  ['$set operator', { $set: { status: 'Completed' } }],
  ['operator as a value', { customer: { $ne: null } }]
]

t.test('a bad PUT body is 400 VALIDATION_ERROR and changes nothing', async (t) => {
  const app = await build(t)
  const order = await createOrder(app)
  for (const [name, body] of badBodies) {
    await t.test(name, async (t) => assertError(t, await put(app, order._id, body), 400, 'VALIDATION_ERROR'))
  }
  const noBody = await app.inject({ method: 'PUT', url: `/orders/${order._id}` })
  assertError(t, noBody, 400, 'VALIDATION_ERROR')
  const emptyJson = await app.inject({
    method: 'PUT', url: `/orders/${order._id}`, headers: { 'content-type': 'application/json' }, payload: ''
  })
  assertError(t, emptyJson, 400, 'INVALID_JSON')
  t.same(await read(app, order._id), order, 'the order is unchanged')
})

t.test('PUT and DELETE: bad id 400, unknown id 404', async (t) => {
  const app = await build(t)
  assertError(t, await put(app, 'not-an-id', { address: '1 Valid Road' }), 400, 'VALIDATION_ERROR')
  assertError(t, await cancel(app, 'a'.repeat(25)), 400, 'VALIDATION_ERROR')
  assertError(t, await put(app, UNKNOWN_ID, { address: '1 Valid Road' }), 404, 'ORDER_NOT_FOUND')
  assertError(t, await cancel(app, UNKNOWN_ID), 404, 'ORDER_NOT_FOUND')
  t.equal(await app.mongo.db!.collection('orders').countDocuments(), 0, 'nothing was upserted')
})

t.test('a Completed order is immutable: PUT and DELETE are 422', async (t) => {
  const app = await build(t)
  const { _id: id } = await createOrder(app)
  const completed = await put(app, id, { status: 'Completed' })
  t.equal(completed.statusCode, 200)
  t.same({ status: completed.json().status, version: completed.json().version }, { status: 'Completed', version: 2 })

  for (const body of [{ address: '1 Another Road' }, { status: 'Pending' }, { status: 'Completed' }]) {
    assertError(t, await put(app, id, body), 422, 'ORDER_NOT_MODIFIABLE')
  }
  assertError(t, await cancel(app, id), 422, 'ORDER_NOT_MODIFIABLE')
  t.same(await read(app, id), completed.json(), 'nothing changed')
})

t.test('DELETE cancels: 200 with message and order, then 422', async (t) => {
  const app = await build(t)
  const order = await createOrder(app)
  const response = await cancel(app, order._id)
  t.equal(response.statusCode, 200)
  t.equal(response.headers.etag, '"2"')
  const body = response.json()
  t.same(Object.keys(body).sort(), ['message', 'order'])
  t.equal(body.message, 'Order cancelled successfully')
  assertOrderShape(t, body.order)
  t.same(
    { status: body.order.status, version: body.order.version, customer: body.order.customer },
    { status: 'Cancelled', version: order.version + 1, customer: order.customer }
  )
  t.same(await read(app, order._id), body.order, 'GET sees the cancellation')

  assertError(t, await cancel(app, order._id), 422, 'ORDER_NOT_MODIFIABLE')
  assertError(t, await put(app, order._id, { address: '1 Another Road' }), 422, 'ORDER_NOT_MODIFIABLE')
  t.equal((await read(app, order._id)).version, 2, 'no further version')
})

t.test('If-Match: current ETag 200, stale or weak 412 and nothing changes, * 200', async (t) => {
  const app = await build(t)
  const { _id: id } = await createOrder(app)

  const matching = await put(app, id, { address: '2 Matching Road' }, { 'if-match': '"1"' })
  t.equal(matching.statusCode, 200, 'the current ETag matches')
  t.equal(matching.headers.etag, '"2"')

  const stale = await put(app, id, { address: '3 Stale Road' }, { 'if-match': '"1"' })
  assertError(t, stale, 412, 'PRECONDITION_FAILED')
  assertError(t, await cancel(app, id, { 'if-match': '"1"' }), 412, 'PRECONDITION_FAILED')
  t.same(await read(app, id), matching.json(), 'a failed precondition changes nothing')

  // RFC 9110, 13.1.1: If-Match uses the strong comparison, so a weak tag never matches.
  assertError(t, await put(app, id, { address: '4 Weak Road' }, { 'if-match': 'W/"2"' }), 412, 'PRECONDITION_FAILED')
  assertError(t, await cancel(app, id, { 'if-match': 'W/"2"' }), 412, 'PRECONDITION_FAILED')
  t.same(await read(app, id), matching.json(), 'a weak tag changes nothing')
  assertError(t, await put(app, id, { address: '4 Empty Road' }, { 'if-match': '' }), 412, 'PRECONDITION_FAILED')
  for (const malformed of ['2', '"2', 'W/2', '"2",']) {
    assertError(t, await put(app, id, { address: '4 Malformed Road' }, { 'if-match': malformed }), 400, 'VALIDATION_ERROR')
  }
  t.same(await read(app, id), matching.json(), 'an empty list matches nothing, a malformed If-Match is 400, neither writes')
  const listed = await put(app, id, { address: '4 Listed Road' }, { 'if-match': 'W/"2", "7", "2"' })
  t.equal(listed.statusCode, 200, 'a list matches when one strong tag in it does')
  const any = await put(app, id, { address: '5 Any Road' }, { 'if-match': '*' })
  t.equal(any.statusCode, 200, '* matches any version')
  t.same({ address: any.json().address, version: any.json().version }, { address: '5 Any Road', version: 4 })

  const cancelled = await cancel(app, id, { 'if-match': '"4"' })
  t.equal(cancelled.statusCode, 200, 'DELETE honours a matching If-Match')
  t.equal(cancelled.json().order.status, 'Cancelled')
})

t.test('the seed scenario: create, list, update address, cancel', async (t) => {
  const app = await build(t)
  const created = await app.inject({
    method: 'POST',
    url: '/orders',
    payload: { customer: 'Grace Hopper', address: '1 Harvard Yard, Cambridge MA', items: [{ sku: 'COBOL-1', qty: 3, price: 0.1 }] }
  })
  t.equal(created.statusCode, 201)
  const order = created.json()
  t.same({ totalAmount: order.totalAmount, status: order.status }, { totalAmount: 0.3, status: 'Pending' })

  const listed = await app.inject('/orders?page=1&limit=10')
  t.equal(listed.statusCode, 200)
  t.same(listed.json().pagination, { total: 1, page: 1, limit: 10, totalPages: 1 })
  t.equal(listed.json().data[0]._id, order._id)

  const updated = await put(app, order._id, { address: '2 Navy Yard, Washington DC' })
  t.equal(updated.statusCode, 200)
  t.equal(updated.json().address, '2 Navy Yard, Washington DC')

  const cancelled = await cancel(app, order._id)
  t.equal(cancelled.statusCode, 200)
  t.same(
    { message: cancelled.json().message, status: cancelled.json().order.status, version: cancelled.json().order.version },
    { message: 'Order cancelled successfully', status: 'Cancelled', version: 3 }
  )
  const relisted = await app.inject('/orders')
  t.same(
    { status: relisted.json().data[0].status, address: relisted.json().data[0].address },
    { status: 'Cancelled', address: '2 Navy Yard, Washington DC' },
    'the list shows the final state'
  )
})
