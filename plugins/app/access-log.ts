import fp from 'fastify-plugin'
import pino from 'pino'

/**
 * One access-log line per request, at info, when its response has gone: method, URL, status,
 * time taken, the request id (`reqId`, on every line of the request's logger), X-Cache, and for
 * an error answer its contract code (a 4xx has no other line at info; a 5xx has its own, with
 * the cause).
 * Fastify's own request logging is off (src/app.ts, its LogController): it writes two lines
 * per request, "incoming request" and "request completed", and the first says nothing the second
 * does not, at the cost of a serialisation and a write on every cache hit. The start of a request
 * is still logged at debug ("incoming request"), for whoever follows requests one by one.
 */
/** Whether a logger at `logLevel` writes lines at `level` (pino's own table of levels; silent writes none). */
const logs = (logLevel: string, level: string) => (pino.levels.values[logLevel] ?? Infinity) <= (pino.levels.values[level] as number)

export default fp(async function accessLog (app) {
  // The hooks exist only at the levels that write their lines: none at warn and above.
  if (logs(app.log.level, 'debug')) {
    app.addHook('onRequest', (request, _reply, done) => {
      request.log.debug({ req: request }, 'incoming request')
      done()
    })
  }
  if (!logs(app.log.level, 'info')) return
  // Callback style, like every hook a cache hit passes through: no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    reply.log.info({
      // Fastify's serializers: req as method, url, host, remoteAddress and remotePort; res as statusCode.
      req: request,
      res: reply,
      responseTime: reply.elapsedTime,
      cache: reply.getHeader('x-cache'),
      code: request.errorCode ?? undefined
    }, 'request completed')
    done()
  })
}, { name: 'access-log' })
