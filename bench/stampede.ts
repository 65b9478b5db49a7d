import { writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { OwnedMongo, OwnedRedis } from '../test/processes.js'
import { freePort } from '../test/free-port.js'
import { killAll, startService, type Running } from './processes.js'
import { seedOrders } from './seed.js'
import { emptyStores, ownStores } from './own-stores.js'

// npm run bench:stampede: the stampede and sick-database measurements, each feature off
// ("before") and on ("after") side by side, in the same seconds, on the same machine:
// 0. Cold misses across instances: 3 instances x 30 concurrent GETs of a never-read page, 10
//    pages: MongoDB reads per page without the miss lease (CACHE_LEASE_WAIT_MS=0) and with it.
// 0b. Redis stopped: 100 concurrent GETs of one page at one instance: MongoDB reads (coalesced
//    bypass has no off switch: its "before" is the figure measured before it existed, 100).
// 1. Steady reads of list page 1 for STAMPEDE_SECONDS (180) at the default TTL (60 s): misses
//    after the warm-up, MongoDB reads and GET p99 per 10 s window, with eager refresh (the
//    default, CACHE_REFRESH_AHEAD_PERCENT=10) and without (0).
// 2. MongoDB stopped for STAMPEDE_SECONDS, pages 1-5 read just before: what the reads of those
//    pages are answered, with CACHE_GRACE_SECONDS=600 and without (0). Its own FerretDB, stopped.
// Writes bench/STAMPEDE.md.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const SECONDS = Number(process.env.STAMPEDE_SECONDS ?? 180)
const WINDOW_MS = 10_000
const log = (message: string) => console.log(`[stampede] ${message}`)

interface Sample { at: number, ms: number, status: number, cache: string }

async function get (url: string): Promise<Sample> {
  const at = performance.now()
  try {
    const response = await fetch(url)
    await response.arrayBuffer()
    return { at, ms: performance.now() - at, status: response.status, cache: response.headers.get('x-cache') ?? '' }
  } catch {
    return { at, ms: performance.now() - at, status: 0, cache: '' }
  }
}

async function metric (service: Running, name: string): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text()
  return Number(new RegExp(`^flowops_order_service_${name}\\s+([0-9.e+]+)`, 'm').exec(text)?.[1] ?? 0)
}

/** Reads `paths` in turn from each service every `everyMs` for `seconds`: the samples per service. */
async function drive (services: Running[], paths: string[], everyMs: number, seconds: number): Promise<Sample[][]> {
  const samples: Sample[][] = services.map(() => [])
  const until = performance.now() + seconds * 1000
  let i = 0
  const pending: Array<Promise<void>> = []
  while (performance.now() < until) {
    const path = paths[i++ % paths.length] as string
    services.forEach((service, s) => pending.push(get(service.url + path).then((sample) => { samples[s]?.push(sample) })))
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
  await Promise.all(pending)
  return samples
}

const p99 = (values: number[]) => values.length === 0 ? 0 : [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * 0.99))] as number
const count = (samples: Sample[], test: (s: Sample) => boolean) => samples.filter(test).length

const databaseReads = async (services: Running[]) => (await Promise.all(services.map((s) => metric(s, 'database_reads_total')))).reduce((a, b) => a + b, 0)

