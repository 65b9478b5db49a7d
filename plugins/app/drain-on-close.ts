import fp from 'fastify-plugin'
import { ShuttingDownError } from '../../src/http/errors.js'

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
  app.addHook('onRequest', (_request, _reply, done) => {
    if (!closing) return done()
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
}, { name: 'drain-on-close' })
