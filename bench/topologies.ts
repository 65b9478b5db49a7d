import { writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { RedisCluster } from '../test/redis-cluster.js'
import { createCpuMeter } from './cpu.js'
import { load } from './load.js'
import { medianOf } from './median.js'
import { emptyStores, ownStores } from './own-stores.js'
import { killAll, startService, type Running } from './processes.js'
import { seedOrders } from './seed.js'

// npm run bench:topologies: the same cache hit on a standalone Redis and on a Redis Cluster
// (3 masters + 3 replicas on loopback, started here), near cache off and on, in interleaved
// rounds: requests/s, server CPU per hit, and Redis commands per hit (every master's
// commandstats, less the heartbeats'). Each service is its own process; autocannon runs here.
// Writes bench/TOPOLOGIES.md. Knobs: TOPOLOGIES_ROUNDS (4), TOPOLOGIES_SECONDS (8),
// TOPOLOGIES_CONNECTIONS (50).

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const ROUNDS = Number(process.env.TOPOLOGIES_ROUNDS ?? 4)
const SECONDS = Number(process.env.TOPOLOGIES_SECONDS ?? 8)
const CONNECTIONS = Number(process.env.TOPOLOGIES_CONNECTIONS ?? 50)
const ORDERS = 2000
const PATH = '/orders?page=1&limit=10'
const NEAR = { CACHE_NEAR_MAX_BYTES: String(64 * 1024 * 1024) }
// Commands that are not the request's: the near cache's and the Redis watch's heartbeats, the
// measurement's own INFO, the cluster client's slot refreshes and connection set-up.
const NOT_PER_REQUEST = new Set(['ping', 'info', 'cluster|slots', 'cluster|nodes', 'cluster|info', 'client|setname', 'client|setinfo', 'select', 'subscribe', 'config|resetstat', 'command', 'command|docs', 'readonly'])

const log = (message: string) => console.log(`[topologies] ${message}`)

interface Contender { name: string, service: Running, redisPorts: number[] }
interface Round { requestsPerSecond: number, serverMicros: number, redisCommands: number, pings: number, hits: number, requests: number }

/** Every master's commands that requests cause, and apart from them its PINGs (the near tier's heartbeats, lease renewals and catch-ups). */
async function commandCalls (ports: number[]): Promise<{ calls: number, pings: number }> {
  let calls = 0
  let pings = 0
  for (const port of ports) {
    const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 })
    const stats = await redis.info('commandstats')
    redis.disconnect()
    for (const [, command, n] of stats.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
      if (command === 'ping') pings += Number(n)
      else if (!NOT_PER_REQUEST.has(command as string)) calls += Number(n)
    }
  }
  return { calls, pings }
}

async function measure (contender: Contender, cpuRedisUrl: string): Promise<Round> {
  const meter = createCpuMeter(cpuRedisUrl)
  const commandsBefore = await commandCalls(contender.redisPorts)
  const stop = await meter.start(contender.service.child.pid)
  const result = await load({ url: contender.service.url, connections: CONNECTIONS, seconds: SECONDS, nextRequest: () => ({ method: 'GET', path: PATH }) })
  const cpu = await stop(result.requests)
  meter.close()
  const commandsAfter = await commandCalls(contender.redisPorts)
  return {
    requestsPerSecond: result.requestsPerSecond,
    serverMicros: cpu.server ?? NaN,
    redisCommands: (commandsAfter.calls - commandsBefore.calls) / Math.max(result.requests, 1),
    pings: (commandsAfter.pings - commandsBefore.pings) / Math.max(result.requests, 1),
    hits: result.xCache.HIT ?? 0,
    requests: result.requests
  }
}

const fixed = (n: number, digits = 2) => n.toFixed(digits)

