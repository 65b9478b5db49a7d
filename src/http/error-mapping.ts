import { STATUS_CODES } from 'node:http'
import type { FastifyError } from 'fastify'
import { ERROR_CODES, errorBody, type ErrorBody, type ErrorCode } from './errors.js'
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

// The code of a client error that brings none of its own (a Node stream error, a plugin's), by status.
const CODE_OF_STATUS: Partial<Record<number, ErrorCode>> = {
  403: 'FORBIDDEN',
  404: 'ROUTE_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE'
}

const isOwnCode = (code: string | undefined, status: number): code is ErrorCode =>
  code !== undefined && Object.hasOwn(ERROR_CODES, code) && ERROR_CODES[code as ErrorCode].status === status

// A write sent and not confirmed: what the client should do, for an update and for a create.
function outcomeUnknownMessage (err: WriteOutcomeUnknownError): string {
  if (err.operation === 'update') {
    return `The database did not confirm the change of order ${err.orderId} in time: it may or may not have been ` +
      'applied, now or later. Read the order again, and retry only with If-Match set to the version your change ' +
      'was based on: if the first attempt was applied, the retry answers 412 and changes nothing.'
  }
  return 'The database did not confirm the new order in time: it may or may not have been created, now or later. ' +
    'Retry with the same Idempotency-Key to get the order without creating a second one; without a key, look for it ' +
    '(GET /orders, newest first) before retrying: a retry may create a second order.'
}

export function toErrorBody (err: FastifyError): ErrorBody {
  if (err.validation) return errorBody('VALIDATION_ERROR', err.message)
  if (err instanceof WriteOutcomeUnknownError) return errorBody('WRITE_OUTCOME_UNKNOWN', outcomeUnknownMessage(err))
  if (isDatabaseUnavailable(err)) return errorBody('DATABASE_UNAVAILABLE', 'The database is unavailable; retry shortly')
  const status = err.statusCode ?? 500
  if (status >= 400 && status < 500) {
    // Our own errors carry their contract code; Fastify's get a stable name, a JSON syntax error
    // (malformed body, __proto__ poisoning) is INVALID_JSON, and any other (a stream error such
    // as a client gone mid-body, a plugin's) the code of its status, else BAD_REQUEST.
    const code: ErrorCode = isOwnCode(err.code, status)
      ? err.code
      : FASTIFY_CLIENT_ERRORS[err.code] ?? (err instanceof SyntaxError ? 'INVALID_JSON' : CODE_OF_STATUS[status] ?? 'BAD_REQUEST')
    const body = errorBody(code, err.message)
    return body.statusCode === status ? body : { ...body, statusCode: status, error: STATUS_CODES[status] ?? 'Error' }
  }
  if (status === 503 && err.code && !err.code.startsWith('FST_')) return errorBody(err.code as ErrorCode, err.message)
  // Anything else is our fault: log it whole, tell the client nothing internal.
  return errorBody('INTERNAL_ERROR', 'Internal Server Error')
}
