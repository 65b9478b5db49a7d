import { setTimeout as delay } from 'node:timers/promises'
import { clusterKeys } from '../src/cache/keys.js'
import { RedisCluster } from '../test/redis-cluster.js'
import { driverFor, type LoadDriver } from './driver.js'
import type { Options } from './options.js'
import type { RequestLog } from './request-log.js'
import { PROFILES, startService, type ServiceEnv, type ServiceInstance } from './services.js'
import type { Timeline } from './timeline.js'
import type { Workload } from './workload.js'

// The Redis Cluster topology, in a scenario of its own: a real 3 masters + 3 replicas cluster
// on loopback (test/redis-cluster.ts), the three instances' profiles on it (the near cache
// included: its bus has a subscriber on every master), the same database and load; then
// the master of the hottest slot (list page 1 and the list generation) is SIGKILLed and its
// replica takes over. Checked like the other faults: nothing stale, nothing lost, no orphan
// lock past 1 s, every instance serving hits again within 5 s of the promotion.

export const CLUSTER_BASELINE = 'cluster: before'
export const CLUSTER_FAILOVER = 'cluster: master killed, until its replica is promoted'
export const CLUSTER_RECOVERY = 'cluster: recovery'

/** The cluster's instances: the fault run's profiles. */
export const CLUSTER_PROFILES = PROFILES.map((p) => ({ ...p, name: `cluster-${p.name}` }))

export async function runClusterScenario (options: Options, env: ServiceEnv, logDir: string, workload: Workload, log: RequestLog,
  timeline: Timeline, say: (line: string) => void): Promise<{ skipped: number, promotedAfterMs: number }> {
  const cluster = new RedisCluster()
  const instances: ServiceInstance[] = []
  let driver: LoadDriver | undefined
  try {
    await cluster.start()
    const clusterEnv = { ...env, REDIS_CLUSTER_NODES: cluster.seeds }
    instances.push(...await Promise.all(CLUSTER_PROFILES.map((p) => startService(p.name, { ...clusterEnv, ...p.env }, logDir))))
    say(`cluster: 3 masters + 3 replicas, ${instances.length} instances on it`)
    driver = driverFor(instances, CLUSTER_PROFILES, options, workload, log)
    driver.start()
    timeline.enter(CLUSTER_BASELINE)
    await delay(options.baselineSeconds * 1000)
    const victimKey = clusterKeys.listPage(1, 10).key
    const victim = await cluster.masterOf(victimKey)
    timeline.enter(CLUSTER_FAILOVER)
    const killedAt = performance.now()
    await cluster.kill(victim)
    await cluster.awaitFailover(victimKey, victim, 60_000)
    const promotedAfterMs = Math.round(performance.now() - killedAt)
    timeline.enter(CLUSTER_RECOVERY)
    say(`cluster: master of list page 1 killed, replica promoted after ${promotedAfterMs} ms`)
    await delay(options.recoverySeconds * 1000)
    timeline.close()
    await driver.stop()
    return { skipped: driver.skipped, promotedAfterMs }
  } finally {
    await driver?.stop()
    await Promise.all(instances.map((i) => i.stop()))
    await cluster.stop()
  }
}
