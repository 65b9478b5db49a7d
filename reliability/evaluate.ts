import { check, type Check } from './checks/check.js'
import { lockChecks } from './checks/locks.js'
import { nothingLostChecks } from './checks/nothing-lost.js'
import { databaseOutageChecks, recoveryChecks, redisOutageChecks } from './checks/outage.js'
import { staleReadChecks } from './checks/stale-reads.js'
import { BASELINE, entering, outage, recovery, type Fault } from './faults.js'
import type { LockWatch } from './lock-watch.js'
import type { Options } from './options.js'
import { recoveryOf, type Recovery } from './recovery.js'
import type { RequestLog } from './request-log.js'
import { INSTANCES } from './scenario.js'
import { handlesBesidesConnections, rssOutsideHeap, rssSlopePerMinute, SOAK, TOLERANCE, type SoakResult } from './soak.js'
import { figuresOf, type Figures } from './stats.js'
import type { Timeline } from './timeline.js'

// Turns the run's record (request log, timeline, lock watch, soak samples, database) into the
// figures of the report and the suite's checks.

export interface PhaseFigures { name: string, seconds: number, figures: Figures }
export interface FaultRecovery { fault: string, dependency: string, recovery: Recovery }
export interface Evaluation { phases: PhaseFigures[], recoveries: FaultRecovery[], checks: Check[] }

const pct = (from: number, to: number) => `${((to / from - 1) * 100).toFixed(1)}%`
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`

export function soakChecks (soak: SoakResult): Check[] {
  const { start, end } = soak
  // The samples under load: all but the three paused ones at each end.
  const loaded = soak.samples.length > 6 ? soak.samples.slice(3, -3) : soak.samples
  return [
    check(`soak: RSS outside the V8 heap flat (at most +${TOLERANCE.nonHeapRssGrowth * 100}%)`,
      rssOutsideHeap(end) <= rssOutsideHeap(start) * (1 + TOLERANCE.nonHeapRssGrowth),
      `${mb(rssOutsideHeap(start))} -> ${mb(rssOutsideHeap(end))} (${pct(rssOutsideHeap(start), rssOutsideHeap(end))}); ` +
      `RSS ${mb(start.rssBytes)} -> ${mb(end.rssBytes)} (${pct(start.rssBytes, end.rssBytes)}), of which V8 heap committed ` +
      `${mb(start.heapTotalBytes ?? 0)} -> ${mb(end.heapTotalBytes ?? 0)}; external ${mb(start.externalBytes ?? 0)} -> ${mb(end.externalBytes ?? 0)}; ` +
      `RSS under load ${mb(Math.min(...loaded.map((s) => s.rssBytes)))} to ${mb(Math.max(...loaded.map((s) => s.rssBytes)))}, ` +
      `least-squares slope ${mb(rssSlopePerMinute(loaded))}/min`),
    check(`soak: heap floor flat (at most +${TOLERANCE.heapGrowth * 100}%)`, soak.heapFloor.end <= soak.heapFloor.start * (1 + TOLERANCE.heapGrowth),
      `lowest heap used in the first third ${mb(soak.heapFloor.start)}, in the last third ${mb(soak.heapFloor.end)} ` +
      `(${pct(soak.heapFloor.start, soak.heapFloor.end)}); paused samples ${mb(start.heapUsedBytes)} -> ${mb(end.heapUsedBytes)}`),
    check(`soak: open handles besides connections flat (at most +${TOLERANCE.extraHandles})`,
      handlesBesidesConnections(end) <= handlesBesidesConnections(start) + TOLERANCE.extraHandles,
      `${handlesBesidesConnections(start)} -> ${handlesBesidesConnections(end)} (all handles ${start.activeHandles} -> ${end.activeHandles})`),
    check(`soak: connections bounded (MongoDB pool <= ${TOLERANCE.mongodbPool}, HTTP clients <= ${TOLERANCE.httpClients})`,
      end.sockets !== undefined && end.sockets.mongodb <= TOLERANCE.mongodbPool && end.sockets.httpClients <= TOLERANCE.httpClients,
      end.sockets
        ? `MongoDB ${start.sockets?.mongodb ?? '?'} -> ${end.sockets.mongodb}, HTTP clients ${start.sockets?.httpClients ?? '?'} -> ${end.sockets.httpClients}`
        : 'not measured (needs Linux /proc)')
  ]
}

export async function evaluate (options: Options, log: RequestLog, timeline: Timeline, faults: Fault[], watch: LockWatch,
  soak: SoakResult | undefined, mongodbUrl: string): Promise<Evaluation> {
  const entries = [...log.entries].sort((a, b) => a.sentAt - b.sentAt)
  const phases = timeline.phases.map((phase) => ({
    name: phase.name,
    seconds: Math.round((phase.end - phase.start) / 100) / 10,
    figures: figuresOf(timeline.entriesOf(entries, phase.name))
  }))
  const baseline = figuresOf(timeline.entriesOf(entries, BASELINE))
  const checks: Check[] = []
  const recoveries: FaultRecovery[] = []
  // A request makes at most two database calls in a row (PUT: read, then write), each bounded
  // by MONGODB_TIMEOUT_MS; a second of slack for the rest.
  const dbBoundMs = 2 * options.mongodbTimeoutMs + 1000
  const recoveryBoundMs = options.recoverySeconds * 500
  for (const fault of faults) {
    const during = timeline.entriesOf(entries, outage(fault))
    const backAt = timeline.get(outage(fault))?.end ?? Number.POSITIVE_INFINITY
    checks.push(...(fault.dependency === 'redis'
      ? redisOutageChecks(fault.name, during, backAt, figuresOf(during), baseline)
      : databaseOutageChecks(fault.name, during, backAt, dbBoundMs)))
    const phase = timeline.get(recovery(fault))
    if (!phase) continue
    const writeKinds = fault.dependency === 'redis' ? ['update', 'cancel'] : ['create', 'update', 'cancel']
    const result = recoveryOf(phase, timeline.entriesOf(entries, phase.name), writeKinds, INSTANCES)
    recoveries.push({ fault: fault.name, dependency: fault.dependency, recovery: result })
    checks.push(...recoveryChecks(fault.name, result, recoveryBoundMs, fault.dependency === 'redis'))
  }
  checks.push(...await nothingLostChecks(entries, mongodbUrl))
  checks.push(...staleReadChecks(entries, timeline, [
    ...faults.map((fault) => ({ name: `during and after ${fault.name}`, phases: [entering(fault), outage(fault), recovery(fault)] })),
    { name: 'soak', phases: [SOAK] }
  ]))
  checks.push(...lockChecks(watch, options.lockTtlSeconds))
  if (soak) checks.push(...soakChecks(soak))
  return { phases, recoveries, checks }
}
