import { startService, type Running } from './processes.js'
import type { ScenarioResult } from './report.js'

// 1 vs 2 workers (WORKERS, Node's cluster module) on this machine: the same cache hit, page 1
// limit 10, measured in the same interleaved rounds as the other hot-path scenarios. The load
// generator runs in the benchmark's own process and needs CPU too: on a 2-core machine, two
// workers and autocannon share two cores.

export interface Contender { name: string, title: string, target: Running, path: string }
export type Interleaved = (contenders: Contender[]) => Promise<ScenarioResult[]>

export async function compareWorkers (serviceEnv: Record<string, string>, path: string, interleaved: Interleaved): Promise<[ScenarioResult, ScenarioResult]> {
  const [one, two] = await Promise.all([startService({ ...serviceEnv, WORKERS: '1' }), startService({ ...serviceEnv, WORKERS: '2' })])
  try {
    for (const service of [one, two]) {
      await fetch(service.url + path) // fills the cache if it is not filled yet
      const response = await fetch(service.url + path)
      if (response.headers.get('x-cache') !== 'HIT') throw new Error(`${service.url}${path}: expected a cache hit before measuring`)
    }
    const [single, double] = await interleaved([
      { name: 'workers-1-hit-limit-10', title: 'WORKERS=1: cache hit, page 1, limit 10', target: one, path },
      { name: 'workers-2-hit-limit-10', title: 'WORKERS=2: cache hit, page 1, limit 10', target: two, path }
    ]) as [ScenarioResult, ScenarioResult]
    // The CPU meter reads the pid it is given: for WORKERS=2 that is the primary, which only
    // hands connections to the workers; its figure would not be the service's cost.
    if (double.cpuMicrosPerRequest) delete double.cpuMicrosPerRequest.server
    return [single, double]
  } finally {
    await Promise.all([one.stop(), two.stop()])
  }
}
