import t from 'tap'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import type { Test } from 'tap'
import { Redis } from 'ioredis'
import { createOrder, type TestApp } from '../helper.js'
import { ownRedisCluster, type ClusterNode } from '../redis-cluster.js'
import { ownRedisSentinels, SENTINEL_ENV, MASTER_NAME } from '../redis-sentinel.js'
import { instances, mongoRelayed } from '../instances.js'
import { eventually, freezeProcess } from '../processes.js'
import { ask, killNow } from '../redis-admin.js'
import { redisKeys } from '../../src/cache/keys.js'

// Issue 22, item 3, on a real Redis Cluster and under a real Sentinel: a lock whose release went
// to a master that died before replicating it, while the lock itself had reached the replica
// that takes over. Nobody holds that lock; without the holder's re-release it answers every PUT
// of its order 409 ORDER_LOCKED for the rest of LOCK_TTL_SECONDS (10 s). The bound: at most 1 s
// beyond the promotion. It rests on src/lock/lock-release.ts: the holder keeps every landed
// release for the lock's TTL and owes them all again when its client's masters change, then
// sends what it owes every 100 ms.
// - Cluster: ioredis drops the dead master's connection at once ('-node'). Until the promotion
//   each attempt fails, or is redirected (MOVED) to the dead master, and a redirection makes
//   ioredis ask for the slot map again: an attempt soon after the promotion reaches the new one.
// - Sentinel: the client's connection died with the master (its failover detector with it), so
//   it finds the promoted master by retrying: each attempt asks the sentinels where the master
//   is, at most 500 ms apart (src/redis/create-redis-client.ts). On 'ready' it owes every recent
//   release again.
//
// The choreography, every step on real processes: the writer's PUT is held at its database
// update (a relay holds findAndModify) once its lock has reached the replica; the replica is
// frozen (SIGSTOP) and its replication link closed, so the release the master then applies
// never reaches it; the master is killed (SIGKILL), the replica thawed and promoted with the lock.

const BOUND_MS = 1000
const onLinux = { skip: process.platform !== 'linux' ? 'reads /proc to see a process stopped' : false }

interface Failover {
  master: { port: number, child: ChildProcess }
  replica: { port: number, child: ChildProcess }
  /** Kills nothing: promotes the thawed replica, and resolves when it is the master. */
  promote: () => Promise<void>
}

/**
 * The writer's PUT acknowledged with its release applied by the master alone, the master killed
 * and the replica promoted holding the lock; then PUTs on `other` until one is answered 200.
 */
async function releaseLostInFailover (t: Test, writer: TestApp, relay: Awaited<ReturnType<typeof mongoRelayed>>['relay'], other: TestApp,
  orderId: string, failover: Failover): Promise<void> {
  const lockKey = redisKeys.orderLock(orderId)
  const { master, replica } = failover
  const replicaHolds = () => ask(replica.port, async (redis) => { await redis.call('READONLY').catch(() => {}); return await redis.exists(lockKey) })

  const put = await relay.whileHolding('findAndModify',
    () => writer.inject({ method: 'PUT', url: `/orders/${orderId}`, payload: { customer: 'Before The Failover' } }),
    async () => {
      await eventually(async () => await replicaHolds() === 1)
      await freezeProcess(replica.child)
      // Its link closed too: what the master sends from now on cannot wait in the frozen
      // replica's socket buffer, to be read once it thaws.
      await ask(master.port, (redis) => redis.call('CLIENT', 'KILL', 'TYPE', 'replica'))
    })
  t.equal(put.statusCode, 200, 'the writer\'s PUT is acknowledged: its release was applied by the master alone')

  await killNow(master.child)
  replica.child.kill('SIGCONT')
  // Asked before the promotion: once the replica is master, the holder's re-release may free
  // the lock within milliseconds.
  t.equal(await replicaHolds(), 1, 'the replica about to take over holds the lock nobody holds any more')
  await failover.promote()
  const promotedAt = performance.now()

  const answers: Array<{ status: number, sentMs: number }> = []
  for (;;) {
    const sentMs = performance.now() - promotedAt
    const response = await other.inject({ method: 'PUT', url: `/orders/${orderId}`, payload: { customer: 'After The Failover' } })
    answers.push({ status: response.statusCode, sentMs })
    if (response.statusCode === 200 || sentMs > 15_000) break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const last = answers.at(-1)
  const locked = answers.filter((a) => a.status === 409)
  t.comment(`after the promotion: ${answers.length} PUTs, ${locked.length} answered 409 (the last sent at ${locked.at(-1)?.sentMs.toFixed(0) ?? '-'} ms), ` +
    `the first 200 sent at ${last?.sentMs.toFixed(0)} ms`)
  t.equal(last?.status, 200, 'a PUT is answered 200 after the failover')
  t.ok((last?.sentMs ?? Infinity) < BOUND_MS, `a PUT sent within ${BOUND_MS} ms of the promotion is answered 200 (sent at ${last?.sentMs.toFixed(0)} ms)`)
  t.equal(await ask(replica.port, (redis) => redis.exists(lockKey)), 0, 'no lock is left on the promoted master')
}

t.test('Cluster: a lock whose release died with its master answers 409 for at most 1 s beyond the promotion', onLinux, async (t) => {
  const cluster = await ownRedisCluster(t)
  const env = { REDIS_CLUSTER_NODES: cluster.seeds }
  const [other] = await instances(t, 1, env)
  const { app: writer, relay } = await mongoRelayed(t, other, env)
  const order = await createOrder(other)

  const master = await cluster.masterOf(redisKeys.orderLock(order._id))
  const view = await cluster.view(master)
  const masterId = view.find((n) => n.port === master.port)?.id
  const replica = cluster.nodes.find((node) => node.port === view.find((n) => n.flags.includes('slave') && n.masterId === masterId)?.port) as ClusterNode
  t.ok(replica, `the lock's master :${master.port} has a replica`)
  await releaseLostInFailover(t, writer, relay, other, order._id, {
    master,
    replica,
    promote: async () => {
      await ask(replica.port, (redis) => redis.call('CLUSTER', 'FAILOVER', 'TAKEOVER'))
      await eventually(async () => /role:master/.test(await ask(replica.port, (redis) => redis.info('replication'))), 10_000)
    }
  })
})

t.test('Sentinel: a lock whose release died with its master answers 409 for at most 1 s beyond the promotion', onLinux, async (t) => {
  const sentinels = await ownRedisSentinels(t)
  const env = SENTINEL_ENV(sentinels.seeds)
  const [other] = await instances(t, 1, env)
  const { app: writer, relay } = await mongoRelayed(t, other, env)
  const order = await createOrder(other)

  // The promotion as an event: a sentinel publishes +switch-master the moment it switches.
  const watcher = new Redis({ port: (sentinels.sentinels[0] as { port: number }).port, host: '127.0.0.1' })
  t.teardown(() => { watcher.disconnect() })
  await watcher.subscribe('+switch-master')
  // Listened for from now on: the message must not come before anyone waits for it.
  const switched = once(watcher, 'message', { signal: AbortSignal.timeout(60_000) })
  await releaseLostInFailover(t, writer, relay, other, order._id, {
    master: sentinels.master,
    replica: sentinels.replica,
    promote: async () => {
      const [, message] = await switched as [string, string]
      t.match(message, new RegExp(`^${MASTER_NAME} .* ${sentinels.replica.port}$`), 'the sentinels switched to the replica')
    }
  })
})
