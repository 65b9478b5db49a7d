import t from 'tap'
import { build, createOrder } from '../helper.js'

// Security headers on every response (plugins/external/helmet.ts).

t.test('API responses carry the security headers and a deny-everything CSP', async (t) => {
  const app = await build(t)
  const order = await createOrder(app)
  for (const url of ['/orders', `/orders/${order._id}`, '/orders/not-an-id', '/no-such-route', '/health']) {
    const response = await app.inject(url)
    t.equal(response.headers['x-content-type-options'], 'nosniff', `${url}: nosniff`)
    t.equal(response.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none'", `${url}: CSP`)
    t.equal(response.headers['x-frame-options'], 'SAMEORIGIN')
    t.equal(response.headers['referrer-policy'], 'no-referrer')
    t.match(response.headers['strict-transport-security'], /max-age=\d+/)
    t.equal(response.headers['x-powered-by'], undefined)
  }
  t.equal((await app.inject('/orders')).headers['x-cache'], 'HIT', 'a cache hit gets them too')
})
