import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { createOrder, redisFor, redisReady, type TestApp } from '../helper.js'
import { FAST_DEADLINES, instances as onOneDatabase } from '../instances.js'
import { redisKeys } from '../../src/cache/keys.js'
import { eventually, ownRedis, timed, type OwnedRedis } from '../processes.js'
import { scrape } from '../scrape.js'

// LOCK_FALLBACK=optimistic, for real: this file starts its own redis-server and stops or
// freezes it under running services. PUT and DELETE then go ahead without the lock, fenced by
// the version alone, and leave their invalidation owed; the default stays the spec's 503.

const FAST = { ...FAST_DEADLINES, CACHE_INVALIDATION_RETRY_MS: '20' }
const WRITE_BOUND_MS = 2000

type Outage = 'stopped' | 'frozen'

// What the 'stopped' outage writes before it stops Redis, and reads once Redis is back.
const SURVIVOR = { key: 'test:kept-across-restart', value: 'yes' }

async function startOutage (t: Test, redis: OwnedRedis, outage: Outage): Promise<void> {
  if (outage === 'stopped') {
    const admin = new Redis(redis.url)
    // Redis comes back with its data, as a persistent one does: the entries cached before the
    // outage are there again, and only the owed invalidation keeps them from being served. (A
    // Redis restarted empty would make 'no stale read after recovery' unable to fail.)
    await admin.set(SURVIVOR.key, SURVIVOR.value)
    await admin.save()
    admin.disconnect()
    await redis.stop()
  } else {
    await redis.freeze()
    t.teardown(() => redis.thaw())
  }
}

async function endOutage (t: Test, redis: OwnedRedis, outage: Outage): Promise<void> {
  if (outage === 'stopped') {
    await redis.start()
    const admin = new Redis(redis.url)
    t.equal(await admin.get(SURVIVOR.key), SURVIVOR.value, 'Redis restarted with the data it held before the outage')
    admin.disconnect()
  } else {
    redis.thaw()
  }
}

