import fp from 'fastify-plugin'
import fastifyBearerAuth from '@fastify/bearer-auth'
import type { FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify'
import { apiTokens } from '../../src/config.js'
import { UnauthorizedError } from '../../src/errors.js'
import { errorResponse } from '../../src/schemas/common.js'
import { addResponse } from '../../src/route-schema.js'

const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const REALM = 'Bearer realm="order-service"'

/** The OpenAPI security requirement of the mutating routes (scheme declared in swagger.ts). */
export const BEARER_SECURITY = [{ bearerAuth: [] }]

function asArray<T> (value: T | T[] | undefined): T[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}

/**
 * Optional bearer-token authentication of the mutating routes (POST, PUT, DELETE) with
 * @fastify/bearer-auth, in constant time against the tokens of API_TOKENS. Off when API_TOKENS
 * is empty; reads stay open either way. A request without a valid token gets 401 UNAUTHORIZED
 * and WWW-Authenticate, before its body is even read, and takes no lock.
 */
export default fp(async function bearerAuth (app) {
  const tokens = apiTokens(app.config)
  if (tokens.length === 0) {
    app.log.info('API_TOKENS is empty: POST, PUT and DELETE are not authenticated')
    return
  }

  // addHook false: the plugin only decorates verifyBearerAuth; the routes opt in below.
  await app.register(fastifyBearerAuth, { keys: tokens, addHook: false, verifyErrorLogLevel: 'debug' })
  const verify = app.verifyBearerAuth
  if (!verify) throw new Error('@fastify/bearer-auth did not decorate verifyBearerAuth')

  const authenticate: onRequestHookHandler = function authenticate (request: FastifyRequest, reply: FastifyReply, done) {
    verify(request, reply, (err) => {
      if (!err) return done()
      // RFC 6750: no error attribute when no credentials were sent at all.
      const missing = request.headers.authorization === undefined
      reply.header('www-authenticate', missing ? REALM : `${REALM}, error="invalid_token"`)
      done(new UnauthorizedError(missing ? 'A bearer token is required' : 'The bearer token is not valid'))
    })
  }

  app.addHook('onRoute', (route: RouteOptions) => {
    if (!asArray(route.method).some((method) => MUTATING_METHODS.has(method))) return
    route.onRequest = [...asArray(route.onRequest), authenticate]
    addResponse(route, 401, errorResponse(401))
    if (route.schema && route.schema.hide !== true) route.schema = { ...route.schema, security: BEARER_SECURITY }
  })
}, { name: 'bearer-auth' })
