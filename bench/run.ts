import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { MongoClient } from 'mongodb'
import { redisKeys } from '../src/cache/keys.js'
import { load, type LoadOptions } from './load.js'
import { createCpuMeter } from './cpu.js'
import { compareBuilds } from './compare-builds.js'
import { BODY_ONLY_PREFIX, NOT_MODIFIED_SUFFIX, killAll, startCeiling, startNaive, startService, startServiceWithout, type CapturedFiles, type Running } from './processes.js'
import { hotPath } from './profile.js'
import { markdown, svgChart, type BenchReport, type LayerCost, type ScenarioResult, type Target } from './report.js'
import { OPERABILITY_LAYERS } from '../src/app.js'
import { pendingOrderIds, seedOrders } from './seed.js'
import { measureSizeScaling, type SizeScalingRow } from './size-scaling.js'
import { medianOf } from './median.js'
import { compareWorkers } from './workers.js'

// npm run bench (scripts/bench.sh starts the servers and builds): seeds orders, starts the
// built service (cache on, cache off, and a profiled copy) and a bare Fastify ceiling, then runs
// every scenario with autocannon, and writes bench/results/latest.json, bench/results/chart.svg
// and bench/REPORT.md. The hot-path scenarios, whose ratios are the targets, run interleaved
// (ceiling, hit, ceiling, hit, ...) for several rounds, and each ratio is the median of the
// rounds' ratios: a shared machine drifts over minutes, and a ratio of two runs taken seconds
// apart is far steadier than one of runs taken minutes apart.

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const ORDERS = env('BENCH_ORDERS', 10_000)
const LARGE_ORDERS = env('BENCH_LARGE_ORDERS', 200_000)
const SECONDS = env('BENCH_SECONDS', 8)
// Even, so that with the order alternating every contender goes first as often as last: on this
// shared VM the run right after an idle pause is measurably faster.
const ROUNDS = Math.max(1, env('BENCH_ROUNDS', 4))
const WARMUP_SECONDS = env('BENCH_WARMUP_SECONDS', 5)
const CONNECTIONS = env('BENCH_CONNECTIONS', 50)
// Scenarios that reach the database use fewer connections and run longer, without a warm-up:
// they measure the database path, not a queue in front of it.
const DB_CONNECTIONS = env('BENCH_DB_CONNECTIONS', 2)
const DB_SECONDS = env('BENCH_DB_SECONDS', 30)
const RANDOM_PAGES = env('BENCH_RANDOM_PAGES', 100)
// Sequential samples per size, per operation, per round of the size-scaling measurement.
const SIZE_SAMPLES = env('BENCH_SIZE_SAMPLES', 5)
// BENCH_ONLY runs one part only, after the common set-up, logs it and writes no report:
// `workers` (1 vs 2 workers), `hits` (hit vs ceiling vs naive baseline at limit 10 and 100, and
// CPU per hit limit 100 vs limit 10), `layers` (the per-layer A/B).
// `builds` (with BENCH_COMPARE_BUILD=<an older build's dist/src/server.js>): this build's hits
// against that build's, near cache off and on, limits 10 and 100, in the same rounds.
const ONLY = process.env.BENCH_ONLY ?? ''
// `conditional`: a 304 (If-None-Match naming the current tag) against a 200 hit, same rounds.
if (!['', 'workers', 'hits', 'layers', 'builds', 'conditional'].includes(ONLY)) throw new Error(`BENCH_ONLY: unknown part ${ONLY} (workers, hits, layers, builds, conditional)`)
// The longest wait for a quiet machine before each measured run (see quiet()).
// The per-layer A/B's fixed request rate.
const LAYER_RATE = env('BENCH_LAYER_RATE', 2000)
const QUIET_SECONDS = env('BENCH_QUIET_SECONDS', 60)
// The naive baseline's TTL: as the service's in this benchmark (an hour), so that no expiry
// lands inside a hit round; the server's own default is the 60 s such services usually use.
const NAIVE_TTL_SECONDS = 3600

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../bench')
const mongoBase = process.env.MONGODB_URL
const redisUrl = process.env.REDIS_URL
if (!mongoBase || !redisUrl) throw new Error('MONGODB_URL and REDIS_URL must be set (scripts/bench.sh does it)')
const mongoUrl = Object.assign(new URL(mongoBase), { pathname: '/flowops_bench' }).toString()
// The large data set lives beside the small one, with its own service instances and its own
// Redis logical database (so its own cache entries): both sizes are then measured in the same
// interleaved rounds, seconds apart.
const largeMongoUrl = Object.assign(new URL(mongoBase), { pathname: '/flowops_bench_large' }).toString()
const largeRedisUrl = Object.assign(new URL(redisUrl), { pathname: '/1' }).toString()

const log = (message: string) => console.log(`[bench] ${message}`)

/**
 * fetch() asks for gzip by default; the captures and checks want what autocannon gets, which
 * sends no Accept-Encoding: the identity bytes.
 */
const IDENTITY = { 'accept-encoding': 'identity' }

