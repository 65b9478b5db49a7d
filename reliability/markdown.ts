import type { ReportInput } from './report-input.js'
import { HOT_ORDERS } from './near-bound.js'
import { PROFILES } from './services.js'
import { rssOutsideHeap, TOLERANCE } from './soak.js'
import type { Figures } from './stats.js'

// The human report (REPORT.md) of one run: checks first, then the figures behind them.

const mb = (bytes: number) => (bytes / 1048576).toFixed(1)
const statuses = (figures: Figures) => Object.entries(figures.byStatus).sort().map(([status, n]) => `${status}: ${n}`).join(', ')
const cache = (figures: Figures) => ['HIT', 'MISS', 'BYPASS'].map((k) => figures.cache[k] ?? 0).join(' / ')
const ms = (value: number | null) => value === null ? 'never' : `${value}`

function writesByStatus (figures: Figures): string {
  return ['create', 'update', 'cancel'].map((kind) => {
    const counts = figures.byKind[kind] ?? {}
    return `${kind} ${Object.entries(counts).sort().map(([s, n]) => `${s}:${n}`).join(' ') || '-'}`
  }).join('; ')
}

export function markdown (input: ReportInput): string {
  const { options: o, evaluation, soak } = input
  const passed = evaluation.checks.filter((c) => c.passed).length
  const failed = evaluation.checks.length - passed
  const lines = [
    '# Reliability report',
    '',
    `Written by \`npm run test:reliability\` (${o.form} form) on ${input.startedAt.toISOString()}. ` +
    'Real processes on one machine: 3 service instances (`node dist/src/server.js`), each with its own options ' +
    `(${PROFILES.map((p) => `${p.name}: ${p.describe}`).join('; ')}), sharing one \`redis-server\` and one FerretDB through Toxiproxy, ` +
    `driven over HTTP by the suite's open-loop load driver at ${o.rate} requests/s (in-flight cap ${o.maxInFlight}; ${input.skipped} starts skipped at the cap), ` +
    `after ${o.seedOrders} orders were created over HTTP. Mix: 55% GET one order, 30% GET a list page (limit 10, any page), ` +
    '4% POST, 8% PUT (half with `If-Match`), 3% DELETE. ' +
    `Service settings: LOCK_TTL_SECONDS=${o.lockTtlSeconds}, CACHE_TTL_SECONDS=${o.cacheTtlSeconds}, MONGODB_TIMEOUT_MS=${o.mongodbTimeoutMs}, the rest defaults. ` +
    'Then, on the same database: a rolling restart of three instances behind the `scale` profile\'s nginx config, each drained with SIGTERM and started again in turn; ' +
    `a Redis Cluster (3 masters + 3 replicas) under the same load with the master of list page 1 SIGKILLed${input.clusterPromotedAfterMs === undefined ? '' : ` (its replica served the slot ${input.clusterPromotedAfterMs} ms later)`}; ` +
    'the near-cache bound (three instances with the near cache, hot orders read and rewritten); and the soak. ' +
    `${input.requests} requests logged in all.`,
    '',
    `**${passed} passed, ${failed} failed.**`,
    '',
    '## Checks',
    '',
    '| | check | figures |',
    '|---|---|---|',
    ...evaluation.checks.map((c) => `| ${c.passed ? 'pass' : '**FAIL**'} | ${c.name} | ${c.detail.replace(/\|/g, '\\|')} |`),
    '',
    '## Phases',
    '',
    `A ${o.warmupSeconds} s warm-up (not checked), the baseline (${o.baselineSeconds} s); each fault: the signal ("entering", until the server is really gone: a SIGTERMed FerretDB takes a few seconds), ` +
    `the outage (${o.faultSeconds} s, plus the restart until the server is ready), then ${o.recoverySeconds} s of recovery. ` +
    'A request belongs to the phase in which it was sent. Latencies in ms.',
    '',
    '| phase | s | requests | statuses | writes by status | GET p50 | GET p99 | all p99 | max | HIT / MISS / BYPASS |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...evaluation.phases.map(({ name, seconds, figures: f }) =>
      `| ${name} | ${seconds} | ${f.requests} | ${statuses(f)} | ${writesByStatus(f)} | ${f.getP50Ms} | ${f.getP99Ms} | ${f.p99Ms} | ${f.maxMs} | ${cache(f)} |`),
    '',
    '## Recovery',
    '',
    'Measured from the moment the dependency was back (restart ready, or SIGCONT).',
    '',
    '| fault | last failed request sent after (ms) | by instance | failures during recovery | first successful write after (ms) | first cache hit after (ms) |',
    '|---|---|---|---|---|---|',
    ...evaluation.recoveries.map(({ fault, recovery: r }) =>
      `| ${fault} | ${r.recoveredAfterMs} | ${r.byInstance.join(' / ')} | ${r.failed} | ${ms(r.firstWriteOkAfterMs)} | ${ms(r.firstHitAfterMs)} |`),
    '',
    ...(input.nearBound
      ? [
          '## Near-cache bound',
          '',
          `${input.nearBound.instances} instances with the near cache on, ${input.nearBound.rate} requests/s (90% GET, 10% PUT of ${HOT_ORDERS} hot orders) for ${input.nearBound.seconds} s; ` +
          `CPU per instance over the window: ${input.nearBound.cpuPercent.join('%, ')}% of one core. ` +
          `${input.nearBound.writes} PUTs acknowledged; ${input.nearBound.readsAfterWrites} reads of the same order sent to another instance after the acknowledgement, ` +
          `${input.nearBound.staleReads} of them showing an older version. Per write, the window from its acknowledgement to the answer of the last such read ` +
          `(0 when there was none): p99 **${input.nearBound.windowP99Ms} ms**, maximum **${input.nearBound.windowMaxMs} ms**. ` +
          `The near cache served ${input.nearBound.nearHitPercent}% of the cache hits (the rest went to Redis: a lease run out, a copy not yet stored near); ` +
          `acknowledged PUTs took ${input.nearBound.writeP50Ms} ms at p50 and ${input.nearBound.writeP99Ms} ms at p99 at the driver (a write seen by near caches waits out their lease).`,
          ''
        ]
      : []),
    '## Soak',
    '',
    `One fresh instance, the same mix at ${o.rate} requests/s for ${soak.seconds} s after a ${o.soakWarmupSeconds} s warm-up; ` +
    `${soak.samples.length} samples of its /metrics. Start and end are each the median of three samples taken with the load paused and drained.`,
    '',
    '| | RSS MB | RSS outside the V8 heap MB | V8 heap committed MB | heap used MB | external MB | active handles | of which MongoDB connections | Redis | HTTP clients |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...(['start', 'end'] as const).map((when) => {
      const s = soak[when]
      return `| ${when} | ${mb(s.rssBytes)} | ${mb(rssOutsideHeap(s))} | ${mb(s.heapTotalBytes ?? 0)} | ${mb(s.heapUsedBytes)} | ${mb(s.externalBytes ?? 0)} | ` +
        `${s.activeHandles} | ${s.sockets?.mongodb ?? '?'} | ${s.sockets?.redis ?? '?'} | ${s.sockets?.httpClients ?? '?'} |`
    }),
    '',
    `Heap left by each full GC of the soak (V8's Mark-Compact, traced with --trace-gc): ${soak.heapAfterFullGc.map((bytes) => mb(bytes)).join(', ')} MB. ` +
    `Lowest heap-used sample under load: ${mb(soak.heapFloor.start)} MB in the first third, ${mb(soak.heapFloor.end)} MB in the last (garbage included).`,
    '',
    `Tolerances: RSS outside the V8 heap +${TOLERANCE.nonHeapRssGrowth * 100}% (the heap's committed size moves by tens of MB with V8's own sizing, ` +
    'leak or not: a GC that gives pages back drops RSS by 30-40 MB and the heap grows back to its plateau; a native leak or a malloc arena ' +
    `raises what is outside it), heap after full GCs +${TOLERANCE.heapGrowth * 100}% (what a full GC leaves is what is live: ` +
    `a leak raises it, garbage does not), handles besides connections +${TOLERANCE.extraHandles}. ` +
    'The MongoDB pool and the keep-alive HTTP connections grow to the peak concurrency and stay open, so they are bounded instead: ' +
    `the pool by maxPoolSize (${TOLERANCE.mongodbPool - 2}) plus the driver's monitor and round-trip pinger, the HTTP clients by the driver's ${TOLERANCE.httpClients - 1} sockets (+1 for the /metrics reader).`,
    '',
    'Raw figures, every sample and every check: [results.json](results.json).',
    ''
  ]
  return lines.join('\n')
}
