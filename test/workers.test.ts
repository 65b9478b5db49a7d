import t, { type Test } from 'tap'
import { request } from 'node:http'
import { isolatedMongoUrl, isolatedRedisUrl, validOrder } from './helper.js'
import { freePort } from './free-port.js'
import { startBuiltServer, type BuiltServer, type LogLine } from './built-server.js'
import { eventually, ownMongo } from './processes.js'

// WORKERS=2 on the built server: the primary runs two full instances with Node's cluster
// module, hands connections to both, replaces a worker that dies, and drains both on SIGTERM.

/** One request on a connection of its own (the primary hands each new connection to a worker). */
function send (port: number, method: string, path: string, id: string, body?: object): Promise<{ status?: number, body?: unknown, error?: string }> {
  return new Promise((resolve) => {
    const payload = body ? JSON.stringify(body) : undefined
    const req = request({
      host: '127.0.0.1',
      port,
      method,
      path,
      agent: false,
      headers: { 'x-request-id': id, ...(payload ? { 'content-type': 'application/json' } : {}) }
    }, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => { text += chunk.toString() })
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) as unknown }))
    })
    req.on('error', (err) => resolve({ error: err.message }))
    req.end(payload)
  })
}

/** The pid of the worker that completed each request id (from the workers' own log lines). */
function handledBy (logs: LogLine[], prefix: string): Map<string, number> {
  const pids = new Map<string, number>()
  for (const line of logs) if (line.msg === 'request completed' && line.reqId?.startsWith(prefix)) pids.set(line.reqId, line.pid as number)
  return pids
}

async function startTwoWorkers (t: Test, env: Record<string, string> = {}): Promise<{ server: BuiltServer, port: number, pids: number[] }> {
  const port = await freePort()
  const server = startBuiltServer(t, {
    WORKERS: '2',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    SHUTDOWN_TIMEOUT_MS: '10000',
    MONGODB_URL: isolatedMongoUrl(),
    REDIS_URL: await isolatedRedisUrl(t),
    ...env
  })
  const first = await server.logged((line) => line.msg === 'worker listening')
  const second = await server.logged((line) => line.msg === 'worker listening' && line.workerPid !== first.workerPid)
  return { server, port, pids: [first.workerPid as number, second.workerPid as number] }
}

t.test('WORKERS=2: both workers answer, and a worker that dies is replaced and logged', async (t) => {
  const { server, port, pids } = await startTwoWorkers(t)
  t.notOk(pids.includes(server.child.pid as number), 'the workers are processes of their own, not the primary')

  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => send(port, 'GET', '/orders?limit=1', `before-${i}`)))
  t.same(answers.map((answer) => answer.status), Array(10).fill(200), 'every request answered')
  // Each worker logs through the primary on its own pipe: wait for all ten completions, in any order.
  await eventually(() => handledBy(server.logs, 'before-').size === 10, 10_000)
  t.same(new Set(handledBy(server.logs, 'before-').values()), new Set(pids), 'both worker pids served requests')

  const [victim, survivor] = pids as [number, number]
  const mark = server.logs.length
  process.kill(victim, 'SIGKILL')
  const died = await server.logged((line) => line.msg === 'worker died; starting a replacement', 30_000, mark)
  t.equal(died.workerPid, victim, 'the primary logged the death of the killed worker')
  const replacement = (await server.logged((line) => line.msg === 'worker listening', 30_000, mark)).workerPid as number
  t.notOk([victim, survivor].includes(replacement), `a new worker (${replacement}) took its place`)

  const after = await Promise.all(Array.from({ length: 10 }, (_, i) => send(port, 'POST', '/orders', `after-${i}`, validOrder)))
  t.same(after.map((answer) => answer.status), Array(10).fill(201), 'requests are answered after the replacement')
  await eventually(() => handledBy(server.logs, 'after-').size === 10, 10_000)
  t.same(new Set(handledBy(server.logs, 'after-').values()), new Set([survivor, replacement]), 'by the survivor and the replacement')

  server.child.kill('SIGTERM')
  t.same(await server.exited, [0, null], `exit 0 after SIGTERM\n${server.stderr()}`)
})

