import fp from 'fastify-plugin'
import fastifyBearerAuth from '@fastify/bearer-auth'
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import { apiTokens } from '../../src/config.js'
import { UnauthorizedError } from '../../src/http/errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * What the mutating routes declare as their `onRequest`: the hook that answers 401 without
     * a valid bearer token, or no hook at all when authentication is off.
     */
    authenticate: onRequestHookHandler[]
  }
}

const REALM = 'Bearer realm="order-service"'

/**
 * Optional bearer-token authentication with @fastify/bearer-auth, in constant time against the
 * tokens of API_TOKENS. Decorates `authenticate`, which POST, PUT and DELETE declare as their
 * `onRequest`; reads stay open. With API_TOKENS empty it is no hook at all. A request
 * without a valid token gets 401 UNAUTHORIZED and WWW-Authenticate, before its body is even
 * read, and takes no lock.
 */
export default fp(async function bearerAuth (app) {
  const tokens = apiTokens(app.config)
  if (tokens.length === 0) {
    app.log.info('API_TOKENS is empty: POST, PUT and DELETE are not authenticated')
    app.decorate('authenticate', [])
    return
  }

  // addHook false: the plugin only decorates verifyBearerAuth, called below.
  await app.register(fastifyBearerAuth, { keys: tokens, addHook: false, verifyErrorLogLevel: 'debug' })
  const verify = app.verifyBearerAuth
  if (!verify) throw new Error('@fastify/bearer-auth did not decorate verifyBearerAuth')

  app.decorate('authenticate', [function authenticate (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) {
    verify(request, reply, (err) => {
      if (!err) return done()
      // RFC 6750: no error attribute when no credentials were sent at all.
      const missing = request.headers.authorization === undefined
      reply.header('www-authenticate', missing ? REALM : `${REALM}, error="invalid_token"`)
      done(new UnauthorizedError(missing ? 'A bearer token is required' : 'The bearer token is not valid'))
    })
  }])
}, { name: 'bearer-auth' })
