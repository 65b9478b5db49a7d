import t from 'tap'
import { once } from 'node:events'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { build, createOrder } from '../helper.js'
import { mongoRelayed } from '../instances.js'
import { eventually } from '../processes.js'
import { parseResponse } from '../raw-http.js'

// app.close() over real connections, in-process: the server stops accepting at once, an
// in-flight PUT is finished, a request that arrives on an already open connection is served
// with Connection: close (a connection is closed only between requests: a balancer never has
// one reset under a request it sent), an idle connection is left open for DRAIN_GRACE_MS and
// then closed, and the close completes without waiting for keep-alive timeouts.
// test/server.test.ts does the same to the built server with SIGTERM.

/** Everything the server sends on the socket until it closes it. */
function readAll (socket: Socket): Promise<string> {
  let text = ''
  socket.on('data', (chunk: Buffer) => { text += chunk.toString() })
  return once(socket, 'close').then(() => text)
}

const GRACE_MS = 400

t.test('closing: no new connection, in-flight finished, late arrivals served, idle connections closed after the grace', async (t) => {
  // The PUT is paused under its lock by holding its conditional update on the way to MongoDB.
  const { app, relay } = await mongoRelayed(t, await build(t), { DRAIN_GRACE_MS: String(GRACE_MS) })
  const writing = relay.holdNext('findAndModify')
  const order = await createOrder(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo

  // The server's side of each connection, to know when it has read what a client sent.
  const received = new Map<number, Promise<void>>()
  app.server.on('connection', (socket: Socket) => {
    received.set(socket.remotePort ?? 0, once(socket, 'data').then(() => {}))
  })
  const serverRead = async (client: Socket) => {
    await eventually(() => received.has(client.localPort ?? -1))
    await received.get(client.localPort ?? -1)
  }

  // A: a PUT, paused under its lock.
  const a = connect(port, '127.0.0.1')
  const answerA = readAll(a)
  const body = JSON.stringify({ customer: 'Finished While Closing' })
  a.write(`PUT /orders/${order._id} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
  await writing
  // B: a request whose headers have started to arrive, not finished.
  const b = connect(port, '127.0.0.1')
  const answerB = readAll(b)
  await once(b, 'connect')
  b.write('GET /orders HTTP/1.1\r\nHost: test\r\n')
  await serverRead(b)
  // C: a keep-alive connection, idle after one request.
  const c = connect(port, '127.0.0.1')
  const closedC = once(c, 'close')
  c.write('GET /health HTTP/1.1\r\nHost: test\r\n\r\n')
  await once(c, 'data')

  const started = performance.now()
  const closed = app.close()
  await eventually(() => !app.server.listening)
  const refusedConnect = connect(port, '127.0.0.1')
  const [connectError] = await once(refusedConnect, 'error') as [NodeJS.ErrnoException]
  t.equal(connectError.code, 'ECONNREFUSED', 'no new connection is accepted: a balancer tries another instance')

  b.write('\r\n')
  const served = parseResponse(await answerB)
  t.equal(served.statusCode, 200, 'a request completed on an open connection after the close began is served')
  t.equal(served.headers.connection, 'close', 'and its connection closed after the response, between requests')
  t.ok(Array.isArray(served.json().data))

  await closedC
  const idleMs = performance.now() - started
  t.ok(idleMs >= GRACE_MS - 50, `the idle connection was left to the client for the grace (closed after ${idleMs.toFixed(0)} ms)`)

  relay.release()
  const finished = parseResponse(await answerA)
  t.equal(finished.statusCode, 200, 'the in-flight PUT is answered in full')
  t.equal(finished.json().customer, 'Finished While Closing')
  t.equal(finished.headers.connection, 'close', 'and its connection is closed after it')

  await closed
  const ms = performance.now() - started
  t.ok(ms < 5000, `close completed in ${ms.toFixed(0)} ms, not after a keep-alive timeout`)
})
