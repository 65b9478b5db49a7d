import t from 'tap'
import type { Test } from 'tap'
import { build, createOrder, redisFor, validOrder, type TestApp } from '../helper.js'
import { mongoRelayed, everyInstanceShows, writeWhileReadHeld } from '../instances.js'
import { eventually, ownMongo, timed } from '../processes.js'
import { scrape } from '../scrape.js'
import { standaloneKeys, type CacheTarget } from '../../src/cache/keys.js'

// Fail-safe without staleness (CACHE_GRACE_SECONDS, src/cache/grace.ts): an entry past its TTL
// is kept for the grace period and served (X-Cache: GRACE, with Age) while MongoDB fails or is
// slower than CACHE_SOFT_TIMEOUT_MS, only while its generation is current: an entry a write
// retired is never served so. With the default (0) nothing changes: a miss fails as before.
// This file runs its own MongoDB-compatible server (FerretDB) and stops or freezes it. An entry
// is put past its TTL by setting back the fill time stored beside it, rather than waiting.

const GRACE = { CACHE_GRACE_SECONDS: '600', CACHE_SOFT_TIMEOUT_MS: '300', MONGODB_TIMEOUT_MS: '1000' }

async function pastTtl (t: Test, app: TestApp, targets: CacheTarget[]): Promise<void> {
  const redis = redisFor(t, app)
  for (const target of targets) {
    t.equal(await redis.call('SET', target.filledKey, String(Date.now() - 65_000), 'XX', 'KEEPTTL'), 'OK', `${target.key}: filled 65 s ago (TTL 60 s)`)
  }
}

t.test('MongoDB stopped: entries past their TTL are served in grace while current; retired or missing ones are 503', async (t) => {
  const mongo = await ownMongo(t)
  const app = await build(t, { env: { MONGODB_URL: mongo.url, ...GRACE } })
  const kept = await createOrder(app)
  const retired = await createOrder(app, { ...validOrder, customer: 'Retired By A Write' })
  const before = (await app.inject('/orders')).json()
  await app.inject(`/orders/${kept._id}`)
  await app.inject({ url: `/orders/${kept._id}`, headers: { 'accept-encoding': 'br' } }) // its br copy (a note: too small to compress)
  await app.inject(`/orders/${retired._id}`)
  t.ok(await redisFor(t, app).ttl(standaloneKeys.entity(kept._id).key) > 600, 'an entry lives its TTL plus the grace period')
  const put = await app.inject({ method: 'PUT', url: `/orders/${retired._id}`, payload: { customer: 'Changed' } })
  t.equal(put.statusCode, 200, 'a write retires its order\'s entry (and rewrites the page holding it)')
  const page = (await app.inject('/orders')).json()
  await pastTtl(t, app, [standaloneKeys.listPage(1, 10), standaloneKeys.entity(kept._id)])

  await mongo.stop()
  const list = await app.inject('/orders')
  t.equal(list.statusCode, 200, 'a page read before the outage is served')
  t.equal(list.headers['x-cache'], 'GRACE')
  t.ok(Number(list.headers.age) >= 65, `with its age (Age: ${list.headers.age})`)
  t.same(list.json(), page, 'as it was current: the write\'s rewrite included')
  t.not(JSON.stringify(list.json()), JSON.stringify(before), 'not the page from before the write')
  const one = await app.inject(`/orders/${kept._id}`)
  t.equal(one.headers['x-cache'], 'GRACE', 'an order too')
  t.equal(one.json().version, 1)
  const br = await app.inject({ url: `/orders/${kept._id}`, headers: { 'accept-encoding': 'br' } })
  t.equal(br.headers['x-cache'], 'GRACE', 'in any coding: the copy, past its TTL with its entry, served in grace')
  t.equal(br.json().version, 1)
  t.ok(Number(br.headers.age) >= 65, 'with the entry\'s age')
  for (const url of [`/orders/${retired._id}`, '/orders?page=2']) {
    const { result, ms } = await timed(app.inject(url))
    t.equal(result.statusCode, 503, `${url}: retired by a write, or never cached: 503 as without grace`)
    t.ok(ms < 5000, `answered in ${ms.toFixed(0)} ms`)
  }
  t.equal(await scrape(app, 'cache_grace_hits_total'), 3)

  await mongo.start()
  await eventually(async () => (await app.inject('/orders')).headers['x-cache'] !== 'GRACE')
  const back = await app.inject('/orders')
  t.equal(back.headers['x-cache'], 'HIT', 'the database back, the reload filled the page again')
  t.equal(back.headers.age, undefined, 'a hit has no Age')
  const brBack = await app.inject({ url: `/orders/${kept._id}`, headers: { 'accept-encoding': 'br' } })
  t.not(brBack.headers['x-cache'], 'GRACE', 'a copy past its TTL is reloaded too once the database is back')
  t.equal(brBack.json().version, 1)
})

