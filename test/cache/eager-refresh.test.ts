import t from 'tap'
import type { Test } from 'tap'
import { build, createOrder, redisFor, validOrder, type TestApp } from '../helper.js'
import { instances, mongoRelayed, everyInstanceShows } from '../instances.js'
import { eventually } from '../processes.js'
import { scrape } from '../scrape.js'
import { standaloneKeys, type CacheTarget } from '../../src/cache/keys.js'

// Eager refresh (src/cache/refresh-ahead.ts): a hit in the last part of its entry's TTL
// (CACHE_REFRESH_AHEAD_PERCENT, default the last 10%) reloads the entry in the background, on
// one instance of many, so that a key read steadily never expires; and the reload's fill is
// refused when a write lands meanwhile, as a miss's is. An entry's age is the fill time stored
// beside it (`<entry key>:filled`), which these tests set back rather than wait a TTL out.

const sum = async (apps: TestApp[], metric: string) => (await Promise.all(apps.map((app) => scrape(app, metric)))).reduce((a, b) => a + b, 0)

/** Makes an entry look filled `ageMs` ago (its TTL in Redis unchanged). */
async function age (t: Test, app: TestApp, target: CacheTarget, ageMs: number): Promise<void> {
  const redis = redisFor(t, app)
  t.equal(await redis.call('SET', target.filledKey, String(Date.now() - ageMs), 'XX', 'KEEPTTL'), 'OK', 'the entry has a fill time beside it')
}

t.test('a hit in the last 10% of the TTL reloads the entry once, across 3 instances, and the entry lives on', async (t) => {
  const apps = await instances(t, 3)
  const [a] = apps
  await createOrder(a)
  const target = standaloneKeys.listPage(1, 10)
  t.equal((await a.inject('/orders')).headers['x-cache'], 'MISS')
  const redis = redisFor(t, a)
  const filledAt = Number(await redis.get(target.filledKey))
  t.ok(Math.abs(filledAt - Date.now()) < 5000, 'the fill stored its time (Redis\'s clock, ms)')
  t.ok(await redis.ttl(target.filledKey) > 55, 'with the entry\'s TTL')

  await age(t, a, target, 50_000) // 50 s of 60: not due yet
  await Promise.all(apps.map((app) => app.inject('/orders')))
  t.equal(await sum(apps, 'cache_eager_refreshes_total'), 0, 'no refresh before the last 10%')

  await age(t, a, target, 56_000) // due
  const readsBefore = await sum(apps, 'database_reads_total')
  const fillsBefore = await sum(apps, 'cache_fills_total')
  const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => (apps[i % 3] as TestApp).inject('/orders')))
  t.ok(responses.every((r) => r.statusCode === 200 && r.headers['x-cache'] === 'HIT'), 'every read is a hit, served at once')
  await eventually(async () => await sum(apps, 'cache_fills_total') > fillsBefore)
  t.equal(await sum(apps, 'cache_eager_refreshes_total'), 1, 'one refresh, on one instance')
  t.equal(await sum(apps, 'database_reads_total') - readsBefore, 1, 'one MongoDB read for 30 due hits on 3 instances')
  t.ok(Date.now() - Number(await redis.get(target.filledKey)) < 5000, 'the entry was filled again')
  t.ok(await redis.ttl(target.key) > 55, 'and lives a whole TTL again')
  t.equal((await a.inject('/orders')).headers['x-cache'], 'HIT', 'still a hit after it')
  t.equal(await sum(apps, 'cache_misses_total'), 1, 'no miss but the first read\'s')
})

t.test('steady reads of one page with a short TTL: no miss after the first read, one MongoDB read per refresh', async (t) => {
  // TTL 3 s, refreshed in its last half: the page is read for 7 s (more than two TTLs) on 3 instances.
  // Generous deadlines: what is tested is the refresh. On a machine busy with a benchmark beside
  // the suite, a lookup past the 50 ms read deadline (or a watch ping past its share of the
  // command deadline) turned two hits into BYPASS reads of MongoDB (once in the 5-in-a-row runs).
  const apps = await instances(t, 3, { CACHE_TTL_SECONDS: '3', CACHE_REFRESH_AHEAD_PERCENT: '50', CACHE_REDIS_TIMEOUT_MS: '2000', REDIS_COMMAND_TIMEOUT_MS: '5000' })
  await createOrder(apps[0])
  t.equal((await apps[0].inject('/orders')).headers['x-cache'], 'MISS', 'warm-up')
  const readsBefore = await sum(apps, 'database_reads_total')
  const until = Date.now() + 7000
  const statuses = new Map<string, number>()
  await Promise.all(apps.map(async (app) => {
    while (Date.now() < until) {
      const status = String((await app.inject('/orders')).headers['x-cache'])
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
      await new Promise((resolve) => setTimeout(resolve, 20)) // the load's pace, not a wait for an event
    }
  }))
  t.same([...statuses.keys()], ['HIT'], `only hits after the warm-up: ${JSON.stringify(Object.fromEntries(statuses))}`)
  const refreshes = await sum(apps, 'cache_eager_refreshes_total')
  t.ok(refreshes >= 2, `refreshed ${refreshes} times in 7 s`)
  t.equal(await sum(apps, 'database_reads_total') - readsBefore, refreshes, 'one MongoDB read per refresh, none else')
})

t.test('CACHE_REFRESH_AHEAD_PERCENT=0: no eager refresh', async (t) => {
  const app = await build(t, { env: { CACHE_REFRESH_AHEAD_PERCENT: '0' } })
  await createOrder(app)
  await app.inject('/orders')
  await age(t, app, standaloneKeys.listPage(1, 10), 59_000)
  t.equal((await app.inject('/orders')).headers['x-cache'], 'HIT')
  t.equal(await scrape(app, 'cache_eager_refreshes_total'), 0)
})

for (const scope of ['list', 'entity'] as const) {
  t.test(`no stale fill through an eager refresh (${scope}): the refresh paused between its MongoDB read and its fill`, async (t) => {
    const writer = await build(t)
    // The reader's MongoDB replies pass through a relay that holds the one carrying the order.
    const { app: reader, relay } = await mongoRelayed(t, writer, { MONGODB_TIMEOUT_MS: '20000' })
    const order = await createOrder(writer, { ...validOrder, customer: 'Before The Write' })
    const url = scope === 'list' ? '/orders' : `/orders/${order._id}`
    const target = scope === 'list' ? standaloneKeys.listPage(1, 10) : standaloneKeys.entity(order._id)
    await reader.inject(url)
    await age(t, reader, target, 57_000)

    const refreshHeld = relay.holdNextReply('Before The Write')
    const hit = await reader.inject(url)
    t.equal(hit.headers['x-cache'], 'HIT', 'the due hit is served at once')
    await refreshHeld // the refresh has its pre-write data in hand, and has not filled yet

    const put = await writer.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'After The Write' } })
    t.equal(put.statusCode, 200, 'another instance commits and invalidates meanwhile')
    relay.release()
    await eventually(async () => await scrape(reader, 'cache_stale_fills_refused_total') === 1)
    t.equal(await scrape(reader, 'cache_eager_refreshes_total'), 1, 'it was the refresh whose fill was refused')

    await everyInstanceShows(t, [reader, writer], url, order._id, 'After The Write', 'no instance is served the pre-write data')
  })
}
