import fp from 'fastify-plugin'
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { writeErrorToSocket } from '../../src/http/early-errors.js'
import { errorBody, type ErrorBody } from '../../src/http/errors.js'

// Methods listed first in Allow, in this order; any other method a route serves follows.
const USUAL_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

function pathOf (request: FastifyRequest): string {
  return request.url.split('?')[0] as string
}

/**
 * The methods the resource at `path` serves, for Allow; empty when no route has this path.
 * A wildcard route (CORS's catch-all OPTIONS, the documentation's static files) does not make
 * a path known. Every known path also answers OPTIONS: preflights through CORS, the rest here.
 */
function allowedMethods (app: FastifyInstance, path: string): string[] {
  // Only an origin-form target names a path (a CONNECT's host:port would confuse the router).
  if (!path.startsWith('/')) return []
  const served = app.supportedMethods.filter((method) => {
    if (method === 'OPTIONS') return false
    const route = app.findRoute({ method, url: path })
    return route !== null && !('*' in route.params)
  })
  if (served.length === 0) return []
  const rank = (method: string) => USUAL_ORDER.includes(method) ? USUAL_ORDER.indexOf(method) : USUAL_ORDER.length
  return [...served, 'OPTIONS'].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
}

function notFoundBody (method: string, path: string): ErrorBody {
  return errorBody('ROUTE_NOT_FOUND', `Route ${method} ${path} not found`)
}

function methodNotAllowedBody (method: string, path: string, allowed: string[]): ErrorBody {
  return errorBody('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`)
}

function routeNotFound (request: FastifyRequest, reply: FastifyReply) {
  return reply.code(404).send(notFoundBody(request.method, pathOf(request)))
}

/**
 * Requests no route takes (RFC 9110): a path nothing serves is 404 ROUTE_NOT_FOUND; a known
 * path asked with a method it does not serve is 405 METHOD_NOT_ALLOWED with Allow; an OPTIONS
 * request that is not a CORS preflight is 204 with Allow (preflights are @fastify/cors's: this
 * plugin is registered before it, and its onRequest hook lets them through); CONNECT, which
 * Node keeps from the router, gets the same 405 or 404. Every answer carries the contract's
 * error body and the headers of the hooks before it (security headers, request id).
 */
export default fp(async function notFound (app) {
  app.setNotFoundHandler(routeNotFound)

  // 405 is decided before the body is read: the method is wrong whatever the body, so a PATCH
  // with a text/plain body is 405, not 415. preParsing, not onRequest: it runs after every
  // onRequest hook, so the answer has the CORS headers like a 404 would.
  app.addHook('preParsing', (request, reply, payload, done) => {
    if (!request.is404) return done(null, payload)
    const allowed = allowedMethods(app, pathOf(request))
    if (allowed.length === 0) return done(null, payload)
    reply.code(405).header('allow', allowed.join(', ')).send(methodNotAllowedBody(request.method, pathOf(request), allowed))
  })

  // Node hands CONNECT requests to this event instead of the router, and without a listener
  // it drops the connection unanswered. Nothing here is a proxy: answer as for any other method.
  app.server.on('connect', (request: IncomingMessage, socket: Socket) => {
    const path = (request.url ?? '').split('?')[0] as string
    const allowed = allowedMethods(app, path)
    const body = allowed.length === 0 ? notFoundBody('CONNECT', path) : methodNotAllowedBody('CONNECT', path, allowed)
    writeErrorToSocket(socket, body, randomUUID(), allowed.length === 0 ? {} : { allow: allowed.join(', ') })
    socket.end()
  })

  app.addHook('onRequest', (request, reply, done) => {
    const preflight = request.headers.origin !== undefined && request.headers['access-control-request-method'] !== undefined
    if (request.method !== 'OPTIONS' || preflight) return done()
    const allowed = allowedMethods(app, pathOf(request))
    // Answered here, so done() is not called; nothing is returned (a reply is thenable, and
    // a thenable returned from a hook would resume the chain once it is sent).
    if (allowed.length === 0) {
      routeNotFound(request, reply)
      return
    }
    reply.code(204).header('allow', allowed.join(', ')).send()
  })
}, { name: 'not-found', dependencies: ['error-handler'] })
