import t from 'tap'
import { Cluster, type Redis } from 'ioredis'
import { build } from '../helper.js'
import { entryConnections, readsIntoReusedBuffers, readyThenCreate } from './topology-checks.js'
import { createEntryConnection } from '../../src/redis/create-redis-client.js'
import { MASTER_NAME, SENTINEL_ENV, ownRedisSentinels } from '../redis-sentinel.js'
import { redisKeys } from '../../src/cache/keys.js'

// The service against a real Redis Sentinel set-up (REDIS_SENTINELS, REDIS_SENTINEL_MASTER):
// ioredis asks the sentinels where the master is. Failover: redis-sentinel-failover.test.ts.

t.test('against Redis Sentinel: ready, POST, PUT with its lock, cache hits on the master', async (t) => {
  const sentinels = await ownRedisSentinels(t)
  const app = await build(t, { env: { ...SENTINEL_ENV(sentinels.seeds) } })
  t.notOk(app.redis instanceof Cluster, 'a single-node client')
  t.equal((app.redis as Redis).options.name, MASTER_NAME, 'the client follows the sentinels\' master')

  const id = await readyThenCreate(t, app)
  const updated = await app.inject({ method: 'PUT', url: `/orders/${id}`, payload: { customer: 'Changed' } })
  t.equal(updated.statusCode, 200, 'PUT 200')
  t.equal(await app.redis.exists(redisKeys.orderLock(id)), 0, 'its lock was released')

  const first = await app.inject({ method: 'GET', url: `/orders/${id}` })
  const second = await app.inject({ method: 'GET', url: `/orders/${id}` })
  t.same([first.headers['x-cache'], second.headers['x-cache']], ['MISS', 'HIT'], 'the cache works through the sentinels\' master')
  t.equal(second.json().customer, 'Changed')
  t.equal(await app.redis.exists(redisKeys.entity(id)), 1, 'the entry is stored on the master the sentinels name')
  t.same(await entryConnections(app.redis as Redis), [{ lastCommand: 'mget' }],
    'entries are read on a connection of their own, to the master the sentinels name')
  // That connection as the cache makes it: its socket reads into reused buffers, where the
  // service's client (a socket of Node's own) does not.
  const entries = createEntryConnection(app.config) as Redis
  t.teardown(() => { entries.disconnect() })
  t.equal(await readsIntoReusedBuffers(entries), true, 'the entry connection reads into reused buffers')
  t.equal(await readsIntoReusedBuffers(app.redis as Redis), false, 'the service\'s client does not (the check can tell)')
})
