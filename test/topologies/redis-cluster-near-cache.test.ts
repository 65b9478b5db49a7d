import t from 'tap'
import type { Test } from 'tap'
import type { Redis } from 'ioredis'
import { createOrder, type TestApp } from '../helper.js'
import { ownRedisCluster, type ClusterNode, type RedisCluster } from '../redis-cluster.js'
import { instances as onOneDatabase } from '../instances.js'
import { NEAR, warmNear } from '../near-cache-helpers.js'
import { ask } from '../redis-admin.js'
import { scrape } from '../scrape.js'
import { eventually, timed } from '../processes.js'
import { clusterKeys } from '../../src/cache/keys.js'

// The near cache on a real Redis Cluster (3 masters + 3 replicas), two instances sharing one
// database: its bus has a subscriber on every master (src/cache/near/invalidation-bus.ts), so
// each invalidation reaches it from the master whose script published it, and it follows the
// same lost-connection rules as on a standalone Redis: a master that does not answer, or a
// master without a live subscriber (a failover), turns it off until every master has one.

// Generous deadlines, as in redis-cluster-cache.test.ts: what is tested is the near tier.
const PATIENT = { CACHE_REDIS_TIMEOUT_MS: '2000', REDIS_COMMAND_TIMEOUT_MS: '5000' }
const NEAR_CONNECTION = 'flowops-order-service-near-cache'

async function instances (t: Test, cluster: RedisCluster): Promise<[TestApp, TestApp]> {
  const apps = await onOneDatabase(t, 2, { REDIS_CLUSTER_NODES: cluster.seeds, ...NEAR, ...PATIENT })
  for (const app of apps) await eventually(() => app.cache.status().near === 'on', 20_000)
  return apps as [TestApp, TestApp]
}

/** A cluster, two instances on it, and an order of a's that b holds near. */
async function orderNearOnB (t: Test) {
  const cluster = await ownRedisCluster(t)
  const [a, b] = await instances(t, cluster)
  const order = await createOrder(a)
  const url = `/orders/${order._id}`
  await warmNear(t, b, url)
  return { cluster, a, b, order, url }
}

const live = (node: ClusterNode) => node.child.exitCode === null && node.child.signalCode === null

async function masters (cluster: RedisCluster): Promise<ClusterNode[]> {
  const view = await cluster.view(cluster.nodes.find(live) as ClusterNode)
  const ports = view.filter((n) => n.flags.includes('master') && !n.flags.includes('fail') && n.slots.length > 0).map((n) => n.port)
  return cluster.nodes.filter((node) => ports.includes(node.port))
}

/** The near-cache subscribers connected to `node` (CLIENT LIST on a cluster of the test's own). */
const nearSubscribers = async (node: ClusterNode): Promise<number> =>
  (String(await ask(node.port, (redis: Redis) => redis.client('LIST'))).match(new RegExp(` name=${NEAR_CONNECTION} `, 'g')) ?? []).length

const versionOf = (body: string) => (JSON.parse(body) as { version: number }).version

t.test('Redis Cluster, near cache on: a subscriber on every master, near hits send no command, writes reach the other instance', async (t) => {
  const cluster = await ownRedisCluster(t)
  const [a, b] = await instances(t, cluster)
  for (const node of await masters(cluster)) t.equal(await nearSubscribers(node), 2, `master :${node.port} has a subscriber of each instance`)

  const order = await createOrder(a)
  const url = `/orders/${order._id}`
  for (const app of [a, b]) {
    await warmNear(t, app, url)
    await warmNear(t, app, '/orders')
  }
  for (const node of await masters(cluster)) await ask(node.port, (redis: Redis) => redis.config('RESETSTAT'))
  const before = await scrape(b, 'cache_near_hits_total')
  for (let i = 0; i < 5; i++) t.equal(versionOf((await b.inject(url)).body), 1)
  t.equal(await scrape(b, 'cache_near_hits_total'), before + 5, 'five near hits')
  for (const node of await masters(cluster)) {
    t.notMatch(String(await ask(node.port, (redis: Redis) => redis.info('commandstats'))), /cmdstat_(mget|get|evalsha|eval):/, `master :${node.port}: no lookup reached it`)
  }

  const put = await a.inject({ method: 'PUT', url, payload: { customer: 'Seen Near On A Cluster' } })
  t.equal(put.statusCode, 200)
  t.equal(versionOf((await a.inject(url)).body), 2, 'the writer dropped its own copy before it answered')
  const seen = await timed(eventually(async () => versionOf((await b.inject(url)).body) === 2, 1000))
  t.comment(`the other instance showed the write ${seen.ms.toFixed(1)} ms after it was acknowledged`)
  await eventually(async () => (await b.inject('/orders')).json().data[0].customer === 'Seen Near On A Cluster', 1000)
  t.pass('the list page too (another slot, another master)')
})

