import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { retryAfterOf } from '../../src/http/errors.js'
import { isMongoError } from '../../src/http/database-errors.js'
import { toErrorBody } from '../../src/http/error-mapping.js'

/**
 * The one error handler: every error, whoever threw it, leaves as the contract's
 * `{ statusCode, code, error, message }` body, with the Retry-After its code calls for.
 */
export default fp(async function errorHandler (app) {
  app.setErrorHandler(function handleError (err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    const body = toErrorBody(err)
    if (isMongoError(err)) app.serviceMetrics.database.errors.inc()
    if (body.statusCode >= 500) {
      request.log[body.statusCode === 503 ? 'warn' : 'error']({ err }, 'request failed: %s', body.code)
    } else {
      request.log.info({ code: body.code, message: body.message }, 'client error')
    }
    // The rate limiter sets its own: the time left in the window.
    const retryAfter = retryAfterOf(body.code)
    if (retryAfter !== undefined && !reply.hasHeader('retry-after')) reply.header('retry-after', String(retryAfter))
    return reply.code(body.statusCode).send(body)
  })
}, { name: 'error-handler', dependencies: ['service-metrics'] })
