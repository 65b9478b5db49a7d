import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { load } from './load.js'
import { killAll, startService } from './processes.js'
import { hotPath } from './profile.js'

// Profiles one cache-hit path under load, for point-by-point work on the hit path:
// `node dist/bench/profile-hit.js PATH [SECONDS]` with MONGODB_URL and REDIS_URL set (a seeded
// database, as bench/run.ts leaves it). Prints where the CPU went, per request.

const [path = '/orders?page=1&limit=100', seconds = '8'] = process.argv.slice(2)
const dir = await mkdtemp(join(tmpdir(), 'flowops-profile-hit-'))
const env = { MONGODB_URL: Object.assign(new URL(process.env.MONGODB_URL ?? ''), { pathname: '/flowops_bench' }).toString(), REDIS_URL: process.env.REDIS_URL ?? '', CACHE_TTL_SECONDS: '3600', CACHE_REDIS_TIMEOUT_MS: process.env.PROFILE_REDIS_TIMEOUT_MS ?? '50' }
const service = await startService(env, dir)
try {
  await fetch(service.url + path)
  await load({ url: service.url, connections: 50, seconds: 3, nextRequest: () => ({ method: 'GET', path }) })
  const micros = () => Number(process.hrtime.bigint() / 1000n)
  const fromMicros = micros()
  const result = await load({ url: service.url, connections: 50, seconds: Number(seconds), nextRequest: () => ({ method: 'GET', path }) })
  const toMicros = micros()
  await service.stop()
  console.log(`${result.requestsPerSecond.toFixed(0)} req/s, X-Cache ${JSON.stringify(result.xCache)}`)
  const profile = await hotPath(dir, { fromMicros, toMicros, seconds: Number(seconds) }, result.requests, 30)
  for (const p of profile.packages) console.log(`${p.microsPerRequest.toFixed(1).padStart(7)} µs  ${p.name}`)
  for (const f of profile.functions) console.log(`${f.selfPercent.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`)
  console.log(dir)
} finally {
  killAll()
}