async function coldMisses (): Promise<string[]> {
  const variants: Array<{ name: string, env: Record<string, string> }> = [
    { name: 'miss lease off (before: CACHE_LEASE_WAIT_MS=0)', env: { CACHE_LEASE_WAIT_MS: '0' } }, { name: 'miss lease on (after, default)', env: {} }]
  const lines = ['### 0. Cold misses across instances: 3 instances x 30 concurrent GETs of a never-read page, 10 pages', '',
    '| variant | MongoDB reads per page (mean) | worst page |', '|---|---|---|']
  for (const [v, variant] of variants.entries()) {
    const store = ownStores('flowops_stampede', 10 + v)
    await emptyStores(store)
    await seedOrders(store.mongoUrl, 1000)
    const services = await Promise.all([0, 1, 2].map(() => startService({ MONGODB_URL: store.mongoUrl, REDIS_URL: store.redisUrl, ...variant.env })))
    const perPage: number[] = []
    for (let page = 1; page <= 10; page++) {
      const before = await databaseReads(services)
      await Promise.all(Array.from({ length: 90 }, (_, i) => get(`${services[i % 3]!.url}/orders?page=${page}`)))
      perPage.push(await databaseReads(services) - before)
    }
    await Promise.all(services.map((s) => s.stop()))
    lines.push(`| ${variant.name} | ${(perPage.reduce((a, b) => a + b, 0) / perPage.length).toFixed(1)} | ${Math.max(...perPage)} |`)
  }
  return lines
}

async function redisStopped (): Promise<string[]> {
  const redis = new OwnedRedis(await freePort())
  await redis.start()
  const store = ownStores('flowops_stampede', 11)
  try {
    await emptyStores({ ...store, redisUrl: redis.url })
    await seedOrders(store.mongoUrl, 1000)
    const service = await startService({ MONGODB_URL: store.mongoUrl, REDIS_URL: redis.url })
    // 100 connections opened first (kept alive), so that the 100 GETs arrive together rather than
    // spread over 100 connection set-ups.
    await Promise.all(Array.from({ length: 100 }, () => get(`${service.url}/health`)))
    await redis.stop()
    const before = await databaseReads([service])
    const answers = await Promise.all(Array.from({ length: 100 }, () => get(`${service.url}/orders`)))
    const reads = await databaseReads([service]) - before
    await service.stop()
    return ['### 0b. Redis stopped: 100 concurrent GETs of one page at one instance', '',
      '| variant | MongoDB reads | answers |', '|---|---|---|',
      '| before (no coalescing: the figure measured when BYPASS reads were not coalesced) | 100 | 100 x 200 |',
      `| after (coalesced bypass, src/cache/bypass-reads.ts) | ${reads} | ${[...new Set(answers.map((a) => `${count(answers, (b) => b.status === a.status)} x ${a.status}`))].join(', ')} |`]
  } finally {
    await redis.stop()
  }
}

async function steadyReads (): Promise<string[]> {
  const variants: Array<{ name: string, env: Record<string, string> }> = [{ name: 'eager refresh off (before)', env: { CACHE_REFRESH_AHEAD_PERCENT: '0' } }, { name: 'eager refresh on (after, default)', env: {} }]
  const stores = variants.map((_, i) => ownStores('flowops_stampede', 12 + i))
  for (const store of stores) await emptyStores(store)
  await seedOrders(stores[0]!.mongoUrl, 1000)
  const services = await Promise.all(variants.map((v, i) => startService({ MONGODB_URL: stores[i]!.mongoUrl, REDIS_URL: stores[i]!.redisUrl, ...v.env })))
  for (const service of services) await get(`${service.url}/orders`)
  const readsBefore = await Promise.all(services.map((s) => metric(s, 'database_reads_total')))
  log(`steady reads of page 1 for ${SECONDS} s, both variants at once`)
  const samples = await drive(services, ['/orders'], 20, SECONDS)
  const reads = await Promise.all(services.map(async (s, i) => await metric(s, 'database_reads_total') - (readsBefore[i] ?? 0)))
  const refreshes = await Promise.all(services.map((s) => metric(s, 'cache_eager_refreshes_total')))
  await Promise.all(services.map((s) => s.stop()))
  const start = Math.min(...samples.map((s) => s[0]?.at ?? 0))
  const windows = Math.ceil(SECONDS * 1000 / WINDOW_MS)
  const lines = [
    `### 1. Steady reads of page 1 for ${SECONDS} s (TTL 60 s, one GET every 20 ms per variant)`, '',
    '| variant | GETs | misses after warm-up | MongoDB reads | eager refreshes | GET p99 per 10 s window (ms) | worst window / median window | slowest GET (ms) |',
    '|---|---|---|---|---|---|---|---|'
  ]
  variants.forEach((variant, v) => {
    const own = samples[v] ?? []
    const perWindow = Array.from({ length: windows }, (_, w) => p99(own.filter((s) => s.at - start >= w * WINDOW_MS && s.at - start < (w + 1) * WINDOW_MS).map((s) => s.ms)))
    const sorted = [...perWindow].sort((a, b) => a - b)
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0
    lines.push(`| ${variant.name} | ${own.length} | ${count(own, (s) => s.cache === 'MISS')} | ${reads[v]} | ${refreshes[v]} | ${perWindow.map((ms) => ms.toFixed(1)).join(', ')} | ${((sorted.at(-1) ?? 0) / (median || 1)).toFixed(1)}x | ${Math.max(...own.map((s) => s.ms)).toFixed(1)} |`)
  })
  return lines
}

