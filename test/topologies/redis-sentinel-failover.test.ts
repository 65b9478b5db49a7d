import t from 'tap'
import { Redis } from 'ioredis'
import { build, validOrder, type TestApp } from '../helper.js'
import { SENTINEL_ENV, ownRedisSentinels } from '../redis-sentinel.js'
import { eventually } from '../processes.js'
import { redisKeys } from '../../src/keys.js'

// Sentinel failover under a steady mix of GET, POST and PUT: the master is killed (SIGKILL),
// the sentinels promote the replica. Reads fail open (200 from MongoDB), POST does not need
// Redis (201), PUT fails closed (503 LOCK_UNAVAILABLE) and never hangs, and writes recover
// once the replica is promoted. One more answer is possible, and bounded: a lock whose release
// never arrived (its holder released on the dead master, after replication had carried the
// lock to the replica; or a SET NX applied while its reply was lost in the switch) stays held
// until its TTL, and that order answers 409 ORDER_LOCKED meanwhile.

const CLIENTS = 4
const LOCK_TTL_SECONDS = 3
// Far above any expected latency: a request this slow counts as a hang.
const HANG_MS = 10_000

interface Sample { kind: 'GET' | 'POST' | 'PUT', status: number, code?: string, ms: number, at: number, order?: string }

async function timedInject (app: TestApp, kind: Sample['kind'], url: string, payload?: object, order?: string): Promise<Sample> {
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${kind} ${url} hung`)), HANG_MS) })
  const response = await Promise.race([app.inject({ method: kind, url, ...(payload ? { payload } : {}) }), hang]).finally(() => clearTimeout(timer))
  const code = response.statusCode >= 400 ? (response.json() as { code?: string }).code : undefined
  return { kind, status: response.statusCode, ...(code ? { code } : {}), ms: performance.now() - started, at: performance.now(), ...(order ? { order } : {}) }
}

t.test('Sentinel failover during GET/POST/PUT: reads 200, POST 201, PUT 200 or 503, no hang, writes recover', async (t) => {
  const sentinels = await ownRedisSentinels(t)
  const app = await build(t, { env: { ...SENTINEL_ENV(sentinels.seeds), LOCK_TTL_SECONDS: String(LOCK_TTL_SECONDS) } })
  // One order per client, so no PUT waits for another's lock.
  const orders: string[] = []
  for (let i = 0; i < CLIENTS; i++) orders.push((await app.inject({ method: 'POST', url: '/orders', payload: validOrder })).json()._id)
  const acknowledged = new Map<string, string>()

  const samples: Sample[] = []
  let running = true
  const isRunning = () => running
  const clients = orders.map(async (id, c) => {
    for (let n = 0; isRunning(); n++) {
      samples.push(await timedInject(app, 'GET', n % 2 === 0 ? '/orders?limit=10' : `/orders/${id}`))
      samples.push(await timedInject(app, 'POST', '/orders', { ...validOrder, customer: `Client ${c} #${n}` }))
      const customer = `Client ${c} v${n}`
      const put = await timedInject(app, 'PUT', `/orders/${id}`, { customer }, id)
      if (put.status === 200) acknowledged.set(id, customer)
      samples.push(put)
    }
  })

  await eventually(() => samples.length >= 60, 60_000)
  const killedAt = performance.now()
  await sentinels.killMaster()
  await sentinels.awaitPromotion(60_000)
  const promotedAt = performance.now()
  // Locks on the promoted replica now: held by PUTs in flight, or left by the switch.
  const db = Number(new URL(app.config.REDIS_URL).pathname.slice(1))
  const promoted = new Redis({ port: sentinels.replica.port, host: '127.0.0.1', db })
  t.teardown(() => { promoted.disconnect() })
  const locksAtPromotion = (await promoted.keys(redisKeys.orderLock('*'))).length
  // Writes recover: every order has a PUT answered 200 that started after the promotion.
  const writable = (id: string) => samples.some((s) => s.order === id && s.status === 200 && s.at - s.ms > promotedAt)
  await eventually(() => orders.every(writable), 30_000)
  running = false
  await Promise.all(clients)

  const during = samples.filter((s) => s.at > killedAt)
  const byKind: Record<string, Record<string, number>> = {}
  for (const s of during) {
    const key = s.code ? `${s.status} ${s.code}` : String(s.status)
    byKind[s.kind] = { ...byKind[s.kind], [key]: (byKind[s.kind]?.[key] ?? 0) + 1 }
  }
  const slowest = Math.max(...during.map((s) => s.ms))
  const puts = during.filter((s) => s.kind === 'PUT')
  const lastUnavailable = Math.max(killedAt, ...puts.filter((s) => s.code === 'LOCK_UNAVAILABLE').map((s) => s.at))
  const firstWrite = puts.find((s) => s.status === 200 && s.at > lastUnavailable)
  const lastLocked = Math.max(killedAt, ...puts.filter((s) => s.status === 409).map((s) => s.at))
  const ms = (at: number | undefined) => at === undefined ? '?' : `${(at - killedAt).toFixed(0)} ms`
  t.comment(`after the kill: promotion ${ms(promotedAt)}, first PUT 200 ${ms(firstWrite?.at)}, last 409 (stranded lock) ${ms(lastLocked)}; ` +
    `statuses ${JSON.stringify(byKind)}; slowest ${slowest.toFixed(0)} ms of ${during.length} requests; locks on the promoted replica when promoted: ${locksAtPromotion}`)

  t.same(Object.keys(byKind.GET ?? {}), ['200'], 'every GET answered 200 (reads fail open to MongoDB)')
  t.same(Object.keys(byKind.POST ?? {}), ['201'], 'every POST answered 201 (a create does not need Redis)')
  t.same(Object.keys(byKind.PUT ?? {}).filter((key) => !['200', '503 LOCK_UNAVAILABLE', '409 ORDER_LOCKED'].includes(key)), [],
    'PUT answered 200, 503 LOCK_UNAVAILABLE, or 409 ORDER_LOCKED')
  t.ok(lastLocked < promotedAt + LOCK_TTL_SECONDS * 1000 + 1000, `409 no later than a lock's TTL after the promotion (${ms(lastLocked)})`)
  t.ok(firstWrite, 'PUTs answer 200 again after the promotion')
  t.ok(slowest < HANG_MS, `no request hung (slowest ${slowest.toFixed(0)} ms)`)

  // No read afterwards shows data older than an acknowledged write.
  for (const id of orders) {
    const read = await app.inject({ method: 'GET', url: `/orders/${id}` })
    t.equal(read.json().customer, acknowledged.get(id), `order ${id}: GET shows the last acknowledged PUT (X-Cache ${read.headers['x-cache']})`)
  }
})
