import fp from 'fastify-plugin'
import { API_SECURITY_HEADERS, DOCUMENT_HELMET_OPTIONS, DOCUMENTATION_PREFIX, helmetHeaders } from '../../src/http/security-headers.js'

/**
 * Security headers on every response, from helmet (the library @fastify/helmet wraps).
 * @fastify/helmet itself is not used: it calls `helmet(options)` inside an onRequest hook, so
 * it re-parses the options and rebuilds the middleware on every request, which measured as the
 * largest single cost of a cache hit (bench/REPORT.md). Here helmet runs once at start-up and
 * each request gets the finished headers from one synchronous hook.
 */
export default fp(async function securityHeaders (app) {
  const documentHeaders = helmetHeaders(DOCUMENT_HELMET_OPTIONS)
  // By the matched route, not the raw URL: /docsfoo or /docs/nope are API 404s and keep the
  // deny-everything CSP, and an encoded path that reaches the UI still gets the UI's set.
  const isDocumentation = (route: string | undefined) =>
    route !== undefined && (route === DOCUMENTATION_PREFIX || route.startsWith(`${DOCUMENTATION_PREFIX}/`))
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(isDocumentation(request.routeOptions.url) ? documentHeaders : API_SECURITY_HEADERS)
    done()
  })
}, { name: 'helmet' })
