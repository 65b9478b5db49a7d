import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { load } from './load.js'
import { killAll, NOT_MODIFIED_SUFFIX, startCeiling, startService, type Running } from './processes.js'
import { hotPath, type HotPath } from './profile.js'

// Where a cached answer's CPU goes beyond the framework's ceiling, package by package: the
// service and the bare-Fastify ceiling (sending the service's own bytes and headers, captured
// here) are each profiled under the same load, one after the other, and the CPU per request is
// set side by side. For the ratios the benchmark misses (a 304, a Cluster hit):
//   node dist/bench/profile-versus.js PATH [SECONDS]
// with MONGODB_URL (a database bench/run.ts seeded) and REDIS_URL set. PROFILE_CONDITIONAL=1
// sends If-None-Match with the current tag (a 304); PROFILE_SERVICE_ENV, a JSON object, adds to
// the service's environment (say {"CACHE_NEAR_MAX_BYTES":"67108864"}, or REDIS_CLUSTER_NODES).

const [path = '/orders?page=1&limit=10', seconds = '8'] = process.argv.slice(2)
const conditional = process.env.PROFILE_CONDITIONAL === '1'
const serviceEnv = {
  MONGODB_URL: Object.assign(new URL(process.env.MONGODB_URL ?? ''), { pathname: '/flowops_bench' }).toString(),
  REDIS_URL: process.env.REDIS_URL ?? '',
  CACHE_TTL_SECONDS: '3600',
  ...(JSON.parse(process.env.PROFILE_SERVICE_ENV ?? '{}') as Record<string, string>)
}
const NODE_ADDS = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'])

/** Loads `target` for `seconds` with a warm-up, then stops it (its profile is written on exit) and reads the profile. */
async function profiled (target: Running, dir: string, headers: Record<string, string>): Promise<{ rate: number, path: HotPath }> {
  const nextRequest = () => ({ method: 'GET' as const, path, headers })
  await load({ url: target.url, connections: 50, seconds: 3, nextRequest })
  const micros = () => Number(process.hrtime.bigint() / 1000n)
  const fromMicros = micros()
  const result = await load({ url: target.url, connections: 50, seconds: Number(seconds), nextRequest })
  const toMicros = micros()
  await target.stop()
  return { rate: result.requestsPerSecond, path: await hotPath(dir, { fromMicros, toMicros, seconds: Number(seconds) }, result.requests, 40) }
}

try {
  const serviceDir = await mkdtemp(join(tmpdir(), 'flowops-profile-service-'))
  const service = await startService(serviceEnv, serviceDir)
  await fetch(service.url + path)
  const first = await fetch(service.url + path)
  if (first.headers.get('x-cache') !== 'HIT') throw new Error(`${path}: expected a cache hit, got ${first.headers.get('x-cache')}`)
  const headers: Record<string, string> = conditional ? { 'if-none-match': first.headers.get('etag') ?? '' } : {}
  const captured = conditional ? await fetch(service.url + path, { headers }) : first
  if (captured.status !== (conditional ? 304 : 200)) throw new Error(`${path}: expected ${conditional ? 304 : 200}, got ${captured.status}`)
  const capturedDir = await mkdtemp(join(tmpdir(), 'flowops-profile-captured-'))
  const files = { bodyFile: join(capturedDir, 'body'), headersFile: join(capturedDir, 'headers.json') }
  await writeFile(files.bodyFile, conditional ? '' : Buffer.from(await captured.arrayBuffer()))
  await writeFile(files.headersFile, JSON.stringify(Object.fromEntries([...captured.headers].filter(([name]) => !NODE_ADDS.has(name)))))

  const serviceRun = await profiled(service, serviceDir, headers)
  const ceilingDir = await mkdtemp(join(tmpdir(), 'flowops-profile-ceiling-'))
  const ceiling = await startCeiling({ [conditional ? path + NOT_MODIFIED_SUFFIX : path]: files, ...(conditional ? { [path]: files } : {}) }, ceilingDir)
  const ceilingRun = await profiled(ceiling, ceilingDir, headers)

  const byName = (run: HotPath) => new Map(run.packages.map((p) => [p.name, p.microsPerRequest]))
  const serviceCosts = byName(serviceRun.path)
  const ceilingCosts = byName(ceilingRun.path)
  const names = [...new Set([...serviceCosts.keys(), ...ceilingCosts.keys()])].sort((a, b) => (serviceCosts.get(b) ?? 0) - (serviceCosts.get(a) ?? 0))
  const total = (costs: Map<string, number>) => [...costs.values()].reduce((sum, v) => sum + v, 0)
  console.log(`${conditional ? '304' : '200 hit'} ${path}, service env ${JSON.stringify(JSON.parse(process.env.PROFILE_SERVICE_ENV ?? '{}'))}`)
  console.log(`throughput: service ${serviceRun.rate.toFixed(0)} req/s, ceiling ${ceilingRun.rate.toFixed(0)} req/s (${(serviceRun.rate / ceilingRun.rate).toFixed(2)}x; one after the other, not interleaved)`)
  console.log('| package | service µs/request | ceiling µs/request | beyond the ceiling |')
  console.log('|---|---|---|---|')
  for (const name of names) {
    const s = serviceCosts.get(name) ?? 0
    const c = ceilingCosts.get(name) ?? 0
    console.log(`| ${name} | ${s.toFixed(1)} | ${c.toFixed(1)} | ${(s - c).toFixed(1)} |`)
  }
  console.log(`| all sampled | ${total(serviceCosts).toFixed(1)} | ${total(ceilingCosts).toFixed(1)} | ${(total(serviceCosts) - total(ceilingCosts)).toFixed(1)} |`)
  console.log('\nthe service\'s hottest functions (self time, % of its busy time):')
  for (const f of serviceRun.path.functions.slice(0, 30)) console.log(`${f.selfPercent.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`)
  console.log('\nthe ceiling\'s hottest functions:')
  for (const f of ceilingRun.path.functions.slice(0, 12)) console.log(`${f.selfPercent.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`)
} finally {
  killAll()
}
