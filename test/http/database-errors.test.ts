import t from 'tap'
import type { FastifyError } from 'fastify'
import {
  MongoErrorLabel, MongoInvalidArgumentError, MongoNetworkError, MongoNetworkTimeoutError, MongoRuntimeError, MongoServerError,
  MongoServerSelectionError, MongoWriteConcernError
} from 'mongodb'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { isDatabaseUnavailable, isMongoError, writeFailure, WriteOutcomeUnknownError } from '../../src/http/database-errors.js'
import { toErrorBody } from '../../src/http/error-mapping.js'
import { retryAfterOf } from '../../src/http/errors.js'
import { mayHaveWritten } from '../../routes/orders/write.js'
import { isolatedMongoUrl, isolatedRedisUrl } from '../helper.js'

// Only an unreachable database is a 503: a driver error that says our code misused the driver
// is a bug, answered 500 INTERNAL_ERROR and logged as an error.

t.test('driver programming errors are 500 INTERNAL_ERROR, not 503', async (t) => {
  const config = loadConfig({ LOG_LEVEL: 'silent', MONGODB_URL: isolatedMongoUrl(), REDIS_URL: await isolatedRedisUrl(t) })
  const app = await buildApp({ config })
  t.teardown(() => app.close())
  const orders = () => app.mongo.client.db(new URL(config.MONGODB_URL).pathname.slice(1)).collection('orders')
  // Real driver errors, raised by the real driver: a bad sort direction, a session used after
  // it ended; and the runtime error class the driver raises on broken internal invariants.
  app.get('/misuse/argument', async () => orders().find({}, { sort: { createdAt: 'sideways' as unknown as 1 } }).toArray())
  app.get('/misuse/api', async () => {
    const session = app.mongo.client.startSession()
    await session.endSession()
    return orders().findOne({}, { session })
  })
  app.get('/misuse/runtime', async () => { throw new MongoRuntimeError('broken invariant') })
  await app.ready()

  for (const url of ['/misuse/argument', '/misuse/api', '/misuse/runtime']) {
    const response = await app.inject(url)
    t.equal(response.statusCode, 500, `${url} -> 500`)
    t.equal(response.json().code, 'INTERNAL_ERROR')
    t.equal(response.headers['retry-after'], undefined, 'no Retry-After: retrying will not help')
  }
  await t.rejects(async () => orders().find({}, { sort: { createdAt: 'sideways' as unknown as 1 } }).toArray(), MongoInvalidArgumentError,
    'the first route raises MongoInvalidArgumentError')
})

// A failed write is "not applied" (503 DATABASE_UNAVAILABLE) only when nothing was sent: the
// error is one the driver raises before writing a command, and no earlier attempt of it went
// out (a driver that retries writes may end with the retry's server-selection error). The
// real-server cases are in test/faults/write-outcome.test.ts; these are the ones a standalone
// FerretDB cannot produce (a retried write, a write concern not met).
t.test('writeFailure: not applied only when certainly not sent', async (t) => {
  const topology = { error: null } as unknown as ConstructorParameters<typeof MongoServerSelectionError>[1]
  const selection = () => new MongoServerSelectionError('Server selection timed out after 1000 ms', topology)
  const handshake = () => {
    const err = new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:1')
    err.addErrorLabel(MongoErrorLabel.SystemOverloadedError)
    return err
  }
  const noWrites = (err: MongoServerError) => {
    err.addErrorLabel(MongoErrorLabel.NoWritesPerformed)
    return err
  }
  const concern = new MongoWriteConcernError({ writeConcernError: { code: 64, errmsg: 'waiting for replication timed out' }, ok: 1 })
  const cases: Array<[string, unknown, boolean, 'DATABASE_UNAVAILABLE' | 'WRITE_OUTCOME_UNKNOWN' | 'other']> = [
    ['server selection failed, nothing sent', selection(), false, 'DATABASE_UNAVAILABLE'],
    ['server selection of a retry, after an attempt was sent', selection(), true, 'WRITE_OUTCOME_UNKNOWN'],
    ['connection refused while establishing it', handshake(), false, 'DATABASE_UNAVAILABLE'],
    ['socket timeout waiting for the reply', new MongoNetworkTimeoutError('connection 1 to 127.0.0.1:1 timed out'), false, 'WRITE_OUTCOME_UNKNOWN'],
    ['connection closed waiting for the reply', new MongoNetworkError('connection 1 to 127.0.0.1:1 closed'), false, 'WRITE_OUTCOME_UNKNOWN'],
    ['write concern not confirmed', concern, false, 'WRITE_OUTCOME_UNKNOWN'],
    ['the server refused the write', new MongoServerError({ message: 'E11000 duplicate key', code: 11000 }), false, 'other'],
    // A MongoDB shutting down or losing its primary role answers these; a bug never causes them.
    ['the server is shutting down (ShutdownInProgress)', new MongoServerError({ message: 'shutdown in progress', code: 91 }), false, 'DATABASE_UNAVAILABLE'],
    ['not the primary (NotWritablePrimary)', new MongoServerError({ message: 'not primary', code: 10107 }), false, 'DATABASE_UNAVAILABLE'],
    ['the primary stepped down (PrimarySteppedDown)', new MongoServerError({ message: 'primary stepped down', code: 189 }), false, 'DATABASE_UNAVAILABLE'],
    ['interrupted at shutdown (InterruptedAtShutdown)', new MongoServerError({ message: 'interrupted at shutdown', code: 11600 }), false, 'WRITE_OUTCOME_UNKNOWN'],
    ['interrupted by an election (InterruptedDueToReplStateChange)', new MongoServerError({ message: 'operation was interrupted', code: 11602 }), false, 'WRITE_OUTCOME_UNKNOWN'],
    ['refused after an attempt was sent: the retry\'s refusal, the first attempt unknown', new MongoServerError({ message: 'not primary', code: 10107 }), true, 'WRITE_OUTCOME_UNKNOWN'],
    ['refused, labelled NoWritesPerformed by the driver\'s retry', noWrites(new MongoServerError({ message: 'not primary', code: 10107 })), true, 'DATABASE_UNAVAILABLE'],
    ['a server error of ours (InternalError) stays a bug', new MongoServerError({ message: 'internal', code: 1 }), false, 'other'],
    ['not a driver error', new TypeError('a bug'), false, 'other']
  ]
  for (const [name, err, attemptSent, expected] of cases) {
    const result = writeFailure(err, 'update', '0123456789abcdef01234567', attemptSent)
    const got = result instanceof WriteOutcomeUnknownError
      ? 'WRITE_OUTCOME_UNKNOWN'
      : result === err && isDatabaseUnavailable(err) ? 'DATABASE_UNAVAILABLE' : 'other'
    t.equal(got, expected, name)
    if (result instanceof WriteOutcomeUnknownError) t.equal(result.cause, err, 'the driver error is kept as the cause')
  }

  const unknown = new WriteOutcomeUnknownError('update', '0123456789abcdef01234567', { cause: selection() })
  const body = toErrorBody(unknown as unknown as FastifyError)
  t.equal(body.statusCode, 503)
  t.equal(body.code, 'WRITE_OUTCOME_UNKNOWN')
  t.match(body.message, /If-Match/)
  t.equal(retryAfterOf(body.code), 5)
  t.ok(mayHaveWritten(503, JSON.stringify(body)), 'it may hide a write: the mutation still invalidates')
  t.ok(isMongoError(unknown), 'counted as a database error')
  t.match(toErrorBody(new WriteOutcomeUnknownError('insert', undefined, { cause: null }) as unknown as FastifyError).message, /second order/)
})
