import t from 'tap'
import { build, createOrder } from '../helper.js'
import { ownRedis } from '../processes.js'
import { scrape } from '../scrape.js'

// While Redis is down every read goes to MongoDB: reads of one key in one process share loads
// (at most two for a burst: the one running and the next, never an older one), and loads in
// flight are bounded, with 503 OVERLOADED past the queue instead of a pool that fills.

t.test('Redis down: 100 concurrent GETs of one page cost at most 2 MongoDB reads', async (t) => {
  const redis = await ownRedis(t)
  const app = await build(t, { env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '200' } })
  for (let i = 0; i < 3; i++) await createOrder(app)
  await redis.stop()
  const before = await scrape(app, 'database_reads_total')
  const answers = await Promise.all(Array.from({ length: 100 }, () => app.inject('/orders')))
  const reads = await scrape(app, 'database_reads_total') - before
  t.same([...new Set(answers.map((a) => a.statusCode))], [200], 'every GET answered 200')
  t.same([...new Set(answers.map((a) => a.headers['x-cache']))], ['BYPASS'])
  t.ok(reads >= 1 && reads <= 2, `${reads} MongoDB reads for 100 GETs`)
  t.equal(new Set(answers.map((a) => a.body)).size, 1, 'all the same page')
})

t.test('Redis down: loads beyond the bound wait, and past the queue are 503 OVERLOADED', async (t) => {
  const redis = await ownRedis(t)
  const app = await build(t, { env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '200', CACHE_BYPASS_MAX_CONCURRENT: '1', CACHE_BYPASS_MAX_QUEUED: '2' } })
  await createOrder(app)
  await redis.stop()
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => app.inject(`/orders?page=${i + 1}`)))
  const statuses = answers.map((a) => a.statusCode)
  t.equal(statuses.filter((s) => s === 200).length, 3, 'one running and two queued are answered')
  t.same(answers.filter((a) => a.statusCode === 503).map((a) => a.json().code), Array(5).fill('OVERLOADED'), 'the rest: 503 OVERLOADED, at once')
  t.equal(answers.find((a) => a.statusCode === 503)?.headers['retry-after'], '10')
  t.equal((await app.inject('/orders?page=1')).statusCode, 200, 'then reads go on')
})