/** What a compressing client sends: br preferred (the service answers br). */
const COMPRESSING = { 'accept-encoding': 'br, gzip' }
const pick = <T>(values: T[]): T => values[Math.floor(Math.random() * values.length)] as T
const sumBy = (records: Array<Record<string, number>>): Record<string, number> => {
  const total: Record<string, number> = {}
  for (const record of records) for (const [key, n] of Object.entries(record)) total[key] = (total[key] ?? 0) + n
  return total
}

/** One scenario's rounds as one result: medians of rates and percentiles, sums of counts. */
function combineRounds (rounds: ScenarioResult[]): ScenarioResult {
  const [first] = rounds
  if (!first) throw new Error('no rounds to combine')
  const medianField = (pick: (round: ScenarioResult) => number | undefined) => {
    const values = rounds.map(pick).filter((v): v is number => v !== undefined)
    return values.length === rounds.length ? medianOf(values) : undefined
  }
  const cpu = {
    server: medianField((r) => r.cpuMicrosPerRequest?.server),
    redis: medianField((r) => r.cpuMicrosPerRequest?.redis),
    loadGenerator: medianField((r) => r.cpuMicrosPerRequest?.loadGenerator) ?? 0
  }
  const readsPerSecond = medianField((r) => r.databaseReadsPerSecond)
  const { databaseReadsPerSecond: _firstRoundOnly, ...scenario } = first
  return {
    ...scenario,
    rounds: rounds.length,
    roundRequestsPerSecond: rounds.map((r) => r.requestsPerSecond),
    requestsPerSecond: medianOf(rounds.map((r) => r.requestsPerSecond)),
    latencyMs: {
      p50: medianOf(rounds.map((r) => r.latencyMs.p50)),
      p90: medianOf(rounds.map((r) => r.latencyMs.p90)),
      p99: medianOf(rounds.map((r) => r.latencyMs.p99)),
      max: Math.max(...rounds.map((r) => r.latencyMs.max))
    },
    requests: rounds.reduce((n, r) => n + r.requests, 0),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    timeouts: rounds.reduce((n, r) => n + r.timeouts, 0),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    statusCounts: sumBy(rounds.map((r) => r.statusCounts)),
    xCache: sumBy(rounds.map((r) => r.xCache)),
    cpuMicrosPerRequest: {
      ...(cpu.server !== undefined ? { server: cpu.server } : {}),
      ...(cpu.redis !== undefined ? { redis: cpu.redis } : {}),
      loadGenerator: cpu.loadGenerator
    },
    ...(readsPerSecond !== undefined ? { databaseReadsPerSecond: readsPerSecond } : {}),
    roundServerCpuMicros: rounds.map((r) => r.cpuMicrosPerRequest?.server ?? NaN)
  }
}

/** The median over rounds of a's server CPU per request minus b's, round by round. */
function roundCpuDifference (a: ScenarioResult, b: ScenarioResult): number {
  const as = a.roundServerCpuMicros ?? []
  const bs = b.roundServerCpuMicros ?? []
  return medianOf(as.map((value, i) => value - (bs[i] ?? NaN)))
}

/** The median over rounds of a's server CPU per request over b's, round by round. */
function roundCpuRatio (a: ScenarioResult, b: ScenarioResult): number {
  const as = a.roundServerCpuMicros ?? []
  const bs = b.roundServerCpuMicros ?? []
  return medianOf(as.map((value, i) => value / (bs[i] ?? NaN)))
}

/** The median over rounds of a / b, round by round (both measured seconds apart). */
function roundRatio (a: ScenarioResult, b: ScenarioResult): number {
  const as = a.roundRequestsPerSecond ?? [a.requestsPerSecond]
  const bs = b.roundRequestsPerSecond ?? [b.requestsPerSecond]
  return medianOf(as.map((value, i) => value / Math.max(bs[i] ?? 0, 1e-9)))
}

/**
 * An empty database, and no cache entry from an earlier run: dropping the list generation
 * makes every entry stored under it unusable (a new one is created from Redis's clock).
 */
async function resetDatabase (mongodbUrl: string, cacheRedisUrl: string): Promise<void> {
  const client = await MongoClient.connect(mongodbUrl)
  await client.db().dropDatabase()
  await client.close()
  const redis = new Redis(cacheRedisUrl, { maxRetriesPerRequest: 1 })
  await redis.del(redisKeys.listGeneration)
  redis.disconnect()
}

async function databaseReads (service: Running): Promise<number | undefined> {
  const response = await fetch(`${service.url}/metrics`).catch(() => undefined)
  if (!response?.ok) return undefined
  const match = /^flowops_order_service_database_reads(?:_total)?(?:\{[^}]*\})?\s+([0-9.e+]+)/m.exec(await response.text())
  return match ? Number(match[1]) : undefined
}

/** CPU idle share of the whole machine over `ms`, from /proc/stat (Linux); 1 elsewhere. */
async function idleShare (ms: number): Promise<number> {
  const read = async () => {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? ''
    const fields = line.trim().split(/\s+/).slice(1).map(Number)
    return { idle: (fields[3] ?? 0) + (fields[4] ?? 0), total: fields.reduce((a, b) => a + b, 0) }
  }
  try {
    const before = await read()
    await new Promise((resolve) => setTimeout(resolve, ms))
    const after = await read()
    return (after.idle - before.idle) / Math.max(after.total - before.total, 1)
  } catch {
    return 1
  }
}

