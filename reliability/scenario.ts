import { driverFor } from './driver.js'
import { faultsFor, runFaults, type Fault } from './faults.js'
import type { Options } from './options.js'
import type { RequestLog } from './request-log.js'
import { seed } from './seed.js'
import type { OwnedFerretDB, OwnedRedis } from './servers.js'
import { PROFILES, startService, type Profile, type ServiceEnv, type ServiceInstance } from './services.js'
import type { Timeline } from './timeline.js'
import type { Proxy, Toxiproxy } from './toxiproxy.js'
import type { Workload } from './workload.js'

// The fault run: three instances, each with its own options (PROFILES), sharing one Redis and
// one database through Toxiproxy, seeded over HTTP, under the mixed workload through the
// baseline and each fault.

export const INSTANCES = PROFILES.length
/** The instance the crash fault SIGKILLs: one with the defaults, a single process. */
export const CRASHED = 1

export interface FaultRun { faults: Fault[], skipped: number }

export interface FaultServers { redis: OwnedRedis, mongo: OwnedFerretDB, toxiproxy: Toxiproxy, proxies: { redis: Proxy, mongo: Proxy } }

export async function runFaultScenario (options: Options, servers: FaultServers, env: ServiceEnv,
  logDir: string, workload: Workload, log: RequestLog, timeline: Timeline, say: (line: string) => void): Promise<FaultRun> {
  const instances = await Promise.all(PROFILES.map((profile) => startService(profile.name, { ...env, ...profile.env }, logDir)))
  try {
    say(`${INSTANCES} instances up (${PROFILES.map((p) => `${p.name}: ${p.describe}`).join('; ')}); seeding ${options.seedOrders} orders`)
    await seed(options.seedOrders, instances[0]?.url as string, workload, log, options.clientTimeoutMs)
    const driver = driverFor(instances, PROFILES, options, workload, log)
    const crashed = PROFILES[CRASHED] as Profile
    const crash = {
      index: CRASHED,
      kill: () => (instances[CRASHED] as ServiceInstance).stop('SIGKILL'),
      restart: async () => {
        instances[CRASHED] = await startService(crashed.name, { ...env, ...crashed.env }, logDir, Number(new URL((instances[CRASHED] as ServiceInstance).url).port))
      }
    }
    const faults = faultsFor({ ...servers, crash })
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
