import { check, type Check } from './checks/check.js'
import { lockChecks } from './checks/locks.js'
import { nothingLostChecks } from './checks/nothing-lost.js'
import { lockedOutChecks, type Crash } from './checks/locked-out.js'
import { rollingRestartChecks } from './checks/rolling-restart.js'
import { CLUSTER_BASELINE, CLUSTER_FAILOVER, CLUSTER_RECOVERY } from './cluster-scenario.js'
import { NEAR_BOUND, type NearBound } from './near-bound.js'
import { ROLLING_BASELINE, rollingPhase } from './rolling-restart.js'
import { crashChecks, databaseOutageChecks, HITS_AGAIN_MS, quietPhaseChecks, recoveryChecks, redisOutageChecks, slowDependencyChecks } from './checks/outage.js'
import { staleReadChecks, staleReads, type StaleRead } from './checks/stale-reads.js'
import { BASELINE, entering, outage, recovery, type Fault } from './faults.js'
import type { LockWatch } from './lock-watch.js'
import type { Options } from './options.js'
import { recoveryOf, type Recovery } from './recovery.js'
import type { RequestLog } from './request-log.js'
import { INSTANCES } from './scenario.js'
import { PROFILES } from './services.js'
import { handlesBesidesConnections, heapAfterFullGcHalves, rssOutsideHeap, rssSlopePerMinute, SOAK, TOLERANCE, type SoakResult } from './soak.js'
import { figuresOf, maxOf, type Figures } from './stats.js'
import type { Timeline } from './timeline.js'

// Turns the run's record (request log, timeline, lock watch, soak samples, database) into the
// figures of the report and the suite's checks.

export interface PhaseFigures { name: string, seconds: number, figures: Figures }
export interface FaultRecovery { fault: string, dependency: string, recovery: Recovery }
export interface Evaluation { phases: PhaseFigures[], recoveries: FaultRecovery[], checks: Check[] }

/** The near cache's stated bound (README, "Near cache"): a window of at most this after an acknowledgement. */
export const NEAR_WINDOW_BOUND_MS = 10

