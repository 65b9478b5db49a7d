import t from 'tap'
import { once } from 'node:events'
import type { Test } from 'tap'
import { Cluster, type Redis } from 'ioredis'
import { build, createOrder, validOrder, type TestApp } from '../helper.js'
import { ownRedisCluster, type RedisCluster } from '../redis-cluster.js'
import { instances as onOneDatabase, mongoRelayed, everyInstanceShows, writeWhileReadHeld } from '../instances.js'
import { scrape } from '../scrape.js'
import { eventually } from '../processes.js'
import { entryConnections, readsIntoReusedBuffers } from './topology-checks.js'
import { createEntryConnection } from '../../src/redis/create-redis-client.js'
import { clusterKeys, redisKeys } from '../../src/cache/keys.js'

// The cache and the lock on a real Redis Cluster (3 masters + 3 replicas), across two service
// instances sharing one database: hits and misses, a POST invalidating every list page and a
// PUT or DELETE its order, rewriting the pages holding it (in every slot group), no stale fill with a reader paused between its MongoDB read and its fill, and
// concurrent writers with no lost update and no lock left behind. In cluster mode the keys
// carry a hash tag, so each entry shares its slot with the generation that guards it.

// Generous deadlines: what is tested here is the cache's behaviour on a Cluster, not its
// deadlines, and on a machine busy with other work (a benchmark beside the suite) a lookup past
// the 50 ms read deadline, or a watch ping past its share of the 500 ms one, turned a hit into a
// BYPASS (twice in the 5-in-a-row runs).
const PATIENT = { CACHE_REDIS_TIMEOUT_MS: '2000', REDIS_COMMAND_TIMEOUT_MS: '5000' }

async function instances (t: Test, cluster: RedisCluster, count = 2): Promise<TestApp[]> {
  return await onOneDatabase(t, count, { REDIS_CLUSTER_NODES: cluster.seeds, ...PATIENT })
}

function observer (t: Test, cluster: RedisCluster): Cluster {
  const client = new Cluster(cluster.seeds.split(',').map((seed) => ({ host: '127.0.0.1', port: Number(seed.split(':')[1]) })))
  t.teardown(() => { client.disconnect() })
  return client
}

/** The master that holds `key`'s slot (CLUSTER COUNTKEYSINSLOT counts only a node's own slots). */
async function masterHolding (cluster: Cluster, key: string): Promise<Redis> {
  const masters = cluster.nodes('master')
  const slot = await (masters[0] as Redis).call('CLUSTER', 'KEYSLOT', key) as number
  for (const master of masters) if (await master.call('CLUSTER', 'COUNTKEYSINSLOT', slot) as number > 0) return master
  throw new Error(`no master holds ${key}`)
}

const cacheOf = (response: { headers: Record<string, unknown> }) => response.headers['x-cache']

