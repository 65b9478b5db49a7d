import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'
import { MongoClient } from 'mongodb'
import { Redis } from 'ioredis'
import { deferred, isolatedMongoUrl, isolatedRedisUrl, validOrder } from './helper.js'
import { freePort } from './free-port.js'
import { eventually } from './processes.js'
import { ensureBuilt, ROOT, SERVER } from './built-server.js'
import { throughRelay } from './relay.js'
import { ORDERS_COLLECTION } from '../src/orders/repository.js'
import { redisKeys } from '../src/cache/keys.js'

// The built server (dist/src/server.js, what `npm start` and the Docker image run) under a
// burst of real HTTP requests, stopped by SIGTERM in the middle of it.

/** Whether a new TCP connection to the port is refused (the server stopped listening). */
function connectionRefused (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(false) })
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'))
  })
}

const BURST = 150
// SIGTERM is sent once the server has started this many of the burst's requests.
const MANY = 60

interface LogLine { msg?: string, reqId?: string }
interface Outcome { id: string, method: string, status?: number, body?: unknown, error?: string }

t.test('SIGTERM during a burst: every accepted request is answered in full, then exit 0', async (t) => {
  ensureBuilt()
  const port = await freePort()
  const mongoUrl = isolatedMongoUrl()
  const redisUrl = await isolatedRedisUrl(t)
  // The server reaches MongoDB through a relay, so that one of the burst's writes can be held
  // in flight across the moment new connections are refused (a fast database would otherwise
  // finish the whole burst before that moment, by chance).
  const { relay, url: relayedMongoUrl } = await throughRelay(t, mongoUrl)
  const child = spawn(process.execPath, [SERVER], {
    cwd: ROOT,
    // A clean environment: only what the server needs, nothing of the test runner's.
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      MONGODB_URL: relayedMongoUrl,
      REDIS_URL: redisUrl,
      LOG_LEVEL: 'debug',
      SHUTDOWN_TIMEOUT_MS: '10000'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })

  // pino writes one JSON object per line, in the order things happened in the server.
  const logs: LogLine[] = []
  const listening = deferred()
  const manyStarted = deferred()
  let burstStarted = 0
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const entry = JSON.parse(line) as LogLine
    logs.push(entry)
    if (entry.msg?.startsWith('Server listening at')) listening.resolve()
    if (entry.msg === 'incoming request' && entry.reqId?.startsWith('burst-') && ++burstStarted === MANY) manyStarted.resolve()
  })
  await Promise.race([listening.promise, exited.then(() => { throw new Error(`the server exited before listening:\n${stderr}`) })])

  const base = `http://127.0.0.1:${port}`
  // Orders for the burst's PUTs, one each, so no PUT contends for a lock.
  const kinds = ['GET', 'POST', 'PUT', 'POST', 'PUT'] as const
  const puts = kinds.filter((kind) => kind === 'PUT').length * BURST / kinds.length
  const existing = await Promise.all(Array.from({ length: puts }, async () => {
    const response = await fetch(`${base}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(validOrder) })
    return ((await response.json()) as { _id: string })._id
  }))

  // GET, POST and PUT, sent at once; SIGTERM once the server has started on a good part of them.
  // The first insert of the burst is held on its way to MongoDB until new connections are refused.
  const writeHeld = relay.holdNext('Burst ')
  let nextOrder = 0
  const burst: Array<Promise<Outcome>> = Array.from({ length: BURST }, (_, i) => {
    const id = `burst-${i}`
    const method = kinds[i % kinds.length] as (typeof kinds)[number]
    const url = method === 'GET' ? `${base}/orders?limit=5` : method === 'POST' ? `${base}/orders` : `${base}/orders/${existing[nextOrder++]}`
    const body = method === 'GET' ? undefined : JSON.stringify(method === 'POST' ? { ...validOrder, customer: `Burst ${i}` } : { customer: `Changed ${i}` })
    return fetch(url, {
      method,
      headers: { 'x-request-id': id, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body } : {})
    }).then(async (response) => {
      const text = await response.text()
      let parsed: unknown
      try { parsed = JSON.parse(text) } catch { parsed = text }
      return { id, method, status: response.status, body: parsed }
    }, (err: Error) => ({ id, method, error: String((err.cause as Error | undefined)?.message ?? err.message) }))
  })

  await Promise.all([manyStarted.promise, writeHeld])
  child.kill('SIGTERM')
  // New connections are refused from the start of the shutdown, while the burst is still
  // being answered (checked below against the log).
  await eventually(() => connectionRefused(port), 5000)
  const logsWhenRefusing = logs.length
  relay.release()
  const outcomes = await Promise.all(burst)
  const [code, signal] = await exited
  t.equal(signal, null, 'not killed by a signal')
  t.equal(code, 0, `exit code 0${stderr ? `\n${stderr}` : ''}`)

  const shutdownAt = logs.findIndex((entry) => entry.msg?.startsWith('shutting down'))
  t.ok(shutdownAt > 0, 'the server logged the start of its shutdown')
  t.ok(logs.some((entry, i) => i > shutdownAt && entry.msg === 'shut down'), 'and its end, after closing Redis and MongoDB')

  // What the server did with each request, from its log (request ids are the client's).
  const startedAt = new Map<string, number>()
  const completedAt = new Map<string, number>()
  logs.forEach((entry, i) => {
    if (!entry.reqId?.startsWith('burst-')) return
    if (entry.msg === 'incoming request') startedAt.set(entry.reqId, i)
    if (entry.msg === 'request completed') completedAt.set(entry.reqId, i)
  })
  let inFlight = 0
  let finishedInShutdown = 0
  let refusedAfterShutdown = 0
  let neverStarted = 0
  for (const outcome of outcomes) {
    const started = startedAt.get(outcome.id)
    const success = outcome.method === 'POST' ? 201 : 200
    const answered = outcome.status === success && typeof outcome.body === 'object'
    if (started === undefined) {
      // Never reached the server's HTTP layer: the connection failed, no answer at all.
      neverStarted++
      if (outcome.status !== undefined) t.fail(`${outcome.id} got ${outcome.status} but the server never logged it`)
    } else if (started < shutdownAt) {
      // Accepted before the shutdown: must be answered in full.
      inFlight++
      if ((completedAt.get(outcome.id) ?? 0) > shutdownAt) finishedInShutdown++
      if (!answered) t.fail(`${outcome.id} (${outcome.method}) was accepted but got ${outcome.status ?? outcome.error}`)
    } else {
      // Arrived during the shutdown on an open connection: answered, or told to retry elsewhere.
      const shuttingDown = outcome.status === 503 && (outcome.body as { code?: string }).code === 'SHUTTING_DOWN'
      if (shuttingDown) refusedAfterShutdown++
      if (!answered && !shuttingDown) t.fail(`${outcome.id} arrived during the shutdown and got ${outcome.status ?? outcome.error}`)
    }
  }
  t.comment(`${inFlight} accepted before SIGTERM (${finishedInShutdown} finished after it), ` +
    `${refusedAfterShutdown} refused with 503 SHUTTING_DOWN, ${neverStarted} never reached the server ` +
    `(${[...new Set(outcomes.map((outcome) => outcome.error).filter(Boolean))].join(', ')})`)
  t.ok(inFlight >= MANY, `${inFlight} requests were accepted before SIGTERM and answered in full`)
  t.ok(finishedInShutdown > 0, `${finishedInShutdown} of them were finished after SIGTERM`)
  t.ok(logs.slice(logsWhenRefusing).some((entry) => entry.msg === 'request completed' && entry.reqId?.startsWith('burst-')),
    'requests were still being finished while new connections were refused')

  // No order was created without its 201 reaching the client, no update was applied without
  // its 200, and every lock was released.
  const created = outcomes.filter((outcome) => outcome.status === 201).length
  const updated = outcomes.filter((outcome) => outcome.method === 'PUT' && outcome.status === 200).length
  const client = new MongoClient(mongoUrl)
  const redis = new Redis(redisUrl)
  try {
    const orders = client.db().collection(ORDERS_COLLECTION)
    t.equal(await orders.countDocuments(), existing.length + created, `every order stored by the burst was answered 201 (${created})`)
    t.equal(await orders.countDocuments({ version: 2 }), updated, `every update applied was answered 200 (${updated})`)
    const locks = await Promise.all(existing.map((orderId) => redis.exists(redisKeys.orderLock(orderId))))
    t.same(locks.filter(Boolean), [], 'no lock was left behind')
    await client.db().dropDatabase()
  } finally {
    await client.close()
    redis.disconnect()
  }
})
