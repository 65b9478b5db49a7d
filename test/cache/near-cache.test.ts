import t from 'tap'
import type { Test } from 'tap'
import { build, createOrder, redisFor } from '../helper.js'
import { eventually, ownRedis, timed } from '../processes.js'
import { scrape } from '../scrape.js'
import { NEAR, warmNear } from '../near-cache-helpers.js'
import { instances as onOneDatabase } from '../instances.js'

// The near cache (CACHE_NEAR_MAX_BYTES > 0) across three instances sharing one Redis and one
// database, for real: coherence through the invalidation channel, the writer dropping its own
// copies before it answers, and a lost invalidation connection (killed with CLIENT KILL, or
// Redis frozen) emptying the near cache.

async function instances (t: Test, env: Record<string, string> = {}) {
  const apps = await onOneDatabase(t, 3, { ...NEAR, ...env })
  for (const app of apps) await eventually(() => app.cache.status().near === 'on')
  return apps
}

const versionOf = (body: string) => (JSON.parse(body) as { version: number }).version

t.test('near hits cost no Redis round trip and send the same bytes', async (t) => {
  // A Redis of its own: RESETSTAT and commandstats are server-wide, and another test file's
  // MGET on the shared server would fail the check below.
  const [app] = await instances(t, { REDIS_URL: (await ownRedis(t)).url })
  const order = await createOrder(app)
  const redisBody = (await app.inject(`/orders/${order._id}`)).body
  const redis = redisFor(t, app)
  await app.inject(`/orders/${order._id}`) // a Redis hit stores it near
  await redis.config('RESETSTAT')
  for (let i = 0; i < 5; i++) {
    const near = await app.inject(`/orders/${order._id}`)
    t.equal(near.body, redisBody, 'the bytes Redis held')
    t.equal(near.headers.etag, '"1"')
  }
  t.notMatch(await redis.info('commandstats'), /cmdstat_mget:/, 'no lookup reached Redis')
  t.ok(await scrape(app, 'cache_near_bytes') > redisBody.length, 'the near cache counts its bytes')
})

t.test('across 3 instances: a write on one is seen by the others\' near caches, and by itself at once', async (t) => {
  const [a, b, c] = await instances(t)
  const order = await createOrder(a)
  const url = `/orders/${order._id}`
  for (const app of [a, b, c]) {
    await warmNear(t, app, url)
    await warmNear(t, app, '/orders')
  }

  const put = await a.inject({ method: 'PUT', url, payload: { customer: 'Seen Everywhere' } })
  t.equal(put.statusCode, 200)
  t.equal(versionOf((await a.inject(url)).body), 2, 'the writer dropped its own copy before it answered')
  t.equal((await a.inject('/orders')).json().data[0].customer, 'Seen Everywhere', 'and its near list pages')

  for (const [name, app] of [['b', b], ['c', c]] as const) {
    const seen = await timed(eventually(async () => versionOf((await app.inject(url)).body) === 2, 1000))
    t.comment(`instance ${name} showed the write ${seen.ms.toFixed(1)} ms after it was acknowledged`)
    t.equal((await app.inject('/orders')).json().data[0].customer, 'Seen Everywhere', `instance ${name}: the list page too`)
  }

  const created = await b.inject({ method: 'POST', url: '/orders', payload: { customer: 'Newest Order', address: '1 Near Street', items: [{ sku: 'N', qty: 1, price: 1 }] } })
  t.equal(created.statusCode, 201)
  for (const app of [a, c]) {
    await eventually(async () => (await app.inject('/orders')).json().pagination.total === 2, 1000)
  }
  t.pass('a POST on one instance dropped every near list page on the others')
})

t.test('a killed invalidation connection empties the near cache; a write meanwhile is never served stale', async (t) => {
  // A Redis of its own: CLIENT LIST is server-wide, and on the shared server it would also list
  // (and the loop below kill) other test files' invalidation connections, and the count of
  // three could not hold.
  const [a, b] = await instances(t, { REDIS_URL: (await ownRedis(t)).url })
  const order = await createOrder(a)
  const url = `/orders/${order._id}`
  await warmNear(t, b, url)

  const redis = redisFor(t, a)
  const clients = await redis.client('LIST') as string
  const ids = [...clients.matchAll(/id=(\d+) .*name=flowops-order-service-near-cache /g)].map((m) => m[1])
  t.equal(ids.length, 3, 'one invalidation connection per instance')
  for (const id of ids) await redis.client('KILL', 'ID', id as string)

  await eventually(() => b.cache.status().near !== 'on')
  t.equal(await scrape(b, 'cache_near_bytes'), 0, 'emptied on the connection\'s loss')
  // Written while b's connection may be down: b must not answer from a near copy.
  t.equal((await a.inject({ method: 'PUT', url, payload: { customer: 'While Disconnected' } })).statusCode, 200)
  const read = await b.inject(url)
  t.equal(versionOf(read.body), 2, 'b shows the write')

  await eventually(() => b.cache.status().near === 'on')
  await warmNear(t, b, url)
  t.pass('once reconnected and subscribed, near hits resume')
})