async function main (): Promise<void> {
  const stores = ownStores('flowops_bench_topologies', 3)
  await emptyStores(stores)
  await seedOrders(stores.mongoUrl, ORDERS)
  const standalonePort = Number(new URL(stores.redisUrl).port || 6379)
  const cluster = new RedisCluster()
  log('starting a Redis Cluster (3 masters + 3 replicas)')
  await cluster.start()
  try {
    const common = { MONGODB_URL: stores.mongoUrl, CACHE_TTL_SECONDS: '3600' }
    const standalone = { ...common, REDIS_URL: stores.redisUrl }
    const clustered = { ...common, REDIS_CLUSTER_NODES: cluster.seeds }
    const clusterPorts = cluster.nodes.map((node) => node.port)
    const contenders: Contender[] = [
      { name: 'standalone', service: await startService(standalone), redisPorts: [standalonePort] },
      { name: 'cluster', service: await startService(clustered), redisPorts: clusterPorts },
      { name: 'standalone, near cache on', service: await startService({ ...standalone, ...NEAR }), redisPorts: [standalonePort] },
      { name: 'cluster, near cache on', service: await startService({ ...clustered, ...NEAR }), redisPorts: clusterPorts }
    ]
    for (const { service } of contenders) {
      for (let i = 0; i < 3; i++) await (await fetch(service.url + PATH, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer()
    }
    const rounds = new Map(contenders.map((c) => [c.name, [] as Round[]]))
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate the order, so that each contender goes first as often as last.
      const order = round % 2 === 1 ? contenders : [...contenders].reverse()
      for (const contender of order) {
        const measured = await measure(contender, stores.redisUrl)
        rounds.get(contender.name)?.push(measured)
        log(`round ${round} ${contender.name}: ${fixed(measured.requestsPerSecond, 0)} req/s, ${fixed(measured.serverMicros, 1)} µs server CPU, ${fixed(measured.redisCommands, 3)} Redis commands per request (and ${fixed(measured.pings, 4)} PINGs), ${measured.hits} of ${measured.requests} HIT`)
      }
    }
    await writeFile(join(ROOT, 'bench/TOPOLOGIES.md'), report(contenders, rounds))
    log('wrote bench/TOPOLOGIES.md')
  } finally {
    killAll()
    await cluster.stop()
  }
}

function report (contenders: Contender[], rounds: Map<string, Round[]>): string {
  const of = (name: string) => rounds.get(name) ?? []
  const median = (name: string, pick: (r: Round) => number) => medianOf(of(name).map(pick))
  const perRound = (a: string, b: string, pick: (r: Round) => number) => medianOf(of(a).map((r, i) => pick(r) / pick(of(b)[i] as Round)))
  const rows = contenders.map(({ name }) =>
    `| ${name} | ${fixed(median(name, (r) => r.requestsPerSecond), 0)} | ${fixed(median(name, (r) => r.serverMicros), 1)} | ${fixed(median(name, (r) => r.redisCommands), 3)} | ${fixed(median(name, (r) => r.pings), 4)} | ${of(name).reduce((n, r) => n + r.hits, 0)} of ${of(name).reduce((n, r) => n + r.requests, 0)} |`)
  const ratio = (a: string, b: string) => `| ${a} vs ${b} | ${fixed(perRound(a, b, (r) => r.serverMicros))}x | ${fixed(perRound(a, b, (r) => r.requestsPerSecond))}x |`
  return [
    '# The same hit on every topology',
    '',
    `Written by \`npm run bench:topologies\` on ${new Date().toISOString()}. A cache hit of list page 1 (limit 10, identity), ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} interleaved rounds (the order alternating), ${ORDERS} orders. Each service is its own process (\`node dist/src/server.js\`, LOG_LEVEL=warn); the load generator is autocannon in the benchmark's process. Standalone: one redis-server; Cluster: 3 masters + 3 replicas on loopback, started by the benchmark. Redis commands per request are every master's commandstats over the run, less slot refreshes and the measurement's own INFO; PINGs are counted apart (every PING on the masters: the near tier's heartbeats and lease renewals, one per subscriber at most every 5 ms, and its catch-ups, one per subscriber shared by every read that found the lease run out meanwhile, src/cache/near/subscriber.ts). Medians over rounds; ratios are medians of the rounds' ratios.`,
    '',
    '| contender | requests/s | server CPU per hit, µs | Redis commands per hit | PINGs per hit | X-Cache HIT |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    '| comparison | server CPU per hit | requests/s |',
    '|---|---|---|',
    ratio('cluster', 'standalone'),
    ratio('cluster, near cache on', 'standalone, near cache on'),
    ratio('cluster, near cache on', 'cluster'),
    '',
    'Goals (issue 25): a Cluster hit at most 1.15x a standalone hit\'s server CPU; 0 Redis commands per hit on a Cluster with the near cache on.',
    ''
  ].join('\n')
}

main().catch((err: unknown) => {
  console.error(err)
  killAll()
  process.exitCode = 1
})
