import t from 'tap'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { createHash, randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { ObjectId } from 'mongodb'
import type { Test } from 'tap'
import { build, createOrder, redisFor, validOrder, type TestApp } from '../helper.js'
import { copySuffix } from '../../src/cache/compressed-copies.js'
import { redisKeys } from '../../src/cache/keys.js'
import { fillCompressedCopy } from '../../src/cache/scripts/fill-compressed-copy.js'
import { compressBody, negotiateCoding } from '../../src/http/representations.js'
import { scrape } from '../scrape.js'

// Compressed responses: a cache hit for a client that accepts br or gzip sends a compressed
// copy stored once beside the entry; everything else of 1 KiB or more is compressed on the
// way out by @fastify/compress. The copy goes whenever its entry is rewritten or deleted.

const decode = { br: brotliDecompressSync, gzip: gunzipSync } as const
const CODINGS = ['br', 'gzip'] as const

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

/** An order whose own entry is over the compression threshold, so that its copies are compressed. */
const bigOrder = (customer: string) => ({ customer, address: '1 Compressed Lane, Leeds', items: Array.from({ length: 40 }, (_, i) => ({ sku: `SKU-${i}`, qty: 1, price: 1 })) })

/** Makes the identity entry, then its copy in each coding, and checks that both copies are stored. */
async function cacheWithCopies (t: Test, app: TestApp, redis: Redis, url: string, key: string): Promise<void> {
  await app.inject(url)
  for (const coding of CODINGS) {
    const made = await app.inject({ url, headers: { 'accept-encoding': coding } })
    t.equal(made.headers['content-encoding'], coding, `${url}: a ${coding} copy is made`)
  }
  t.equal(await redis.exists(...CODINGS.map((coding) => key + copySuffix(coding))), CODINGS.length, `${url}: both copies are stored`)
}

/** The answer to a client accepting `coding`, decoded. */
async function readIn (app: TestApp, url: string, coding: typeof CODINGS[number]) {
  const response = await app.inject({ url, headers: { 'accept-encoding': coding } })
  return { cache: response.headers['x-cache'], json: JSON.parse(decode[coding](response.rawPayload).toString()) }
}

t.test('a PUT drops every copy of the page it rewrites and of the order: br and gzip clients see the write', async (t) => {
  const app = await build(t)
  const redis = redisFor(t, app)
  await seedBigPage(app)
  const order = await createOrder(app, bigOrder('Big Order Before'))
  const page = { url: '/orders?limit=10', key: redisKeys.listPage(1, 10) }
  const entity = { url: `/orders/${order._id}`, key: redisKeys.entity(order._id) }
  await cacheWithCopies(t, app, redis, page.url, page.key)
  await cacheWithCopies(t, app, redis, entity.url, entity.key)

  t.equal((await app.inject({ method: 'PUT', url: entity.url, payload: { customer: 'Big Order After' } })).statusCode, 200)
  t.equal(await redis.exists(page.key), 1, 'the page was rewritten in place, not deleted')
  for (const coding of CODINGS) {
    t.equal(await redis.exists(page.key + copySuffix(coding)), 0, `the page's ${coding} copy went with the rewrite`)
    t.equal(await redis.exists(entity.key + copySuffix(coding)), 0, `the order's ${coding} copy went with its entry`)
    const listed = await readIn(app, page.url, coding)
    t.equal(listed.cache, 'HIT', `${coding}: the rewritten page is still a hit`)
    t.equal(listed.json.data[0].customer, 'Big Order After', `${coding}: the page shows the PUT`)
    const own = await readIn(app, entity.url, coding)
    t.equal(own.json.customer, 'Big Order After', `${coding}: the order shows the PUT (${own.cache})`)
    t.equal(own.json.version, 2)
  }
})

t.test('a page the write deletes (its generation unchanged) loses its copies too: no stale hit in any coding', async (t) => {
  const app = await build(t)
  const redis = redisFor(t, app)
  const ids = await seedBigPage(app)
  const page = { url: '/orders?limit=10', key: redisKeys.listPage(1, 10) }
  await cacheWithCopies(t, app, redis, page.url, page.key)
  const generation = await redis.get(redisKeys.listGeneration)
  // Changed behind the service's back: the page no longer holds the bytes the PUT starts from,
  // as a page filled from another version would not, so the PUT deletes it instead of rewriting it.
  await app.mongo.db!.collection('orders').updateOne({ _id: new ObjectId(ids[0]) }, { $set: { address: '2 Out Of Band Road' } })
  t.equal((await app.inject({ method: 'PUT', url: `/orders/${ids[0]}`, payload: { customer: 'Deleted Page Customer' } })).statusCode, 200)
  t.equal(await scrape(app, 'cache_list_pages_rewritten_total'), 0, 'the page was not rewritten')
  t.equal(await redis.get(redisKeys.listGeneration), generation, 'the list generation did not move: only deleting the copies stops their hits')
  t.equal(await redis.exists(page.key, `${page.key}:parked`), 0, 'the page was deleted')
  for (const coding of CODINGS) {
    t.equal(await redis.exists(page.key + copySuffix(coding)), 0, `its ${coding} copy went with it`)
  }
  // The first read misses and fills the page again; the next coding's copy is made from that.
  for (const [i, coding] of CODINGS.entries()) {
    const after = await readIn(app, page.url, coding)
    if (i === 0) t.equal(after.cache, 'MISS', `${coding}: no hit of the deleted page`)
    t.equal(after.json.data[0].customer, 'Deleted Page Customer', `${coding}: the PUT is shown (${after.cache})`)
  }
})

t.test('an unannounced change\'s invalidation (a deletion, no rewrite) drops the page\'s copies', async (t) => {
  // What an abandoned announcement or a write made without Redis sends: `rewrite: null`, and
  // no announcement parked the page or dropped its copies before: the invalidation script alone must.
  const app = await build(t)
  const redis = redisFor(t, app)
  const ids = await seedBigPage(app)
  const page = { url: '/orders?limit=10', key: redisKeys.listPage(1, 10) }
  await cacheWithCopies(t, app, redis, page.url, page.key)
  await app.mongo.db!.collection('orders').updateOne({ _id: new ObjectId(ids[0]) }, { $set: { customer: 'Unannounced Change' }, $inc: { version: 1 } })
  await app.cache.invalidate({ everyListPage: false, changed: [{ id: ids[0]!, rewrite: null }] })
  t.equal(await redis.exists(page.key), 0, 'the page was deleted')
  for (const coding of CODINGS) {
    t.equal(await redis.exists(page.key + copySuffix(coding)), 0, `its ${coding} copy went with it`)
  }
  for (const [i, coding] of CODINGS.entries()) {
    const after = await readIn(app, page.url, coding)
    if (i === 0) t.equal(after.cache, 'MISS', `${coding}: no hit of the deleted page`)
    t.equal(after.json.data[0].customer, 'Unannounced Change', `${coding}: the change is shown (${after.cache})`)
  }
})

t.test('a copy made from an entry that a rewrite replaced meanwhile is refused (the SHA-1 guard)', async (t) => {
  const app = await build(t)
  const redis = redisFor(t, app)
  const ids = await seedBigPage(app)
  const page = { url: '/orders?limit=10', key: redisKeys.listPage(1, 10) }
  const identity = await app.inject(page.url)
  // What a br reader holds between its read of the entry and its copy's fill: the entry's bytes,
  // and the copy it compressed from them. The race is held here: the fill goes after the PUT.
  const read = await redis.getBuffer(page.key)
  t.ok(read, 'the page is cached')
  const oldCopy = Buffer.concat([Buffer.from(`br ${String(identity.headers.etag)}\n`, 'latin1'), compressBody(identity.rawPayload, 'br')])
  t.equal((await app.inject({ method: 'PUT', url: `/orders/${ids[0]}`, payload: { customer: 'Rewritten Before The Copy' } })).statusCode, 200)
  t.equal(await redis.exists(page.key), 1, 'the page was rewritten in place: same key, same generation')

  const copyKey = page.key + copySuffix('br')
  const sha1 = (bytes: Buffer) => createHash('sha1').update(bytes).digest('hex')
  t.equal(await fillCompressedCopy(app.redis, { entryKey: page.key, copyKey, entrySha1: sha1(read!), payload: oldCopy }), false, 'the late copy of the old bytes is refused')
  t.equal(await redis.exists(copyKey), 0, 'and not stored')
  const after = await readIn(app, page.url, 'br')
  t.equal(after.cache, 'HIT')
  t.equal(after.json.data[0].customer, 'Rewritten Before The Copy', 'a br client is sent the rewritten page')

  // The same call with the digest of the bytes now stored is accepted: only the digest refused it.
  await redis.del(copyKey)
  const current = await redis.getBuffer(page.key)
  t.equal(await fillCompressedCopy(app.redis, { entryKey: page.key, copyKey, entrySha1: sha1(current!), payload: oldCopy }), true, 'a copy of the current bytes is stored')
})

t.test('a page of 4 KB or more read from a slot: its copy is made from the slot\'s bytes, and the slot given back', async (t) => {
  // Entries of 4 KB or more are copied out of the entry connection's buffers into a reused slot
  // (src/cache/hit-slot.ts); a compressing client's first Redis hit of such a page makes the copy
  // from it and gives the slot back, since the answer is the compressed copy, not those bytes.
  const app = await build(t)
  await seedBigPage(app, 20)
  const identity = await app.inject({ url: '/orders?limit=20', headers: { 'accept-encoding': 'identity' } })
  t.ok(identity.rawPayload.length >= 4096, `the page is ${identity.rawPayload.length} bytes`)
  t.equal((await app.inject({ url: '/orders?limit=20', headers: { 'accept-encoding': 'identity' } })).headers['x-cache'], 'HIT')
  for (const coding of CODINGS) {
    const first = await app.inject({ url: '/orders?limit=20', headers: { 'accept-encoding': coding } })
    t.equal(first.headers['x-cache'], 'HIT', `${coding}: a Redis hit of the entry`)
    t.equal(first.headers['content-encoding'], coding)
    t.same(decode[coding](first.rawPayload), identity.rawPayload, `${coding}: the page's bytes`)
    const copy = await app.inject({ url: '/orders?limit=20', headers: { 'accept-encoding': coding } })
    t.same(copy.rawPayload, first.rawPayload, `${coding}: then the stored copy`)
  }
})

t.test('a compressed copy of 4 KB or more is read into a slot too, and sent as the copy', async (t) => {
  // Addresses of random hex: the page barely compresses, so its copy is itself over 4 KB.
  const app = await build(t)
  for (let i = 0; i < 20; i++) await createOrder(app, { ...validOrder, address: randomBytes(200).toString('hex') })
  const url = '/orders?limit=20'
  const identity = await app.inject({ url, headers: { 'accept-encoding': 'identity' } })
  await app.inject({ url, headers: { 'accept-encoding': 'identity' } })
  const made = await app.inject({ url, headers: { 'accept-encoding': 'br' } })
  t.ok(made.rawPayload.length >= 4096, `the copy is ${made.rawPayload.length} bytes`)
  const copy = await app.inject({ url, headers: { 'accept-encoding': 'br' } })
  t.equal(copy.headers['x-cache'], 'HIT')
  t.same(copy.rawPayload, made.rawPayload, 'the stored copy\'s bytes')
  t.same(brotliDecompressSync(copy.rawPayload), identity.rawPayload, 'which are the page\'s')
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
