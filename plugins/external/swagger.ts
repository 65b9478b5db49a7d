import fp from 'fastify-plugin'
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifySchema } from 'fastify'
import { apiTokens } from '../../src/config.js'
import { DOCUMENTATION_PREFIX } from '../../src/http/security-headers.js'

// Response headers worth documenting, by status: every route that can answer the status
// sends the header, so they are added to the document here rather than in each route.
const HEADER_DOCS: Record<string, Record<string, object>> = {
  401: { 'WWW-Authenticate': { type: 'string', description: 'Bearer realm="order-service", with error="invalid_token" when a token was sent' } },
  409: { 'Retry-After': { type: 'integer', description: 'seconds to wait before retrying' } },
  429: { 'Retry-After': { type: 'integer', description: 'seconds until the rate-limit window resets' } },
  503: { 'Retry-After': { type: 'integer', description: 'seconds to wait before retrying' } }
}
const X_CACHE = { 'X-Cache': { type: 'string', enum: ['HIT', 'MISS', 'BYPASS'], description: 'HIT, MISS or BYPASS (Redis unavailable or the cache disabled)' } }
/** With CACHE_GRACE_SECONDS: an entry past its TTL, its generation current, served while MongoDB cannot answer. */
const X_CACHE_WITH_GRACE = {
  'X-Cache': { type: 'string', enum: ['HIT', 'MISS', 'BYPASS', 'GRACE'], description: 'HIT, MISS, BYPASS (Redis unavailable or the cache disabled) or GRACE (served past its TTL while MongoDB cannot answer; still current)' },
  Age: { type: 'integer', minimum: 0, description: 'with X-Cache: GRACE only: seconds since the entry was filled' }
}
const ETAG = {
  ETag: {
    type: 'string',
    pattern: '^"[0-9]+(-(br|gzip))?"$',
    description: 'the order\'s version as a strong entity tag, for If-Match and If-None-Match; a compressed answer\'s carries its coding ("3-br")'
  }
}
const LIST_ETAG = {
  ETag: {
    type: 'string',
    pattern: '^"[0-9a-f]{20}(-(br|gzip))?"$',
    description: 'a digest of the page as a strong entity tag, for If-None-Match; a compressed answer\'s carries its coding'
  }
}
const CACHE_CONTROL = { 'Cache-Control': { type: 'string', enum: ['no-cache'], description: 'revalidate every time (If-None-Match): any write may change the answer' } }
const LOCATION = { Location: { type: 'string', pattern: '^/orders/[0-9a-f]{24}$', description: 'the new order' } }

/** The headers of a success answer: X-Cache, Cache-Control and a tag on cached reads, ETag wherever one order is answered. */
function successHeaders (status: string, url: string, cached: boolean, grace: boolean): Record<string, object> | undefined {
  if (status === '201') return { ...LOCATION, ...ETAG }
  if (status !== '200' && status !== '304') return undefined
  const tag = url === '/orders/:id' ? ETAG : (cached ? LIST_ETAG : {})
  const headers = { ...(cached ? { ...(grace ? X_CACHE_WITH_GRACE : X_CACHE), ...CACHE_CONTROL } : {}), ...tag }
  return Object.keys(headers).length > 0 ? headers : undefined
}

/**
 * The route's schema as the document shows it: response headers added by status, and what the
 * route declares for optional features that are off here left out (401 and its security
 * requirement without API_TOKENS, 429 without a rate limit).
 */
function documented (schema: FastifySchema, url: string, cached: boolean, off: ReadonlySet<string>, authenticated: boolean, grace: boolean): FastifySchema {
  const responses = (schema.response ?? {}) as Record<string, object>
  const response = Object.fromEntries(Object.entries(responses).filter(([status]) => !off.has(status)).map(([status, body]) => {
    const headers = successHeaders(status, url, cached, grace) ?? HEADER_DOCS[status]
    return [status, headers ? { ...body, headers } : body]
  }))
  const { security, ...rest } = schema as FastifySchema & { security?: unknown }
  return { ...rest, response, ...(authenticated && security ? { security } : {}) }
}

/** Where the OpenAPI document is served. */
export const OPENAPI_URL = '/openapi.json'

