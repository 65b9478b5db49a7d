import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { retryAfterOf } from '../../src/http/errors.js'
import { isMongoError } from '../../src/http/database-errors.js'
import { toErrorBody } from '../../src/http/error-mapping.js'

/**
 * The one error handler: every error, whoever threw it, leaves as the contract's
 * `{ statusCode, code, error, message }` body, with the Retry-After its code calls for.
 */
declare module 'fastify' {
  interface FastifyRequest {
    /** The contract code of the error this request was answered with, for its access-log line. */
    errorCode: string | null
  }
}

export default fp(async function errorHandler (app) {
  app.decorateRequest('errorCode', null)
  app.setErrorHandler(function handleError (err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    const body = toErrorBody(err)
    request.errorCode = body.code
    if (isMongoError(err)) app.serviceMetrics.database.errors.inc()
    if (body.statusCode >= 500) {
      request.log[body.statusCode === 503 ? 'warn' : 'error']({ err }, 'request failed: %s', body.code)
    } else {
      // The request's access-log line carries the code (plugins/app/access-log.ts); the message at debug.
      request.log.debug({ code: body.code, message: body.message }, 'client error')
    }
    // The rate limiter sets its own: the time left in the window.
    const retryAfter = retryAfterOf(body.code)
    if (retryAfter !== undefined && !reply.hasHeader('retry-after')) reply.header('retry-after', String(retryAfter))
    return reply.code(body.statusCode).send(body)
  })
}, { name: 'error-handler', dependencies: ['service-metrics'] })
