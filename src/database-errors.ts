import { MongoDriverError, MongoError, MongoNetworkError, MongoServerSelectionError } from 'mongodb'

// Driver errors that mean "the database cannot be reached right now" (as opposed to a bug
// or a rejected command). They become 503 DATABASE_UNAVAILABLE with Retry-After.
const UNAVAILABLE = [
  MongoNetworkError, // includes MongoNetworkTimeoutError (socket timeout on a frozen server)
  MongoServerSelectionError,
  // Errors raised by the driver itself, not by a server: not connected, topology or client
  // closed, operation timed out, and the connection-pool errors it does not export as classes
  // (a frozen server fills the pool with stuck operations; the next request times out waiting).
  MongoDriverError
]

export function isDatabaseUnavailable (err: unknown): boolean {
  return UNAVAILABLE.some((type) => err instanceof type)
}

/** Any error raised by the MongoDB driver or server, counted as a database error. */
export function isMongoError (err: unknown): boolean {
  return err instanceof MongoError
}