t.test('MongoDB frozen: an entry in grace is answered within the soft timeout, not the driver\'s', async (t) => {
  const mongo = await ownMongo(t)
  const app = await build(t, { env: { MONGODB_URL: mongo.url, ...GRACE, MONGODB_TIMEOUT_MS: '10000' } })
  await createOrder(app)
  await app.inject('/orders')
  await pastTtl(t, app, [standaloneKeys.listPage(1, 10)])
  await mongo.freeze()
  const { result, ms } = await timed(app.inject('/orders'))
  t.equal(result.headers['x-cache'], 'GRACE')
  t.ok(ms < 3000, `answered in ${ms.toFixed(0)} ms (soft timeout 300 ms, driver timeout 10 s)`)
  mongo.thaw()
})

t.test('CACHE_GRACE_SECONDS=0 (default): an entry lives its TTL, and a miss with MongoDB stopped is 503', async (t) => {
  const mongo = await ownMongo(t)
  const app = await build(t, { env: { MONGODB_URL: mongo.url, MONGODB_TIMEOUT_MS: '1000', CACHE_TTL_SECONDS: '1' } })
  await createOrder(app)
  await app.inject('/orders')
  const redis = redisFor(t, app)
  t.ok(await redis.pttl(standaloneKeys.listPage(1, 10).key) <= 1000, 'the entry\'s TTL is the TTL')
  await eventually(async () => await redis.exists(standaloneKeys.listPage(1, 10).key) === 0)
  await mongo.stop()
  const response = await app.inject('/orders')
  t.equal(response.statusCode, 503)
  t.equal(response.json().code, 'DATABASE_UNAVAILABLE')
  t.equal(await scrape(app, 'cache_grace_hits_total'), 0)
})

for (const scope of ['list', 'entity'] as const) {
  t.test(`no stale fill through a reload in grace (${scope}): the reader paused between its MongoDB read and its fill`, async (t) => {
    const writer = await build(t, { env: GRACE })
    const { app: reader, relay } = await mongoRelayed(t, writer, { ...GRACE, CACHE_SOFT_TIMEOUT_MS: '20000', MONGODB_TIMEOUT_MS: '20000' })
    const order = await createOrder(writer, { ...validOrder, customer: 'Before The Write' })
    const url = scope === 'list' ? '/orders' : `/orders/${order._id}`
    await reader.inject(url)
    await pastTtl(t, reader, [scope === 'list' ? standaloneKeys.listPage(1, 10) : standaloneKeys.entity(order._id)])

    const slowRead = await writeWhileReadHeld(t, { reader, writer, relay }, url, order._id, 'Before The Write', 'After The Write')
    t.equal(slowRead.headers['x-cache'], 'MISS', 'the reload answered (a read that began before the write)')
    t.equal(await scrape(reader, 'cache_stale_fills_refused_total'), 1, 'its fill was refused')
    await everyInstanceShows(t, [reader, writer], url, order._id, 'After The Write', 'no instance is served the pre-write data')
  })
}