t.test('Redis Cluster: hits, misses and invalidation on every mutation, across two instances', async (t) => {
  const cluster = await ownRedisCluster(t)
  const [a, b] = await instances(t, cluster) as [TestApp, TestApp]
  const redis = observer(t, cluster)
  const order = await createOrder(a)

  t.equal(cacheOf(await a.inject('/orders')), 'MISS', 'list: first read misses')
  t.equal(cacheOf(await b.inject('/orders')), 'HIT', 'list: the other instance hits the shared entry')
  t.equal(cacheOf(await a.inject('/orders?page=2')), 'MISS', 'page 2 (another slot group) misses')
  t.equal(cacheOf(await a.inject('/orders?page=2')), 'HIT', 'then hits')
  t.equal(cacheOf(await a.inject(`/orders/${order._id}`)), 'MISS', 'order: first read misses')
  t.equal(cacheOf(await b.inject(`/orders/${order._id}`)), 'HIT', 'order: the other instance hits')

  const page1 = clusterKeys.listPage(1, 10)
  const page2 = clusterKeys.listPage(2, 10)
  t.equal(page1.key, 'flowops:order-service:v1:orders:list:{orders:list:0}:page:1:limit:10', 'the cluster-mode key format')
  t.not(page1.generationKey, page2.generationKey, 'pages 1 and 2 are guarded by different generations (different slots)')
  t.equal(await redis.exists(page1.key, page1.generationKey), 2, 'page 1 and its generation are stored (one slot: one command)')
  t.equal(await redis.exists(clusterKeys.entity(order._id).key), 1, 'the order\'s entry is stored')
  t.equal(await redis.exists(redisKeys.listPage(1, 10)), 0, 'the standalone key is not used')
  const page1Master = await masterHolding(redis, page1.key)
  t.same(await entryConnections(page1Master), [{ lastCommand: 'mget' }, { lastCommand: 'mget' }],
    'both instances read page 1 on entry connections of their own, to the master holding it')
  // Those connections as the cache makes them: each node's socket reads into reused buffers.
  const entries = createEntryConnection(a.config) as Cluster
  t.teardown(() => { entries.disconnect() })
  await once(entries, 'ready')
  await entries.mget(page1.key, page1.generationKey)
  const entryNodes = entries.nodes('master')
  t.ok(entryNodes.length > 0, 'the entry Cluster client has master connections')
  for (const node of entryNodes) t.equal(await readsIntoReusedBuffers(node), true, `its connection to :${node.options.port ?? '?'} reads into reused buffers`)
  t.equal(await readsIntoReusedBuffers(redis.nodes('master')[0] as Redis), false, 'a Cluster client of ioredis\'s own does not (the check can tell)')

  const created = await b.inject({ method: 'POST', url: '/orders', payload: { customer: 'Cluster Buyer', address: '1 Slot Street', items: [{ sku: 'S', qty: 1, price: 2 }] } })
  t.equal(created.statusCode, 201)
  const afterPost = await a.inject('/orders')
  t.equal(cacheOf(afterPost), 'MISS', 'POST on one instance invalidated page 1 for the other')
  t.equal(afterPost.json().pagination.total, 2, 'which shows the new order')
  t.equal(cacheOf(await a.inject('/orders?page=2')), 'MISS', 'and every other page group too')
  t.equal(cacheOf(await b.inject(`/orders/${order._id}`)), 'HIT', 'a POST leaves other orders\' entries alone')

  // With limit 1, the new order is page 1 (slot group 0) and the first order page 2 (group 1).
  for (const [method, payload] of [['PUT', { customer: 'Changed In Cluster' }], ['DELETE', undefined]] as const) {
    for (const url of ['/orders', '/orders?page=1&limit=1', '/orders?page=2&limit=1']) {
      await a.inject(url)
      t.equal(cacheOf(await b.inject(url)), 'HIT', `${url} cached before the ${method}`)
    }
    await a.inject(`/orders/${order._id}`)
    const written = await b.inject({ method, url: `/orders/${order._id}`, ...(payload ? { payload } : {}) })
    t.equal(written.statusCode, 200, `${method} 200`)
    const version = (written.json().order ?? written.json()).version
    const holding = await a.inject('/orders?page=2&limit=1')
    t.equal(cacheOf(holding), 'HIT', `${method} rewrote the page holding the order in place (group 1)`)
    t.equal(holding.json().data[0].version, version, 'which shows the write')
    t.equal(cacheOf(await a.inject('/orders?page=1&limit=1')), 'HIT', `${method} left the page without it alone (group 0)`)
    const list = await a.inject('/orders')
    t.equal(cacheOf(list), 'HIT', `${method} rewrote the list page holding it (group 0, limit 10)`)
    t.equal(list.json().data.find((o: { _id: string }) => o._id === order._id).version, version, 'which shows the write')
    const one = await a.inject(`/orders/${order._id}`)
    t.equal(cacheOf(one), 'MISS', `${method} invalidated the order`)
    t.equal(one.json().version, (written.json().order ?? written.json()).version, 'the other instance reads the write')
  }
  t.equal(await redis.exists(redisKeys.orderLock(order._id)), 0, 'no lock left behind')
})

for (const scope of ['list', 'entity'] as const) {
  t.test(`Redis Cluster: no stale fill (${scope}), the reader paused between its MongoDB read and its fill`, async (t) => {
    const cluster = await ownRedisCluster(t)
    const writer = await build(t, { env: { REDIS_CLUSTER_NODES: cluster.seeds, ...PATIENT } })
    // The reader's MongoDB replies pass through a relay that holds the one carrying the order.
    const { app: reader, relay } = await mongoRelayed(t, writer, { REDIS_CLUSTER_NODES: cluster.seeds, MONGODB_TIMEOUT_MS: '20000', ...PATIENT })
    const order = await createOrder(writer, { ...validOrder, customer: 'Before The Write' })
    const url = scope === 'list' ? '/orders' : `/orders/${order._id}`

    const old = await writeWhileReadHeld(t, { reader, writer, relay }, url, order._id, 'Before The Write', 'After The Write')
    t.equal(cacheOf(old), 'MISS', 'the paused read answered MISS: it reached Redis and tried to fill')
    t.equal(await scrape(reader, 'cache_stale_fills_refused_total'), 1, 'the reader\'s fill was refused')

    await everyInstanceShows(t, [reader, writer], url, order._id, 'After The Write', 'no instance is served the pre-mutation data')
  })
}

