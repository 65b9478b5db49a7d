import t from 'tap'
import { connect } from 'node:net'
import { once } from 'node:events'
import { isolatedMongoUrl, isolatedRedisUrl } from '../helper.js'
import { freePort } from '../free-port.js'
import { startBuiltServer } from '../built-server.js'

// A client that goes away in the middle of its body: the service logs it as a client's doing
// (info), never a 500 or an error-level line (anyone could flood the error log with it), and
// writes nothing. Against the built server, whose log lines the test reads.

interface Line { level?: number, msg?: string, reqId?: string, statusCode?: number, res?: { statusCode?: number } }

t.test('bodies cut off mid-way: no 500, no error-level log line, nothing written', async (t) => {
  const port = await freePort()
  const server = startBuiltServer(t, {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    MONGODB_URL: isolatedMongoUrl(),
    REDIS_URL: await isolatedRedisUrl(t)
  })
  await server.logged((line) => line.msg?.startsWith('Server listening') === true)
  const requests = [
    'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"customer":"Half',
    'PUT /orders/0123456789abcdef01234567 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"cust',
    'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"cus\r\n'
  ]
  for (const request of requests) {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    await once(socket, 'connect')
    socket.write(request)
    // Let the server start reading the body, then vanish (a reset, as a crashed client does).
    await server.logged((line) => line.msg === 'incoming request', 10_000, server.logs.length - 1).catch(() => undefined)
    socket.resetAndDestroy()
  }
  // Every cut request ends with a log line of its own; wait for them all.
  await server.logged(() => server.logs.filter((line) => line.msg === 'request completed' || (line as Line).msg === 'client error').length >= requests.length, 10_000).catch(() => undefined)
  const lines = server.logs as Line[]
  const serious = lines.filter((line) => (line.level ?? 0) >= 50)
  t.same(serious.map((line) => line.msg), [], 'no error-level line')
  t.notOk(lines.some((line) => line.res?.statusCode === 500 || line.statusCode === 500), 'no 500')
  const list = await fetch(`http://127.0.0.1:${port}/orders`).then((response) => response.json() as Promise<{ pagination: { total: number } }>)
  t.equal(list.pagination.total, 0, 'no order was created')
  server.child.kill('SIGTERM')
  await server.exited
})
