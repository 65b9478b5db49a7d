import { setTimeout as delay } from 'node:timers/promises'
import { driverFor } from './driver.js'
import type { Options } from './options.js'
import { RequestLog } from './request-log.js'
import { seed } from './seed.js'
import { PROFILES, startService, type ServiceEnv } from './services.js'
import { percentile } from './stats.js'
import type { Workload } from './workload.js'

// npm run test:reliability -- --capacity: what this set-up (the fault run's three instances,
// Redis and FerretDB behind Toxiproxy, the load driver, all on this machine) can take of the
// suite's mixed workload, so that the rate the suite runs at is stated against it. Open-loop
// steps of rising rate, each after a short settle: the rate the instances answered, the GET
// p99, the 5xx, and the starts skipped at the in-flight cap. Capacity is the highest step
// answered in full (at least 98% of its rate, no 5xx, no skipped start).

const STEPS = [400, 500, 600, 700, 800, 1000, 1250, 1500]
const STEP_SECONDS = 10
const SETTLE_SECONDS = 2

export interface CapacityStep { rate: number, answeredPerSecond: number, getP50Ms: number, getP99Ms: number, serverErrors: number, skipped: number }

export async function probeCapacity (options: Options, env: ServiceEnv, logDir: string, workload: Workload, say: (line: string) => void): Promise<CapacityStep[]> {
  const instances = await Promise.all(PROFILES.map((profile) => startService(profile.name, { ...env, ...profile.env }, logDir)))
  const steps: CapacityStep[] = []
  try {
    const seedLog = new RequestLog()
    await seed(options.seedOrders, instances[0]?.url as string, workload, seedLog, options.clientTimeoutMs)
    for (const rate of STEPS) {
      const log = new RequestLog()
      const driver = driverFor(instances, PROFILES, options, workload, log, rate)
      driver.start()
      await delay(SETTLE_SECONDS * 1000)
      const from = log.entries.length
      const startedAt = performance.now()
      await delay(STEP_SECONDS * 1000)
      const seconds = (performance.now() - startedAt) / 1000
      const measured = log.entries.slice(from)
      await driver.stop()
      const gets = measured.filter((e) => e.method === 'GET').map((e) => e.doneAt - e.sentAt)
      const step = {
        rate,
        answeredPerSecond: Math.round(measured.length / seconds),
        getP50Ms: Math.round(percentile(gets, 50) * 10) / 10,
        getP99Ms: Math.round(percentile(gets, 99) * 10) / 10,
        serverErrors: measured.filter((e) => e.status === 0 || e.status >= 500).length,
        skipped: driver.skipped
      }
      steps.push(step)
      say(`capacity: ${rate}/s offered, ${step.answeredPerSecond}/s answered, GET p50 ${step.getP50Ms} ms, p99 ${step.getP99Ms} ms, ${step.serverErrors} 5xx, ${step.skipped} skipped`)
      if (step.skipped > 0 || step.answeredPerSecond < rate * 0.9) break
    }
    return steps
  } finally {
    await Promise.all(instances.map((i) => i.stop()))
  }
}

/** The highest step answered in full. */
export function capacityOf (steps: CapacityStep[]): number {
  return Math.max(0, ...steps.filter((s) => s.answeredPerSecond >= s.rate * 0.98 && s.serverErrors === 0 && s.skipped === 0).map((s) => s.rate))
}