t.test('Redis Cluster, near cache on: a master that stops answering, or its subscriber connections killed, turns it off; back, on again', async (t) => {
  const { cluster, a, b, order, url } = await orderNearOnB(t)

  // Not the order's master, so that the read below is not held by the freeze; frozen for about
  // the cluster's node timeout (1 s) at most, so no failover is needed: the heartbeat sees it.
  const ordersMaster = await cluster.masterOf(clusterKeys.entity(order._id).key)
  const frozen = (await masters(cluster)).find((node) => node !== ordersMaster) as ClusterNode
  frozen.child.kill('SIGSTOP')
  t.teardown(() => { frozen.child.kill('SIGCONT') })
  const off = await timed(eventually(() => a.cache.status().near === 'lost' && b.cache.status().near === 'lost', 5000))
  t.comment(`near cache off on both ${off.ms.toFixed(0)} ms after master :${frozen.port} froze`)
  const nearHits = await scrape(b, 'cache_near_hits_total')
  await b.inject(url)
  t.equal(await scrape(b, 'cache_near_hits_total'), nearHits, 'no near hit while a master is not known to reach the bus')
  frozen.child.kill('SIGCONT')

  await eventually(() => a.cache.status().near === 'on' && b.cache.status().near === 'on', 10_000)
  await warmNear(t, b, url)
  t.equal((await a.inject({ method: 'PUT', url, payload: { customer: 'After The Thaw' } })).statusCode, 200)
  await eventually(async () => (await b.inject(url)).json().customer === 'After The Thaw', 1000)

  // One master's subscriber connections killed (CLIENT KILL by id): emptied, a write meanwhile
  // is not served from a near copy, and on again once they are back.
  await warmNear(t, b, url)
  const other = (await masters(cluster))[1] as ClusterNode
  const killed = await ask(other.port, async (redis: Redis) => {
    const ids = [...String(await redis.client('LIST')).matchAll(new RegExp(`id=(\\d+) .*name=${NEAR_CONNECTION} `, 'g'))].map((m) => m[1] as string)
    for (const id of ids) await redis.client('KILL', 'ID', id)
    return ids.length
  })
  t.equal(killed, 2, `both instances' subscribers on master :${other.port} killed`)
  await eventually(() => b.cache.status().near !== 'on')
  t.equal(await scrape(b, 'cache_near_bytes'), 0, 'emptied on the connection\'s loss')
  t.equal((await a.inject({ method: 'PUT', url, payload: { customer: 'While Disconnected' } })).statusCode, 200)
  t.equal((await b.inject(url)).json().customer, 'While Disconnected', 'b shows the write')
  await eventually(() => a.cache.status().near === 'on' && b.cache.status().near === 'on', 10_000)
  t.equal(await nearSubscribers(other), 2, 'each instance subscribed on that master again')
  await warmNear(t, b, url)
})

t.test('Redis Cluster, near cache on: the master of an order killed; off until its replica is promoted and subscribed, then coherent through it', async (t) => {
  const { cluster, a, b, order, url } = await orderNearOnB(t)

  const key = clusterKeys.entity(order._id).key
  const former = await cluster.masterOf(key)
  await cluster.kill(former)
  await eventually(() => a.cache.status().near === 'lost' && b.cache.status().near === 'lost', 5000)
  t.pass(`near cache off on both once master :${former.port} died`)
  const promoted = await cluster.awaitFailover(key, former)

  // The bus refreshes the slot map every second while off: no command of the test's need reach
  // the promoted master for the instances to subscribe on it.
  const on = await timed(eventually(() => a.cache.status().near === 'on' && b.cache.status().near === 'on', 20_000))
  t.comment(`near cache on again ${on.ms.toFixed(0)} ms after the promotion was seen`)
  t.equal(await nearSubscribers(promoted), 2, `the promoted master :${promoted.port} has a subscriber of each instance`)

  // The Redis watch saw a master out of reach: each instance owes a list bump of its own and
  // serves no hit until it lands (src/cache/redis-watch.ts), which takes the promotion.
  await eventually(() => !a.cache.status().invalidationPending && !b.cache.status().invalidationPending, 20_000)
  await warmNear(t, b, url)
  const put = await a.inject({ method: 'PUT', url, payload: { customer: 'Through The Promoted Master' } })
  t.equal(put.statusCode, 200, 'the write goes through the promoted master')
  await eventually(async () => (await b.inject(url)).json().customer === 'Through The Promoted Master', 1000)
  t.pass('the other instance\'s near copy was dropped by the promoted master\'s message')
})
