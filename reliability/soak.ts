import { setTimeout as delay } from 'node:timers/promises'
import { LoadDriver } from './driver.js'
import { sampleProcess, type ProcessSample } from './metrics.js'
import type { Options } from './options.js'
import type { RequestLog } from './request-log.js'
import { startService, type ServiceEnv } from './services.js'
import type { Timeline } from './timeline.js'
import type { Workload } from './workload.js'

// The soak: the mixed workload on one fresh instance for a bounded time, its RSS, heap and
// open handles sampled from /metrics. Start and end are each the median of three samples
// (one sample lands anywhere in a GC cycle), the start taken after a warm-up.

export const SOAK_WARMUP = 'soak: warm-up'
export const SOAK = 'soak'
export const TOLERANCE = { rssGrowth: 0.2, heapGrowth: 0.25, extraHandles: 5 }

export interface SoakResult {
  seconds: number
  samples: ProcessSample[]
  start: ProcessSample
  end: ProcessSample
  skipped: number
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
    activeHandles: mid((s) => s.activeHandles)
  }
}

export async function runSoak (options: Options, env: ServiceEnv, logDir: string, workload: Workload, log: RequestLog, timeline: Timeline): Promise<SoakResult> {
  const instance = await startService('service-soak', env, logDir)
  const driver = new LoadDriver({ urls: [instance.url], rate: options.rate, maxInFlight: options.maxInFlight, timeoutMs: options.clientTimeoutMs }, workload, log)
  try {
    driver.start()
    timeline.enter(SOAK_WARMUP)
    await delay(options.soakWarmupSeconds * 1000)
    timeline.enter(SOAK)
    const samples: ProcessSample[] = []
    const every = Math.max(2, options.soakSeconds / 30)
    const startedAt = Date.now()
    while (Date.now() - startedAt < options.soakSeconds * 1000) {
      samples.push(await sampleProcess(instance.url))
      await delay(every * 1000)
    }
    samples.push(await sampleProcess(instance.url))
    await driver.stop()
    timeline.close()
    return { seconds: options.soakSeconds, samples, start: median(samples.slice(0, 3)), end: median(samples.slice(-3)), skipped: driver.skipped }
  } finally {
    await driver.stop()
    await instance.stop()
  }
}