async function databaseStopped (): Promise<string[]> {
  const mongo = new OwnedMongo(await freePort())
  await mongo.start()
  const variants: Array<{ name: string, env: Record<string, string> }> = [{ name: 'grace off (before, default)', env: {} }, { name: 'CACHE_GRACE_SECONDS=600 (after)', env: { CACHE_GRACE_SECONDS: '600' } }]
  try {
    await seedOrders(mongo.url, 200)
    const redisStores = variants.map((_, i) => ownStores('flowops_stampede', 14 + i))
    for (const store of redisStores) await emptyStores({ ...store, mongoUrl: mongo.url })
    const services = await Promise.all(variants.map((v, i) => startService({ MONGODB_URL: mongo.url, REDIS_URL: redisStores[i]!.redisUrl, MONGODB_TIMEOUT_MS: '1000', ...v.env })))
    const paths = [1, 2, 3, 4, 5].map((page) => `/orders?page=${page}`)
    for (const service of services) for (const path of paths) await get(service.url + path)
    await mongo.stop()
    log(`MongoDB stopped; reading pages 1-5 for ${SECONDS} s`)
    const samples = await drive(services, paths, 100, SECONDS)
    await mongo.start()
    await Promise.all(services.map((s) => s.stop()))
    const lines = [
      `### 2. MongoDB stopped for ${SECONDS} s, pages 1-5 read just before (TTL 60 s, one GET every 100 ms per variant)`, '',
      '| variant | GETs | 200 | of which GRACE | 503 | first 503 after (s) | GET p99 (ms) |', '|---|---|---|---|---|---|---|'
    ]
    variants.forEach((variant, v) => {
      const own = samples[v] ?? []
      const first503 = own.find((s) => s.status === 503)
      lines.push(`| ${variant.name} | ${own.length} | ${count(own, (s) => s.status === 200)} | ${count(own, (s) => s.cache === 'GRACE')} | ${count(own, (s) => s.status === 503)} | ` +
        `${first503 ? ((first503.at - (own[0]?.at ?? 0)) / 1000).toFixed(1) : 'none'} | ${p99(own.map((s) => s.ms)).toFixed(1)} |`)
    })
    return lines
  } finally {
    await mongo.stop()
    mongo.removeData()
  }
}

async function main (): Promise<void> {
  const report = ['# Stampedes and a sick database: before and after', '', `Generated by \`npm run bench:stampede\` on ${new Date().toISOString()}.`, '',
    ...await coldMisses(), '', ...await redisStopped(), '', ...await steadyReads(), '', ...await databaseStopped(), '']
  await writeFile(join(ROOT, 'bench/STAMPEDE.md'), report.join('\n'))
  log(report.join('\n'))
}

process.on('SIGTERM', () => { killAll(); process.exit(143) })
main().catch((err) => { console.error(err); killAll(); process.exit(1) })
