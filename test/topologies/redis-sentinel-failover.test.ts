import t from 'tap'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { build, validOrder } from '../helper.js'
import { SENTINEL_ENV, ownRedisSentinels } from '../redis-sentinel.js'
import { eventually } from '../processes.js'
import { FAILOVER_PUT_STATUSES, HANG_MS, LOCKED_AFTER_PROMOTION_MS, staleReads, startMix, summarize } from '../failover-mix.js'
import { entryConnections } from './topology-checks.js'
import { redisKeys } from '../../src/cache/keys.js'

// Sentinel failover under a steady mix of GET, POST and PUT: the master is killed (SIGKILL),
// the sentinels promote the replica. Reads fail open (200 from MongoDB), POST does not need
// Redis (201), PUT fails closed (503 LOCK_UNAVAILABLE) and never hangs, and writes recover
// once the replica is promoted. One more answer is possible, and bounded: a lock whose release
// never arrived (its holder released on the dead master, after replication had carried the
// lock to the replica; or a SET NX applied while its reply was lost in the switch) is owed by its
// holder and released as soon as the promoted master answers (src/lock/lock-release.ts): that
// order answers 409 ORDER_LOCKED for at most about a second past the promotion, not the lock's TTL.

// The default TTL: a lock left behind by a release that went to the dead master would answer 409
// for up to 10 s, far past the bound below.
const LOCK_TTL_SECONDS = 10

t.test('Sentinel failover during GET/POST/PUT: reads 200, POST 201, PUT 200 or 503, no hang, writes recover', async (t) => {
  const sentinels = await ownRedisSentinels(t)
  const app = await build(t, { env: { ...SENTINEL_ENV(sentinels.seeds), LOCK_TTL_SECONDS: String(LOCK_TTL_SECONDS) } })
  const orders: string[] = []
  for (let i = 0; i < 4; i++) orders.push((await app.inject({ method: 'POST', url: '/orders', payload: validOrder })).json()._id)

  const mix = startMix(app, orders)
  await eventually(() => mix.samples.length >= 60, 60_000)
  // The promotion as an event: a sentinel publishes +switch-master the moment it switches.
  const watcher = new Redis({ port: (sentinels.sentinels[0] as { port: number }).port, host: '127.0.0.1' })
  t.teardown(() => { watcher.disconnect() })
  await watcher.subscribe('+switch-master')
  const switched = once(watcher, 'message')
  const killedAt = performance.now()
  await sentinels.killMaster()
  await switched
  const promotedAt = performance.now()
  await sentinels.awaitPromotion(60_000)
  // Locks on the promoted replica now: held by PUTs in flight, or left by the switch.
  const promoted = new Redis({ port: sentinels.replica.port, host: '127.0.0.1' })
  t.teardown(() => { promoted.disconnect() })
  const locksAtPromotion = (await promoted.keys(redisKeys.orderLock('*'))).length
  // Writes recover: every order has a PUT answered 200 that started after the promotion.
  await eventually(() => mix.writable(promotedAt), 30_000)
  await mix.stop()

  const summary = summarize(mix.samples, killedAt)
  const ms = (at: number | undefined) => at === undefined ? '?' : `${(at - killedAt).toFixed(0)} ms`
  t.comment(`after the kill: promotion ${ms(promotedAt)}, first PUT 200 ${ms(summary.firstWriteAt)}, last 409 ${ms(summary.lastLockedAt)}; ` +
    `statuses ${JSON.stringify(summary.byKind)}; slowest ${summary.slowestMs.toFixed(0)} ms of ${summary.requests} requests; ` +
    `locks on the replica when promoted: ${locksAtPromotion}`)

  t.same(Object.keys(summary.byKind.GET ?? {}), ['200'], 'every GET answered 200 (reads fail open to MongoDB)')
  t.same(Object.keys(summary.byKind.POST ?? {}), ['201'], 'every POST answered 201 (a create does not need Redis)')
  t.same(Object.keys(summary.byKind.PUT ?? {}).filter((key) => !FAILOVER_PUT_STATUSES.includes(key)), [],
    'PUT answered 200, 503 LOCK_UNAVAILABLE, or 409 ORDER_LOCKED')
  t.ok(summary.lastLockedSentAt < promotedAt + LOCKED_AFTER_PROMOTION_MS,
    `no PUT sent later than ${LOCKED_AFTER_PROMOTION_MS} ms after the promotion answered 409, though a lock lives ${LOCK_TTL_SECONDS} s (last sent ${ms(summary.lastLockedSentAt)})`)
  t.ok(summary.firstWriteAt, 'PUTs answer 200 again after the promotion')
  t.ok(summary.slowestMs < HANG_MS, `no request hung (slowest ${summary.slowestMs.toFixed(0)} ms)`)
  // Every GET answered while the load ran, the failover included, not only the reads after it.
  const reads = staleReads(mix.samples)
  const duringFailover = mix.samples.filter((s) => s.kind === 'GET' && s.at - s.ms > killedAt && s.at - s.ms < promotedAt).length
  t.comment(`${reads.judged} GETs judged against acknowledged writes; ${duringFailover} GETs sent between the kill and the promotion`)
  t.ok(duringFailover > 0 && reads.judged > 0, 'GETs were answered during the failover, and had acknowledged writes to be judged by')
  t.same(reads.stale, [], 'no GET showed an order older than a PUT, or a first page older than a POST, acknowledged before it was sent')

  // No read afterwards shows data older than an acknowledged write.
  for (const id of orders) {
    const read = await app.inject({ method: 'GET', url: `/orders/${id}` })
    t.equal(read.json().customer, mix.acknowledged.get(id), `order ${id}: GET shows the last acknowledged PUT (X-Cache ${read.headers['x-cache']})`)
  }
  // The entry connection finds the promoted master by reconnecting through the sentinels, on its
  // own backoff (up to 500 ms a step): reads go on the main client until it is there, so the
  // reads above may all have gone that way. Read until one goes on it (bounded).
  const [first] = orders
  let onPromoted: unknown[] = []
  await eventually(async () => {
    await app.inject({ method: 'GET', url: `/orders/${first as string}` })
    onPromoted = await entryConnections(promoted)
    return onPromoted.length > 0
  }, 5000).catch(() => {})
  t.same(onPromoted, [{ lastCommand: 'mget' }], 'the entry reader\'s connection followed the failover to the promoted master')
})
