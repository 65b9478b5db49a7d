import { setTimeout as delay } from 'node:timers/promises'
import type { OwnedFerretDB, OwnedRedis } from './servers.js'
import type { Timeline } from './timeline.js'

// The fault sequence, run while the load driver keeps going. For each fault the phases are
// "<fault>: entering" (the signal sent, until the server is really gone), "<fault>: outage"
// (gone, including the restart until it is ready again) and "<fault>: recovery".

export interface Fault {
  name: string
  dependency: 'redis' | 'database'
  down: () => Promise<void>
  up: () => Promise<void>
}

export function faultsFor (redis: OwnedRedis, mongo: OwnedFerretDB): Fault[] {
  return [
    { name: 'redis killed', dependency: 'redis', down: () => redis.stop('SIGKILL'), up: () => redis.start() },
    {
      name: 'redis frozen',
      dependency: 'redis',
      down: async () => redis.freeze(),
      up: async () => redis.thaw()
    },
    { name: 'database stopped', dependency: 'database', down: () => mongo.stop('SIGTERM'), up: () => mongo.start() }
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