/** Instances sharing one database and one (owned) Redis. */
async function instances (t: Test, count: number, env: Record<string, string>) {
  // Its own directory, where the 'stopped' outage saves the data it restarts with.
  const dir = mkdtempSync(join(tmpdir(), 'flowops-redis-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const redis = await ownRedis(t, ['--dir', dir])
  const apps = await onOneDatabase(t, count, { REDIS_URL: redis.url, ...FAST, ...env })
  return { redis, apps: apps as [TestApp, ...TestApp[]] }
}

for (const outage of ['stopped', 'frozen'] as const) {
  t.test(`LOCK_FALLBACK=optimistic, Redis ${outage}: PUT and DELETE succeed, and no stale read after recovery`, async (t) => {
    const { redis, apps: [app, other] } = await instances(t, 2, { LOCK_FALLBACK: 'optimistic' }) as { redis: OwnedRedis, apps: [TestApp, TestApp] }
    const order = await createOrder(app)
    // Cached on the other instance before the outage: what must not be served after it.
    for (const url of ['/orders', `/orders/${order._id}`]) {
      await other.inject(url)
      t.equal((await other.inject(url)).headers['x-cache'], 'HIT', `${url} cached`)
    }
    await startOutage(t, redis, outage)

    const put = await timed(app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Written Optimistically' } }))
    t.equal(put.result.statusCode, 200, 'PUT went ahead without the lock')
    t.equal(put.result.json().version, 2)
    t.ok(put.ms < WRITE_BOUND_MS, `PUT answered in ${put.ms.toFixed(0)} ms`)
    const stale = await app.inject({ method: 'PUT', url: `/orders/${order._id}`, headers: { 'if-match': '"1"' }, payload: { customer: 'Lost Race' } })
    t.equal(stale.statusCode, 412, 'If-Match still holds without the lock')
    const cancel = await timed(app.inject({ method: 'DELETE', url: `/orders/${order._id}` }))
    t.equal(cancel.result.statusCode, 200, 'DELETE went ahead without the lock')
    t.equal(cancel.result.json().order.version, 3)
    t.equal(await scrape(app, 'lock_optimistic_writes_total'), 3, 'each write counted as optimistic')
    t.equal(await scrape(app, 'cache_invalidation_pending'), 1, 'the invalidation is owed: this instance serves no hits')
    const during = await app.inject(`/orders/${order._id}`)
    t.equal(during.headers['x-cache'], 'BYPASS')
    t.equal(during.json().status, 'Cancelled', 'reads show the writes')

    await endOutage(t, redis, outage)
    await redisReady(app)
    await eventually(async () => await scrape(app, 'cache_invalidation_pending') === 0)
    for (const reader of [app, other]) {
      await redisReady(reader)
      const one = await reader.inject(`/orders/${order._id}`)
      t.equal(one.json().status, 'Cancelled', 'no instance serves the pre-outage order')
      const list = await reader.inject('/orders')
      t.equal(list.json().data[0].status, 'Cancelled', 'nor the pre-outage list page')
    }
  })
}

t.test('LOCK_FALLBACK=none (the default): PUT and DELETE answer 503 LOCK_UNAVAILABLE and change nothing', async (t) => {
  const { redis, apps: [app] } = await instances(t, 1, {})
  t.equal(app.config.LOCK_FALLBACK, 'none')
  const order = await createOrder(app)
  await redis.stop()
  for (const method of ['PUT', 'DELETE'] as const) {
    const write = await app.inject({ method, url: `/orders/${order._id}`, ...(method === 'PUT' ? { payload: { customer: 'Blocked' } } : {}) })
    t.equal(write.statusCode, 503)
    t.equal(write.json().code, 'LOCK_UNAVAILABLE')
  }
  t.equal((await app.inject(`/orders/${order._id}`)).json().version, 1, 'nothing written')
  t.equal(await scrape(app, 'lock_optimistic_writes_total'), 0)
})

t.test('LOCK_FALLBACK=optimistic, Redis stopped: concurrent writers on one order across 3 instances lose no update', async (t) => {
  const { redis, apps } = await instances(t, 3, { LOCK_FALLBACK: 'optimistic' })
  const order = await createOrder(apps[0])
  await redis.stop()

  // Each writer retries a lost race (409) until it wins, as a client would: every one of them
  // must end up applied exactly once, on its own version.
  const writers = 20
  let racesLost = 0
  const wins = await Promise.all(Array.from({ length: writers }, async (_, i) => {
    for (let attempt = 0; attempt < 200; attempt++) {
      const response = await apps[i % apps.length]!.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { address: `${i} Optimistic Street` } })
      if (response.statusCode === 200) return response.json() as { version: number, address: string }
      t.equal(response.statusCode, 409, 'a writer either wins or loses a race')
      t.equal(response.json().code, 'VERSION_CONFLICT')
      racesLost++
    }
    throw new Error(`writer ${i} never won`)
  }))
  t.comment(`${writers} writers without the lock: ${racesLost} races lost and retried`)
  t.same(wins.map((w) => w.version).sort((a, b) => a - b), Array.from({ length: writers }, (_, i) => i + 2),
    'each success made exactly one new version: no two writers applied on the same one')
  const final = (await apps[0].inject(`/orders/${order._id}`)).json()
  t.equal(final.version, 1 + writers, 'the stored version counts every success')
  t.equal(final.address, wins.find((w) => w.version === final.version)?.address, 'the stored order is the last success')

  await redis.start()
  for (const app of apps) await redisReady(app)
  t.equal(await redisFor(t, apps[0]).exists(redisKeys.orderLock(order._id)), 0, 'no lock left behind')
  const writeAgain = await apps[1]!.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Locked Again' } })
  t.equal(writeAgain.statusCode, 200, 'once Redis is back, writes take the lock again')
  t.equal(await scrape(apps[1]!, 'lock_acquired_total'), 1)
})
