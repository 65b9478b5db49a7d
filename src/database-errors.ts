import {
  MongoClientClosedError,
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
  MongoOperationTimeoutError
]

export function isDatabaseUnavailable (err: unknown): boolean {
  if (UNAVAILABLE.some((type) => err instanceof type)) return true
  // Pool wait-queue timeouts and similar carry a network/transient label in some versions.
  const labels = (err as { errorLabels?: unknown } | null)?.errorLabels
  return Array.isArray(labels) && labels.includes('TransientTransactionError')
}
