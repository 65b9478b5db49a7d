import type { CpuPerRequest } from './cpu.js'
import type { LoadResult } from './load.js'
import type { HotPath } from './profile.js'
import type { SizeScalingRow } from './size-scaling.js'

export interface ScenarioResult extends LoadResult {
  name: string
  title: string
  connections: number
  seconds: number
  /** MongoDB reads the service issued per second during the run (from /metrics). */
  databaseReadsPerSecond?: number
  /** CPU per request of each process involved (medians over rounds). */
  cpuMicrosPerRequest?: CpuPerRequest
  /** Interleaved scenarios: how many rounds, and each round's throughput. */
  rounds?: number
  roundRequestsPerSecond?: number[]
  /** Interleaved scenarios: each round's server CPU per request, in microseconds. */
  roundServerCpuMicros?: number[]
}

/** What one operability layer costs a cache hit: server CPU with it minus without it. */
export interface LayerCost {
  layer: string
  microsPerRequest: number
}

export interface Target {
  name: string
  goal: string
  measured: string
  pass: boolean
}

export interface BenchReport {
  date: string
  machine: string
  orders: number
  largeOrders: number
  seconds: number
  rounds: number
  cores: number
  scenarios: ScenarioResult[]
  ratios: Record<string, number>
  targets: Target[]
  /** Miss path and writes at both sizes, in the same rounds (absent when there is no large size). */
  sizeScaling: SizeScalingRow[]
  /** The per-layer A/B (absent in reports written before it existed). */
  layers?: LayerCost[]
  profile: HotPath
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

function hitRatio (s: ScenarioResult): string {
  const hits = s.xCache.HIT ?? 0
  const total = Object.values(s.xCache).reduce((a, b) => a + b, 0)
  return total === 0 ? '' : `${fmt((100 * hits) / total, 1)}%`
}

function sizeScalingSection (report: BenchReport): string[] {
  const [first] = report.sizeScaling
  if (!first) return []
  const labels = Object.keys(first.medianMs)
  return [
    `## Miss path and writes by data-set size (${labels.join(' vs ')}, same rounds)`,
    '',
    'Each request is sent alone and timed from the benchmark process over loopback, with its cache entry',
    'deleted just before it (so a GET looks up, loads and fills). **These are the service\'s own costs over an',
    'indexed store** (FerretDB with the project\'s patch: the list page and its count read from indexes, an order',
    'by its `_id` index), **not MongoDB\'s latency**. The ratio is the median over rounds of the two sizes\'',
    'medians, taken seconds apart.',
    '',
    `| operation | ${labels.map((l) => `${l}: median ms`).join(' | ')} | ratio | samples per size |`,
    `|---|${labels.map(() => '---|').join('')}---|---|`,
    ...report.sizeScaling.map((row) => `| ${row.operation} | ${labels.map((l) => fmt(row.medianMs[l] ?? 0, 1)).join(' | ')} | ${fmt(row.ratio, 2)}x | ${row.samplesPerSize} |`),
    ''
  ]
}

function layersSection (report: BenchReport): string[] {
  if (!report.layers?.length) return []
  return [
    '## What each operability layer costs a cache hit (page 1, limit 10)',
    '',
    'The service with every layer, and without one layer at a time (bench/service-without.ts; the service',
    'itself has no switch for them), in the same interleaved rounds, at a fixed rate rather than saturation',
    '(CPU per request is steadier when the process is not saturated). Each cost is the median over rounds of',
    'the difference in server CPU per request; on this shared machine a difference under about 5 µs is within',
    'the noise. Every other row of this report runs at LOG_LEVEL=warn: the last line is what the default',
    '(info, one access-log line per request) adds.',
    '',
    '| layer | µs of server CPU per hit |',
    '|---|---|',
    ...report.layers.map((l) => `| ${l.layer} | ${fmt(l.microsPerRequest, 1)} |`),
    ''
  ]
}

export function markdown (report: BenchReport): string {
  const rps = (n: number) => fmt(n, n < 100 ? 1 : 0)
  const rows = report.scenarios.map((s) => `| ${s.title} | ${s.connections} | ${s.seconds} | ${rps(s.requestsPerSecond)} | ${fmt(s.latencyMs.p50, 1)} | ${fmt(s.latencyMs.p90, 1)} | ${fmt(s.latencyMs.p99, 1)} | ${fmt(s.latencyMs.max)} | ${s.errors + s.timeouts} | ${s.non2xx} | ${hitRatio(s)} | ${s.databaseReadsPerSecond === undefined ? '' : fmt(s.databaseReadsPerSecond, 1)} | ${s.bytesPerRequest === undefined ? '' : fmt(s.bytesPerRequest)} |`)
  const cpuRows = report.scenarios.filter((s) => s.rounds !== undefined && s.cpuMicrosPerRequest?.server !== undefined).map((s) => {
    const cpu = s.cpuMicrosPerRequest as CpuPerRequest
    const total = (cpu.server ?? 0) + (cpu.redis ?? 0) + cpu.loadGenerator
    return `| ${s.title} | ${fmt(cpu.server ?? 0, 1)} | ${fmt(cpu.redis ?? 0, 1)} | ${fmt(cpu.loadGenerator, 1)} | ${fmt(total, 1)} | ${fmt((report.cores * 1e6) / total)} | ${fmt(1e6 / (cpu.server ?? 1))} |`
  })
  const statuses = report.scenarios.filter((s) => s.non2xx > 0)
    .map((s) => `- ${s.title}: ${Object.entries(s.statusCounts).map(([code, n]) => `${n} x ${code}`).join(', ')}`)
  return [
    '# Benchmark report',
    '',
    `Generated by \`npm run bench\` on ${report.date} (${report.machine}). ${fmt(report.orders)} orders` +
      `${report.largeOrders ? `, and ${fmt(report.largeOrders)} in a second database (its own service instances and cache) for the size rounds` : ''}.`,
    '',
    `- Hot-path scenarios (50 connections) get a warm-up, then run interleaved with their ceiling, ${report.rounds} rounds`,
    `  of ${report.seconds} s each: their rows show the median round (max: the worst of all rounds), and each ratio is`,
    '  the median of the rounds\' ratios, so the machine\'s drift over minutes cancels out.',
    '- The ceiling is a bare Fastify server answering, from memory, the bytes a cache hit sends: the same',
    '  body and the same headers. The body-only row sends the body with nothing but its content type.',
    '- The naive baseline is the same GET /orders in Express 5 + ioredis (redis.get, JSON.parse, res.json;',
    '  bench/naive-server.ts) on the same data, its hits checked to send the service\'s body bytes.',
    '- Database-bound scenarios (fewer connections, column "s") run longer and without a warm-up, so that',
    '  no query still queued from one scenario is charged to the next.',
    '- The service, the ceiling server and autocannon each run in their own process on the same machine,',
    '  against redis-server and FerretDB (SQLite) on loopback. Absolute numbers depend on a shared, noisy',
    '  machine; compare the ratios, which come from one run.',
    '',
    '![throughput and p99 per scenario](results/chart.svg)',
    '',
    '| scenario | conns | s | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | non-2xx | hit ratio | MongoDB reads/s | bytes per response |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...(statuses.length ? ['Non-2xx answers (expected: 409 is lock contention):', '', ...statuses, ''] : []),
    '## Ratios',
    '',
    ...Object.entries(report.ratios).map(([name, value]) => `- ${name}: **${fmt(value, 2)}x**`),
    '',
    '## Targets',
    '',
    '| target | goal | measured | |',
    '|---|---|---|---|',
    ...report.targets.map((t) => `| ${t.name} | ${t.goal} | ${t.measured} | ${t.pass ? 'pass' : '**FAIL**'} |`),
    '',
    'For each target missed, which cost is left and why it cannot go: the README, Benchmark, "What the misses mean".',
    '',
    `## CPU per request (microseconds; ${report.cores} cores = ${fmt(report.cores * 1e6)} µs of CPU per second)`,
    '',
    'Measured from /proc (server processes), `INFO cpu` (redis-server) and this process (autocannon).',
    'Every process shares the same cores, so a request can never be served faster than the cores',
    'allow for the whole chain, load generator included.',
    '',
    '| scenario | server | redis-server | autocannon | total | most req/s these cores allow | one server core\'s req/s |',
    '|---|---|---|---|---|---|---|',
    ...cpuRows,
    '',
    ...layersSection(report),
    ...sizeScalingSection(report),
    `## Where a cache hit spends its CPU (a copy of the service under \`--cpu-prof\`, ${report.seconds} s of hits on page 1, limit 10)`,
    '',
    'By package, in microseconds of CPU per request, as the profiler samples the JavaScript thread',
    '(work on V8\'s helper threads is only in the CPU table above):',
    '',
    '| package | µs per request |',
    '|---|---|',
    ...report.profile.packages.map((p) => `| ${p.name} | ${fmt(p.microsPerRequest, 1)} |`),
    '',
    'The functions with the most self time:',
    '',
    '| function | where | self % |',
    '|---|---|---|',
    ...report.profile.functions.map((f) => `| \`${f.name}\` | ${f.where} | ${fmt(f.selfPercent, 1)} |`),
    '',
    'What the profile led to, and what is left: see the Benchmark section of the README.',
    ''
  ].join('\n')
}

/** A two-panel horizontal bar chart: throughput and p99 per scenario. */
export function svgChart (report: BenchReport): string {
  const rowHeight = 22
  const labelWidth = 300
  const barWidth = 280
  const top = 40
  const height = top + report.scenarios.length * rowHeight + 20
  const maxRps = Math.max(...report.scenarios.map((s) => s.requestsPerSecond), 1)
  const maxP99 = Math.max(...report.scenarios.map((s) => s.latencyMs.p99), 1)
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;')
  const rows = report.scenarios.map((s, i) => {
    const y = top + i * rowHeight
    const rpsWidth = (barWidth * s.requestsPerSecond) / maxRps
    // p99 on a log scale: the spread between a hit and a MongoDB sort is several orders of magnitude.
    const p99Width = (barWidth * Math.log10(1 + s.latencyMs.p99)) / Math.log10(1 + maxP99)
    return [
      `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escape(s.title)}</text>`,
      `<rect x="${labelWidth}" y="${y + 3}" width="${rpsWidth.toFixed(1)}" height="16" fill="#3b82f6"/>`,
      `<text x="${labelWidth + rpsWidth + 4}" y="${y + 15}">${fmt(s.requestsPerSecond)}</text>`,
      `<rect x="${labelWidth + barWidth + 90}" y="${y + 3}" width="${p99Width.toFixed(1)}" height="16" fill="#f97316"/>`,
      `<text x="${labelWidth + barWidth + 94 + p99Width}" y="${y + 15}">${fmt(s.latencyMs.p99, 1)} ms</text>`
    ].join('')
  })
  const width = labelWidth + 2 * barWidth + 180
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${labelWidth}" y="20" font-weight="bold">requests/s (linear)</text>`,
    `<text x="${labelWidth + barWidth + 90}" y="20" font-weight="bold">p99 latency (log scale)</text>`,
    ...rows,
    '</svg>',
    ''
  ].join('\n')
}
