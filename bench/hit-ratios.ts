import { writeFile, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MongoClient } from 'mongodb'
import { medianOf } from './median.js'
import { killAll, startService, type Running } from './processes.js'
import { seedOrders } from './seed.js'
import { emptyStores, ownStores, type OwnStores } from './own-stores.js'

// npm run bench:hit-ratios: the read-mostly mix of issue 15, run against the service as built
// (dist/) and against the older builds HIT_RATIOS_COMPARE names (label=path to its
// dist/src/server.js, separated by ';'), in alternating rounds on the same data. It measures what invalidation
// costs in hit ratio, not speed: a fixed number of requests from a few concurrent clients.
//
// - 200 orders; 95% reads, half of them list pages 1-5 (limit 10), half single orders (any of
//   the 200); 5% PUTs of one of the 20 newest Pending orders (two in five seeded orders are
//   Completed or Cancelled, which refuse a PUT with 422). Two PUTs of one order at the same
//   moment: the second is 409 ORDER_LOCKED (LOCK_RETRY_COUNT 0), counted with the refusals.
// - Hit ratio: X-Cache HIT over all answers of that kind.
// - Stale reads, checked from the clients' own acknowledged writes: a read that started after a
//   PUT was acknowledged must show that order at that version or later (on a list page too).
//
// Knobs: HIT_RATIOS_REQUESTS (20000 per round), HIT_RATIOS_ROUNDS (3), HIT_RATIOS_CLIENTS (16).

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const ORDERS = 200
const REQUESTS = Number(process.env.HIT_RATIOS_REQUESTS ?? 20_000)
const ROUNDS = Number(process.env.HIT_RATIOS_ROUNDS ?? 3)
const CLIENTS = Number(process.env.HIT_RATIOS_CLIENTS ?? 16)
const LIST_PAGES = 5
const PUT_SHARE = 0.05
const NEWEST_WRITTEN = 20

const log = (message: string) => console.log(`[hit-ratios] ${message}`)

interface ListedOrder { _id: string, version: number }

interface Tally { hit: number, miss: number, bypass: number }
interface RoundResult {
  build: string
  list: Tally
  order: Tally
  puts: { ok: number, other: number, refusals: Record<number, number> }
  staleReads: number
  readsChecked: number
  seconds: number
}

const tally = (): Tally => ({ hit: 0, miss: 0, bypass: 0 })
const ratio = ({ hit, miss, bypass }: Tally) => hit / Math.max(hit + miss + bypass, 1)

function count (into: Tally, xCache: string | null): void {
  if (xCache === 'HIT') into.hit++
  else if (xCache === 'MISS') into.miss++
  else into.bypass++
}

/** Reseeds; returns every id newest first, and the newest Pending ones (the others refuse a PUT with 422). */
async function reset (stores: OwnStores): Promise<{ ids: string[], writable: string[] }> {
  await emptyStores(stores)
  const { mongoUrl } = stores
  await seedOrders(mongoUrl, ORDERS)
  const again = await MongoClient.connect(mongoUrl)
  const docs = await again.db().collection('orders').find({}, { sort: { createdAt: -1, _id: -1 }, projection: { _id: 1, status: 1 } }).toArray()
  await again.close()
  return {
    ids: docs.map((doc) => doc._id.toHexString()),
    writable: docs.filter((doc) => doc.status === 'Pending').slice(0, NEWEST_WRITTEN).map((doc) => doc._id.toHexString())
  }
}

