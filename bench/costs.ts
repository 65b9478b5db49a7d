import { writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { createCpuMeter } from './cpu.js'
import { killAll, startService, type Running } from './processes.js'
import { pendingOrderIds, seedOrders } from './seed.js'
import { emptyStores, ownStores } from './own-stores.js'

// npm run bench:costs: what one request of each kind costs, for the capacity model
// (docs/capacity.md): server CPU and redis-server CPU per request, Redis commands (by command)
// and Redis bytes in and out per request, MongoDB reads per request. One service instance at
// LOG_LEVEL=warn and one at info, each request kind sent COSTS_CONCURRENCY (8) at a time.
// Writes bench/COSTS.md.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const CONCURRENCY = Number(process.env.COSTS_CONCURRENCY ?? 8)
const ORDERS = 3000
const log = (message: string) => console.log(`[costs] ${message}`)

interface Request { path: string, method?: string, body?: string, headers?: Record<string, string> }

async function send ({ path, method = 'GET', body, headers = {} }: Request, base: string): Promise<number> {
  // fetch asks for gzip and deflate unless told otherwise: an identity client says so.
  const sent = { 'accept-encoding': 'identity', ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }
  const response = await fetch(base + path, { method, headers: sent, ...(body ? { body } : {}) })
  await response.arrayBuffer()
  return response.status
}

async function redisCounters (redis: Redis) {
  const [stats, commands] = await Promise.all([redis.info('stats'), redis.info('commandstats')])
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(stats)?.[1] ?? 0)
  const calls = new Map([...commands.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)].map((m) => [m[1] as string, Number(m[2])]))
  return { bytesIn: field('total_net_input_bytes'), bytesOut: field('total_net_output_bytes'), calls }
}

async function metric (service: Running, name: string): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text()
  return Number(new RegExp(`^flowops_order_service_${name}\\s+([0-9.e+]+)`, 'm').exec(text)?.[1] ?? 0)
}

/** Sends `requests` CONCURRENCY at a time and measures what they cost. */
async function measure (service: Running, redis: Redis, redisUrl: string, name: string, requests: Request[]): Promise<string> {
  const meter = createCpuMeter(redisUrl)
  const before = await redisCounters(redis)
  const readsBefore = await metric(service, 'database_reads_total')
  const stop = await meter.start(service.child.pid)
  const statuses = new Map<number, number>()
  for (let i = 0; i < requests.length; i += CONCURRENCY) {
    const batch = await Promise.all(requests.slice(i, i + CONCURRENCY).map((r) => send(r, service.url)))
    for (const status of batch) statuses.set(status, (statuses.get(status) ?? 0) + 1)
  }
  const cpu = await stop(requests.length)
  meter.close()
  const after = await redisCounters(redis)
  const reads = await metric(service, 'database_reads_total') - readsBefore
  const n = requests.length
  // The measurement's own INFO calls (2 before, 2 after) are left out of the command counts.
  const commands = [...after.calls].map(([command, calls]) => [command, calls - (before.calls.get(command) ?? 0) - (command === 'info' ? 2 : 0)] as const)
    .filter(([, calls]) => calls > 0).sort((a, b) => b[1] - a[1])
  const perRequest = commands.map(([command, calls]) => `${command} ${(calls / n).toFixed(2)}`).join(', ')
  const total = commands.reduce((sum, [, calls]) => sum + calls, 0) / n
  log(`${name}: ${[...statuses].map(([s, c]) => `${c} x ${s}`).join(', ')}`)
  return `| ${name} | ${n} | ${(cpu.server ?? NaN).toFixed(0)} | ${(cpu.redis ?? NaN).toFixed(1)} | ${total.toFixed(2)} (${perRequest}) | ` +
    `${((after.bytesIn - before.bytesIn) / n).toFixed(0)} / ${((after.bytesOut - before.bytesOut) / n).toFixed(0)} | ${(reads / n).toFixed(2)} |`
}

