import fp from 'fastify-plugin'
import type { onRequestHookHandler, RouteOptions } from 'fastify'
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
  // API headers the document set has no value for: removed from the documentation's answers.
  const apiOnly = Object.keys(API_SECURITY_HEADERS).filter((name) => !(name in documentHeaders))
  // Every answer gets the API set, 404s and early errors included: one synchronous hook that
  // needs nothing from the request.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(API_SECURITY_HEADERS)
    done()
  })
  // The documentation's routes, by the path they are declared with (so /docsfoo or /docs/nope are
  // API 404s and keep the deny-everything CSP, and an encoded path that reaches the UI still gets
  // the UI's set), replace it with the set its UI needs, from a hook of their own.
  const isDocumentation = (url: string) => url === DOCUMENTATION_PREFIX || url.startsWith(`${DOCUMENTATION_PREFIX}/`)
  const useDocumentHeaders: onRequestHookHandler = (_request, reply, done) => {
    for (const name of apiOnly) reply.removeHeader(name)
    reply.headers(documentHeaders)
    done()
  }
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!isDocumentation(route.url)) return
    const own = route.onRequest === undefined ? [] : [route.onRequest].flat()
    route.onRequest = [...own, useDocumentHeaders]
  })
}, { name: 'helmet' })
