import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { errorBody, retryAfterOf, type ErrorBody, type ErrorCode } from '../../src/http/errors.js'
import { isDatabaseUnavailable, isMongoError } from '../../src/http/database-errors.js'

// Codes for the client errors Fastify raises itself, before a handler runs.
const FASTIFY_CLIENT_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_CONTENT_LENGTH',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE'
}

function toErrorBody (err: FastifyError): ErrorBody {
  if (err.validation) return errorBody('VALIDATION_ERROR', err.message)
  if (isDatabaseUnavailable(err)) return errorBody('DATABASE_UNAVAILABLE', 'The database is unavailable; retry shortly')
  const status = err.statusCode ?? 500
  if (status >= 400 && status < 500) {
    // Our own errors carry their contract code; Fastify's get a stable name, and a JSON
    // syntax error (malformed body, __proto__ poisoning) is reported as INVALID_JSON.
    const code = FASTIFY_CLIENT_ERRORS[err.code] ??
      (err.code?.startsWith('FST_') || !err.code ? (err instanceof SyntaxError ? 'INVALID_JSON' : 'BAD_REQUEST') : err.code)
    return { ...errorBody(code as ErrorCode, err.message), statusCode: status }
  }
  if (status === 503 && err.code && !err.code.startsWith('FST_')) return errorBody(err.code as ErrorCode, err.message)
  // Anything else is our fault: log it whole, tell the client nothing internal.
  return errorBody('INTERNAL_ERROR', 'Internal Server Error')
}

/**
 * The one error handler: every error, whoever threw it, leaves as the contract's
 * `{ statusCode, code, error, message }` body, with the Retry-After its code calls for.
 */
export default fp(async function errorHandler (app) {
  app.setErrorHandler(function handleError (err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    const body = toErrorBody(err)
    if (isMongoError(err)) app.serviceMetrics.database.errors.inc()
    if (body.statusCode >= 500) {
      request.log[body.statusCode === 503 ? 'warn' : 'error']({ err }, 'request failed: %s', body.code)
    } else {
      request.log.info({ code: body.code, message: body.message }, 'client error')
    }
    // The rate limiter sets its own: the time left in the window.
    const retryAfter = retryAfterOf(body.code)
    if (retryAfter !== undefined && !reply.hasHeader('retry-after')) reply.header('retry-after', String(retryAfter))
    return reply.code(body.statusCode).send(body)
  })
}, { name: 'error-handler', dependencies: ['service-metrics'] })
