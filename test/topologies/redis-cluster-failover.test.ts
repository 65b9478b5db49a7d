import t from 'tap'
import { build, validOrder } from '../helper.js'
import { ownRedisCluster } from '../redis-cluster.js'
import { eventually } from '../processes.js'
import { FAILOVER_PUT_STATUSES, HANG_MS, LOCKED_AFTER_PROMOTION_MS, staleReads, startMix, summarize } from '../failover-mix.js'
import { clusterKeys } from '../../src/cache/keys.js'

// Redis Cluster failover under a steady mix of GET, POST and PUT: the master that holds the
// cache's hottest keys (list page 1 and its generation) is killed (SIGKILL) and its replica
// takes over. Reads 200 (they fail open to MongoDB), POST 201, PUT 200, 503 or (bounded by the
// lock TTL) 409, no hang, writes recover after the promotion, and afterwards no GET, list or
// order, shows data older than an acknowledged write (the invalidations that could not land on
// the dead master were owed, with no hits, until they did).

// The default TTL: a lock left behind by a release that went to the dead master would answer 409
// for up to 10 s, far past the bound below.
const LOCK_TTL_SECONDS = 10

t.test('Cluster failover of the cache\'s master during GET/POST/PUT: no hang, writes recover, nothing stale', async (t) => {
  const cluster = await ownRedisCluster(t)
  const app = await build(t, { env: { REDIS_CLUSTER_NODES: cluster.seeds, LOCK_TTL_SECONDS: String(LOCK_TTL_SECONDS) } })
  const orders: string[] = []
  for (let i = 0; i < 4; i++) orders.push((await app.inject({ method: 'POST', url: '/orders', payload: validOrder })).json()._id)
  const victimKey = clusterKeys.listPage(1, 10).key
  const victim = await cluster.masterOf(victimKey)

  const mix = startMix(app, orders)
  await eventually(() => mix.samples.length >= 60, 60_000)
  // The promotion as an event: the replica that wins the election logs it the moment it does.
  let promotedAt = Number.POSITIVE_INFINITY
  for (const node of cluster.nodes.filter((node) => node !== victim)) {
    node.child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.includes('Failover election won')) promotedAt = Math.min(promotedAt, performance.now())
    })
  }
  const killedAt = performance.now()
  await cluster.kill(victim)
  const promoted = await cluster.awaitFailover(victimKey, victim, 60_000)
  t.ok(promotedAt < performance.now(), 'a replica logged its election as the new master')
  await eventually(() => mix.writable(promotedAt), 30_000)
  await mix.stop()

  const summary = summarize(mix.samples, killedAt)
  const ms = (at: number | undefined) => at === undefined ? '?' : `${(at - killedAt).toFixed(0)} ms`
  t.comment(`after the kill of ${victim.port}: ${promoted.port} serves the slot at ${ms(promotedAt)}, first PUT 200 after the last 503 ${ms(summary.firstWriteAt)}, ` +
    `last 409 ${ms(summary.lastLockedAt)}; statuses ${JSON.stringify(summary.byKind)}; slowest ${summary.slowestMs.toFixed(0)} ms of ${summary.requests} requests`)

  t.same(Object.keys(summary.byKind.GET ?? {}), ['200'], 'every GET answered 200')
  t.same(Object.keys(summary.byKind.POST ?? {}), ['201'], 'every POST answered 201')
  t.same(Object.keys(summary.byKind.PUT ?? {}).filter((key) => !FAILOVER_PUT_STATUSES.includes(key)), [],
    'PUT answered 200, 503 LOCK_UNAVAILABLE, or 409 ORDER_LOCKED')
  t.ok(summary.lastLockedSentAt < promotedAt + LOCKED_AFTER_PROMOTION_MS,
    `no PUT sent later than ${LOCKED_AFTER_PROMOTION_MS} ms after the promotion answered 409, though a lock lives ${LOCK_TTL_SECONDS} s (last sent ${ms(summary.lastLockedSentAt)})`)
  t.ok(summary.slowestMs < HANG_MS, `no request hung (slowest ${summary.slowestMs.toFixed(0)} ms)`)
  // Every GET answered while the load ran, the failover included, not only the reads after it.
  const reads = staleReads(mix.samples)
  const duringFailover = mix.samples.filter((s) => s.kind === 'GET' && s.at - s.ms > killedAt && s.at - s.ms < promotedAt).length
  t.comment(`${reads.judged} GETs judged against acknowledged writes; ${duringFailover} GETs sent between the kill and the promotion`)
  t.ok(duringFailover > 0 && reads.judged > 0, 'GETs were answered during the failover, and had acknowledged writes to be judged by')
  t.same(reads.stale, [], 'no GET showed an order older than a PUT, or a first page older than a POST, acknowledged before it was sent')
  // Every list page, through the cache (the mix created orders, so the first four are deep).
  const list: Array<{ _id: string, customer: string }> = []
  for (let page = 1, pages = 1; page <= pages; page++) {
    const body = (await app.inject({ method: 'GET', url: `/orders?page=${page}&limit=100` })).json()
    list.push(...body.data)
    pages = body.pagination.totalPages
  }
  for (const id of orders) {
    const read = await app.inject({ method: 'GET', url: `/orders/${id}` })
    t.equal(read.json().customer, mix.acknowledged.get(id), `order ${id}: GET shows the last acknowledged PUT`)
    t.equal(list.find((order) => order._id === id)?.customer, mix.acknowledged.get(id), `order ${id}: so does the list`)
  }
})
