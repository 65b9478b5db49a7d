import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { API_SECURITY_HEADERS } from './security-headers.js'
import { errorBody, type ErrorBody } from './errors.js'

// Answers to the errors raised before routing, so before any hook runs: they get the contract's
// error body, the API's security headers and an X-Request-Id here, as every routed answer does
// through the hooks.

/**
 * Fastify's `frameworkErrors`: the request was parsed but the router refused it (an
 * undecodable URL, a path parameter over the router's length limit). The URL is not echoed.
 */
export function frameworkErrors (err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const body = err.code === 'FST_ERR_MAX_PARAM_LENGTH'
    ? errorBody('VALIDATION_ERROR', 'params/id is too long')
    : errorBody('BAD_REQUEST', 'The request URL is not valid')
  return reply.code(body.statusCode).headers(API_SECURITY_HEADERS).header('x-request-id', request.id).send(body)
}

// Node's HTTP parser errors (llhttp's HPE_* codes) and its request timeout, by code.
const PARSER_ERRORS: Record<string, ErrorBody> = {
  HPE_HEADER_OVERFLOW: errorBody('HEADERS_TOO_LARGE', 'The request line and headers are larger than the server accepts'),
  HPE_CHUNK_EXTENSIONS_OVERFLOW: errorBody('PAYLOAD_TOO_LARGE', 'The chunk extensions are larger than the server accepts'),
  ERR_HTTP_REQUEST_TIMEOUT: errorBody('REQUEST_TIMEOUT', 'The request was not received in time'),
  HPE_INVALID_METHOD: errorBody('UNKNOWN_METHOD', 'The request does not start with an HTTP method the server recognises'),
  HPE_INVALID_CONTENT_LENGTH: errorBody('INVALID_CONTENT_LENGTH', 'Content-Length is not a valid length'),
  // llhttp says "Duplicate Content-Length" with this code (both framings are
  // HPE_INVALID_TRANSFER_ENCODING, below).
  HPE_UNEXPECTED_CONTENT_LENGTH: errorBody('INVALID_CONTENT_LENGTH', 'Content-Length must be sent once'),
  HPE_INVALID_TRANSFER_ENCODING: errorBody('BAD_REQUEST', 'Content-Length and Transfer-Encoding must not both be sent')
}
const MALFORMED = errorBody('BAD_REQUEST', 'The request is not valid HTTP/1.1')

// A request line of the right shape (RFC 9112 3: token SP target SP HTTP-version) whose method
// llhttp does not know is an unknown method, 501; anything else it refuses as a method is not
// HTTP at all, 400.
const REQUEST_LINE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ \S+ HTTP\/\d\.\d\r?\n/

function bodyOf (err: Error & { code?: string, rawPacket?: unknown }): ErrorBody {
  const raw = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.toString('latin1') : ''
  if (err.code === 'HPE_INVALID_METHOD' && !REQUEST_LINE.test(raw)) return MALFORMED
  return PARSER_ERRORS[err.code ?? ''] ?? MALFORMED
}

/**
 * Fastify's `clientErrorHandler`: Node could not parse the request (malformed HTTP, headers over
 * the size limit, an unknown method) or it timed out. There is no request or reply object, so
 * the answer is written to the socket, which is then closed, as Node's own default does.
 */
export function clientErrorHandler (this: FastifyInstance, err: Error & { code?: string, rawPacket?: unknown }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const body = bodyOf(err)
  const requestId = randomUUID()
  this.log.info({ reqId: requestId, code: body.code, parserError: err.code }, 'client error before routing')
  writeErrorToSocket(socket, body, requestId)
  socket.destroy(err)
}

/**
 * Writes a whole error response to a socket no reply object owns (a parser error, a CONNECT
 * request), unless a response is already under way on it: as Node does, never write into the
 * middle of one. The caller closes the socket.
 */
export function writeErrorToSocket (socket: Socket, body: ErrorBody, requestId: string, extraHeaders: Record<string, string> = {}): void {
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (!socket.writable || inFlight?.headersSent === true) return
  const payload = JSON.stringify(body)
  const headers: Record<string, string | number> = {
    ...API_SECURITY_HEADERS,
    ...extraHeaders,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'x-request-id': requestId,
    connection: 'close'
  }
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  socket.write(`HTTP/1.1 ${body.statusCode} ${body.error}\r\n${head}\r\n${payload}`)
}