const pct = (from: number, to: number) => `${((to / from - 1) * 100).toFixed(1)}%`
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`

/**
 * The heap after full GCs: the lowest a full GC left in the first half of the soak's full GCs
 * against the lowest in the second. Fewer than two full GCs in the soak is a failure, not a pass:
 * nothing was measured.
 */
function heapAfterFullGcCheck (soak: SoakResult): Check {
  const name = `soak: heap after full GCs flat (at most +${TOLERANCE.heapGrowth * 100}%)`
  const halves = heapAfterFullGcHalves(soak.heapAfterFullGc)
  const floor = `lowest heap-used sample in the first third ${mb(soak.heapFloor.start)}, in the last third ${mb(soak.heapFloor.end)}; ` +
    `paused samples ${mb(soak.start.heapUsedBytes)} -> ${mb(soak.end.heapUsedBytes)}`
  if (!halves) return check(name, false, `${soak.heapAfterFullGc.length} full GC during the soak: too few to judge (${floor})`)
  return check(name, halves.end <= halves.start * (1 + TOLERANCE.heapGrowth),
    `${soak.heapAfterFullGc.length} full GCs left ${soak.heapAfterFullGc.map(mb).join(', ')}: lowest ${mb(halves.start)} in the first half, ` +
    `${mb(halves.end)} in the second (${pct(halves.start, halves.end)}); ${floor}`)
}

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
    heapAfterFullGcCheck(soak),
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
  soak: SoakResult | undefined, mongodbUrl: string, cluster?: { promotedAfterMs: number }, nearBound?: NearBound): Promise<Evaluation> {
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
  const optimistic = PROFILES.flatMap((p, i) => p.optimistic ? [i] : [])
  const crashes: Crash[] = []
  const baselinePhase = timeline.get(BASELINE)
  if (baselinePhase) checks.push(...quietPhaseChecks('baseline', timeline.entriesOf(entries, BASELINE), baselinePhase.end, options.clientTimeoutMs))
  for (const fault of faults) {
    const during = timeline.entriesOf(entries, outage(fault))
    const backAt = timeline.get(outage(fault))?.end ?? Number.POSITIVE_INFINITY
    if (fault.kind === 'crash') {
      crashes.push({ instance: fault.instance as number, at: timeline.get(entering(fault))?.start ?? 0 })
      checks.push(...crashChecks(fault.name, [...timeline.entriesOf(entries, entering(fault)), ...during], fault.instance as number))
    } else if (fault.kind === 'slow') {
      checks.push(...slowDependencyChecks(fault.name, during, fault.dependency === 'redis' ? ['GET', 'POST'] : ['GET', 'POST', 'PUT', 'DELETE']))
    } else if (fault.dependency === 'redis') {
      checks.push(...redisOutageChecks(fault.name, during, backAt, figuresOf(during), baseline, optimistic, fault.hangs))
    } else {
      checks.push(...databaseOutageChecks(fault.name, during, backAt, dbBoundMs))
    }
    const phase = timeline.get(recovery(fault))
    if (!phase) continue
    const writeKinds = fault.dependency === 'database' ? ['create', 'update', 'cancel'] : ['update', 'cancel']
    const result = recoveryOf(phase, timeline.entriesOf(entries, phase.name), writeKinds, INSTANCES)
    recoveries.push({ fault: fault.name, dependency: fault.dependency, recovery: result })
    checks.push(...recoveryChecks(fault.name, result, recoveryBoundMs, true))
  }
  const rollingPhases = [ROLLING_BASELINE, ...PROFILES.map((p) => rollingPhase(p.name))]
  if (timeline.get(ROLLING_BASELINE)) {
    checks.push(...rollingRestartChecks(rollingPhases.flatMap((name) => timeline.entriesOf(entries, name))))
  }
  const clusterPhases = [CLUSTER_BASELINE, CLUSTER_FAILOVER, CLUSTER_RECOVERY]
  const clusterRecovery = timeline.get(CLUSTER_RECOVERY)
  if (cluster && clusterRecovery) {
    const name = 'cluster: master SIGKILLed'
    checks.push(...slowDependencyChecks(`${name} (failover and recovery)`,
      [...timeline.entriesOf(entries, CLUSTER_FAILOVER), ...timeline.entriesOf(entries, CLUSTER_RECOVERY)], ['GET', 'POST']))
    const result = recoveryOf(clusterRecovery, timeline.entriesOf(entries, CLUSTER_RECOVERY), ['update', 'cancel'], INSTANCES)
    recoveries.push({ fault: `${name}, replica promoted after ${cluster.promotedAfterMs} ms`, dependency: 'redis', recovery: result })
    checks.push(...recoveryChecks(name, result, recoveryBoundMs, true))
  }
  checks.push(...await nothingLostChecks(entries, mongodbUrl))
  // The README's failure table allows one stale window: after a PUT or DELETE that an instance
  // with LOCK_FALLBACK=optimistic made without the lock while Redis was gone, other instances may
  // serve the pre-write entries until its owed invalidation lands, which it redelivers as soon
  // as Redis is back. Such reads are counted apart and must end within HITS_AGAIN_MS of that.
  const redisFaultWindows = faults.filter((f) => f.dependency === 'redis').map((f) => ({
    from: timeline.get(entering(f))?.start ?? 0,
    backAt: timeline.get(outage(f))?.end ?? 0
  }))
  const ackedWithoutLock = (read: StaleRead) => optimistic.includes(read.ack.instance) &&
    redisFaultWindows.some((w) => read.ack.doneAt >= w.from && read.ack.doneAt <= w.backAt)
  const inOptimisticWindow = (read: StaleRead) => ackedWithoutLock(read) &&
    redisFaultWindows.some((w) => read.ack.doneAt >= w.from && read.ack.doneAt <= w.backAt && read.ack.doneAt + read.lagMs <= w.backAt + HITS_AGAIN_MS)
  const afterOptimistic = staleReads(entries, timeline).filter(ackedWithoutLock)
  const late = afterOptimistic.filter((read) => !inOptimisticWindow(read))
  checks.push(check(`stale reads after writes made without the lock (LOCK_FALLBACK=optimistic) end within ${HITS_AGAIN_MS / 1000} s of Redis coming back`, late.length === 0,
    `${afterOptimistic.length} reads older than such a write (lag after its acknowledgement up to ${maxOf(afterOptimistic.map((r) => r.lagMs))} ms); ` +
    `${late.length} sent later than ${HITS_AGAIN_MS / 1000} s after Redis was back`))
  // The near-cache bound measures its stale reads itself (their window is the figure), and
  // checks them against the README's bound; every other phase allows none.
  if (nearBound) {
    checks.push(check(`near cache: no near hit of old bytes later than ${NEAR_WINDOW_BOUND_MS} ms after a write acknowledged on another instance`,
      nearBound.windowMaxMs <= NEAR_WINDOW_BOUND_MS && nearBound.writes >= 1000,
      `${nearBound.instances} instances with the near cache, ${nearBound.rate} requests/s for ${nearBound.seconds} s (CPU per instance ${nearBound.cpuPercent.join('%, ')}%): ` +
      `${nearBound.writes} PUTs acknowledged (at least 1,000), ${nearBound.readsAfterWrites} reads on other instances after them, ${nearBound.staleReads} stale; ` +
      `window from the acknowledgement to the last stale answer: p99 ${nearBound.windowP99Ms} ms, max ${nearBound.windowMaxMs} ms; ` +
      `near hits ${nearBound.nearHitPercent}% of hits; PUT p50 ${nearBound.writeP50Ms} ms, p99 ${nearBound.writeP99Ms} ms`))
  }
  const measuredNear = (read: StaleRead) => read.phase === NEAR_BOUND
  checks.push(...staleReadChecks(entries, timeline, [
    ...faults.map((fault) => ({ name: `during and after ${fault.name}`, phases: [entering(fault), outage(fault), recovery(fault)] })),
    ...(timeline.get(ROLLING_BASELINE) ? [{ name: 'rolling restart behind nginx', phases: rollingPhases }] : []),
    ...(clusterRecovery ? [{ name: 'Redis Cluster, master killed', phases: clusterPhases }] : []),
    { name: 'soak', phases: [SOAK] }
  ], (read) => inOptimisticWindow(read) || measuredNear(read)))
  // Times when a lock's release could land nowhere: a frozen Redis, and a Cluster master killed
  // until its replica was promoted (a lock set on it before, copied to the replica, can only be
  // released once the replica is master). The bound runs from their end: 1 s beyond.
  const clusterFailover = timeline.get(CLUSTER_FAILOVER)
  const hangs = [
    ...faults.filter((f) => f.dependency === 'redis' && f.hangs === true).map((f) => timeline.get(outage(f))),
    clusterFailover
  ].filter((phase) => phase !== undefined).map(({ start, end }) => ({ start, end }))
  checks.push(...lockedOutChecks(entries, crashes, options.lockTtlSeconds * 1000, hangs))
  checks.push(...lockChecks(watch, options.lockTtlSeconds))
  if (soak) checks.push(...soakChecks(soak))
  return { phases, recoveries, checks }
}
