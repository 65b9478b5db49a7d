import fp from 'fastify-plugin'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Graceful shutdown, the HTTP side of app.close(), shaped for a load balancer that keeps
 * keep-alive connections to this instance (the compose `scale` profile's nginx). The rule: a
 * connection is closed by this instance only between requests, never while a request may be
 * on its way in.
 * - The server stops accepting connections at once (a balancer's connect is refused and it
 *   tries another instance: nothing was sent).
 * - Every answer from then on says Connection: close: each open connection carries at most one
 *   more request, served as any other (refusing it with a 503 would reach the client for a
 *   POST, which a proxy does not retry), and is closed after its response.
 * - Idle connections are left to the balancer for DRAIN_GRACE_MS (nginx closes its idle ones
 *   after its keepalive_timeout, 2 s in deploy/nginx/scale.conf); only those still open then
 *   are closed. Closing idle keep-alive connections at once raced with the balancer writing a
 *   request into them: nginx logged "Connection reset by peer while reading response header
 *   from upstream", retried GETs and failed the rest.
 * In-flight requests run to completion; a PUT or DELETE releases its lock before it answers.
 * Only a server that listens drains this way (tests that inject close at once).
 */
export default fp(async function drainOnClose (app) {
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
    const server = app.server
    if (!server.listening) return
    // server.close() would close idle connections at once (Node >= 19): not yet.
    const closeIdleConnections = server.closeIdleConnections.bind(server)
    server.closeIdleConnections = () => {}
    const allClosed = once(server, 'close')
    server.close()
    await Promise.race([allClosed, sleep(app.config.DRAIN_GRACE_MS)])
    server.closeIdleConnections = closeIdleConnections
    closeIdleConnections()
    await allClosed
  })

  // A callback-style hook: it runs on every request, and costs nothing until the shutdown.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
}, { name: 'drain-on-close' })