t.test('a frozen Redis: the heartbeat turns the near cache off, so nothing stale is served', async (t) => {
  const owned = await ownRedis(t)
  const env = { REDIS_URL: owned.url, CACHE_REDIS_TIMEOUT_MS: '50', REDIS_COMMAND_TIMEOUT_MS: '300' }
  const [a, b] = await instances(t, env)
  await createOrder(a)
  const firstPage = await warmNear(t, b, '/orders')

  await owned.freeze()
  t.teardown(() => owned.thaw())
  const off = await timed(eventually(() => b.cache.status().near !== 'on', 2000))
  t.comment(`near cache off ${off.ms.toFixed(0)} ms after Redis froze`)
  const post = await a.inject({ method: 'POST', url: '/orders', payload: { customer: 'During Freeze', address: '1 Frozen Road', items: [{ sku: 'F', qty: 1, price: 1 }] } })
  t.equal(post.statusCode, 201)
  const during = await b.inject('/orders')
  t.not(during.body, firstPage, 'b does not serve the pre-POST page')
  t.equal(during.json().pagination.total, 2)
  t.equal(during.headers['x-cache'], 'BYPASS', 'served from MongoDB while Redis is frozen')

  owned.thaw()
  await eventually(async () => a.cache.status().invalidationPending === false && b.cache.status().near === 'on', 10_000)
  t.equal((await b.inject('/orders')).json().pagination.total, 2, 'after the thaw, still the new page')
})

t.test('a compressing client gets near hits too: the compressed copy is kept beside the near entry', async (t) => {
  const [app] = await instances(t, { REDIS_URL: (await ownRedis(t)).url })
  for (let i = 0; i < 8; i++) await createOrder(app, { customer: `Compressible Near ${i}`, address: '1 Near Street', items: [{ sku: 'N', qty: 1, price: 1 }] })
  const url = '/orders?limit=10'
  const headers = { 'accept-encoding': 'br' }
  await app.inject(url)
  await app.inject(url) // stored near from a Redis hit
  const first = await app.inject({ url, headers }) // the copy is made from the near entry
  t.equal(first.headers['content-encoding'], 'br')
  const redis = redisFor(t, app)
  await redis.config('RESETSTAT')
  const near = await app.inject({ url, headers })
  t.equal(near.headers['x-cache'], 'HIT')
  t.equal(near.headers['content-encoding'], 'br')
  t.same(near.rawPayload, first.rawPayload)
  t.notMatch(await redis.info('commandstats'), /cmdstat_mget:/, 'no lookup reached Redis')
  t.equal(String(near.headers.vary).toLowerCase().split(',').filter((f) => f.trim() === 'accept-encoding').length, 1, 'Vary names Accept-Encoding once')
})

t.test('a short Redis stall under a trickle of reads: near hits come back within the breaker cooldown plus a second', async (t) => {
  // Defect: the near-hit check asked the breaker with the call that hands out its half-open
  // probe, then made no Redis call, so the probe never settled and the instance stayed in
  // BYPASS for good. Asking the breaker must not take from it.
  const owned = await ownRedis(t)
  const cooldownMs = 1000
  const env = { REDIS_URL: owned.url, CACHE_REDIS_TIMEOUT_MS: '50', REDIS_COMMAND_TIMEOUT_MS: '300', CACHE_BREAKER_COOLDOWN_MS: String(cooldownMs) }
  const app = await build(t, { env: { ...NEAR, ...env } })
  await eventually(() => app.cache.status().near === 'on')
  const order = await createOrder(app)
  const url = `/orders/${order._id}`
  await warmNear(t, app, url)

  const trickling = { on: true }
  const seen: string[] = []
  const trickle = (async () => {
    while (trickling.on) {
      seen.push(String((await app.inject(url)).headers['x-cache']))
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()
  t.teardown(() => { trickling.on = false })

  await owned.freeze()
  t.teardown(() => owned.thaw())
  await eventually(() => seen.includes('BYPASS'), 5000)
  await new Promise((resolve) => setTimeout(resolve, 1500)) // the stall itself: 1.5 s of frozen Redis
  owned.thaw()
  const thawedAt = seen.length
  await timed(eventually(() => seen.slice(thawedAt).includes('HIT'), cooldownMs + 1000)).then(
    (back) => t.pass(`a HIT again ${back.ms.toFixed(0)} ms after SIGCONT`),
    () => t.fail(`no HIT within ${cooldownMs + 1000} ms of SIGCONT; breaker ${app.cache.status().breaker}, near ${app.cache.status().near}`))
  trickling.on = false
  await trickle
  t.ok(seen.includes('BYPASS'), 'the stall was seen: reads bypassed while Redis was frozen')
  t.equal(app.cache.status().breaker, 'closed', 'the breaker closed again')
})
