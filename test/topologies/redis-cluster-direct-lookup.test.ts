import t from 'tap'
import { build, createOrder } from '../helper.js'
import { ownRedisCluster } from '../redis-cluster.js'
import { ask } from '../redis-admin.js'
import { eventually } from '../processes.js'
import { scrapeAll } from '../scrape.js'
import type { TestApp } from '../helper.js'
import { clusterKeys } from '../../src/cache/keys.js'

// On a Redis Cluster the cache's lookup is written straight to the connection of the master
// that owns its slot in ioredis's slot map (src/redis/slot-owners.ts), skipping ioredis's routing
// of each command. A map out of date is answered with a redirection by the node it names; the
// lookup then goes through the Cluster client, which follows it. Here the map goes out of date
// the way it does in production: a manual failover (CLUSTER FAILOVER on the replica) makes the
// old master a replica that answers MOVED, with its connection still up.

/** Redis errors the service counted, every component. */
async function redisErrors (app: TestApp): Promise<number> {
  const value = await scrapeAll(app)
  return ['cache', 'lock', 'connection'].reduce((sum, component) => sum + value('redis_errors_total', { component }), 0)
}

t.test('a lookup sent to a master that is no longer one is redirected: still a hit, then straight to the new master', async (t) => {
  const cluster = await ownRedisCluster(t)
  const app = await build(t, { env: { REDIS_CLUSTER_NODES: cluster.seeds, CACHE_REDIS_TIMEOUT_MS: '2000', REDIS_COMMAND_TIMEOUT_MS: '5000' } })
  const order = await createOrder(app)
  const url = `/orders/${order._id}`
  t.equal((await app.inject(url)).headers['x-cache'], 'MISS', 'the first read fills')
  t.equal((await app.inject(url)).headers['x-cache'], 'HIT', 'the next is a hit')

  const entryKey = clusterKeys.entity(order._id).key
  const oldMaster = await cluster.masterOf(entryKey)
  const view = await cluster.view(oldMaster)
  const oldMasterId = view.find((node) => node.port === oldMaster.port)?.id
  const replica = view.find((node) => node.masterId === oldMasterId && node.flags.includes('slave'))
  t.ok(replica, 'the master holding the order has a replica')
  await ask(replica?.port as number, (redis) => redis.cluster('FAILOVER'))
  await eventually(async () => (await cluster.masterOf(entryKey)).port === replica?.port)
  t.match(String(await ask(oldMaster.port, (redis) => redis.info('replication'))), /role:slave/, 'the old master is a replica now, its connections up')

  const errorsBefore = await redisErrors(app)
  const redirected = await app.inject(url)
  t.equal(redirected.headers['x-cache'], 'HIT', 'the lookup the old master answered MOVED was a hit, through the redirection')
  t.equal(JSON.parse(redirected.body).version, 1, 'of the order\'s bytes')
  t.equal(await redisErrors(app), errorsBefore, 'and no Redis error was counted')
  const mgetsOnNewMaster = async () => Number(/cmdstat_mget:calls=(\d+)/.exec(String(await ask(replica?.port as number, (redis) => redis.info('commandstats'))))?.[1] ?? 0)
  const before = await mgetsOnNewMaster()
  for (let i = 0; i < 5; i++) t.equal((await app.inject(url)).headers['x-cache'], 'HIT')
  t.equal(await mgetsOnNewMaster(), before + 5, 'each later lookup went to the new master: one MGET each')
})
