import t from 'tap'
import { createOrder } from '../helper.js'
import { instances } from '../instances.js'
import { ownRedisCluster } from '../redis-cluster.js'
import { clusterKeys, redisKeys } from '../../src/cache/keys.js'

// The deterministic cross-instance sequence on a Redis Cluster: M, the master of list page 1's
// slot group, is killed; A then writes two orders whose own entry and lock slots live on other,
// healthy masters. Before changes were announced ahead of the write (src/cache/changes.ts), A
// answered both PUTs 200 with their invalidations owed (the one to M could not land, the next
// was only queued), and B, which had read Y, answered X-Cache: HIT with Y's old version right
// after A acknowledged the new one. Now a write whose announcement cannot reach every slot it
// touches is not made (503), and one that is acknowledged was announced everywhere first.

const versionOf = (body: string) => (JSON.parse(body) as { version: number }).version

t.test('Cluster: the list group\'s master killed, A writes on live masters, B never serves a version older than an acknowledged one', async (t) => {
  const cluster = await ownRedisCluster(t)
  const env = { REDIS_CLUSTER_NODES: cluster.seeds, CACHE_INVALIDATION_RETRY_MS: '60000' }
  const [a, b] = await instances(t, 2, env)
  const m = await cluster.masterOf(clusterKeys.listPage(1, 10).key)

  // Two orders whose entity slot and lock slot are both served by masters other than M.
  const picked: Array<{ _id: string }> = []
  while (picked.length < 2) {
    const order = await createOrder(a)
    const entityMaster = await cluster.masterOf(clusterKeys.entity(order._id).key)
    const lockMaster = await cluster.masterOf(redisKeys.orderLock(order._id))
    if (entityMaster.port !== m.port && lockMaster.port !== m.port) picked.push(order)
  }
  const [y, z] = picked as [{ _id: string }, { _id: string }]
  await b.inject(`/orders/${y._id}`)
  const cached = await b.inject(`/orders/${y._id}`)
  t.equal(cached.headers['x-cache'], 'HIT', 'B holds Y, version 1, in the cache')

  await cluster.kill(m)
  const putZ = await a.inject({ method: 'PUT', url: `/orders/${z._id}`, payload: { customer: 'Z While M Is Dead' } })
  const putY = await a.inject({ method: 'PUT', url: `/orders/${y._id}`, payload: { customer: 'Y While M Is Dead' } })
  t.comment(`with M dead: PUT Z ${putZ.statusCode}, PUT Y ${putY.statusCode}`)
  t.ok([200, 503].includes(putZ.statusCode) && [200, 503].includes(putY.statusCode), 'each PUT is acknowledged or refused, never left hanging')
  const acknowledged = putY.statusCode === 200 ? versionOf(putY.body) : 1

  const read = await b.inject(`/orders/${y._id}`)
  t.equal(read.statusCode, 200)
  t.ok(versionOf(read.body) >= acknowledged,
    `B reads Y at version ${versionOf(read.body)} (${String(read.headers['x-cache'])}); the last acknowledged version is ${acknowledged}`)
  const stored = await a.inject(`/orders/${y._id}`)
  t.equal(versionOf(stored.body), acknowledged, 'and that is the version MongoDB holds')
})
