import createError from '@fastify/error'

// Every error the service throws on purpose: a stable machine `code`, an HTTP status and a
// message safe to show a client. The root error handler (plugins/app/error-handler.ts) turns
// these, Fastify's own client errors and driver outages into the contract's error body.

export const ValidationError = createError('VALIDATION_ERROR', '%s', 400)
export const OrderNotFoundError = createError('ORDER_NOT_FOUND', 'Order %s not found', 404)
export const PreconditionFailedError = createError(
  'PRECONDITION_FAILED', 'Order %s has changed: If-Match %s does not match its current ETag %s', 412)
export const OrderLockedError = createError(
  'ORDER_LOCKED', 'Order %s is being changed by another request; retry shortly', 409)
export const VersionConflictError = createError(
  'VERSION_CONFLICT', 'Order %s was changed concurrently (expected version %s); nothing was written', 409)
export const OrderNotModifiableError = createError(
  'ORDER_NOT_MODIFIABLE', 'Order %s is %s and can no longer be changed', 422)
export const LockUnavailableError = createError(
  'LOCK_UNAVAILABLE', 'The lock service (Redis) is unavailable; the order was not changed', 503)
export const DatabaseUnavailableError = createError(
  'DATABASE_UNAVAILABLE', 'The database is unavailable; retry shortly', 503)
export const UnauthorizedError = createError('UNAUTHORIZED', '%s', 401)
export const RateLimitedError = createError('RATE_LIMITED', 'Rate limit exceeded, retry in %s', 429)
export const OverloadedError = createError(
  'OVERLOADED', 'The service is overloaded and sheds load; retry shortly', 503)
export const ShuttingDownError = createError(
  'SHUTTING_DOWN', 'This instance is shutting down; retry, another instance will answer', 503)

/**
 * Seconds a client should wait before retrying a 409 (lock held), a 503 (dependency down), a
 * 503 OVERLOADED (load shedding: long enough for the backlog to drain) or a 503 SHUTTING_DOWN
 * (other instances can answer at once). A 429 says its own: the time left in the window.
 */
export const RETRY_AFTER_SECONDS = { conflict: 1, unavailable: 5, overloaded: 10, shuttingDown: 1 } as const
