import { readFileSync } from 'node:fs'
import { setTimeout as delay } from 'node:timers/promises'
import { send } from './http-client.js'
import type { Options } from './options.js'
import { isOk, now, type LogEntry, type RequestLog } from './request-log.js'
import { startService, type ServiceEnv, type ServiceInstance } from './services.js'
import { metricTotal } from './metrics.js'
import type { Timeline } from './timeline.js'
import type { Workload } from './workload.js'

// The near cache's staleness bound across instances, under load: every instance has the near
// cache on; a small set of hot orders is read on all of them and rewritten all the time, at a
// rate that keeps the instances busy. For each acknowledged PUT, the reads of that order sent
// to the other instances after the acknowledgement that still showed an older version are
// near hits of the old bytes (the change announcement deletes the Redis entry before the write
// is made, so no Redis hit can show them). The delay from the acknowledgement to the answer of
// the last such read is the window; its p99 and maximum over the writes, the instances' CPU
// beside them.

export const NEAR_BOUND = 'near-cache bound'
export const HOT_ORDERS = 24
const INSTANCES = 3
const WRITE_SHARE = 0.1

export interface NearBound {
  instances: number
  seconds: number
  rate: number
  /** PUTs acknowledged (2xx), and reads sent to another instance after one of them. */
  writes: number
  readsAfterWrites: number
  /** Reads that showed an older version than a PUT acknowledged before they were sent. */
  staleReads: number
  /** Per write: from its acknowledgement to the answer of the last stale read (0 when none). */
  windowP99Ms: number
  windowMaxMs: number
  /** CPU of each instance over the window, in % of one core. */
  cpuPercent: number[]
  /** Of the cache hits, the share the near cache served (the rest were Redis hits: a lease run out, a copy not yet stored near). */
  nearHitPercent: number
  /** Acknowledged PUTs' latency, at the driver: a write seen by near caches waits out their lease (CACHE_NEAR_LEASE_MS). */
  writeP50Ms: number
  writeP99Ms: number
}

/** utime + stime of a process, in clock ticks (Linux). */
function cpuTicks (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return Number(fields[11]) + Number(fields[12])
}
const TICKS_PER_SECOND = 100

export async function measureNearBound (options: Options, env: ServiceEnv, logDir: string, workload: Workload, log: RequestLog,
  timeline: Timeline, say: (line: string) => void): Promise<NearBound> {
  const nearEnv = { ...env, CACHE_NEAR_MAX_BYTES: String(64 * 1024 * 1024) }
  const instances: ServiceInstance[] = await Promise.all(Array.from({ length: INSTANCES }, (_, i) => startService(`near-${i + 1}`, nearEnv, logDir)))
  const seconds = options.nearBoundSeconds
  const rate = options.nearBoundRate
  try {
    const hot: string[] = []
    for (let i = 0; i < HOT_ORDERS; i++) {
      const entry = await send({ instance: 0, baseUrl: instances[0]?.url as string, kind: 'create', method: 'POST', path: '/orders', body: workload.newOrderBody() }, log.nextSeq(), options.clientTimeoutMs)
      log.add(entry)
      workload.observe(entry)
      if (entry.status === 201 && entry.order) hot.push(entry.order._id)
    }
    const entries: LogEntry[] = []
    const inFlight = new Set<Promise<void>>()
    let skipped = 0
    let n = 0
    const fire = () => {
      if (inFlight.size >= options.maxInFlight) {
        skipped++
        return
      }
      const instance = n % INSTANCES
      const id = hot[Math.floor(Math.random() * hot.length)] as string
      const write = Math.random() < WRITE_SHARE
      const call = write
        ? { kind: 'update' as const, method: 'PUT', path: `/orders/${id}`, orderId: id, body: { customer: `Near bound ${n}` } }
        : { kind: 'get' as const, method: 'GET', path: `/orders/${id}`, orderId: id }
      n++
      const done: Promise<void> = send({ ...call, instance, baseUrl: (instances[instance] as ServiceInstance).url }, log.nextSeq(), options.clientTimeoutMs).then((entry) => {
        entries.push(entry)
        log.add(entry)
        workload.observe(entry)
        inFlight.delete(done)
      })
      inFlight.add(done)
    }
    const pids = instances.map((i) => i.child.pid as number)
    const hitCounts = async () => await Promise.all(instances.map(async (i) => [await metricTotal(i.url, 'cache_near_hits_total'), await metricTotal(i.url, 'cache_hits_total')]))
    const countsBefore = await hitCounts()
    timeline.enter(NEAR_BOUND)
    const startTicks = pids.map(cpuTicks)
    const startedAt = now()
    let sent = 0
    while (now() - startedAt < seconds * 1000) {
      const due = Math.floor((now() - startedAt) * rate / 1000)
      while (sent < due) { sent++; fire() }
      await delay(1)
    }
    const cpuPercent = pids.map((pid, i) => Math.round((cpuTicks(pid) - (startTicks[i] as number)) / TICKS_PER_SECOND / seconds * 100))
    await Promise.all([...inFlight])
    timeline.close()
    const countsAfter = await hitCounts()
    const total = (k: 0 | 1) => countsAfter.reduce((sum, counts, i) => sum + (counts[k] as number) - (countsBefore[i]?.[k] as number), 0)
    const nearHitPercent = Math.round(total(0) / Math.max(1, total(1)) * 1000) / 10
    const result = { ...nearBoundOf(entries), instances: INSTANCES, seconds, rate, cpuPercent, nearHitPercent, ...writeLatencyOf(entries) }
    say(`near-cache bound: ${result.writes} writes, ${result.readsAfterWrites} reads after them on other instances, ${result.staleReads} stale; ` +
      `window p99 ${result.windowP99Ms} ms, max ${result.windowMaxMs} ms; instance CPU ${cpuPercent.join('%, ')}%; ` +
      `near hits ${nearHitPercent}% of hits; PUT p50 ${result.writeP50Ms} ms, p99 ${result.writeP99Ms} ms${skipped > 0 ? `; ${skipped} starts skipped at the cap` : ''}`)
    return result
  } finally {
    await Promise.all(instances.map((i) => i.stop()))
  }
}

