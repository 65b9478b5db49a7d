import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { killAll, startService, type Running } from './processes.js'
import { pendingOrderIds, seedOrders } from './seed.js'
import { emptyStores, ownStores } from './own-stores.js'

// npm run bench:near-staleness: how long another instance's near cache can serve the old bytes
// of an order after a write acknowledged by one instance. Three service processes share one
// Redis and one database, all with the near cache on. Per trial: instances B and C hold the
// order in their near caches; pollers read it from B and C back to back; A takes a PUT; the
// pollers go on for a while after A's acknowledgement.
//
// A stale read is a response with the old version to a request sent after A's acknowledgement
// reached this driver. Its delay is when that response arrived minus the acknowledgement: an
// upper bound on the service-side delay (it includes the request's own round trip).
//
// Knobs: NEAR_TRIALS (200), NEAR_POLL_AFTER_MS (20).

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const TRIALS = Number(process.env.NEAR_TRIALS ?? 200)
const POLL_AFTER_MS = Number(process.env.NEAR_POLL_AFTER_MS ?? 20)
const POLLERS_PER_INSTANCE = 2

const log = (message: string) => console.log(`[near-staleness] ${message}`)

interface Trial { staleReads: number, worstDelayMs: number, readsAfterAck: number }

async function nearHits (services: Running[]): Promise<number> {
  let sum = 0
  for (const service of services) {
    const text = await (await fetch(`${service.url}/metrics`)).text()
    sum += Number(/^flowops_order_service_cache_near_hits_total\s+([0-9.e+]+)/m.exec(text)?.[1] ?? 0)
  }
  return sum
}

async function versionOf (service: Running, id: string): Promise<number> {
  const response = await fetch(`${service.url}/orders/${id}`)
  return (await response.json() as { version: number }).version
}

async function trial (writer: Running, readers: Running[], id: string, edit: number): Promise<Trial> {
  const before = await versionOf(writer, id)
  // Two reads each: a Redis hit stores the order near; the third is a near hit.
  for (const reader of readers) for (let i = 0; i < 3; i++) await versionOf(reader, id)

  let ackAt = Number.POSITIVE_INFINITY
  let stopAt = Number.POSITIVE_INFINITY
  const result: Trial = { staleReads: 0, worstDelayMs: 0, readsAfterAck: 0 }
  const poll = async (reader: Running) => {
    while (performance.now() < stopAt) {
      const sentAt = performance.now()
      const version = await versionOf(reader, id)
      const receivedAt = performance.now()
      if (sentAt <= ackAt) continue
      result.readsAfterAck++
      if (version <= before) {
        result.staleReads++
        result.worstDelayMs = Math.max(result.worstDelayMs, receivedAt - ackAt)
      }
    }
  }
  const pollers = readers.flatMap((reader) => Array.from({ length: POLLERS_PER_INSTANCE }, () => poll(reader)))
  await new Promise((resolve) => setTimeout(resolve, 5))
  const put = await fetch(`${writer.url}/orders/${id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customer: `Near staleness ${edit}` })
  })
  if (put.status !== 200) throw new Error(`PUT answered ${put.status}: ${await put.text()}`)
  await put.arrayBuffer()
  ackAt = performance.now()
  stopAt = ackAt + POLL_AFTER_MS
  await Promise.all(pollers)
  return result
}

async function main (): Promise<void> {
  const stores = ownStores('flowops-near-staleness', 8)
  await emptyStores(stores)
  await seedOrders(stores.mongoUrl, 1000)
  const ids = await pendingOrderIds(stores.mongoUrl, TRIALS)

  const env = { MONGODB_URL: stores.mongoUrl, REDIS_URL: stores.redisUrl, CACHE_NEAR_MAX_BYTES: String(16 * 1024 * 1024) }
  const services = await Promise.all(Array.from({ length: 3 }, () => startService(env)))
  try {
    const trials: Trial[] = []
    const nearHitsBefore = await nearHits(services)
    for (let i = 0; i < TRIALS; i++) {
      // The writer rotates, so each instance is a reader in two thirds of the trials.
      const writer = services[i % 3] as Running
      const readers = services.filter((service) => service !== writer)
      trials.push(await trial(writer, readers, ids[i % ids.length] as string, i))
    }
    const nearHitsServed = await nearHits(services) - nearHitsBefore
    const stale = trials.filter((t) => t.staleReads > 0)
    const worst = Math.max(0, ...trials.map((t) => t.worstDelayMs))
    const delays = stale.map((t) => t.worstDelayMs).sort((a, b) => a - b)
    const p99 = delays.length > 0 ? delays[Math.min(delays.length - 1, Math.floor(delays.length * 0.99))] ?? 0 : 0
    const summary = {
      when: new Date().toISOString(),
      trials: TRIALS,
      nearHitsServed,
      readsAfterAck: trials.reduce((sum, t) => sum + t.readsAfterAck, 0),
      staleReads: trials.reduce((sum, t) => sum + t.staleReads, 0),
      trialsWithStaleReads: stale.length,
      worstDelayMs: worst,
      p99OfStaleTrialsMs: p99
    }
    log(JSON.stringify(summary))
    await mkdir(join(ROOT, 'bench/results'), { recursive: true })
    await writeFile(join(ROOT, 'bench/results/near-staleness.json'), JSON.stringify({ ...summary, perTrial: trials }, null, 2) + '\n')
    await writeFile(join(ROOT, 'bench/NEAR-STALENESS.md'), [
      '# Near cache staleness across instances (issue 14)',
      '',
      `Generated by \`npm run bench:near-staleness\` on ${summary.when}. Three service processes with the near cache on share one ` +
        `Redis and one database. ${TRIALS} trials: the two readers hold the order in their near caches, ` +
        `${POLLERS_PER_INSTANCE} pollers per reader read it back to back, the third instance takes a PUT, and the pollers go on ` +
        `for ${POLL_AFTER_MS} ms after the acknowledgement reached the driver.`,
      '',
      'A stale read is the old version answering a request sent after the acknowledgement; its delay is when it arrived ' +
        'minus the acknowledgement (an upper bound: it includes its own round trip).',
      '',
      '| trials | near hits served | reads after the ack | stale reads | trials with a stale read | worst delay | p99 of per-trial worst |',
      '|---|---|---|---|---|---|---|',
      `| ${TRIALS} | ${nearHitsServed} | ${summary.readsAfterAck} | ${summary.staleReads} | ${stale.length} | ${worst.toFixed(2)} ms | ${p99.toFixed(2)} ms |`,
      ''
    ].join('\n'))
    log('wrote bench/NEAR-STALENESS.md and bench/results/near-staleness.json')
  } finally {
    await Promise.all(services.map((service) => service.stop()))
  }
}

process.on('SIGTERM', () => { killAll(); process.exit(143) })
main().catch((err) => {
  console.error(err)
  killAll()
  process.exit(1)
})
