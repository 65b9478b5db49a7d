import type { FastifyError } from 'fastify'
import { errorBody, type ErrorBody, type ErrorCode } from './errors.js'
import { isDatabaseUnavailable, WriteOutcomeUnknownError } from './database-errors.js'

// Which contract body an error leaves with, whoever threw it: validation, the database, our own
// errors with their codes, Fastify's client errors; anything else is an internal error.

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

// A write sent and not confirmed: what the client should do, for an update and for a create.
function outcomeUnknownMessage (err: WriteOutcomeUnknownError): string {
  if (err.operation === 'update') {
    return `The database did not confirm the change of order ${err.orderId} in time: it may or may not have been ` +
      'applied, now or later. Read the order again, and retry only with If-Match set to the version your change ' +
      'was based on: if the first attempt was applied, the retry answers 412 and changes nothing.'
  }
  return 'The database did not confirm the new order in time: it may or may not have been created, now or later. ' +
    'Look for it (GET /orders, newest first) before retrying: a retry may create a second order.'
}

export function toErrorBody (err: FastifyError): ErrorBody {
  if (err.validation) return errorBody('VALIDATION_ERROR', err.message)
  if (err instanceof WriteOutcomeUnknownError) return errorBody('WRITE_OUTCOME_UNKNOWN', outcomeUnknownMessage(err))
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
