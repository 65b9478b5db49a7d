import t from 'tap'
import { Cluster } from 'ioredis'
import { build } from '../helper.js'
import { readyThenCreate } from './topology-checks.js'
import { ownRedisCluster } from '../redis-cluster.js'
import { eventually } from '../processes.js'
import { redisKeys } from '../../src/cache/keys.js'

// The service against a real Redis Cluster (REDIS_CLUSTER_NODES): it boots, reports Redis up,
// takes writes, and its per-order lock (SET NX EX on one key, compare-and-delete script on the
// same key) works across the cluster's slots as it is. The cache in cluster mode:
// redis-cluster-cache.test.ts.

t.test('against a Redis Cluster: ready, POST, the lock (409 while held, PUT 200 after), rate limit', async (t) => {
  const cluster = await ownRedisCluster(t)
  // A generous limiter deadline: past it the limit is skipped (fail open), which is not what is tested here.
  const app = await build(t, { env: { REDIS_CLUSTER_NODES: cluster.seeds, RATE_LIMIT_MAX: '1000', RATE_LIMIT_REDIS_TIMEOUT_MS: '5000' } })
  t.ok(app.redis instanceof Cluster, 'the service\'s client is ioredis\'s Cluster')

  const id = await readyThenCreate(t, app)

  // Another instance holds the order's lock: a client of our own on the same cluster.
  const other = new Cluster(cluster.seeds.split(',').map((seed) => ({ host: '127.0.0.1', port: Number(seed.split(':')[1]) })))
  t.teardown(() => { other.disconnect() })
  await other.set(redisKeys.orderLock(id), 'someone-else', 'EX', 30, 'NX')
  const blocked = await app.inject({ method: 'PUT', url: `/orders/${id}`, payload: { customer: 'Blocked' } })
  t.equal(blocked.statusCode, 409, 'a held lock is 409')
  t.equal(blocked.json().code, 'ORDER_LOCKED')
  await other.del(redisKeys.orderLock(id))

  const updated = await app.inject({ method: 'PUT', url: `/orders/${id}`, payload: { customer: 'Changed' } })
  t.equal(updated.statusCode, 200, `PUT 200 once the lock is free: ${updated.body}`)
  t.equal(updated.json().customer, 'Changed')
  t.equal(await other.exists(redisKeys.orderLock(id)), 0, 'and the service released its lock (compare-and-delete)')

  // The limiter has a connection of its own, which may still be connecting: until it is ready
  // the limit is skipped (no X-RateLimit headers), never the request.
  const remaining = async () => {
    const response = await app.inject({ method: 'GET', url: `/orders/${id}` })
    t.equal(response.statusCode, 200)
    return { response, left: Number(response.headers['x-ratelimit-remaining'] ?? NaN) }
  }
  await eventually(async () => Number.isFinite((await remaining()).left))
  const before = await remaining()
  const after = await remaining()
  t.equal(after.left, before.left - 1, 'the rate limiter counts each request in the cluster')

  const first = await app.inject({ method: 'GET', url: '/orders?limit=5' })
  const second = await app.inject({ method: 'GET', url: '/orders?limit=5' })
  t.same([first.headers['x-cache'], second.headers['x-cache']], ['MISS', 'HIT'], 'the cache works in cluster mode')
})
