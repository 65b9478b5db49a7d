import fp from 'fastify-plugin'
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { DatabaseUnavailableError, RETRY_AFTER_SECONDS } from '../../src/errors.js'
import { isDatabaseUnavailable, isMongoError } from '../../src/database-errors.js'
import type { ErrorBody } from '../../src/schemas/common.js'

// Codes for the client errors Fastify raises itself, before a handler runs.
const FASTIFY_CLIENT_ERRORS: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_CONTENT_LENGTH',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE'
}

function toErrorBody (err: FastifyError): ErrorBody {
  if (err.validation) {
    return { statusCode: 400, code: 'VALIDATION_ERROR', error: 'Bad Request', message: err.message }
  }
  if (isDatabaseUnavailable(err)) {
    const unavailable = new DatabaseUnavailableError()
    return { statusCode: 503, code: unavailable.code, error: 'Service Unavailable', message: unavailable.message }
  }
  const status = err.statusCode ?? 500
  if (status >= 400 && status < 500) {
    // Our own errors carry their contract code; Fastify's get a stable name, and a JSON
    // syntax error (malformed body, __proto__ poisoning) is reported as INVALID_JSON.
    const code = FASTIFY_CLIENT_ERRORS[err.code] ??
      (err.code?.startsWith('FST_') || !err.code ? (err instanceof SyntaxError ? 'INVALID_JSON' : 'BAD_REQUEST') : err.code)
    return { statusCode: status, code, error: STATUS_CODES[status] ?? 'Client Error', message: err.message }
  }
  if (status === 503 && err.code && !err.code.startsWith('FST_')) {
    return { statusCode: 503, code: err.code, error: 'Service Unavailable', message: err.message }
  }
  // Anything else is our fault: log it whole, tell the client nothing internal.
  return { statusCode: 500, code: 'INTERNAL_ERROR', error: 'Internal Server Error', message: 'Internal Server Error' }
}

/**
 * The one error handler: every error, whoever threw it, leaves as the contract's
 * `{ statusCode, code, error, message }` body; 409, 429 and 503 carry Retry-After.
 */
export default fp(async function errorHandler (app) {
  app.setErrorHandler(function handleError (err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    const body = toErrorBody(err)
    if (isMongoError(err)) app.counters.database.errors++
    if (body.statusCode >= 500) {
      request.log[body.statusCode === 503 ? 'warn' : 'error']({ err }, 'request failed: %s', body.code)
    } else {
      request.log.info({ code: body.code, message: body.message }, 'client error')
    }
    // Rate limiting and load shedding set their own Retry-After before raising their error.
    if (!reply.hasHeader('retry-after')) {
      if (body.statusCode === 409) reply.header('retry-after', String(RETRY_AFTER_SECONDS.conflict))
      if (body.statusCode === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS.unavailable))
    }
    return reply.code(body.statusCode).send(body)
  })
}, { name: 'error-handler' })
