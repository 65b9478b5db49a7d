import {
  MongoClientClosedError,
  MongoDriverError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerSelectionError,
  MongoTopologyClosedError
} from 'mongodb'

// Driver errors that mean "the database cannot be reached right now" (as opposed to a bug
// or a rejected command). They become 503 DATABASE_UNAVAILABLE with Retry-After.
const UNAVAILABLE = [
  MongoNetworkError, // includes MongoNetworkTimeoutError (socket timeout on a frozen server)
  MongoServerSelectionError,
  MongoNotConnectedError,
  MongoTopologyClosedError,
  MongoServerClosedError,
  MongoClientClosedError,
  MongoDriverError,
  MongoOperationTimeoutError
]

// Connection-pool errors the driver does not export as classes: a frozen server fills the pool
// with stuck operations, and the next request times out waiting for a connection.
const UNAVAILABLE_POOL_ERRORS = new Set(['MongoWaitQueueTimeoutError', 'MongoPoolClearedError', 'MongoPoolClosedError'])

export function isDatabaseUnavailable (err: unknown): boolean {
  if (UNAVAILABLE.some((type) => err instanceof type)) return true
  return err instanceof MongoDriverError && UNAVAILABLE_POOL_ERRORS.has(err.name)
}

/** Any error raised by the MongoDB driver or server, counted as a database error. */
export function isMongoError (err: unknown): boolean {
  return err instanceof MongoError
}