async function runRound (build: string, service: Running, { ids, writable }: { ids: string[], writable: string[] }): Promise<RoundResult> {
  const result: RoundResult = { build, list: tally(), order: tally(), puts: { ok: 0, other: 0, refusals: {} }, staleReads: 0, readsChecked: 0, seconds: 0 }
  // Per order: the highest version acknowledged to a client, and when it was acknowledged.
  const acknowledged = new Map<string, { version: number, at: number }>()
  let issued = 0
  let edits = 0

  function checkFresh (startedAt: number, order: ListedOrder): void {
    result.readsChecked++
    const ack = acknowledged.get(order._id)
    if (ack && ack.at < startedAt && order.version < ack.version) result.staleReads++
  }

  async function client (): Promise<void> {
    while (issued < REQUESTS) {
      issued++
      const draw = Math.random()
      const startedAt = performance.now()
      if (draw < PUT_SHARE) {
        const id = writable[Math.floor(Math.random() * writable.length)] as string
        const response = await fetch(`${service.url}/orders/${id}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ customer: `Customer edit ${++edits}` })
        })
        const body = await response.json() as ListedOrder
        if (response.status === 200) {
          result.puts.ok++
          const known = acknowledged.get(id)
          if (!known || known.version < body.version) acknowledged.set(id, { version: body.version, at: performance.now() })
        } else {
          result.puts.other++
          result.puts.refusals[response.status] = (result.puts.refusals[response.status] ?? 0) + 1
        }
      } else if (draw < PUT_SHARE + (1 - PUT_SHARE) / 2) {
        const page = 1 + Math.floor(Math.random() * LIST_PAGES)
        const response = await fetch(`${service.url}/orders?page=${page}&limit=10`)
        const body = await response.json() as { data: ListedOrder[] }
        count(result.list, response.headers.get('x-cache'))
        for (const order of body.data) checkFresh(startedAt, order)
      } else {
        const id = ids[Math.floor(Math.random() * ids.length)] as string
        const response = await fetch(`${service.url}/orders/${id}`)
        count(result.order, response.headers.get('x-cache'))
        checkFresh(startedAt, await response.json() as ListedOrder)
      }
    }
  }

  const started = performance.now()
  await Promise.all(Array.from({ length: CLIENTS }, client))
  result.seconds = (performance.now() - started) / 1000
  return result
}

async function main (): Promise<void> {
  const stores = ownStores('flowops-hit-ratios', 7)
  const builds: Array<{ name: string, entry: string }> = [{ name: 'this build', entry: join(ROOT, 'dist/src/server.js') }]
  // HIT_RATIOS_COMPARE="label=path/to/dist/src/server.js;label=...": older builds to compare.
  for (const spec of (process.env.HIT_RATIOS_COMPARE ?? '').split(';').filter(Boolean).reverse()) {
    const [name, entry] = spec.split('=')
    if (!name || !entry) throw new Error(`HIT_RATIOS_COMPARE: expected label=path, got ${spec}`)
    builds.unshift({ name, entry })
  }

  const env = { MONGODB_URL: stores.mongoUrl, REDIS_URL: stores.redisUrl, MONGODB_TIMEOUT_MS: '60000' }
  const rounds: RoundResult[] = []
  for (let round = 1; round <= ROUNDS; round++) {
    for (const build of builds) {
      const seeded = await reset(stores)
      const service = await startService(env, undefined, build.entry)
      try {
        const result = await runRound(build.name, service, seeded)
        log(`round ${round}, ${build.name}: list hit ratio ${(ratio(result.list) * 100).toFixed(1)}%, ` +
          `order ${(ratio(result.order) * 100).toFixed(1)}%, stale reads ${result.staleReads} of ${result.readsChecked} checked, ` +
          `PUT 200 ${result.puts.ok} / other ${JSON.stringify(result.puts.refusals)}, ${result.seconds.toFixed(1)} s`)
        rounds.push(result)
      } finally {
        await service.stop()
      }
    }
  }

  const summary = builds.map(({ name }) => {
    const mine = rounds.filter((r) => r.build === name)
    return {
      build: name,
      listHitRatio: medianOf(mine.map((r) => ratio(r.list))),
      orderHitRatio: medianOf(mine.map((r) => ratio(r.order))),
      staleReads: mine.reduce((sum, r) => sum + r.staleReads, 0),
      readsChecked: mine.reduce((sum, r) => sum + r.readsChecked, 0),
      putsAcknowledged: mine.reduce((sum, r) => sum + r.puts.ok, 0),
      putsRefused: mine.reduce((sum, r) => sum + r.puts.other, 0)
    }
  })
  const outDir = join(ROOT, 'bench/results')
  await mkdir(outDir, { recursive: true })
  const when = new Date().toISOString()
  await writeFile(join(outDir, 'hit-ratios.json'), JSON.stringify({ when, requestsPerRound: REQUESTS, clients: CLIENTS, summary, rounds }, null, 2) + '\n')
  const pct = (value: number) => `${(value * 100).toFixed(1)}%`
  await writeFile(join(ROOT, 'bench/HIT-RATIOS.md'), [
    '# Hit ratios under a read-mostly mix (issue 15)',
    '',
    `Generated by \`npm run bench:hit-ratios\` on ${when}. ${ORDERS} orders; ${ROUNDS} rounds of ${REQUESTS} requests from ${CLIENTS} ` +
      `concurrent clients: 95% reads (half list pages 1-${LIST_PAGES} at limit 10, half single orders), 5% PUTs of one of the ` +
      `${NEWEST_WRITTEN} newest Pending orders (a PUT that finds the order locked by another is 409, counted as other). Each round starts from a freshly seeded database and an empty Redis; builds alternate ` +
      'round by round. Ratios are medians over rounds.',
    '',
    'Stale reads are checked by the load driver from its own acknowledged writes: a read that started after a PUT was ' +
      'acknowledged must show that order at that version or later, on a list page as on its own.',
    '',
    '| build | list hit ratio | order hit ratio | stale reads (of reads checked) | PUTs 200 / other |',
    '|---|---|---|---|---|',
    ...summary.map((s) => `| ${s.build} | ${pct(s.listHitRatio)} | ${pct(s.orderHitRatio)} | ${s.staleReads} (of ${s.readsChecked}) | ${s.putsAcknowledged} / ${s.putsRefused} |`),
    '',
    'Per round:',
    '',
    '| round | build | list | order | stale | seconds |',
    '|---|---|---|---|---|---|',
    ...rounds.map((r, i) => `| ${Math.floor(i / builds.length) + 1} | ${r.build} | ${pct(ratio(r.list))} | ${pct(ratio(r.order))} | ${r.staleReads} | ${r.seconds.toFixed(1)} |`),
    ''
  ].join('\n'))
  log('wrote bench/HIT-RATIOS.md and bench/results/hit-ratios.json')
  if (summary.some((s) => s.build === 'this build' && s.staleReads > 0)) process.exitCode = 1
}

process.on('SIGTERM', () => { killAll(); process.exit(143) })
main().catch((err) => {
  console.error(err)
  killAll()
  process.exit(1)
})
