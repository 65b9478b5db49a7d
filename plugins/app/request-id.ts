import fp from 'fastify-plugin'

/**
 * Echoes the request id on every response as X-Request-Id: the caller's own id when it sent
 * a usable one (see requestId in src/app.ts), else the one the service generated. Clients and
 * proxies can then match a response to the service's log lines (`reqId`).
 */
export default fp(async function requestId (app) {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id)
    return payload
  })
}, { name: 'request-id' })
