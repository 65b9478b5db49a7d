import t from 'tap'
import { build, createOrder } from '../helper.js'
import { ownMongo } from '../processes.js'
import { scrape } from '../scrape.js'

// Concurrent misses on one key share the leader's outcome, whatever it is: a 200 body, a 404
// or a database error. Nobody who joined falls back to a query of its own.

const UNKNOWN_ID = '0123456789abcdef01234567'

t.test('20 concurrent GETs of an unknown id: one MongoDB read, twenty 404s', async (t) => {
  const app = await build(t)
  const readsBefore = await scrape(app, 'database_reads_total')
  const dedupedBefore = await scrape(app, 'cache_deduped_misses_total')
  const responses = await Promise.all(Array.from({ length: 20 }, () => app.inject(`/orders/${UNKNOWN_ID}`)))
  t.ok(responses.every((r) => r.statusCode === 404 && r.json().code === 'ORDER_NOT_FOUND'), 'every request got the 404')
  t.equal(await scrape(app, 'database_reads_total') - readsBefore, 1, 'one MongoDB read')
  t.equal(await scrape(app, 'cache_deduped_misses_total') - dedupedBefore, 19, 'the counter counts only the joins that saved a read')
})

t.test('a HEAD that leads shares its load with the GETs that join it', async (t) => {
  const app = await build(t)
  const order = await createOrder(app)
  const readsBefore = await scrape(app, 'database_reads_total')
  const [head, ...gets] = await Promise.all([
    app.inject({ method: 'HEAD', url: `/orders/${order._id}` }),
    ...Array.from({ length: 10 }, () => app.inject(`/orders/${order._id}`))
  ])
  t.equal(head?.statusCode, 200)
  t.equal(head?.body, '', 'HEAD has no body')
  t.equal(head?.headers.etag, '"1"')
  t.ok(gets.every((r) => r.statusCode === 200 && r.json()._id === order._id && r.headers.etag === '"1"'), 'every GET got the order')
  t.equal(await scrape(app, 'database_reads_total') - readsBefore, 1, 'one MongoDB read for the HEAD and the ten GETs')
})

t.test('MongoDB down: concurrent misses share the one failed read', async (t) => {
  const mongo = await ownMongo(t)
  const app = await build(t, { env: { MONGODB_URL: mongo.url, MONGODB_TIMEOUT_MS: '500' } })
  await mongo.stop()
  const readsBefore = await scrape(app, 'database_reads_total')
  const responses = await Promise.all(Array.from({ length: 20 }, () => app.inject(`/orders/${UNKNOWN_ID}`)))
  t.ok(responses.every((r) => r.statusCode === 503 && r.json().code === 'DATABASE_UNAVAILABLE'), 'every request got the 503')
  t.equal(await scrape(app, 'database_reads_total') - readsBefore, 1, 'one MongoDB attempt, not twenty')
})
