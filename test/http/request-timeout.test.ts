import t from 'tap'
import { connect } from 'node:net'
import { once } from 'node:events'
import { listening, parseResponse } from '../raw-http.js'
import { timed } from '../processes.js'

// No client can hold a connection for ever: a request whose headers or body stop arriving gets
// 408 REQUEST_TIMEOUT with the contract's body within REQUEST_TIMEOUT_MS (Node checks once a
// second at most), and its socket is closed.

const TIMEOUT_MS = 500

/** Opens a connection, sends `partial`, then sends nothing; resolves with what came back once the server closed it. */
async function stall (port: number, partial: string): Promise<{ text: string, ms: number }> {
  const socket = connect(port, '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  socket.on('error', () => {})
  await once(socket, 'connect')
  socket.write(partial)
  const { ms } = await timed(once(socket, 'close'))
  return { text: Buffer.concat(chunks).toString('latin1'), ms }
}

t.test('a PUT whose body never completes gets 408 and its connection closed', async (t) => {
  const { port } = await listening(t, { env: { REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) } })
  const { text, ms } = await stall(port, 'PUT /orders/0123456789abcdef01234567 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"customer":')
  const answer = parseResponse(text)
  t.equal(answer.statusCode, 408, '408 Request Timeout')
  t.same(answer.json(), { statusCode: 408, code: 'REQUEST_TIMEOUT', error: 'Request Timeout', message: 'The request was not received in time' }, 'the contract\'s error body')
  t.equal(answer.headers.connection, 'close')
  t.ok(ms < TIMEOUT_MS + 1000 + 500, `closed ${ms.toFixed(0)} ms after the last byte`)
})

t.test('headers that never complete: 408 as well', async (t) => {
  const { port } = await listening(t, { env: { REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) } })
  const { text, ms } = await stall(port, 'GET /orders HTTP/1.1\r\nHost: x\r\nX-Slow: ')
  t.equal(parseResponse(text).statusCode, 408)
  t.equal(parseResponse(text).json().code, 'REQUEST_TIMEOUT')
  t.ok(ms < TIMEOUT_MS + 1000 + 500, `closed ${ms.toFixed(0)} ms after the last byte`)
})

t.test('the default is 30 s, and an idle keep-alive connection is kept 72 s', async (t) => {
  const { app } = await listening(t)
  t.equal(app.server.requestTimeout, 30_000)
  t.equal(app.server.headersTimeout, 30_000)
  t.equal(app.server.keepAliveTimeout, 72_000)
})