/** Acknowledged PUTs' latency at the driver, p50 and p99. */
export function writeLatencyOf (entries: LogEntry[]): { writeP50Ms: number, writeP99Ms: number } {
  const ms = entries.filter((e) => e.method === 'PUT' && isOk(e)).map((e) => e.doneAt - e.sentAt).sort((a, b) => a - b)
  const at = (p: number) => ms.length === 0 ? 0 : Math.round((ms[Math.min(ms.length - 1, Math.ceil(p / 100 * ms.length) - 1)] as number) * 10) / 10
  return { writeP50Ms: at(50), writeP99Ms: at(99) }
}

/** The windows of the near cache from a log of PUTs and GETs of one set of orders. */
export function nearBoundOf (entries: LogEntry[]): Pick<NearBound, 'writes' | 'readsAfterWrites' | 'staleReads' | 'windowP99Ms' | 'windowMaxMs'> {
  const writes = entries.filter((e) => e.method === 'PUT' && isOk(e) && e.order)
  const readsByOrder = new Map<string, LogEntry[]>()
  for (const e of entries) {
    if (e.method !== 'GET' || !isOk(e) || !e.order) continue
    let list = readsByOrder.get(e.order._id)
    if (!list) readsByOrder.set(e.order._id, list = [])
    list.push(e)
  }
  let readsAfterWrites = 0
  const stale = new Set<LogEntry>()
  const windows = writes.map((w) => {
    const version = w.order?.version as number
    let window = 0
    for (const r of readsByOrder.get(w.order?._id as string) ?? []) {
      if (r.instance === w.instance || r.sentAt <= w.doneAt) continue
      readsAfterWrites++
      if ((r.order?.version as number) < version) {
        stale.add(r)
        window = Math.max(window, r.doneAt - w.doneAt)
      }
    }
    return window
  }).sort((a, b) => a - b)
  const at = (p: number) => windows.length === 0 ? 0 : Math.round((windows[Math.min(windows.length - 1, Math.ceil(p / 100 * windows.length) - 1)] as number) * 10) / 10
  return { writes: writes.length, readsAfterWrites, staleReads: stale.size, windowP99Ms: at(99), windowMaxMs: at(100) }
}