async function costsAt (logLevel: string, redisDatabase: number): Promise<string[]> {
  const store = ownStores('flowops_costs', redisDatabase)
  await emptyStores(store)
  await seedOrders(store.mongoUrl, ORDERS)
  const ids = await pendingOrderIds(store.mongoUrl, 1500)
  const service = await startService({ MONGODB_URL: store.mongoUrl, REDIS_URL: store.redisUrl, LOG_LEVEL: logLevel })
  const redis = new Redis(store.redisUrl)
  try {
    const repeat = (n: number, make: (i: number) => Request) => Array.from({ length: n }, (_, i) => make(i))
    await send({ path: '/orders' }, service.url)
    for (const id of ids.slice(0, 100)) await send({ path: `/orders/${id}` }, service.url)
    const etag = (await fetch(`${service.url}/orders`, { headers: { 'accept-encoding': 'identity' } })).headers.get('etag') ?? ''
    // Warm-up, unmeasured: the first thousands of requests also pay for the JIT.
    for (let i = 0; i < 3000; i += CONCURRENCY) await Promise.all(Array.from({ length: CONCURRENCY }, () => send({ path: '/orders' }, service.url)))
    const put = (id: string, i: number): Request => ({ path: `/orders/${id}`, method: 'PUT', body: JSON.stringify({ address: `${i} Cost Street` }) })
    const rows = [
      await measure(service, redis, store.redisUrl, 'hit: list page 1, limit 10', repeat(4000, () => ({ path: '/orders' }))),
      await measure(service, redis, store.redisUrl, 'hit: one order', repeat(4000, (i) => ({ path: `/orders/${ids[i % 100]}` }))),
      await measure(service, redis, store.redisUrl, 'hit, br client: list page 1', repeat(4000, () => ({ path: '/orders', headers: { 'accept-encoding': 'br' } }))),
      await measure(service, redis, store.redisUrl, '304: list page 1, If-None-Match', repeat(4000, () => ({ path: '/orders', headers: { 'if-none-match': etag } }))),
      await measure(service, redis, store.redisUrl, 'miss: list page never read (limit 10)', repeat(290, (i) => ({ path: `/orders?page=${i + 2}` }))),
      await measure(service, redis, store.redisUrl, 'miss: one order never read', repeat(600, (i) => ({ path: `/orders/${ids[100 + i]}` }))),
      await measure(service, redis, store.redisUrl, 'PUT: one order each, no contention', repeat(600, (i) => put(ids[700 + i] as string, i))),
      await measure(service, redis, store.redisUrl, 'POST', repeat(600, (i) => ({ path: '/orders', method: 'POST', body: JSON.stringify({ customer: `Cost ${i}`, address: `${i} Cost Street`, items: [{ sku: 'C', qty: 1, price: 1 }] }) })))
    ]
    return [`### LOG_LEVEL=${logLevel}`, '',
      '| request | n | server CPU µs/request | redis-server CPU µs/request | Redis commands per request (by command) | Redis bytes in / out per request | MongoDB reads per request |',
      '|---|---|---|---|---|---|---|', ...rows]
  } finally {
    redis.disconnect()
    await service.stop()
  }
}

async function main (): Promise<void> {
  const report = ['# What one request costs, by kind', '',
    `Generated by \`npm run bench:costs\` on ${new Date().toISOString()}: one service instance, ${ORDERS} orders, requests sent ${CONCURRENCY} at a time ` +
    'from the benchmark process (its own CPU is not counted), as an identity client unless the row says br. Server CPU from /proc, redis-server CPU from `INFO cpu`, commands from ' +
    '`INFO commandstats`, which counts the commands a Lua script runs as well as the script (`evalsha`), so they are more than round trips; bytes from `INFO stats`. ' +
    'MongoDB reads are the service\'s own count (`database_reads_total`: a list page is a find and a count, counted once); a PUT also ' +
    'makes one conditional update and a POST one insert (src/orders/repository.ts). Used by docs/capacity.md.', '',
    ...await costsAt('warn', 8), '', ...await costsAt('info', 9), '']
  await writeFile(join(ROOT, 'bench/COSTS.md'), report.join('\n'))
  log(report.join('\n'))
}

process.on('SIGTERM', () => { killAll(); process.exit(143) })
main().catch((err) => { console.error(err); killAll(); process.exit(1) })
