import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { LoadDriver } from './driver.js'
import { SOCKETS_PER_INSTANCE } from './http-client.js'
import { sampleProcess, type ProcessSample } from './metrics.js'
import { countSockets } from './sockets.js'
import type { Options } from './options.js'
import type { RequestLog } from './request-log.js'
import { startService, type ServiceEnv } from './services.js'
import type { Timeline } from './timeline.js'
import type { Workload } from './workload.js'

// The soak: the mixed workload on one fresh instance for a bounded time, its RSS, heap and
// open handles sampled from /metrics. Start and end are each the median of three samples
// taken with the load paused and drained (one sample lands anywhere in a GC cycle, and under
// load the handles follow the latency of the moment), the start after a warm-up.
//
// Memory is judged in two parts. The V8 heap by its floor (below). The rest of RSS (code,
// Buffers and native memory, malloc arenas, stacks) as RSS minus the heap's committed size:
// the committed size moves by tens of MB with V8's own sizing, independently of any leak (a
// 15-minute soak at 15 requests/s: committed heap 68 -> 34 -> 71 MB at one GC that gave pages
// back, RSS 126 -> 90 -> 126 MB, while RSS minus the heap stayed at 54-58 MB and external
// memory at 20-21 MB). Raw RSS at start and end said "+38%" or "-15%" depending on which side
// of such a shrink each fell; RSS outside the heap is what a native leak, or an arena, raises.
//
// The heap is judged by what is left after each full GC (V8's Mark-Compact), which the soak's
// instance prints (--trace-gc): what is live then is all that is live, so a leak raises it,
// and nothing else does. The lowest heap-used sample of each third (the measure before) holds
// whatever garbage old space had gathered since its last full GC, and V8 lets that grow to
// about 120 MB before collecting: one CI run judged a +33% "floor" (35 -> 47 MB) a leak, while a
// run traced the same way showed every full GC of the soak leaving 31.4 to 32.8 MB.

export const SOAK_WARMUP = 'soak: warm-up'
export const SOAK = 'soak'
// MongoDB: the pool's maxPoolSize (50, plugins/external/mongodb.ts) plus the driver's two
// connections of its own per server (the monitor and the round-trip-time pinger), which the
// pool does not count: at 500 requests/s the pool reaches its maximum, and 51 or 52 is no leak.
export const TOLERANCE = { nonHeapRssGrowth: 0.2, heapGrowth: 0.25, extraHandles: 5, mongodbPool: 50 + 2, httpClients: SOCKETS_PER_INSTANCE + 1 }

export interface SoakResult {
  seconds: number
  /**
   * The heap's floor: the lowest heap-used sample under load in the first and in the last third
   * of the soak (reported, not judged: a sample holds whatever garbage old space has gathered).
   */
  heapFloor: { start: number, end: number }
  /** Bytes of heap left by each full GC during the soak, in order (heapAfterFullGcs). */
  heapAfterFullGc: number[]
  /** Every sample, under load and paused. */
  samples: ProcessSample[]
  start: ProcessSample
  end: ProcessSample
  skipped: number
}

/**
 * Handles other than connections that follow the peak concurrency and are bounded elsewhere:
 * the MongoDB pool (maxPoolSize) and the clients' keep-alive sockets (the driver's cap).
 */
export function handlesBesidesConnections (sample: ProcessSample): number {
  return sample.activeHandles - (sample.sockets?.mongodb ?? 0) - (sample.sockets?.httpClients ?? 0)
}

/** RSS outside the V8 heap's committed size. */
export function rssOutsideHeap (sample: ProcessSample): number {
  return sample.rssBytes - (sample.heapTotalBytes ?? 0)
}

/** The least-squares slope of RSS over the samples under load, in bytes per minute (for the report). */
export function rssSlopePerMinute (samples: ProcessSample[]): number {
  const n = samples.length
  if (n < 2) return 0
  const xs = samples.map((s) => s.at / 60_000)
  const ys = samples.map((s) => s.rssBytes)
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my)
    den += ((xs[i] as number) - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}

