import t from 'tap'
import { build, createOrder, validOrder } from '../helper.js'
import { scrape } from '../scrape.js'
import { NEAR, warmNear } from '../near-cache-helpers.js'

// Conditional GET on the cached routes (RFC 9110 13.1.2): each answer carries a strong tag of
// its representation and Cache-Control: no-cache; If-None-Match naming the current one is 304
// with no body, on a miss, a Redis hit and a near hit, for GET and HEAD; every write changes
// every tag it affects; a compressed answer has a tag of its own (8.8.3), which If-Match accepts.

async function bigPage (app: Awaited<ReturnType<typeof build>>) {
  for (let i = 0; i < 8; i++) await createOrder(app, { ...validOrder, customer: `Conditional Customer ${i}` })
}

t.test('an order: ETag "<version>", no-cache, 304 on a miss and on a hit, weak comparison, HEAD agrees', async (t) => {
  const app = await build(t)
  const order = await createOrder(app)
  const url = `/orders/${order._id}`
  const first = await app.inject({ url, headers: { 'if-none-match': '"1"' } })
  t.equal(first.headers['x-cache'], 'MISS')
  t.equal(first.statusCode, 304, 'a miss whose load matches: 304')
  t.equal(first.body, '', 'no body')
  t.equal(first.headers.etag, '"1"')
  t.equal(first.headers['cache-control'], 'no-cache')
  await app.inject(url)
  for (const tag of ['"1"', 'W/"1"', '"7", "1"', '*']) {
    const hit = await app.inject({ url, headers: { 'if-none-match': tag } })
    t.equal(hit.statusCode, 304, `If-None-Match: ${tag}`)
    t.equal(hit.headers['x-cache'], 'HIT')
  }
  const other = await app.inject({ url, headers: { 'if-none-match': '"2"' } })
  t.equal(other.statusCode, 200, 'another tag: the whole order')
  t.equal(other.json().version, 1)
  const head = await app.inject({ method: 'HEAD', url, headers: { 'if-none-match': '"1"' } })
  t.equal(head.statusCode, 304, 'HEAD agrees')
  t.equal((await app.inject({ method: 'HEAD', url })).headers.etag, '"1"')

  t.equal((await app.inject({ method: 'PUT', url, payload: { customer: 'Changed' } })).statusCode, 200)
  const after = await app.inject({ url, headers: { 'if-none-match': '"1"' } })
  t.equal(after.statusCode, 200, 'after a write the old tag is not current')
  t.equal(after.headers.etag, '"2"')
})

t.test('a list page: a digest tag, 304, and a write changes it (a POST, and a PUT that rewrites the page in place)', async (t) => {
  const app = await build(t)
  const order = await createOrder(app)
  await app.inject('/orders')
  const hit = await app.inject('/orders')
  t.equal(hit.headers['x-cache'], 'HIT')
  const tag = String(hit.headers.etag)
  t.match(tag, /^"[0-9a-f]{20}"$/, 'a digest of the page')
  t.equal(hit.headers['cache-control'], 'no-cache')
  t.equal((await app.inject({ url: '/orders', headers: { 'if-none-match': tag } })).statusCode, 304)

  t.equal((await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Rewritten In Place' } })).statusCode, 200)
  const rewritten = await app.inject({ url: '/orders', headers: { 'if-none-match': tag } })
  t.equal(rewritten.statusCode, 200, 'the page rewritten in place has a new tag')
  t.equal(rewritten.headers['x-cache'], 'HIT', 'and it was a hit of the rewritten page')
  t.not(rewritten.headers.etag, tag)
  const again = await app.inject('/orders')
  t.equal(again.headers.etag, rewritten.headers.etag, 'the rewritten page\'s tag is the digest its next fill would compute')

  await createOrder(app)
  const afterPost = await app.inject({ url: '/orders', headers: { 'if-none-match': String(rewritten.headers.etag) } })
  t.equal(afterPost.statusCode, 200, 'after a POST: a new page, a new tag')
})

t.test('a compressed answer has a tag of its own; If-Match takes the tag of any coding', async (t) => {
  const app = await build(t)
  await bigPage(app)
  const identity = await app.inject('/orders')
  const br = await app.inject({ url: '/orders', headers: { 'accept-encoding': 'br' } })
  t.equal(br.headers['content-encoding'], 'br')
  t.equal(br.headers.etag, String(identity.headers.etag).replace(/"$/, '-br"'))
  const miss = await (await build(t, { env: { MONGODB_URL: app.config.MONGODB_URL } })).inject({ url: '/orders', headers: { 'accept-encoding': 'gzip' } })
  t.equal(miss.headers['x-cache'], 'MISS')
  t.equal(miss.headers['content-encoding'], 'gzip', 'a miss is compressed by the cache, in the coding its tag names')
  t.match(miss.headers.etag, /-gzip"$/)
  t.equal((await app.inject({ url: '/orders', headers: { 'accept-encoding': 'br', 'if-none-match': String(br.headers.etag) } })).statusCode, 304)
  t.equal((await app.inject({ url: '/orders', headers: { 'accept-encoding': 'br', 'if-none-match': String(identity.headers.etag) } })).statusCode, 200,
    'the identity tag does not name the br representation')

  const order = await createOrder(app, { ...validOrder, items: Array.from({ length: 40 }, (_, i) => ({ sku: `SKU-${i}`, qty: 1, price: 1 })) })
  const put = await app.inject({ method: 'PUT', url: `/orders/${order._id}`, headers: { 'accept-encoding': 'gzip', 'if-match': '"1-br"' }, payload: { customer: 'Matched In Any Coding' } })
  t.equal(put.statusCode, 200, 'If-Match "1-br" names version 1')
  t.equal(put.headers['content-encoding'], 'gzip')
  t.equal(put.headers.etag, '"2-gzip"', 'a compressed PUT answer carries its coding in its tag')
})

t.test('a near hit answers 304 too, with no Redis round trip', async (t) => {
  const app = await build(t, { env: NEAR })
  const order = await createOrder(app)
  const url = `/orders/${order._id}`
  await warmNear(t, app, url)
  const before = await scrape(app, 'cache_near_hits_total')
  const near = await app.inject({ url, headers: { 'if-none-match': '"1"' } })
  t.equal(near.statusCode, 304)
  t.equal(await scrape(app, 'cache_near_hits_total'), before + 1, 'answered from the near cache')
})
