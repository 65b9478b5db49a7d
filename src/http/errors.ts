import createError from '@fastify/error'
import { STATUS_CODES } from 'node:http'
import { Type, type Static } from '@sinclair/typebox'

/**
 * Every error code the service answers, defined here once: its HTTP status, what it means (for
 * the API document) and, where retrying makes sense, the Retry-After in seconds. The error
 * handler (plugins/app/error-handler.ts) sets Retry-After from this table; a 429 carries the
 * time left in its window instead, set by the rate limiter.
 */
export const ERROR_CODES = {
  VALIDATION_ERROR: { status: 400, meaning: 'a path parameter, query parameter or body field is invalid' },
  INVALID_JSON: { status: 400, meaning: 'the body is not valid JSON' },
  INVALID_CONTENT_LENGTH: { status: 400, meaning: 'Content-Length does not match the body' },
  BAD_REQUEST: { status: 400, meaning: 'the request is malformed' },
  UNAUTHORIZED: { status: 401, meaning: 'missing or unknown bearer token (only when API_TOKENS is set)' },
  ORDER_NOT_FOUND: { status: 404, meaning: 'no order has this id' },
  ROUTE_NOT_FOUND: { status: 404, meaning: 'no route has this method and path' },
  ORDER_LOCKED: { status: 409, meaning: 'another request holds the order lock; retry after Retry-After', retryAfter: 1 },
  VERSION_CONFLICT: { status: 409, meaning: 'the order changed concurrently; nothing was written', retryAfter: 1 },
  PRECONDITION_FAILED: { status: 412, meaning: 'If-Match does not match the current ETag' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'the body exceeds BODY_LIMIT_BYTES' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'the body is not application/json' },
  ORDER_NOT_MODIFIABLE: { status: 422, meaning: 'the order is Completed or Cancelled' },
  RATE_LIMITED: { status: 429, meaning: 'too many requests from this client in the window; retry after Retry-After (only when RATE_LIMIT_MAX > 0)' },
  INTERNAL_ERROR: { status: 500, meaning: 'a bug: logged with the request id, nothing internal is shown' },
  DATABASE_UNAVAILABLE: { status: 503, meaning: 'MongoDB cannot be reached', retryAfter: 5 },
  LOCK_UNAVAILABLE: { status: 503, meaning: 'PUT and DELETE only: Redis (the lock service) cannot be reached', retryAfter: 5 },
  // Long enough for the backlog to drain.
  OVERLOADED: { status: 503, meaning: 'load shedding under event-loop or memory pressure; retry after Retry-After', retryAfter: 10 },
  // Other instances can answer at once.
  SHUTTING_DOWN: { status: 503, meaning: 'the instance is shutting down (a request that arrived after SIGTERM); retry', retryAfter: 1 }
} as const satisfies Record<string, { status: number, meaning: string, retryAfter?: number }>

export type ErrorCode = keyof typeof ERROR_CODES

/** Seconds a client should wait before retrying an error with this code, if it should. */
export function retryAfterOf (code: string): number | undefined {
  const known = ERROR_CODES[code as ErrorCode] as { retryAfter?: number } | undefined
  return known?.retryAfter
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
export const OrderLockedError = thrown('ORDER_LOCKED', 'Order %s is being changed by another request; retry shortly')
export const VersionConflictError = thrown('VERSION_CONFLICT',
  'Order %s was changed concurrently (expected version %s); nothing was written')
export const OrderNotModifiableError = thrown('ORDER_NOT_MODIFIABLE', 'Order %s is %s and can no longer be changed')
export const LockUnavailableError = thrown('LOCK_UNAVAILABLE', 'The lock service (Redis) is unavailable; the order was not changed')
export const UnauthorizedError = thrown('UNAUTHORIZED', '%s')
export const RateLimitedError = thrown('RATE_LIMITED', 'Rate limit exceeded, retry in %s')
export const OverloadedError = thrown('OVERLOADED', 'The service is overloaded and sheds load; retry shortly')
export const ShuttingDownError = thrown('SHUTTING_DOWN', 'This instance is shutting down; retry, another instance will answer')