/**
 * A query parameter with a default is not required of the client: validation fills it in
 * (useDefaults) before `required` is checked. The route schema keeps it required, so the
 * handler's type says it is always there; the document says what a client must send.
 */
function optionalWhenDefaulted (querystring: unknown): unknown {
  if (typeof querystring !== 'object' || querystring === null) return querystring
  const { required, properties } = querystring as { required?: unknown, properties?: Record<string, { default?: unknown }> }
  if (!Array.isArray(required) || !properties) return querystring
  const { required: _all, ...rest } = querystring as Record<string, unknown>
  const stillRequired = required.filter((name) => properties[name]?.default === undefined)
  return stillRequired.length > 0 ? { ...rest, required: stillRequired } : rest
}

/**
 * Path parameters as the document shows them: without ajv-keywords' `transform` (an order id is
 * lowered as it is validated), which is validation's own keyword and no part of OpenAPI.
 */
function withoutTransforms (params: unknown): unknown {
  const properties = (params as { properties?: Record<string, Record<string, unknown>> } | undefined)?.properties
  if (!properties) return params
  return {
    ...(params as object),
    properties: Object.fromEntries(Object.entries(properties).map(([name, { transform: _transform, ...shown }]) => [name, shown]))
  }
}

/**
 * The OpenAPI 3 document, generated by @fastify/swagger from the routes' TypeBox schemas, at
 * GET /openapi.json, and the Swagger UI at /docs. Operational endpoints (/metrics, the UI
 * itself, this document) are hidden from it. Must be registered before the routes: it
 * collects them as they are declared.
 */
export default fp(async function swagger (app) {
  const authenticated = apiTokens(app.config).length > 0
  const off = new Set([...(authenticated ? [] : ['401']), ...(app.config.RATE_LIMIT_MAX > 0 ? [] : ['429'])])
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'FlowOps Order Service',
        version: '1.0.0',
        description: 'Orders with MongoDB as the system of record and a Redis read-through cache and per-order locks. ' +
          'Every error body is { statusCode, code, error, message }; each response lists the codes it can carry. ' +
          'Send X-Request-Id to have it echoed and logged; otherwise one is generated. ' +
          'DELETE /orders/{id} cancels: the order is kept with status Cancelled and stays readable, so a GET after a ' +
          'DELETE answers 200 with the cancelled order, not 404. ' +
          'Beyond the operations below: a known path asked with a method it does not serve is 405 METHOD_NOT_ALLOWED with Allow; ' +
          'OPTIONS is 204 with Allow (or a CORS preflight answer); requests refused before routing get the same error body: ' +
          'malformed HTTP 400 (BAD_REQUEST, INVALID_CONTENT_LENGTH, UNKNOWN_METHOD), headers too large 431 HEADERS_TOO_LARGE, ' +
          'a request not received in time 408 REQUEST_TIMEOUT.' +
          (authenticated ? ' POST, PUT and DELETE require a bearer token.' : '')
      },
      tags: [
        { name: 'orders', description: 'Create, read, update and cancel orders' },
        { name: 'health', description: 'Liveness and readiness' }
      ],
      components: authenticated ? { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } } : {}
    },
    transform ({ schema, url, route }) {
      if (!schema || schema.hide === true) return { schema, url }
      const tags = [url.startsWith('/health') ? 'health' : 'orders']
      const shown = documented(schema, url, route.config?.cache?.at !== undefined, off, authenticated, app.config.CACHE_GRACE_SECONDS > 0)
      if (shown.querystring !== undefined) shown.querystring = optionalWhenDefaulted(shown.querystring)
      if (shown.params !== undefined) shown.params = withoutTransforms(shown.params)
      return { schema: { ...shown, tags }, url }
    }
  })

  // DOCS_ENABLED=false: the document is still generated (tools read app.swagger()), not served.
  if (!app.config.DOCS_ENABLED) return
  await app.register(fastifySwaggerUi, {
    routePrefix: DOCUMENTATION_PREFIX,
    // The UI's own policy (hashes of its inline script and style), instead of the API's
    // deny-everything one; without upgrade-insecure-requests, which would break its assets
    // when the service is reached over plain HTTP (the default deployment).
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, '')
  })

  app.get(OPENAPI_URL, { schema: { hide: true } }, async () => app.swagger())
}, { name: 'swagger' })
