import t from 'tap'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { build, createOrder, redisFor, validOrder, type TestApp } from '../helper.js'
import { redisKeys } from '../../src/cache/keys.js'
import { negotiateCoding } from '../../src/http/compression.js'
import { scrape } from '../scrape.js'

// Compressed responses: a cache hit for a client that accepts br or gzip sends a compressed
// copy stored once beside the entry; everything else of 1 KiB or more is compressed on the
// way out by @fastify/compress. The copy goes whenever its entry is rewritten or deleted.

const decode = { br: brotliDecompressSync, gzip: gunzipSync } as const

async function seedBigPage (app: TestApp, orders = 8): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < orders; i++) ids.push((await createOrder(app, { ...validOrder, customer: `Compressible Customer ${i}` }))._id)
  return ids.reverse()
}

for (const coding of ['br', 'gzip'] as const) {
  t.test(`${coding}: a miss is compressed on the way out, then a hit sends the stored compressed copy`, async (t) => {
    const app = await build(t)
    await seedBigPage(app)
    const url = '/orders?limit=10'
    const identity = await app.inject(url)
    t.ok(identity.rawPayload.length >= 1024, `the page is ${identity.rawPayload.length} bytes`)
    t.equal(identity.headers['content-encoding'], undefined, 'no Accept-Encoding: identity')
    t.match(identity.headers.vary, /accept-encoding/i)
    const missBr = await build(t, { env: { MONGODB_URL: app.config.MONGODB_URL } })
    const streamed = await missBr.inject({ url: '/orders?limit=9', headers: { 'accept-encoding': coding } })
    t.equal(streamed.headers['x-cache'], 'MISS')
    t.equal(streamed.headers['content-encoding'], coding, 'a miss is compressed on the way out')
    t.equal(String(streamed.headers.vary).toLowerCase().split(',').filter((f) => f.trim() === 'accept-encoding').length, 1, 'Vary names Accept-Encoding once')

    const headers = { 'accept-encoding': coding }
    const first = await app.inject({ url, headers }) // identity hit: the copy is made and stored
    t.equal(first.headers['x-cache'], 'HIT')
    t.equal(first.headers['content-encoding'], coding)
    t.equal(decode[coding](first.rawPayload).toString(), identity.body, 'the same bytes, compressed')
    const redis = redisFor(t, app)
    t.equal(await redis.exists(`${redisKeys.listPage(1, 10)}:${coding}`), 1, 'stored beside the entry')
    // The entry's TTL read first: the copy's, read after, can only be lower if it expires no later.
    const entryTtl = await redis.pttl(redisKeys.listPage(1, 10))
    const ttl = await redis.pttl(`${redisKeys.listPage(1, 10)}:${coding}`)
    t.ok(ttl > 0 && ttl <= entryTtl + 1, `never outliving the entry (${ttl} ms, the entry ${entryTtl} ms)`)

    const hit = await app.inject({ url, headers })
    t.equal(hit.headers['x-cache'], 'HIT')
    t.equal(hit.headers['content-encoding'], coding)
    t.match(hit.headers.vary, /accept-encoding/i)
    t.same(hit.rawPayload, first.rawPayload, 'the stored copy')
    t.equal(await scrape(app, 'cache_compressed_hits_total'), 1)
    t.ok(hit.rawPayload.length < identity.rawPayload.length / 2, `${hit.rawPayload.length} bytes instead of ${identity.rawPayload.length}`)
  })
}

t.test('a PUT drops the compressed copies of the pages it rewrites, and of the order', async (t) => {
  const app = await build(t)
  const ids = await seedBigPage(app)
  const url = '/orders?limit=10'
  const headers = { 'accept-encoding': 'br' }
  await app.inject(url)
  await app.inject({ url, headers })
  t.equal((await app.inject({ url, headers })).headers['content-encoding'], 'br')

  t.equal((await app.inject({ method: 'PUT', url: `/orders/${ids[0]}`, payload: { customer: 'Changed And Compressed' } })).statusCode, 200)
  const redis = redisFor(t, app)
  t.equal(await redis.exists(`${redisKeys.listPage(1, 10)}:br`), 0, 'the copy went with the rewrite')
  const after = await app.inject({ url, headers })
  t.equal(after.headers['x-cache'], 'HIT', 'the rewritten page is still a hit')
  t.equal(JSON.parse(brotliDecompressSync(after.rawPayload).toString()).data[0].customer, 'Changed And Compressed')
})

t.test('small bodies are sent as they are, and a note says so without a second lookup', async (t) => {
  const app = await build(t)
  const order = await createOrder(app)
  const url = `/orders/${order._id}`
  const headers = { 'accept-encoding': 'gzip, br' }
  await app.inject(url)
  await app.inject({ url, headers })
  const hit = await app.inject({ url, headers })
  t.equal(hit.headers['x-cache'], 'HIT')
  t.equal(hit.headers['content-encoding'], undefined, 'under 1 KiB: identity')
  t.equal(hit.headers.etag, '"1"')
  t.equal(hit.json()._id, order._id)
})

t.test('uncached responses of 1 KiB or more are compressed by @fastify/compress; request bodies are not decompressed', async (t) => {
  const app = await build(t, { env: { CACHE_ENABLED: 'false' } })
  await seedBigPage(app)
  const bypass = await app.inject({ url: '/orders?limit=10', headers: { 'accept-encoding': 'gzip' } })
  t.equal(bypass.headers['x-cache'], 'BYPASS')
  t.equal(bypass.headers['content-encoding'], 'gzip')
  t.equal(JSON.parse(gunzipSync(bypass.rawPayload).toString()).data.length, 8)
  const docs = await app.inject({ url: '/openapi.json', headers: { 'accept-encoding': 'br' } })
  t.equal(docs.headers['content-encoding'], 'br', 'the API document too')
})

t.test('Accept-Encoding negotiation (RFC 9110 12.5.3)', async (t) => {
  t.equal(negotiateCoding(undefined), undefined)
  t.equal(negotiateCoding('gzip, deflate, br'), 'br', 'br first when both are accepted')
  t.equal(negotiateCoding('gzip'), 'gzip')
  t.equal(negotiateCoding('br;q=0, gzip;q=0.5'), 'gzip', 'q=0 refuses')
  t.equal(negotiateCoding('*'), 'br', 'a wildcard accepts any')
  t.equal(negotiateCoding('*;q=0, identity'), undefined)
  t.equal(negotiateCoding('identity'), undefined)
  t.equal(negotiateCoding('BR'), 'br', 'case-insensitive')
})
