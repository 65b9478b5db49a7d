import fp from 'fastify-plugin'
import { RETRY_AFTER_SECONDS, ShuttingDownError } from '../../src/errors.js'
import { errorResponse } from '../../src/schemas/common.js'
import { addResponse } from '../../src/route-schema.js'

/**
 * Graceful shutdown, the HTTP side of app.close(). Closing the server stops new connections and
 * closes the idle keep-alive ones; this plugin handles the rest:
 * - a request arriving after the shutdown began, on a connection opened before it, is not
 *   started: it gets 503 SHUTTING_DOWN (the contract body) with Retry-After, so a client or
 *   load balancer retries on another instance;
 * - a connection busy with a request when the shutdown began would stay open after its answer,
 *   idle until keepAliveTimeout (72 s), and hold the shutdown past its deadline: while closing,
 *   every answer says Connection: close, and each finished request closes the connections
 *   that are idle by then.
 * In-flight requests run to completion; a PUT or DELETE releases its lock before it answers.
 */
export default fp(async function drainOnClose (app) {
  let closing = false
  app.addHook('preClose', async () => { closing = true })

  // Callback-style hooks: they run on every request, and cost nothing until the shutdown.
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done()
    reply.header('retry-after', String(RETRY_AFTER_SECONDS.shuttingDown))
    done(new ShuttingDownError())
  })
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
  app.addHook('onResponse', (_request, _reply, done) => {
    if (closing) setImmediate(() => app.server.closeIdleConnections())
    done()
  })

  app.addHook('onRoute', (route) => addResponse(route, 503, errorResponse(503)))
}, { name: 'drain-on-close' })
