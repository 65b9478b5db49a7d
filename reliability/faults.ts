import { setTimeout as delay } from 'node:timers/promises'
import type { OwnedFerretDB, OwnedRedis } from './servers.js'
import type { Proxy, Toxiproxy } from './toxiproxy.js'
import type { Timeline } from './timeline.js'

// The fault sequence, run while the load driver keeps going. For each fault the phases are
// "<fault>: entering" (the signal sent or the toxic added, until the server is really gone),
// "<fault>: outage" (gone or slow, including the restart until it is ready again) and
// "<fault>: recovery". Faults act on real processes (signals) or on real connections
// (Toxiproxy between the instances and the servers); nothing in the service is stubbed.

export interface Fault {
  name: string
  /** What the fault acts on: Redis, the database, or one service instance. */
  dependency: 'redis' | 'database' | 'service'
  /** outage: the dependency is gone; slow: it answers, late; crash: an instance dies mid-writes. */
  kind: 'outage' | 'slow' | 'crash'
  /** For a crash: the index of the instance killed. */
  instance?: number
  /**
   * The dependency hangs rather than refuses (SIGSTOP): the service learns it is gone only when
   * a call's deadline passes, so reads may wait one read deadline (CACHE_REDIS_TIMEOUT_MS)
   * before they go to the database.
   */
  hangs?: boolean
  down: () => Promise<void>
  up: () => Promise<void>
}

export interface FaultTargets {
  redis: OwnedRedis
  mongo: OwnedFerretDB
  toxiproxy: Toxiproxy
  proxies: { redis: Proxy, mongo: Proxy }
  /** Kills instance `index` with SIGKILL, and starts it again on its port. */
  crash: { index: number, kill: () => Promise<void>, restart: () => Promise<void> }
}

// Latency added to each direction of every connection through Toxiproxy. Redis: past the
// read path's 50 ms deadline (CACHE_REDIS_TIMEOUT_MS), so reads give up on it, and well within
// the 500 ms of locks and invalidations, so writes go on, slowly. MongoDB: a slow database,
// well within MONGODB_TIMEOUT_MS.
const REDIS_LATENCY_MS = 40
const DATABASE_LATENCY_MS = 100

export function faultsFor ({ redis, mongo, toxiproxy, proxies, crash }: FaultTargets): Fault[] {
  return [
    { name: 'redis killed, restarted empty', dependency: 'redis', kind: 'outage', down: () => redis.stop('SIGKILL'), up: () => redis.start() },
    { name: 'redis frozen', dependency: 'redis', kind: 'outage', hangs: true, down: async () => redis.freeze(), up: async () => redis.thaw() },
    {
      name: 'redis connections reset (Toxiproxy)',
      dependency: 'redis',
      kind: 'outage',
      down: () => toxiproxy.add(proxies.redis, 'reset_peer', { timeout: 0 }),
      up: () => toxiproxy.remove(proxies.redis, 'reset_peer')
    },
    {
      name: `redis slow, +${2 * REDIS_LATENCY_MS} ms a round trip (Toxiproxy)`,
      dependency: 'redis',
      kind: 'slow',
      down: () => toxiproxy.add(proxies.redis, 'latency', { latency: REDIS_LATENCY_MS, jitter: 0 }),
      up: () => toxiproxy.remove(proxies.redis, 'latency')
    },
    { name: 'database stopped', dependency: 'database', kind: 'outage', down: () => mongo.stop('SIGTERM'), up: () => mongo.start() },
    {
      name: 'database connections reset (Toxiproxy)',
      dependency: 'database',
      kind: 'outage',
      down: () => toxiproxy.add(proxies.mongo, 'reset_peer', { timeout: 0 }),
      up: () => toxiproxy.remove(proxies.mongo, 'reset_peer')
    },
    {
      name: `database slow, +${2 * DATABASE_LATENCY_MS} ms a round trip (Toxiproxy)`,
      dependency: 'database',
      kind: 'slow',
      down: () => toxiproxy.add(proxies.mongo, 'latency', { latency: DATABASE_LATENCY_MS, jitter: 0 }),
      up: () => toxiproxy.remove(proxies.mongo, 'latency')
    },
    {
      name: `service-${crash.index + 1} SIGKILLed mid-writes, restarted`,
      dependency: 'service',
      kind: 'crash',
      instance: crash.index,
      down: crash.kill,
      up: crash.restart
    }
  ]
}

export const WARMUP = 'warm-up'
export const BASELINE = 'baseline'
export const entering = (fault: Fault) => `${fault.name}: entering`
export const outage = (fault: Fault) => `${fault.name}: outage`
export const recovery = (fault: Fault) => `${fault.name}: recovery`

export interface FaultTimes { warmupSeconds: number, baselineSeconds: number, faultSeconds: number, recoverySeconds: number }

/**
 * A warm-up (cold caches, new connections; not measured), the baseline, then each fault with
 * its recovery. Waiting out a window under load is its duration.
 */
export async function runFaults (faults: Fault[], timeline: Timeline, times: FaultTimes, say: (line: string) => void): Promise<void> {
  timeline.enter(WARMUP)
  await delay(times.warmupSeconds * 1000)
  timeline.enter(BASELINE)
  await delay(times.baselineSeconds * 1000)
  for (const fault of faults) {
    say(`fault: ${fault.name}`)
    timeline.enter(entering(fault))
    await fault.down()
    timeline.enter(outage(fault))
    await delay(times.faultSeconds * 1000)
    await fault.up()
    timeline.enter(recovery(fault))
    say(`fault: ${fault.name} removed; recovering`)
    await delay(times.recoverySeconds * 1000)
  }
  timeline.close()
}
