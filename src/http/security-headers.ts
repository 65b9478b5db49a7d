import helmet, { type HelmetOptions } from 'helmet'
import type { IncomingMessage, ServerResponse } from 'node:http'

// The security headers, computed once from helmet's options; plugins/external/helmet.ts sets
// them on every response, src/http/early-errors.ts on the answers written before any hook.

/**
 * What the API's JSON responses get: the headers that mean something for an API (the OWASP
 * REST Security cheat sheet's set). Its Content Security Policy allows nothing at all, so a
 * response opened as a page can run and embed nothing. Cross-Origin-Resource-Policy stays
 * same-origin: it only restricts no-cors embeds, never the admin UI's CORS requests. The
 * headers that only mean something for an HTML document (opener and origin-agent isolation,
 * DNS prefetch, IE's download and XSS-filter switches, Flash's cross-domain policy) are left
 * off: every one is a few dozen bytes and a header check on every cache hit, for nothing.
 */
export const API_HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] }
  },
  // DENY, not helmet's SAMEORIGIN: it must say what the CSP's frame-ancestors 'none' says
  // (browsers that know CSP ignore it; the older ones that read only this header must agree).
  xFrameOptions: { action: 'deny' },
  // HSTS only means something behind TLS, which a proxy terminates; it does no harm there.
  strictTransportSecurity: { maxAge: 15552000, includeSubDomains: true },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false
}

/**
 * What the documentation UI under /docs (HTML pages and their assets) gets: helmet's full
 * document set, except the Content Security Policy, which the UI sets itself
 * (plugins/external/swagger.ts) so that its scripts and styles load.
 */
export const DOCUMENT_HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: false,
  strictTransportSecurity: API_HELMET_OPTIONS.strictTransportSecurity
}

export const DOCUMENTATION_PREFIX = '/docs'

/**
 * The headers helmet's middleware sets for `options`, computed once: the middleware runs
 * against a recorder instead of a live response. Our options hold no per-request part (no CSP
 * nonce, no directive computed from the request), so every response gets the same headers.
 */
export function helmetHeaders (options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader (name: string, value: string | number | readonly string[]) { headers[name.toLowerCase()] = String(value) },
    removeHeader (name: string) { delete headers[name.toLowerCase()] }
  }
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => { if (err) throw err })
  return headers
}

/** The API's security headers, for the few answers written before any hook runs (src/http/early-errors.ts). */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = helmetHeaders(API_HELMET_OPTIONS)
