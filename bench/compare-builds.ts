import { startService, type Running } from './processes.js'
import type { ScenarioResult } from './report.js'
import type { Interleaved } from './workers.js'

// BENCH_ONLY=builds: this build's cache hits against an older build's (BENCH_COMPARE_BUILD, the
// path to its dist/src/server.js), each in its own process on the same Redis and data, near
// cache off and on, at limits 10 and 100, in the same interleaved rounds. It logs throughput and
// server CPU per request of each row, and this build's ratio to the older one's.

const NEAR = { CACHE_NEAR_MAX_BYTES: String(64 * 1024 * 1024) }

const cpuOf = (row: ScenarioResult) => row.cpuMicrosPerRequest?.server?.toFixed(1) ?? '?'
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN

/** Median over rounds of a's throughput over b's, round by round (both ran in each round). */
function roundRatio (a: ScenarioResult, b: ScenarioResult): number {
  const as = a.roundRequestsPerSecond ?? []
  const bs = b.roundRequestsPerSecond ?? []
  return median(as.map((value, i) => value / (bs[i] ?? NaN)))
}

export async function compareBuilds (serviceEnv: Record<string, string>, paths: [string, string], current: { cached: Running, near: Running },
  interleaved: Interleaved, log: (line: string) => void): Promise<void> {
  const entry = process.env.BENCH_COMPARE_BUILD
  if (!entry) throw new Error('BENCH_ONLY=builds needs BENCH_COMPARE_BUILD=<path to an older build\'s dist/src/server.js>')
  const [older, olderNear] = await Promise.all([startService(serviceEnv, undefined, entry), startService({ ...serviceEnv, ...NEAR }, undefined, entry)])
  try {
    for (const path of paths) {
      for (const service of [current.cached, current.near, older, olderNear]) {
        for (let i = 0; i < 3; i++) await fetch(service.url + path) // a Redis hit, and a near copy where on
      }
    }
    for (const path of paths) {
      const limit = new URL(path, 'http://x').searchParams.get('limit')
      const [now, before, nowNear, beforeNear] = await interleaved([
        { name: `build-now-${limit}`, title: `this build: hit, limit ${limit}`, target: current.cached, path },
        { name: `build-before-${limit}`, title: `older build: hit, limit ${limit}`, target: older, path },
        { name: `build-now-near-${limit}`, title: `this build, near cache on: hit, limit ${limit}`, target: current.near, path },
        { name: `build-before-near-${limit}`, title: `older build, near cache on: hit, limit ${limit}`, target: olderNear, path }
      ]) as [ScenarioResult, ScenarioResult, ScenarioResult, ScenarioResult]
      for (const row of [now, before, nowNear, beforeNear]) log(`${row.title}: ${Math.round(row.requestsPerSecond)} req/s, ${cpuOf(row)} µs server CPU per request`)
      log(`limit ${limit}: this build vs older, near off: ${roundRatio(now, before).toFixed(3)}x; near on: ${roundRatio(nowNear, beforeNear).toFixed(3)}x`)
    }
  } finally {
    await Promise.all([older.stop(), olderNear.stop()])
  }
}
