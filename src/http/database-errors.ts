import {
  MongoError, MongoNetworkError, MongoNotConnectedError, MongoOperationTimeoutError,
  MongoServerSelectionError, MongoTopologyClosedError
} from 'mongodb'

// Driver errors that mean "the database cannot be reached right now": they become 503
// DATABASE_UNAVAILABLE with Retry-After. Everything else the driver raises (an invalid
// argument, a misused API, a broken invariant) is a bug of ours: 500, logged as an error.
const UNAVAILABLE = [
  MongoNetworkError, // includes MongoNetworkTimeoutError (socket timeout on a frozen server)
  MongoServerSelectionError,
  MongoOperationTimeoutError,
  MongoNotConnectedError,
  MongoTopologyClosedError
]

// The connection-pool errors, which the driver does not export as classes: a frozen server
// fills the pool with stuck operations and the next request times out waiting for a
// connection; a pool closed under a request fails it.
const POOL_ERROR_NAMES: ReadonlySet<string> = new Set(['MongoWaitQueueTimeoutError', 'MongoPoolClosedError'])

export function isDatabaseUnavailable (err: unknown): boolean {
  if (!(err instanceof MongoError)) return false
  return UNAVAILABLE.some((type) => err instanceof type) || POOL_ERROR_NAMES.has(err.name)
}

/** Any error raised by the MongoDB driver or server, counted as a database error. */
export function isMongoError (err: unknown): boolean {
  return err instanceof MongoError
}
