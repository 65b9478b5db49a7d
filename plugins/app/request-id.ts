import fp from 'fastify-plugin'

/**
 * Echoes the request id on every response as X-Request-Id: the caller's own id when it sent
 * a usable one (see requestId in src/app.ts), else the one the service generated. Clients and
 * proxies can then match a response to the service's log lines (`reqId`).
 */
export default fp(async function requestId (app) {
  // Callback style, like every hook a cache hit passes through: an async hook costs a promise
  // and a microtask per request for nothing.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    done(null, payload)
  })
}, { name: 'request-id' })