/**
 * Waits (at most a minute) until the machine is quiet: the database finishing queries that an
 * earlier scenario left behind, or compacting after a bulk insert, must not be charged to the
 * next hot-path measurement.
 */
async function quiet (): Promise<void> {
  const deadline = Date.now() + QUIET_SECONDS * 1000
  while (Date.now() < deadline && (await idleShare(1000)) < 0.85) { /* keep waiting */ }
}

async function main (): Promise<void> {
  log(`seeding ${ORDERS} orders`)
  await resetDatabase(mongoUrl, redisUrl as string)
  log(`seeded in ${(await seedOrders(mongoUrl, ORDERS)).seconds.toFixed(1)} s`)
  const ids = await pendingOrderIds(mongoUrl, 2000)
  const contended = ids[0] ?? ''

  // A generous database timeout: a benchmark measures a slow answer instead of counting 503s.
  // Entries live an hour instead of CACHE_TTL_SECONDS' 60 s: the hit scenarios outlast a minute,
  // and an expiry in the middle of one would charge a miss to a hit measurement. Mutations
  // still invalidate at once; the mixed scenario measures that.
  const serviceEnv = { MONGODB_URL: mongoUrl, REDIS_URL: redisUrl as string, MONGODB_TIMEOUT_MS: '60000', CACHE_TTL_SECONDS: '3600' }
  const cached = await startService(serviceEnv)
  const bypass = await startService({ ...serviceEnv, CACHE_ENABLED: 'false' })
  const near = await startService({ ...serviceEnv, CACHE_NEAR_MAX_BYTES: String(64 * 1024 * 1024) })
  // The production defaults: every row above runs at LOG_LEVEL=warn; this one logs each request
  // at info, as the service does unless told otherwise (metrics are on in every row).
  const production = await startService({ ...serviceEnv, LOG_LEVEL: 'info' })
  const profileDir = await mkdtemp(join(tmpdir(), 'flowops-profile-'))
  const profiled = await startService(serviceEnv, profileDir)

  // The ceiling answers with the service's own bytes: each hot page's body and headers, as a
  // cache hit sends them (minus what Node adds itself: date, connection, length).
  const capturedDir = await mkdtemp(join(tmpdir(), 'flowops-captured-'))
  const hotPaths = ['/orders?page=1&limit=10', '/orders?page=1&limit=100', '/orders?page=1&limit=20']
  const ceilingRoutes: Record<string, CapturedFiles> = {}
  const NODE_ADDS = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'])
  for (const [i, path] of hotPaths.entries()) {
    await fetch(cached.url + path, { headers: IDENTITY }) // the first answer fills the cache
    const response = await fetch(cached.url + path, { headers: IDENTITY })
    if (response.headers.get('x-cache') !== 'HIT') throw new Error(`${path}: expected a cache hit to capture`)
    const files = { bodyFile: join(capturedDir, `body-${i}.json`), headersFile: join(capturedDir, `headers-${i}.json`) }
    await writeFile(files.bodyFile, Buffer.from(await response.arrayBuffer()))
    await writeFile(files.headersFile, JSON.stringify(Object.fromEntries([...response.headers].filter(([name]) => !NODE_ADDS.has(name)))))
    ceilingRoutes[path] = files
  }
  // And the service's 304 to a client that names page 1's current tag (limit 10), for the
  // conditional rows: the ceiling answers it with the same status and headers.
  const conditional = { 'if-none-match': (await fetch(cached.url + hotPaths[0], { headers: IDENTITY })).headers.get('etag') ?? '' }
  const notModified = await fetch(cached.url + hotPaths[0], { headers: { ...IDENTITY, ...conditional } })
  if (notModified.status !== 304) throw new Error(`${hotPaths[0]}: expected a 304 to capture, got ${notModified.status}`)
  const notModifiedFiles = { bodyFile: join(capturedDir, 'body-304'), headersFile: join(capturedDir, 'headers-304.json') }
  await writeFile(notModifiedFiles.bodyFile, '')
  await writeFile(notModifiedFiles.headersFile, JSON.stringify(Object.fromEntries([...notModified.headers].filter(([name]) => !NODE_ADDS.has(name)))))
  ceilingRoutes[hotPaths[0] + NOT_MODIFIED_SUFFIX] = notModifiedFiles
  const ceiling = await startCeiling(ceilingRoutes)

  // The naive baseline, on the same data; its pages must be the service's very bytes.
  const naiveRedis = new Redis(redisUrl as string, { maxRetriesPerRequest: 1 })
  for (const path of hotPaths) {
    const { searchParams } = new URL(path, 'http://x')
    await naiveRedis.del(`naive:orders:page:${searchParams.get('page')}:limit:${searchParams.get('limit')}`)
  }
  naiveRedis.disconnect()
  const naive = await startNaive(mongoUrl, redisUrl as string, NAIVE_TTL_SECONDS)
  for (const path of hotPaths) {
    await fetch(naive.url + path, { headers: IDENTITY }) // fills its cache
    const response = await fetch(naive.url + path, { headers: IDENTITY })
    const body = Buffer.from(await response.arrayBuffer())
    const serviceBody = await readFile(ceilingRoutes[path]?.bodyFile ?? '')
    if (response.headers.get('x-cache') !== 'HIT' || !body.equals(serviceBody)) throw new Error(`${path}: the naive baseline must answer a hit with the service's bytes`)
  }
  const cpuMeter = createCpuMeter(redisUrl as string)

  const results: ScenarioResult[] = []

  /** One measured autocannon run against `target`, with the CPU it cost and the MongoDB reads it caused. */
  async function measure (name: string, title: string, target: Running, next: LoadOptions['nextRequest'], connections: number, seconds: number, overallRate?: number): Promise<ScenarioResult> {
    const options = { url: target.url, connections, nextRequest: next, timeoutSeconds: 120, ...(overallRate !== undefined ? { overallRate } : {}) }
    const readsBefore = await databaseReads(target)
    const stopCpu = await cpuMeter.start(target.child.pid)
    const result = await load({ ...options, seconds })
    const cpuMicrosPerRequest = await stopCpu(result.requests)
    const readsAfter = await databaseReads(target)
    log(`  ${title}: ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.latencyMs.p99} ms, non-2xx ${result.non2xx}, X-Cache ${JSON.stringify(result.xCache)}`)
    return {
      name,
      title,
      connections,
      seconds,
      ...result,
      cpuMicrosPerRequest,
      ...(readsBefore !== undefined && readsAfter !== undefined ? { databaseReadsPerSecond: (readsAfter - readsBefore) / seconds } : {})
    }
  }

  /** A database-bound scenario: fewer connections, one long run, no warm-up. */
  async function scenario (name: string, title: string, target: Running, next: LoadOptions['nextRequest']) {
    // A database-bound warm-up would leave its slow queries running on the server after
    // autocannon hangs up, charged to the next run.
    log(`${title}: ${DB_SECONDS} s at ${DB_CONNECTIONS} connections`)
    const entry = await measure(name, title, target, next, DB_CONNECTIONS, DB_SECONDS)
    results.push(entry)
    return entry
  }

  /** `rate`: a fixed request rate instead of saturation (see the per-layer A/B). */
  interface Contender { name: string, title: string, target: Running, path: string, rate?: number, headers?: Record<string, string> }
  /**
   * Hot-path scenarios, compared with each other: each gets a warm-up (for the JIT), then
   * they run in turn, ROUNDS times, each after the machine is quiet.
   */
  async function interleaved (contenders: Contender[]): Promise<ScenarioResult[]> {
    for (const c of contenders) {
      await quiet()
      log(`${c.title}: warm-up ${WARMUP_SECONDS} s`)
      await load({ url: c.target.url, connections: CONNECTIONS, seconds: WARMUP_SECONDS, nextRequest: get(c.path, c.headers) })
    }
    const rounds: ScenarioResult[][] = contenders.map(() => [])
    for (let round = 1; round <= ROUNDS; round++) {
      log(`round ${round} of ${ROUNDS}: ${SECONDS} s each at ${CONNECTIONS} connections`)
      // Alternate the order, so that going first or last is no constant advantage.
      const order = [...contenders.keys()]
      if (round % 2 === 0) order.reverse()
      for (const i of order) {
        const c = contenders[i] as Contender
        await quiet()
        rounds[i]?.push(await measure(c.name, c.title, c.target, get(c.path, c.headers), CONNECTIONS, SECONDS, c.rate))
      }
    }
    const combined = rounds.map(combineRounds)
    results.push(...combined)
    return combined
  }

  const get = (path: string, headers?: Record<string, string>) => () => ({ method: 'GET' as const, path, ...(headers ? { headers } : {}) })
  const put = (id: string) => ({ method: 'PUT' as const, path: `/orders/${id}`, body: JSON.stringify({ address: `${Math.floor(Math.random() * 1e6)} Benchmark Road` }) })

  const [limit10, limit100, limit20] = hotPaths as [string, string, string]
  if (ONLY === 'conditional') {
    // The identity tag: autocannon asks for no coding (fetch would ask for br).
    const tag = (await fetch(cached.url + limit10, { headers: { 'accept-encoding': 'identity' } })).headers.get('etag') ?? ''
    const [hit, notModified] = await interleaved([
      { name: 'hit-200-limit-10', title: 'cache hit 200, limit 10', target: cached, path: limit10 },
      { name: 'hit-304-limit-10', title: 'conditional hit 304 (If-None-Match), limit 10', target: cached, path: limit10, headers: { 'if-none-match': tag } }
    ]) as [ScenarioResult, ScenarioResult]
    log(`304 vs 200 hit (limit 10): ${roundRatio(notModified, hit).toFixed(2)}x throughput, ${(notModified.bytesPerRequest / hit.bytesPerRequest).toFixed(2)}x bytes per response; ` +
      `server CPU per request ${notModified.cpuMicrosPerRequest?.server?.toFixed(1) ?? '?'} vs ${hit.cpuMicrosPerRequest?.server?.toFixed(1) ?? '?'} µs`)
    return
  }
  if (ONLY === 'builds') {
    await compareBuilds(serviceEnv, [limit10, limit100], { cached, near }, interleaved, log)
    return
  }
  let workersRatio: number | undefined
  if (ONLY === '' || ONLY === 'workers') {
    const [workers1, workers2] = await compareWorkers(serviceEnv, limit10, interleaved)
    workersRatio = roundRatio(workers2, workers1)
    log(`2 workers vs 1 (cache hit, limit 10): ${workersRatio.toFixed(2)}x`)
    if (ONLY === 'workers') return
  }

  // The per-layer A/B: the service with all its layers (as in every other row), and without
  // each one in turn, in the same rounds; a layer's cost is the median over rounds of the
  // difference in server CPU per request. Logging at the default LOG_LEVEL (info) is a row of
  // its own: every other row runs at warn, so request logging is not in their figures.
  // At a fixed rate (BENCH_LAYER_RATE), not saturation: CPU per request of a process that is
  // not saturated is far steadier on a shared machine, and no round is lost to a read-path
  // deadline tripping (a BYPASS costs a MongoDB query, which would swamp a layer's cost); for
  // the same reason the variants' read deadline is a second.
  let layers: LayerCost[] = []
  if (ONLY === '' || ONLY === 'layers') {
    const layerEnv = { ...serviceEnv, CACHE_REDIS_TIMEOUT_MS: '1000' }
    const variants = await Promise.all([
      startServiceWithout([], layerEnv),
      startServiceWithout([], { ...layerEnv, LOG_LEVEL: 'info' }),
      ...OPERABILITY_LAYERS.map((layer) => startServiceWithout([layer], layerEnv)),
      startServiceWithout([...OPERABILITY_LAYERS], layerEnv)
    ])
    const labels = ['all layers', 'all layers, LOG_LEVEL=info', ...OPERABILITY_LAYERS.map((layer) => `without ${layer}`), 'without any layer']
    await fetch(cached.url + limit10) // the variants share the service's cache entries
    const measured = await interleaved(variants.map((target, i) => ({
      name: `layers-${i}`, title: `layer A/B, hit limit 10 at ${LAYER_RATE} req/s: ${labels[i]}`, target, path: limit10, rate: LAYER_RATE
    })))
    const [full, info, ...withouts] = measured as [ScenarioResult, ScenarioResult, ...ScenarioResult[]]
    layers = [
      ...OPERABILITY_LAYERS.map((layer, i) => ({ layer, microsPerRequest: roundCpuDifference(full, withouts[i] as ScenarioResult) })),
      { layer: 'all of them', microsPerRequest: roundCpuDifference(full, withouts[OPERABILITY_LAYERS.length] as ScenarioResult) },
      { layer: 'request logging at info (one line per request) over warn', microsPerRequest: roundCpuDifference(info, full) }
    ]
    for (const { layer, microsPerRequest } of layers) log(`  ${layer}: ${microsPerRequest.toFixed(1)} µs of server CPU per hit`)
    await Promise.all(variants.map((variant) => variant.stop()))
    if (ONLY === 'layers') return
  }

  // Hit vs ceiling vs the naive baseline. The limit-10 hit runs again in the limit-100 rounds,
  // so that CPU per hit at limit 100 vs limit 10 is a ratio within the same rounds.
  // The near cache on (CACHE_NEAR_MAX_BYTES), and a compressing client (Accept-Encoding: br,
  // gzip) against the service without it, in the same rounds.
  for (const path of hotPaths) {
    for (let i = 0; i < 3; i++) await fetch(near.url + path) // a Redis hit stores it near
    for (let i = 0; i < 2; i++) await fetch(cached.url + path, { headers: COMPRESSING }) // stores the compressed copy
  }
  const [ceiling10, bare10, hit10, naive10, near10, compressed10, production10] = await interleaved([
    { name: 'ceiling-limit-10', title: 'ceiling: bare Fastify, same bytes (limit 10)', target: ceiling, path: limit10 },
    { name: 'body-only-limit-10', title: 'ceiling: bare Fastify, body only (limit 10)', target: ceiling, path: BODY_ONLY_PREFIX + limit10 },
    { name: 'hit-limit-10', title: 'cache hit: page 1, limit 10', target: cached, path: limit10 },
    { name: 'naive-limit-10', title: 'naive baseline: Express + ioredis, hit (limit 10)', target: naive, path: limit10 },
    { name: 'near-hit-limit-10', title: 'near cache on: hit, page 1, limit 10', target: near, path: limit10 },
    { name: 'compressed-hit-limit-10', title: 'compressing client (br): hit, page 1, limit 10', target: cached, path: limit10, headers: COMPRESSING },
    { name: 'production-hit-limit-10', title: 'production defaults (LOG_LEVEL=info): hit, page 1, limit 10', target: production, path: limit10 }
  ]) as [ScenarioResult, ScenarioResult, ScenarioResult, ScenarioResult, ScenarioResult, ScenarioResult, ScenarioResult]
  const [ceiling100, hit100, naive100, hit10beside100, near100, compressed100] = await interleaved([
    { name: 'ceiling-limit-100', title: 'ceiling: bare Fastify, same bytes (limit 100)', target: ceiling, path: limit100 },
    { name: 'hit-limit-100', title: 'cache hit: page 1, limit 100', target: cached, path: limit100 },
    { name: 'naive-limit-100', title: 'naive baseline: Express + ioredis, hit (limit 100)', target: naive, path: limit100 },
    { name: 'hit-limit-10-beside-100', title: 'cache hit: page 1, limit 10 (in the limit-100 rounds)', target: cached, path: limit10 },
    { name: 'near-hit-limit-100', title: 'near cache on: hit, page 1, limit 100', target: near, path: limit100 },
    { name: 'compressed-hit-limit-100', title: 'compressing client (br): hit, page 1, limit 100', target: cached, path: limit100, headers: COMPRESSING }
  ]) as [ScenarioResult, ScenarioResult, ScenarioResult, ScenarioResult, ScenarioResult, ScenarioResult]
  for (let i = 0; i < 3; i++) await fetch(near.url + limit20)
  const [ceiling20, hit20, near20] = await interleaved([
    { name: 'ceiling-limit-20', title: 'ceiling: bare Fastify, same bytes (limit 20)', target: ceiling, path: limit20 },
    { name: 'hit-limit-20', title: 'cache hit: page 1, limit 20', target: cached, path: limit20 },
    { name: 'near-hit-limit-20', title: 'near cache on: hit, page 1, limit 20', target: near, path: limit20 }
  ]) as [ScenarioResult, ScenarioResult, ScenarioResult]
  const [ceiling304, hit304, near304] = await interleaved([
    { name: 'ceiling-304-limit-10', title: 'ceiling: bare Fastify 304, same headers (limit 10)', target: ceiling, path: limit10, headers: conditional },
    { name: 'hit-304-limit-10', title: 'conditional hit 304 (If-None-Match), limit 10', target: cached, path: limit10, headers: conditional },
    { name: 'near-304-limit-10', title: 'near cache on: conditional hit 304 (If-None-Match), limit 10', target: near, path: limit10, headers: conditional }
  ]) as [ScenarioResult, ScenarioResult, ScenarioResult]
  const hitRatios: Record<string, number> = {
    'hit vs ceiling, same bytes (limit 10)': roundRatio(hit10, ceiling10),
    'hit vs ceiling, same bytes (limit 20)': roundRatio(hit20, ceiling20),
    'near cache on: hit vs ceiling, same bytes (limit 20)': roundRatio(near20, ceiling20),
    'production defaults (LOG_LEVEL=info): hit vs ceiling, same bytes (limit 10)': roundRatio(production10, ceiling10),
    'conditional 304 vs bare-Fastify 304 (limit 10)': roundRatio(hit304, ceiling304),
    'near cache on: conditional 304 vs bare-Fastify 304 (limit 10)': roundRatio(near304, ceiling304),
    'hit vs ceiling, body only (limit 10)': roundRatio(hit10, bare10),
    'hit vs ceiling, same bytes (limit 100)': roundRatio(hit100, ceiling100),
    'hit vs naive baseline (limit 10)': roundRatio(hit10, naive10),
    'hit vs naive baseline (limit 100)': roundRatio(hit100, naive100),
    'server CPU per hit, limit 100 vs limit 10 (same rounds)': roundCpuRatio(hit100, hit10beside100),
    'near cache on: hit vs ceiling, same bytes (limit 10)': roundRatio(near10, ceiling10),
    'near cache on: hit vs ceiling, same bytes (limit 100)': roundRatio(near100, ceiling100),
    'compressing client: hit vs identity hit (limit 10)': roundRatio(compressed10, hit10),
    'compressing client: hit vs identity hit (limit 100)': roundRatio(compressed100, hit100),
    'compressing client: bytes on the wire vs identity (limit 10)': compressed10.bytesPerRequest / hit10.bytesPerRequest,
    'compressing client: bytes on the wire vs identity (limit 100)': compressed100.bytesPerRequest / hit100.bytesPerRequest,
    'hit p99 vs ceiling p99 (limit 10)': hit10.latencyMs.p99 / Math.max(ceiling10.latencyMs.p99, 1),
    'near cache on: hit p99 vs ceiling p99 (limit 10)': near10.latencyMs.p99 / Math.max(ceiling10.latencyMs.p99, 1)
  }
  for (const [name, value] of Object.entries(hitRatios)) log(`${name}: ${value.toFixed(2)}x`)
  if (ONLY === 'hits') return
  const bypass10 = await scenario('bypass-limit-10', 'cache off: page 1, limit 10 (MongoDB)', bypass, get(limit10))
  await scenario('random-pages', `random pages 1..${RANDOM_PAGES}, limit 10`, cached,
    () => ({ method: 'GET', path: `/orders?page=${1 + Math.floor(Math.random() * RANDOM_PAGES)}&limit=10` }))
  await scenario('mixed-95-5', 'mixed: 95% reads (list page 1 / one order), 5% PUT', cached, () => {
    const roll = Math.random()
    if (roll < 0.05) return put(pick(ids))
    return roll < 0.5 ? { method: 'GET', path: limit10 } : { method: 'GET', path: `/orders/${pick(ids)}` }
  })
  await scenario('put-one-order', 'PUT contention: one order', cached, () => put(contended))
  await scenario('put-spread', `PUT spread over ${ids.length} orders`, cached, () => put(pick(ids)))

  // The hot path's profile, taken on a copy that only serves hits.
  log('profiling the hit path')
  // Page 1 was invalidated by the PUT scenarios: refill it, and warm the JIT, before the
  // measured window, so that neither a miss nor compilation is charged to hits.
  await fetch(profiled.url + limit10)
  await load({ url: profiled.url, connections: CONNECTIONS, seconds: WARMUP_SECONDS, nextRequest: get(limit10) })
  const micros = () => Number(process.hrtime.bigint() / 1000n)
  const fromMicros = micros()
  const profiledLoad = await load({ url: profiled.url, connections: CONNECTIONS, seconds: SECONDS, nextRequest: get(limit10) })
  const toMicros = micros()
  await profiled.stop()
  const profile = await hotPath(profileDir, { fromMicros, toMicros, seconds: SECONDS }, profiledLoad.requests)

  let hitLarge: ScenarioResult | undefined
  let sizeScaling: SizeScalingRow[] = []
  let hitSmall: ScenarioResult | undefined
  if (LARGE_ORDERS > ORDERS) {
    log(`seeding ${LARGE_ORDERS} orders into a second database`)
    await resetDatabase(largeMongoUrl, largeRedisUrl)
    log(`seeded in ${(await seedOrders(largeMongoUrl, LARGE_ORDERS)).seconds.toFixed(1)} s`)
    const largeEnv = { ...serviceEnv, MONGODB_URL: largeMongoUrl, REDIS_URL: largeRedisUrl }
    const [cachedLarge, bypassLarge] = await Promise.all([startService(largeEnv), startService({ ...largeEnv, CACHE_ENABLED: 'false' })])
    log(`miss path and writes: ${ORDERS} vs ${LARGE_ORDERS} orders, ${ROUNDS} rounds of ${SIZE_SAMPLES} samples each`)
    await quiet()
    sizeScaling = await measureSizeScaling([
      { label: `${ORDERS} orders`, url: cached.url, redisUrl: redisUrl as string, orderIds: ids },
      { label: `${LARGE_ORDERS} orders`, url: cachedLarge.url, redisUrl: largeRedisUrl, orderIds: await pendingOrderIds(largeMongoUrl, 2000) }
    ], ROUNDS, SIZE_SAMPLES)
    for (const row of sizeScaling) log(`  ${row.operation}: ${JSON.stringify(row.medianMs)} ms, ratio ${row.ratio.toFixed(2)}x`)
    // One sequential miss fills each size's page 1 (the PUT scenarios invalidated the small one).
    await fetch(cachedLarge.url + limit10)
    await fetch(cached.url + limit10)
    ;[hitSmall, hitLarge] = await interleaved([
      { name: 'hit-limit-10-small-size-rounds', title: `cache hit: page 1, limit 10, ${ORDERS} orders (size rounds)`, target: cached, path: limit10 },
      { name: 'hit-limit-10-large-size-rounds', title: `cache hit: page 1, limit 10, ${LARGE_ORDERS} orders (size rounds)`, target: cachedLarge, path: limit10 }
    ]) as [ScenarioResult, ScenarioResult]
    await Promise.all([cachedLarge.stop(), bypassLarge.stop()])
  }

  await Promise.all([cached.stop(), bypass.stop(), ceiling.stop(), naive.stop(), near.stop(), production.stop()])
  cpuMeter.close()

  // Throughput ratios are medians of round-by-round ratios (see interleaved()).
  const hitVsCeiling = roundRatio(hit10, ceiling10)
  const hitVsNaive = roundRatio(hit10, naive10)
  const cpu100vs10 = hitRatios['server CPU per hit, limit 100 vs limit 10 (same rounds)'] ?? NaN
  const ratios: Record<string, number> = {
    'hit vs bypass (limit 10)': hit10.requestsPerSecond / bypass10.requestsPerSecond,
    ...hitRatios,
    ...(workersRatio !== undefined ? { '2 workers vs 1 (hit, limit 10)': workersRatio } : {})
  }
  const targets: Target[] = [
    { name: 'hit throughput vs ceiling (same bytes), limit 10', goal: '>= 0.7x', measured: `${hitVsCeiling.toFixed(2)}x`, pass: hitVsCeiling >= 0.7 },
    { name: 'hit throughput vs bypass', goal: '>= 10x', measured: `${ratios['hit vs bypass (limit 10)']?.toFixed(1)}x`, pass: (ratios['hit vs bypass (limit 10)'] ?? 0) >= 10 },
    { name: `p99 of cached hits at ${CONNECTIONS} connections (median of rounds)`, goal: '< 10 ms', measured: `${hit10.latencyMs.p99} ms`, pass: hit10.latencyMs.p99 < 10 },
    { name: 'hit throughput vs naive baseline (limit 10)', goal: '>= 5x', measured: `${hitVsNaive.toFixed(2)}x`, pass: hitVsNaive >= 5 },
    { name: 'server CPU per hit, limit 100 vs limit 10', goal: '<= 2x', measured: `${cpu100vs10.toFixed(2)}x`, pass: cpu100vs10 <= 2 },
    ...([
      ['hit throughput vs ceiling (same bytes), limit 20', 'hit vs ceiling, same bytes (limit 20)', 0.7],
      ['hit throughput vs ceiling (same bytes), limit 100', 'hit vs ceiling, same bytes (limit 100)', 0.6],
      ['near cache on: hit vs ceiling, limit 10', 'near cache on: hit vs ceiling, same bytes (limit 10)', 0.85],
      ['near cache on: hit vs ceiling, limit 20', 'near cache on: hit vs ceiling, same bytes (limit 20)', 0.85],
      ['near cache on: hit vs ceiling, limit 100', 'near cache on: hit vs ceiling, same bytes (limit 100)', 0.85],
      ['production defaults (LOG_LEVEL=info): hit vs ceiling, limit 10', 'production defaults (LOG_LEVEL=info): hit vs ceiling, same bytes (limit 10)', 0.6],
      ['conditional 304 vs bare-Fastify 304 (limit 10)', 'conditional 304 vs bare-Fastify 304 (limit 10)', 0.9],
      ['near cache on: conditional 304 vs bare-Fastify 304 (limit 10)', 'near cache on: conditional 304 vs bare-Fastify 304 (limit 10)', 0.9]
    ] as const).map(([name, ratio, goal]) => ({ name, goal: `>= ${goal}x`, measured: `${(hitRatios[ratio] ?? NaN).toFixed(2)}x`, pass: (hitRatios[ratio] ?? 0) >= goal })),
    ...([
      ['hit p99 vs the ceiling\'s p99 (limit 10, medians of rounds)', 'hit p99 vs ceiling p99 (limit 10)'],
      ['near cache on: hit p99 vs the ceiling\'s p99 (limit 10)', 'near cache on: hit p99 vs ceiling p99 (limit 10)']
    ] as const).map(([name, ratio]) => ({ name, goal: '<= 1.5x', measured: `${(hitRatios[ratio] ?? NaN).toFixed(2)}x`, pass: (hitRatios[ratio] ?? Infinity) <= 1.5 }))
  ]
  if (hitLarge && hitSmall) {
    // Both sizes in the same rounds, each against its own database and cache.
    const bySize = roundRatio(hitLarge, hitSmall)
    ratios[`hit at ${LARGE_ORDERS} vs ${ORDERS} orders`] = bySize
    targets.push({ name: `hit throughput ${ORDERS} vs ${LARGE_ORDERS} orders`, goal: 'within 15%', measured: `${bySize.toFixed(2)}x`, pass: Math.abs(1 - bySize) <= 0.15 })
  }
  for (const row of sizeScaling) {
    targets.push({ name: `${row.operation}: ${LARGE_ORDERS} vs ${ORDERS} orders`, goal: '<= 1.5x', measured: `${row.ratio.toFixed(2)}x`, pass: row.ratio <= 1.5 })
  }
  const largeListMiss = sizeScaling[0]?.medianMs[`${LARGE_ORDERS} orders`]
  if (largeListMiss !== undefined) {
    targets.push({ name: `list miss (page 1) at ${LARGE_ORDERS} orders`, goal: '< 25 ms', measured: `${largeListMiss.toFixed(1)} ms`, pass: largeListMiss < 25 })
  }

  const cpu = cpus()
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: `${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, Node ${process.version}`,
    orders: ORDERS,
    largeOrders: LARGE_ORDERS > ORDERS ? LARGE_ORDERS : 0,
    seconds: SECONDS,
    rounds: ROUNDS,
    cores: cpu.length,
    scenarios: results,
    ratios,
    targets,
    sizeScaling,
    layers,
    profile
  }
  await mkdir(join(ROOT, 'results'), { recursive: true })
  await writeFile(join(ROOT, 'results/latest.json'), JSON.stringify(report, null, 2) + '\n')
  await writeFile(join(ROOT, 'results/chart.svg'), svgChart(report))
  await writeFile(join(ROOT, 'REPORT.md'), markdown(report))
  for (const target of targets) log(`${target.pass ? 'pass' : 'FAIL'}: ${target.name}: ${target.measured} (goal ${target.goal})`)
  log('wrote bench/REPORT.md, bench/results/latest.json, bench/results/chart.svg')
}

// Ctrl-C or a kill must not leave services, the ceiling or their FerretDB queries running.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll()
    process.exit(signal === 'SIGINT' ? 130 : 143)
  })
}

try {
  await main()
} finally {
  killAll()
}
// A BENCH_ONLY part returns early, with connections (the CPU meter's Redis) still open.
process.exit(0)
