import t from 'tap'
import { build, createOrder, validOrder } from '../helper.js'

// What RFC 9110 and the stored data ask of edge cases: If-Match on an order that does not
// exist is 412 (no current representation, 13.1.1), a name needs a visible character, and the
// 201 body is the order as stored, even when the client sent a lone surrogate.

const MISSING = '/orders/0123456789abcdef01234567'

t.test('If-Match on a missing order: 412, * included; without If-Match: 404', async (t) => {
  const app = await build(t)
  for (const ifMatch of ['*', '"1"', '"1", "2"']) {
    for (const method of ['PUT', 'DELETE'] as const) {
      const response = await app.inject({ method, url: MISSING, headers: { 'if-match': ifMatch }, ...(method === 'PUT' ? { payload: { customer: 'Nobody Here' } } : {}) })
      t.equal(response.statusCode, 412, `${method} If-Match: ${ifMatch}`)
      t.equal(response.json().code, 'PRECONDITION_FAILED')
    }
  }
  t.equal((await app.inject({ method: 'PUT', url: MISSING, payload: { customer: 'Nobody Here' } })).statusCode, 404)
})

t.test('a customer or address with nothing visible is 400; a name with a visible character is not', async (t) => {
  const app = await build(t)
  for (const blank of ['\u200b\u200b\u200b', '\u0085\u0085\u0085', '\u0000\u0000\u0000', '\u00ad\u2060\ufeff\u200d', '\u3164\u3164']) {
    for (const field of ['customer', 'address'] as const) {
      const value = field === 'address' ? blank.repeat(3) : blank
      const response = await app.inject({ method: 'POST', url: '/orders', payload: { ...validOrder, [field]: value } })
      t.equal(response.statusCode, 400, `${field} ${JSON.stringify(value)}`)
      t.equal(response.json().code, 'VALIDATION_ERROR')
    }
  }
  const order = await createOrder(app)
  const put = await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: '\u200b\u200b' } })
  t.equal(put.statusCode, 400, 'a PUT as well')
  t.equal((await app.inject({ method: 'POST', url: '/orders', payload: { ...validOrder, customer: '\u200bZoë\u200b' } })).statusCode, 201, 'invisible characters beside visible ones are kept')
  t.equal((await app.inject('/orders')).json().pagination.total, 2, 'no blank order was created')
})

t.test('a lone surrogate: the 201 body is the order as stored', async (t) => {
  const app = await build(t)
  const payload = '{"customer":"Ab\\ud800cd","address":"1 Surrogate Street","items":[{"sku":"S\\udfffK","qty":1,"price":1}]}'
  const created = await app.inject({ method: 'POST', url: '/orders', headers: { 'content-type': 'application/json' }, payload })
  t.equal(created.statusCode, 201)
  const stored = await app.inject(`/orders/${created.json()._id}`)
  t.equal(created.json().customer, 'Ab\ufffdcd', 'U+FFFD in the answer')
  t.same(created.json(), stored.json(), 'the 201 body equals the stored order')
})