t.test('WORKERS=2: SIGTERM during a burst drains both workers, then exit 0', async (t) => {
  // A MongoDB of this test's own, frozen across the SIGTERM: each worker is then sure to have
  // a POST of the burst in flight (its insert waits) when its shutdown begins, so the drain
  // below is exercised on both workers, not only when the timing happens to allow it.
  const mongo = await ownMongo(t)
  const { server, port, pids } = await startTwoWorkers(t, { MONGODB_URL: mongo.url, MONGODB_TIMEOUT_MS: '30000' })
  const BURST = 120
  const outcomes = Array.from({ length: BURST }, (_, i) => i % 2 === 0
    ? send(port, 'GET', '/orders?limit=5', `burst-${i}`)
    : send(port, 'POST', '/orders', `burst-${i}`, { ...validOrder, customer: `Burst ${i}` }))
  // Freeze MongoDB once each worker has started some of the burst.
  const started = (pid: number) => server.logs.filter((line) => line.pid === pid && line.msg === 'incoming request' && line.reqId?.startsWith('burst-')).length
  await server.logged(() => pids.every((pid) => started(pid) >= 10))
  await mongo.freeze()
  t.teardown(() => mongo.thaw())
  // A POST (odd ids) started and not completed cannot complete while MongoDB is frozen.
  const postInFlight = (pid: number) => {
    const lines = server.logs.filter((line) => line.pid === pid && line.reqId?.startsWith('burst-') && Number(line.reqId.slice('burst-'.length)) % 2 === 1)
    const completed = new Set(lines.filter((line) => line.msg === 'request completed').map((line) => line.reqId))
    return lines.some((line) => line.msg === 'incoming request' && !completed.has(line.reqId))
  }
  await server.logged(() => pids.every(postInFlight))
  server.child.kill('SIGTERM')
  await server.logged(() => pids.every((pid) => server.logs.some((line) => line.pid === pid && line.msg?.startsWith('shutting down') === true)))
  mongo.thaw()
  const answers = await Promise.all(outcomes)
  t.same(await server.exited, [0, null], `exit 0${server.stderr() ? `\n${server.stderr()}` : ''}`)

  // Per worker (each process's lines keep their order): every request it started before its
  // own shutdown began was answered in full; later ones got 503 SHUTTING_DOWN or no connection.
  const success = (i: number) => i % 2 === 0 ? 200 : 201
  let accepted = 0
  let finishedInShutdown = 0
  const drained: number[] = []
  for (const pid of pids) {
    const finishedBefore = finishedInShutdown
    const lines = server.logs.filter((line) => line.pid === pid)
    const shutdownAt = lines.findIndex((line) => line.msg?.startsWith('shutting down'))
    t.ok(shutdownAt > 0, `worker ${pid} began draining`)
    t.ok(lines.slice(shutdownAt).some((line) => line.msg === 'shut down'), `worker ${pid} finished draining`)
    for (const line of lines.slice(0, shutdownAt)) {
      if (line.msg !== 'incoming request' || !line.reqId?.startsWith('burst-')) continue
      const i = Number(line.reqId.slice('burst-'.length))
      accepted++
      if (answers[i]?.status !== success(i)) t.fail(`${line.reqId} was accepted by ${pid} before its shutdown but got ${answers[i]?.status ?? answers[i]?.error}`)
      if (lines.findIndex((other) => other.msg === 'request completed' && other.reqId === line.reqId) > shutdownAt) finishedInShutdown++
    }
    drained.push(finishedInShutdown - finishedBefore)
  }
  for (const [i, answer] of answers.entries()) {
    const shuttingDown = answer.status === 503 && (answer.body as { code?: string }).code === 'SHUTTING_DOWN'
    if (answer.status !== success(i) && !shuttingDown && answer.error === undefined) t.fail(`burst-${i} got ${answer.status}`)
  }
  t.ok(accepted >= 20, `${accepted} requests accepted before SIGTERM, all answered in full`)
  t.ok(drained.every((finished) => finished >= 1), `each worker finished requests after its shutdown began, answered in full (${drained.join(' and ')})`)
  t.ok(server.logs.some((line) => line.role === 'primary' && line.msg === 'every worker stopped' && line.exitCode === 0), 'the primary saw every worker stop cleanly')
})

t.test('WORKERS=2: a worker that cannot start stops the service with exit 1, no restart loop', async (t) => {
  const [port, closedPort] = [await freePort(), await freePort()]
  const server = startBuiltServer(t, {
    WORKERS: '2',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    // Nothing listens there: start-up fails once the driver gives up.
    MONGODB_URL: `mongodb://127.0.0.1:${closedPort}/nowhere`,
    MONGODB_TIMEOUT_MS: '300',
    REDIS_URL: await isolatedRedisUrl(t)
  })
  const [code] = await server.exited
  t.equal(code, 1, 'exit 1, as a single instance that cannot start')
  t.ok(server.logs.some((line) => line.role === 'primary' && line.msg?.startsWith('worker exited before listening')), 'the primary said why')
  t.notOk(server.logs.some((line) => line.msg === 'worker died; starting a replacement'), 'and started no replacement')
})

t.test('WORKERS=2: a worker dies while MongoDB is frozen; the survivor serves hits, the replacement is retried until it starts', async (t) => {
  const mongo = await ownMongo(t)
  const { server, port, pids } = await startTwoWorkers(t, { MONGODB_URL: mongo.url, MONGODB_TIMEOUT_MS: '300' })
  const first = { workerPid: pids[0] }
  // Page 1 cached (both workers share the Redis entry).
  for (let i = 0; i < 3; i++) t.equal((await send(port, 'GET', '/orders', `warm-${i}`)).status, 200)

  await mongo.freeze()
  t.teardown(() => mongo.thaw())
  const mark = server.logs.length
  process.kill(first.workerPid as number, 'SIGKILL')
  await server.logged((line) => line.msg === 'replacement worker could not start; trying again', 30_000, mark)
  const during = await Promise.all(Array.from({ length: 5 }, (_, i) => send(port, 'GET', '/orders', `during-${i}`)))
  t.same(during.map((answer) => answer.status), Array(5).fill(200), 'the surviving worker answers cache hits while MongoDB is frozen')
  t.equal(server.child.exitCode, null, 'the primary is still running')

  mongo.thaw()
  const replacement = await server.logged((line) => line.msg === 'worker listening', 60_000, mark)
  t.not(replacement.workerPid, first.workerPid, `once MongoDB is back, a replacement (${String(replacement.workerPid)}) starts`)
  const after = await send(port, 'POST', '/orders', 'after-thaw', validOrder)
  t.equal(after.status, 201, 'and writes work again')
  server.child.kill('SIGTERM')
  t.same(await server.exited, [0, null], `exit 0 after SIGTERM\n${server.stderr()}`)
})
