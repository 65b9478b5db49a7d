import { LoadDriver } from './driver.js'
import { faultsFor, runFaults, type Fault } from './faults.js'
import type { Options } from './options.js'
import type { RequestLog } from './request-log.js'
import { seed } from './seed.js'
import type { OwnedFerretDB, OwnedRedis } from './servers.js'
import { startService, type ServiceEnv } from './services.js'
import type { Timeline } from './timeline.js'
import type { Workload } from './workload.js'

// The fault run: three instances sharing one Redis and one database, seeded over HTTP, under
// the mixed workload through the baseline and each fault.

export const INSTANCES = 3

export interface FaultRun { faults: Fault[], skipped: number }

export async function runFaultScenario (options: Options, servers: { redis: OwnedRedis, mongo: OwnedFerretDB }, env: ServiceEnv,
  logDir: string, workload: Workload, log: RequestLog, timeline: Timeline, say: (line: string) => void): Promise<FaultRun> {
  const instances = await Promise.all(Array.from({ length: INSTANCES }, (_, i) => startService(`service-${i + 1}`, env, logDir)))
  try {
    say(`${INSTANCES} instances up; seeding ${options.seedOrders} orders`)
    await seed(options.seedOrders, instances[0]?.url as string, workload, log, options.clientTimeoutMs)
    const driver = new LoadDriver({ urls: instances.map((i) => i.url), rate: options.rate, maxInFlight: options.maxInFlight, timeoutMs: options.clientTimeoutMs }, workload, log)
    const faults = faultsFor(servers.redis, servers.mongo)
    driver.start()
    try {
      await runFaults(faults, timeline, options, say)
    } finally {
      await driver.stop()
    }
    return { faults, skipped: driver.skipped }
  } finally {
    await Promise.all(instances.map((i) => i.stop()))
  }
}

/** For --soak-only: the same seed through one instance, and no faults. */
export async function seedAlone (options: Options, env: ServiceEnv, logDir: string, workload: Workload, log: RequestLog,
  say: (line: string) => void): Promise<FaultRun> {
  const instance = await startService('service-seed', env, logDir)
  try {
    say(`soak alone: seeding ${options.seedOrders} orders`)
    await seed(options.seedOrders, instance.url, workload, log, options.clientTimeoutMs)
    return { faults: [], skipped: 0 }
  } finally {
    await instance.stop()
  }
}
