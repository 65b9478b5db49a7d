import t from 'tap'
import helmet from 'helmet'
import { build, createOrder } from '../helper.js'
import { API_HELMET_OPTIONS, DOCUMENT_HELMET_OPTIONS, helmetHeaders } from '../../src/http/security-headers.js'

// Security headers on every response (plugins/external/helmet.ts): helmet's headers, computed
// once at start-up; a JSON set for the API, helmet's document set for the /docs UI.

const DOCUMENT_ONLY = ['cross-origin-opener-policy', 'origin-agent-cluster', 'x-dns-prefetch-control',
  'x-download-options', 'x-permitted-cross-domain-policies', 'x-xss-protection']

t.test('API responses carry the security headers and a deny-everything CSP', async (t) => {
  const app = await build(t)
  const order = await createOrder(app)
  for (const url of ['/orders', `/orders/${order._id}`, '/orders/not-an-id', '/no-such-route', '/health', '/docsfoo', '/docs/no-such-page']) {
    const response = await app.inject(url)
    t.equal(response.headers['x-content-type-options'], 'nosniff', `${url}: nosniff`)
    t.equal(response.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none'", `${url}: CSP`)
    t.equal(response.headers['x-frame-options'], 'DENY', `${url}: X-Frame-Options agrees with frame-ancestors 'none'`)
    t.equal(response.headers['referrer-policy'], 'no-referrer')
    t.equal(response.headers['cross-origin-resource-policy'], 'same-origin')
    t.equal(response.headers['strict-transport-security'], 'max-age=15552000; includeSubDomains')
    t.equal(response.headers['x-powered-by'], undefined)
    for (const name of DOCUMENT_ONLY) t.equal(response.headers[name], undefined, `${url}: no ${name} on JSON`)
  }
  t.equal((await app.inject('/orders')).headers['x-cache'], 'HIT', 'a cache hit gets them too')
  const post = await app.inject({ method: 'POST', url: '/orders', payload: {} })
  t.equal(post.statusCode, 400)
  t.equal(post.headers['x-content-type-options'], 'nosniff', 'an error answer gets them too')
})

t.test('the documentation UI gets helmet\'s document headers and its own CSP', async (t) => {
  const app = await build(t)
  for (const url of ['/docs', '/docs/', '/docs/static/swagger-ui-bundle.js', '/%64ocs']) {
    const response = await app.inject(url)
    t.equal(response.statusCode, 200, url)
    t.equal(response.headers['x-content-type-options'], 'nosniff', `${url}: nosniff`)
    t.equal(response.headers['cross-origin-opener-policy'], 'same-origin', `${url}: document isolation`)
    t.equal(response.headers['x-dns-prefetch-control'], 'off')
    t.match(String(response.headers['content-security-policy']), /script-src 'self'/, `${url}: the UI's own CSP, not the API's`)
  }
})

t.test('the precomputed headers are exactly what helmet\'s middleware sets on a response', async (t) => {
  for (const options of [API_HELMET_OPTIONS, DOCUMENT_HELMET_OPTIONS]) {
    const set = new Map<string, string>()
    const response = { setHeader: (name: string, value: string) => set.set(name.toLowerCase(), String(value)), removeHeader: (name: string) => set.delete(name.toLowerCase()) }
    helmet(options)({} as never, response as never, () => {})
    t.same(helmetHeaders(options), Object.fromEntries(set))
    t.ok(set.size >= 6, 'a real set of headers')
  }
})