function median (samples: ProcessSample[]): ProcessSample {
  const mid = (pick: (s: ProcessSample) => number) => {
    const sorted = samples.map(pick).sort((a, b) => a - b)
    return sorted[Math.floor(sorted.length / 2)] as number
  }
  return {
    at: samples[0]?.at ?? 0,
    rssBytes: mid((s) => s.rssBytes),
    heapUsedBytes: mid((s) => s.heapUsedBytes),
    heapTotalBytes: mid((s) => s.heapTotalBytes ?? 0),
    externalBytes: mid((s) => s.externalBytes ?? 0),
    activeHandles: mid((s) => s.activeHandles),
    ...(samples[0]?.sockets ? { sockets: samples[Math.floor(samples.length / 2)]?.sockets } : {})
  }
}

const portOf = (url: string) => Number(new URL(url).port)

/** A full GC's line in V8's --trace-gc output: `Mark-Compact 120.1 (153.2) -> 32.1 (139.2) MB, ...`. */
const FULL_GC = /Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/g

/** The heap (bytes) each full GC in a --trace-gc log left, in the order they ran. */
export function heapAfterFullGcs (log: string): number[] {
  return [...log.matchAll(FULL_GC)].map((match) => Number(match[1]) * 1024 * 1024)
}

/** The lowest of what the full GCs in each half of the soak left: a leak raises the second. */
export function heapAfterFullGcHalves (afterGc: number[]): { start: number, end: number } | undefined {
  if (afterGc.length < 2) return undefined
  const half = Math.floor(afterGc.length / 2)
  return { start: Math.min(...afterGc.slice(0, half)), end: Math.min(...afterGc.slice(-half)) }
}

export async function runSoak (options: Options, env: ServiceEnv, logDir: string, workload: Workload, log: RequestLog, timeline: Timeline): Promise<SoakResult> {
  const instance = await startService('service-soak', env, logDir, undefined, ['--trace-gc'])
  const fullGcsSoFar = () => heapAfterFullGcs(readFileSync(join(logDir, 'service-soak.log'), 'utf8'))
  const driver = new LoadDriver({ urls: [instance.url], rate: options.rate, maxInFlight: options.maxInFlight, timeoutMs: options.clientTimeoutMs }, workload, log)
  try {
    const samples: ProcessSample[] = []
    const ports = { http: portOf(instance.url), mongodb: portOf(env.MONGODB_URL), redis: portOf(env.REDIS_URL) }
    const sample = async () => {
      const taken = await sampleProcess(instance.url)
      if (process.platform === 'linux' && instance.child.pid) taken.sockets = countSockets(instance.child.pid, ports)
      return taken
    }
    const paused = async () => {
      const taken = []
      for (let i = 0; i < 3; i++) {
        if (i > 0) await delay(500)
        taken.push(await sample())
      }
      samples.push(...taken)
      return median(taken)
    }
    timeline.enter(SOAK_WARMUP)
    driver.start()
    await delay(options.soakWarmupSeconds * 1000)
    await driver.stop()
    timeline.close()
    const start = await paused()
    const beforeSoak = fullGcsSoFar().length
    timeline.enter(SOAK)
    driver.start()
    const every = Math.max(2, options.soakSeconds / 60)
    const startedAt = Date.now()
    while (Date.now() - startedAt < options.soakSeconds * 1000) {
      await delay(every * 1000)
      samples.push(await sample())
    }
    await driver.stop()
    timeline.close()
    const loaded = samples.slice(3)
    const third = Math.max(1, Math.floor(loaded.length / 3))
    const floor = (list: ProcessSample[]) => Math.min(...list.map((s) => s.heapUsedBytes))
    const heapFloor = { start: floor(loaded.slice(0, third)), end: floor(loaded.slice(-third)) }
    const heapAfterFullGc = fullGcsSoFar().slice(beforeSoak)
    return { seconds: options.soakSeconds, samples, heapFloor, heapAfterFullGc, start, end: await paused(), skipped: driver.skipped }
  } finally {
    await driver.stop()
    await instance.stop()
  }
}
