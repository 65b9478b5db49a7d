import createError from '@fastify/error'
import { STATUS_CODES } from 'node:http'
import { Type, type Static } from '@sinclair/typebox'

/**
 * Every error code the service answers, defined here once, under its HTTP status, with what it
 * means (for the API document).
 */
const CODES_BY_STATUS = {
  400: {
    VALIDATION_ERROR: 'a path parameter, query parameter or body field is invalid',
    INVALID_JSON: 'the body is not valid JSON',
    INVALID_CONTENT_LENGTH: 'Content-Length is not a valid length or does not match the body',
    BAD_REQUEST: 'the request is malformed'
  },
  401: { UNAUTHORIZED: 'missing or unknown bearer token (only when API_TOKENS is set)' },
  403: { FORBIDDEN: 'the path is not one the server will serve (outside the API documentation\'s files, say)' },
  404: { ORDER_NOT_FOUND: 'no order has this id', ROUTE_NOT_FOUND: 'no route serves this path' },
  405: { METHOD_NOT_ALLOWED: 'the path is served, not with this method; Allow lists the methods that are' },
  408: { REQUEST_TIMEOUT: 'the request was not received in time' },
  409: {
    ORDER_LOCKED: 'another request holds the order lock; retry after Retry-After',
    VERSION_CONFLICT: 'the order changed concurrently; nothing was written'
  },
  412: { PRECONDITION_FAILED: 'If-Match does not match the current ETag' },
  413: { PAYLOAD_TOO_LARGE: 'the body exceeds BODY_LIMIT_BYTES' },
  415: { UNSUPPORTED_MEDIA_TYPE: 'the body is not application/json' },
  422: {
    ORDER_NOT_MODIFIABLE: 'the order is Completed or Cancelled',
    IDEMPOTENCY_KEY_REUSED: 'POST only: this Idempotency-Key created an order from another body (draft-ietf-httpapi-idempotency-key-header: 422)'
  },
  429: { RATE_LIMITED: 'too many requests from this client in the window; retry after Retry-After (only when RATE_LIMIT_MAX > 0)' },
  431: { HEADERS_TOO_LARGE: 'the request line and headers are larger than the server accepts' },
  500: { INTERNAL_ERROR: 'a bug: logged with the request id, nothing internal is shown' },
  501: { UNKNOWN_METHOD: 'the request line names a method the server does not recognise (RFC 9110 9.1)' },
  503: {
    DATABASE_UNAVAILABLE: 'MongoDB cannot be reached; a POST, PUT or DELETE answered this wrote nothing (it failed before its write was sent)',
    WRITE_OUTCOME_UNKNOWN: 'POST, PUT and DELETE only: the write was sent but MongoDB did not confirm it in time, so it may or ' +
      'may not have been applied (the database can still apply it after this answer). Read the order again; retry a PUT or ' +
      'DELETE with If-Match set to the version the change was based on: if the first attempt was applied the retry is 412 ' +
      'and changes nothing. Retry a POST with the same Idempotency-Key: the order the first attempt created is answered, nothing ' +
      'is created; a POST retried without one may create a second order',
    LOCK_UNAVAILABLE: 'PUT and DELETE only: Redis (the lock service) cannot be reached',
    OVERLOADED: 'load shedding under event-loop or memory pressure; retry after Retry-After',
    SHUTTING_DOWN: 'reserved; not sent by this version: an instance that is shutting down serves what arrives on its open ' +
      'connections (Connection: close) and accepts no new one'
  }
} as const

type CodesByStatus = typeof CODES_BY_STATUS
export type ErrorCode = { [Status in keyof CodesByStatus]: keyof CodesByStatus[Status] }[keyof CodesByStatus]

/** Every code with its status and meaning. */
export const ERROR_CODES = Object.fromEntries(Object.entries(CODES_BY_STATUS).flatMap(([status, codes]) =>
  Object.entries(codes).map(([code, meaning]) => [code, { status: Number(status), meaning: meaning as string }]))
) as Record<ErrorCode, { status: number, meaning: string }>

/**
 * Seconds a client should wait before retrying, by code: a lock is held briefly, a dependency
 * needs longer, load shedding longer still (the backlog must drain), and another instance can
 * take over from one shutting down at once. The error handler sets Retry-After from this; a
 * 429 carries the time left in its window instead, set by the rate limiter.
 */
const RETRY_AFTER_SECONDS: Partial<Record<ErrorCode, number>> = {
  ORDER_LOCKED: 1,
  VERSION_CONFLICT: 1,
  DATABASE_UNAVAILABLE: 5,
  WRITE_OUTCOME_UNKNOWN: 5,
  LOCK_UNAVAILABLE: 5,
  OVERLOADED: 10,
  SHUTTING_DOWN: 1
}

/** Seconds a client should wait before retrying an error with this code, if it should. */
export function retryAfterOf (code: string): number | undefined {
  return RETRY_AFTER_SECONDS[code as ErrorCode]
}

/** The body of every error response: `{ statusCode, code, error, message }`. */
export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String({ description: 'stable machine-readable code, e.g. ORDER_NOT_FOUND' }),
  error: Type.String({ description: 'HTTP reason phrase' }),
  message: Type.String()
})
export type ErrorBody = Static<typeof ErrorSchema>

/** The one builder of error bodies: the status comes from the code. */
export function errorBody (code: ErrorCode, message: string): ErrorBody {
  const statusCode = ERROR_CODES[code].status
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message }
}

const thrown = (code: ErrorCode, message: string) => createError(code, message, ERROR_CODES[code].status)

// The errors the service throws on purpose, where they happen; the error handler turns them
// into their body.
export const ValidationError = thrown('VALIDATION_ERROR', '%s')
export const OrderNotFoundError = thrown('ORDER_NOT_FOUND', 'Order %s not found')
export const PreconditionFailedError = thrown('PRECONDITION_FAILED',
  'Order %s has changed: If-Match %s does not match its current ETag %s')
export const NoCurrentRepresentationError = thrown('PRECONDITION_FAILED',
  'Order %s does not exist, so If-Match %s cannot match (RFC 9110 13.1.1)')
export const OrderLockedError = thrown('ORDER_LOCKED', 'Order %s is being changed by another request; retry shortly')
export const VersionConflictError = thrown('VERSION_CONFLICT',
  'Order %s was changed concurrently (expected version %s); nothing was written')
export const OrderNotModifiableError = thrown('ORDER_NOT_MODIFIABLE', 'Order %s is %s and can no longer be changed')
export const IdempotencyKeyReusedError = thrown('IDEMPOTENCY_KEY_REUSED',
  'Idempotency-Key %s already created order %s from another request body; use a new key for a new order')
export const LockUnavailableError = thrown('LOCK_UNAVAILABLE', 'The lock service (Redis) is unavailable; the order was not changed')
export const UnauthorizedError = thrown('UNAUTHORIZED', '%s')
export const RateLimitedError = thrown('RATE_LIMITED', 'Rate limit exceeded, retry in %s')
export const OverloadedError = thrown('OVERLOADED', 'The service is overloaded and sheds load; retry shortly')
