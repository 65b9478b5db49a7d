import {
  MongoError, MongoErrorLabel, MongoNetworkError, MongoNotConnectedError, MongoOperationTimeoutError, MongoServerError,
  MongoServerSelectionError, MongoTopologyClosedError, MongoWriteConcernError
} from 'mongodb'

// Driver errors that mean "the database cannot be reached right now": they become 503
// DATABASE_UNAVAILABLE with Retry-After (or, for a write already sent, WRITE_OUTCOME_UNKNOWN:
// see `writeFailure`). Everything else the driver raises (an invalid argument, a misused API, a
// broken invariant) is a bug of ours: 500, logged as an error.
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

// Server errors that say "not now, here": the server is shutting down, or is not (or no longer)
// the primary. MongoDB answers them during a shutdown or a replica set's election, and a bug of
// ours never causes them.
// - Refused before doing anything: ShutdownInProgress (91), NotWritablePrimary (10107),
//   NotPrimaryNoSecondaryOk (13435), NotPrimaryOrSecondary (13436), PrimarySteppedDown (189).
// - Interrupted part-way: InterruptedAtShutdown (11600), InterruptedDueToReplStateChange
//   (11602); a write so interrupted may or may not have been applied.
const REFUSED_CODES: ReadonlySet<number> = new Set([91, 10107, 13435, 13436, 189])
const INTERRUPTED_CODES: ReadonlySet<number> = new Set([11600, 11602])
function isServerUnavailable (err: MongoError): boolean {
  return err instanceof MongoServerError && (REFUSED_CODES.has(Number(err.code)) || INTERRUPTED_CODES.has(Number(err.code)))
}

export function isDatabaseUnavailable (err: unknown): boolean {
  if (!(err instanceof MongoError)) return false
  return UNAVAILABLE.some((type) => err instanceof type) || POOL_ERROR_NAMES.has(err.name) || isServerUnavailable(err)
}

// The errors the driver raises before a command is written to any connection (mongodb v7):
// no server could be selected, the client or topology is closed, no pooled connection could
// be had in time (wait queue), the pool is closed or paused after a failure (checked out from
// a cleared pool: `MongoPoolClearedError` exactly; its subclass `PoolClearedOnNetworkError`
// interrupts commands in flight and is not one of these), or the connection the command was
// meant for could not be established: a network error labelled by the driver's connection
// establishment (socket or handshake: HandshakeError, SystemOverloadedError; a database that
// is stopped refuses the connection so), or a timeout before the handshake completed. Anything
// else (a socket timeout or a closed connection while waiting for the reply, a CSOT timeout,
// an unknown error) may come after the command left.
const BEFORE_SENDING = [MongoServerSelectionError, MongoNotConnectedError, MongoTopologyClosedError]
const BEFORE_SENDING_NAMES: ReadonlySet<string> = new Set(['MongoWaitQueueTimeoutError', 'MongoPoolClosedError', 'MongoPoolClearedError'])

/** Whether the driver raised `err` before writing the command to a connection. */
export function failedBeforeSending (err: unknown): boolean {
  if (!(err instanceof MongoError)) return false
  if (BEFORE_SENDING.some((type) => err instanceof type) || BEFORE_SENDING_NAMES.has(err.name)) return true
  if (!(err instanceof MongoNetworkError)) return false
  if (err.hasErrorLabel(MongoErrorLabel.HandshakeError) || err.hasErrorLabel(MongoErrorLabel.SystemOverloadedError)) return true
  // Not in the driver's public types; set on a timeout of a connection whose hello never completed.
  return (err as { beforeHandshake?: boolean }).beforeHandshake === true
}

/**
 * A write that was sent to the database and whose outcome is unknown: the reply was lost (a
 * socket timeout on a slow or frozen server, a connection closed under it) or the write
 * concern was not confirmed. The database may apply it, or may already have. 503
 * WRITE_OUTCOME_UNKNOWN; the driver's error is its cause.
 */
export class WriteOutcomeUnknownError extends Error {
  constructor (readonly operation: 'insert' | 'update', readonly orderId: string | undefined, options: { cause: unknown }) {
    super(`the database did not confirm the ${operation}${orderId ? ` of order ${orderId}` : ''}: it may or may not have been applied`, options)
    this.name = 'WriteOutcomeUnknownError'
  }
}

/**
 * What a failed write raised means for the client. `attemptSent` says whether the driver put
 * the command (or one attempt of it, when it retries writes) on a connection; a write failure
 * is "not applied" (the driver's own error, then DATABASE_UNAVAILABLE) only when both the
 * error and `attemptSent` say nothing was sent. Where that cannot be told, the outcome is
 * unknown: never claim "not applied" when unsure.
 */
export function writeFailure (err: unknown, operation: 'insert' | 'update', orderId: string | undefined, attemptSent: boolean): unknown {
  // Applied on the primary, not confirmed by the write concern: it may survive or roll back.
  if (err instanceof MongoWriteConcernError) return new WriteOutcomeUnknownError(operation, orderId, { cause: err })
  if (err instanceof MongoServerError) {
    const code = Number(err.code)
    // Interrupted by a shutdown or an election: the write may or may not have been applied.
    if (INTERRUPTED_CODES.has(code)) return new WriteOutcomeUnknownError(operation, orderId, { cause: err })
    // Where the driver retries writes (replica sets, sharded clusters), a refusal after an
    // attempt was sent may be the retry's, the first attempt's outcome unknown (the driver
    // raises the first attempt's error instead when the retry says NoWritesPerformed).
    if (REFUSED_CODES.has(code) && attemptSent && !err.hasErrorLabel(MongoErrorLabel.NoWritesPerformed)) {
      return new WriteOutcomeUnknownError(operation, orderId, { cause: err })
    }
  }
  // The server answered with an error: it did not apply the write.
  if (err instanceof MongoServerError || !(err instanceof MongoError)) return err
  if (failedBeforeSending(err) && !attemptSent) return err
  if (isDatabaseUnavailable(err) || attemptSent) return new WriteOutcomeUnknownError(operation, orderId, { cause: err })
  return err
}

/** Any error raised by the MongoDB driver or server (or a write left unconfirmed), counted as a database error. */
export function isMongoError (err: unknown): boolean {
  return err instanceof MongoError || err instanceof WriteOutcomeUnknownError
}
