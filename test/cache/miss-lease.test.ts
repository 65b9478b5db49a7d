import t from 'tap'
import { Redis } from 'ioredis'
import { build, createOrder, isolatedMongoUrl, isolatedRedisUrl, validOrder } from '../helper.js'
import { mongoRelayed } from '../instances.js'
import { eventually } from '../processes.js'
import { startBuiltServer } from '../built-server.js'
import { freePort } from '../free-port.js'
import { throughRelay } from '../relay.js'
import { scrape } from '../scrape.js'

// Cross-instance miss coalescing (src/cache/miss-lease.ts): of several instances that miss one
// cold key at once, one loads it from MongoDB and the others wait for its fill; a lease holder
// that dies delays the others by CACHE_LEASE_WAIT_MS at most.

const LEASE_WAIT_MS = 300

t.test('3 instances x 30 concurrent misses of one cold page: one MongoDB read in all', async (t) => {
  const first = await build(t)
  const shared = { MONGODB_URL: first.config.MONGODB_URL, REDIS_URL: first.config.REDIS_URL }
  const apps = [first, await build(t, { env: shared }), await build(t, { env: shared })]
  await createOrder(first)
  const reads = async () => (await Promise.all(apps.map((app) => scrape(app, 'database_reads_total')))).reduce((a, b) => a + b, 0)
  const readsBefore = await reads()
  const responses = await Promise.all(Array.from({ length: 90 }, (_, i) => (apps[i % 3] as typeof first).inject('/orders?page=1&limit=10')))
  t.ok(responses.every((r) => r.statusCode === 200 && r.body === responses[0]?.body), 'every instance answered the same page')
  t.equal(await reads() - readsBefore, 1, 'one MongoDB read for 90 misses on 3 instances')
  const outcomes = async (outcome: string) => (await Promise.all(apps.map((app) => scrape(app, 'cache_miss_leases_total', { outcome })))).reduce((a, b) => a + b, 0)
  t.equal(await outcomes('won'), 1, 'one instance took the lease')
  t.equal(await outcomes('waited'), 2, 'the two others got its fill')
  t.equal(await outcomes('timed_out'), 0)
})

t.test('a lease holder SIGKILLed while it loads: another instance answers within the lease wait', async (t) => {
  const mongoUrl = isolatedMongoUrl()
  const redisUrl = await isolatedRedisUrl(t)
  const other = await build(t, { env: { MONGODB_URL: mongoUrl, REDIS_URL: redisUrl, CACHE_LEASE_WAIT_MS: String(LEASE_WAIT_MS) } })
  await createOrder(other)
  // The holder: a process of its own, whose MongoDB connection goes through a relay that holds its query.
  const { relay, url: relayedMongo } = await throughRelay(t, mongoUrl)
  const port = await freePort()
  const holder = startBuiltServer(t, {
    PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', MONGODB_URL: relayedMongo, REDIS_URL: redisUrl, CACHE_LEASE_WAIT_MS: String(LEASE_WAIT_MS)
  })
  await holder.logged((line) => /listening/.test(line.msg ?? ''))
  const held = relay.holdNext('find')
  fetch(`http://127.0.0.1:${port}/orders?page=1&limit=10`).catch(() => {}) // answered never: the holder dies
  await held
  const redis = new Redis(redisUrl)
  t.teardown(() => redis.quit())
  const [, leases] = await redis.scan('0', 'MATCH', '*:lease:*', 'COUNT', 1000)
  t.equal(leases.length, 1, 'the holder took the lease before it asked MongoDB')
  holder.child.kill('SIGKILL')
  await holder.exited

  const started = performance.now()
  const response = await other.inject('/orders?page=1&limit=10')
  const ms = performance.now() - started
  t.equal(response.statusCode, 200)
  t.equal(response.headers['x-cache'], 'MISS')
  t.equal(await scrape(other, 'cache_miss_leases_total', { outcome: 'timed_out' }), 1, 'it waited out the dead holder\'s lease, then loaded')
  // The bound: the lease wait, plus one MongoDB read and a fill on a loaded 2-core machine (1 s of margin).
  t.ok(ms < LEASE_WAIT_MS + 1000, `answered in ${ms.toFixed(0)} ms (lease wait ${LEASE_WAIT_MS} ms)`)
})

t.test('a waiter whose generation a POST moves stops waiting and loads at once (not the whole lease wait)', async (t) => {
  const LONG_WAIT_MS = 5000
  const waiter = await build(t, { env: { CACHE_LEASE_WAIT_MS: String(LONG_WAIT_MS) } })
  const { app: holder, relay } = await mongoRelayed(t, waiter, { CACHE_LEASE_WAIT_MS: String(LONG_WAIT_MS) })
  await createOrder(waiter)
  const url = '/orders?page=1&limit=10'
  const held = relay.holdNext('find')
  const holderRead = holder.inject(url)
  await held // the holder has the lease and its query is held

  const missesBefore = await scrape(waiter, 'cache_misses_total')
  const started = performance.now()
  const waiterRead = waiter.inject(url)
  // The miss is counted after the lookup that noted the generation, before the lease is tried.
  await eventually(async () => await scrape(waiter, 'cache_misses_total') === missesBefore + 1)
  const created = await createOrder(waiter, { ...validOrder, customer: 'Moves The Generation' })
  const answered = await waiterRead
  const ms = performance.now() - started
  t.equal(answered.statusCode, 200)
  t.ok(answered.json().data.some((o: { _id: string }) => o._id === created._id), 'it loaded after the POST: the new order is on the page')
  t.equal(await scrape(waiter, 'cache_miss_leases_total', { outcome: 'moved' }), 1, 'it left the wait when the generation moved')
  t.ok(ms < LONG_WAIT_MS / 2, `answered in ${ms.toFixed(0)} ms, not after the ${LONG_WAIT_MS} ms wait`)
  relay.release()
  t.equal((await holderRead).statusCode, 200, 'the holder answers too (a read that began before the POST)')
})
