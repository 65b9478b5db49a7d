import t from 'tap'
import { assertError } from '../routes/contract.js'
import { listening, rawRequest } from '../raw-http.js'
import { build } from '../helper.js'

// Errors raised before routing (src/http/early-errors.ts): Node's parser errors, written straight to
// the socket, and the router's own refusals. Each gets the contract's error body with a code,
// the API's security headers and an X-Request-Id, like every routed answer; nothing is written.

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none';frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer'
}

t.test('malformed HTTP, oversized headers and unknown methods: a 4xx contract body with a code', async (t) => {
  const { app, port } = await listening(t)
  const cases: Array<[string, string, number, string]> = [
    ['a non-numeric Content-Length', 'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}', 400, 'INVALID_CONTENT_LENGTH'],
    ['headers over the size limit', `GET /orders HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
    ['a request line over the size limit', `GET /orders?page=${'1'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
    ['an unknown method (RFC 9110 15.6.2: 501)', 'FOO /orders HTTP/1.1\r\nHost: x\r\n\r\n', 501, 'UNKNOWN_METHOD'],
    ['not HTTP at all', 'hello\r\n\r\n', 400, 'BAD_REQUEST'],
    ['a bad HTTP version', 'GET /orders HTTP/9.Z\r\nHost: x\r\n\r\n', 400, 'BAD_REQUEST'],
    ['a header without a colon', 'GET /orders HTTP/1.1\r\nHost: x\r\nbroken header\r\n\r\n', 400, 'BAD_REQUEST'],
    ['a duplicate Content-Length', 'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}', 400, 'INVALID_CONTENT_LENGTH'],
    ['Content-Length with Transfer-Encoding', 'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'BAD_REQUEST'],
    ['a bad chunk size', 'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n', 400, 'BAD_REQUEST']
  ]
  for (const [name, request, status, code] of cases) {
    await t.test(name, async (t) => {
      const response = await rawRequest(port, request)
      assertError(t, response, status, code)
      t.match(response.headers, SECURITY_HEADERS, 'the API security headers')
      t.match(response.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'an X-Request-Id')
      t.equal(response.headers.connection, 'close', 'the connection is closed, as Node does')
    })
  }
  t.equal(await app.mongo.db!.collection('orders').countDocuments(), 0, 'nothing was written')
  const after = await rawRequest(port, 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.equal(after.statusCode, 200, 'the server still answers')
})

t.test('the router\'s refusals carry the security headers and X-Request-Id', async (t) => {
  const app = await build(t)
  const undecodable = await app.inject({ url: '/orders/%zz', headers: { 'x-request-id': 'trace-42' } })
  assertError(t, undecodable, 400, 'BAD_REQUEST')
  t.match(undecodable.headers, SECURITY_HEADERS)
  t.equal(undecodable.headers['x-request-id'], 'trace-42', 'the caller\'s request id is echoed')
  const tooLong = await app.inject(`/orders/${'a'.repeat(201)}`)
  assertError(t, tooLong, 400, 'VALIDATION_ERROR')
  t.match(tooLong.headers, SECURITY_HEADERS)
  t.ok(tooLong.headers['x-request-id'], 'an X-Request-Id')
})

t.test('the parser\'s messages say what was wrong', async (t) => {
  const { port } = await listening(t)
  const duplicate = await rawRequest(port, 'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}')
  t.equal(duplicate.json().message, 'Content-Length must be sent once', 'a duplicate Content-Length is not called a Transfer-Encoding problem')
  const both = await rawRequest(port, 'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
  t.equal(both.json().message, 'Content-Length and Transfer-Encoding must not both be sent')
})