// The same guarantee through the two background or fallback loads: an eager refresh (a hit in
// the last 10% of its TTL) and the reload of an entry past its TTL kept for grace. An entry's
// age is set back through the fill time stored beside it (same slot), rather than waited out.
for (const load of ['eager refresh', 'grace reload'] as const) {
  t.test(`Redis Cluster: no stale fill through an ${load}, paused between its MongoDB read and its fill (list and entity)`, async (t) => {
    const cluster = await ownRedisCluster(t)
    const env = { REDIS_CLUSTER_NODES: cluster.seeds, ...PATIENT, ...(load === 'grace reload' ? { CACHE_GRACE_SECONDS: '600', CACHE_SOFT_TIMEOUT_MS: '20000' } : {}) }
    const writer = await build(t, { env })
    const { app: reader, relay } = await mongoRelayed(t, writer, { ...env, MONGODB_TIMEOUT_MS: '20000' })
    const redis = observer(t, cluster)
    for (const scope of ['list', 'entity'] as const) {
      const before = `Before The Write (${scope})`
      const after = `After The Write (${scope})`
      const order = await createOrder(writer, { ...validOrder, customer: before })
      const url = scope === 'list' ? '/orders' : `/orders/${order._id}`
      const target = scope === 'list' ? clusterKeys.listPage(1, 10) : clusterKeys.entity(order._id)
      await reader.inject(url)
      const ageMs = load === 'eager refresh' ? 57_000 : 65_000
      t.equal(await redis.call('SET', target.filledKey, String(Date.now() - ageMs), 'XX', 'KEEPTTL'), 'OK', `${scope}: filled ${ageMs / 1000} s ago`)
      const refusedBefore = await scrape(reader, 'cache_stale_fills_refused_total')

      const held = relay.holdNextReply(before)
      const read = reader.inject(url)
      if (load === 'eager refresh') t.equal(cacheOf(await read), 'HIT', `${scope}: the due hit is served at once`)
      await held // the load has its pre-write data in hand, and has not filled yet
      const put = await writer.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: after } })
      t.equal(put.statusCode, 200, `${scope}: another instance commits and invalidates meanwhile`)
      relay.release()
      if (load === 'grace reload') t.equal(cacheOf(await read), 'MISS', `${scope}: the reload answered (a read that began before the write)`)
      await eventually(async () => await scrape(reader, 'cache_stale_fills_refused_total') === refusedBefore + 1)
      await everyInstanceShows(t, [reader, writer], url, order._id, after, `${scope}: no instance is served the pre-write data`)
    }
  })
}

t.test('Redis Cluster: concurrent writers on one order across instances lose no update', async (t) => {
  const cluster = await ownRedisCluster(t)
  const apps = await instances(t, cluster, 3)
  const order = await createOrder(apps[0] as TestApp)
  const responses = await Promise.all(Array.from({ length: 30 }, (_, i) =>
    (apps[i % apps.length] as TestApp).inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { address: `${i} Cluster Street` } })))
  const statuses = responses.map((r) => r.statusCode)
  t.ok(statuses.every((s) => s === 200 || s === 409), `only 200 and 409: ${[...new Set(statuses)].join(',')}`)
  const successes = responses.filter((r) => r.statusCode === 200)
  t.ok(successes.length >= 1, 'at least one writer won')
  const final = (await (apps[1] as TestApp).inject(`/orders/${order._id}`)).json()
  t.equal(final.version, 1 + successes.length, 'the version grew by exactly the number of successes')
  t.equal(final.address, successes.map((r) => r.json()).find((o) => o.version === final.version)?.address, 'the final document is the last success')
  t.equal(await observer(t, cluster).exists(redisKeys.orderLock(order._id)), 0, 'no lock left behind')
})
