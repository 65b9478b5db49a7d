import t, { type Test } from 'tap'
import { build, type TestApp } from '../helper.js'
import { ERROR_CODES } from '../../src/http/errors.js'

// The OpenAPI document against the routes the app really registered (app.printRoutes) and the
// statuses the contract (design brief, section 2) says each route answers.

interface Operation {
  parameters?: Array<{ name: string, in: string, required?: boolean }>
  requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> }
  responses: Record<string, { description: string, headers?: Record<string, unknown>, content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }>
  security?: unknown[]
  tags?: string[]
}
type Document = { openapi: string, paths: Record<string, Record<string, Operation>>, components: { securitySchemes?: Record<string, unknown> } }

// Operational endpoints, deliberately left out of the document.
const HIDDEN = /^\/(metrics|openapi\.json|docs)/

/** Every (method, path) in the router, read from printRoutes' tree, without HEAD and OPTIONS. */
function registeredRoutes (app: TestApp): string[] {
  const routes: string[] = []
  const parents: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (!match) continue
    const depth = (match[1] as string).length / 4
    const path = (parents[depth - 1] ?? '') + (match[2] as string)
    parents[depth] = path
    for (const method of (match[3] ?? '').split(', ').filter(Boolean)) {
      if (method !== 'HEAD' && method !== 'OPTIONS') routes.push(`${method} ${path}`)
    }
  }
  return routes
}

const toOpenApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}')

// The contract's statuses per route, plus what the cross-cutting plugins add: 503 OVERLOADED
// (load shedding) on every API route and SHUTTING_DOWN on every route, 429 with a rate limit,
// 401 with API tokens.
const CONTRACT: Record<string, number[]> = {
  'GET /health': [200, 503],
  'GET /health/ready': [200, 503],
  'GET /orders': [200, 400, 503],
  'GET /orders/:id': [200, 400, 404, 503],
  'POST /orders': [201, 400, 413, 415, 503],
  'PUT /orders/:id': [200, 400, 404, 409, 412, 413, 415, 422, 503],
  'DELETE /orders/:id': [200, 400, 404, 409, 412, 413, 415, 422, 503]
}
const MUTATING = new Set(['POST', 'PUT', 'DELETE'])

async function documentOf (t: Test, app: TestApp): Promise<Document> {
  const response = await app.inject('/openapi.json')
  t.equal(response.statusCode, 200)
  return response.json()
}

t.test('every registered route, parameter, body, status and error code is documented', async (t) => {
  const app = await build(t, { env: { API_TOKENS: 'doc-token', RATE_LIMIT_MAX: '1000' } })
  const doc = await documentOf(t, app)
  t.match(doc.openapi, /^3\./, 'OpenAPI 3')

  const routes = registeredRoutes(app)
  t.ok(routes.includes('GET /metrics') && routes.includes('GET /docs'), 'the route walk sees the operational routes too')
  const api = routes.filter((route) => !HIDDEN.test(route.split(' ')[1] as string))
  t.same(api.slice().sort(), Object.keys(CONTRACT).sort(), 'the walk finds exactly the contract routes')

  for (const route of api) {
    const [method, path] = route.split(' ') as [string, string]
    const operation = doc.paths[toOpenApiPath(path)]?.[method.toLowerCase()]
    if (!operation) {
      t.fail(`${route} is missing from the document`)
      continue
    }
    const expected = [...(CONTRACT[route] ?? [])]
    if (path.startsWith('/orders')) expected.push(429, 503)
    if (MUTATING.has(method)) expected.push(401)
    for (const status of new Set(expected)) {
      const response = operation.responses[String(status)]
      t.ok(response, `${route} documents ${status}`)
      if (!response || status < 400 || path.startsWith('/health')) continue
      t.same(Object.keys(response.content?.['application/json']?.schema.properties ?? {}).sort(),
        ['code', 'error', 'message', 'statusCode'], `${route} ${status} has the error body`)
      for (const [code] of Object.entries(ERROR_CODES).filter(([, known]) => known.status === status)) {
        t.match(response.description, code, `${route} ${status} names ${code}`)
      }
      if ([409, 429, 503].includes(status)) t.ok(response.headers?.['Retry-After'], `${route} ${status} documents Retry-After`)
    }
    t.same(operation.security, MUTATING.has(method) ? [{ bearerAuth: [] }] : undefined, `${route} security`)
    t.same(operation.tags, [path.startsWith('/health') ? 'health' : 'orders'])
  }

  const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
  t.same(documented.sort(), api.map((route) => {
    const [method, path] = route.split(' ') as [string, string]
    return `${method} ${toOpenApiPath(path)}`
  }).sort(), 'and nothing else is documented')

  const param = (method: string, path: string, name: string) =>
    doc.paths[path]?.[method]?.parameters?.find((p) => p.name === name)
  // A parameter with a default is not required of the client.
  t.match(param('get', '/orders', 'page'), { in: 'query', required: false, schema: { default: 1 } })
  t.match(param('get', '/orders', 'limit'), { in: 'query', required: false, schema: { default: 10 } })
  for (const method of ['get', 'put', 'delete']) t.match(param(method, '/orders/{id}', 'id'), { in: 'path', required: true })
  for (const method of ['put', 'delete']) t.match(param(method, '/orders/{id}', 'if-match'), { in: 'header' })
  for (const [path, method] of [['/orders', 'post'], ['/orders/{id}', 'put']] as const) {
    const body = doc.paths[path]?.[method]?.requestBody?.content['application/json']?.schema
    t.same(Object.keys(body?.properties ?? {}).sort(), ['address', 'customer', 'items', 'status'], `${method} ${path} body`)
  }
  t.ok(doc.paths['/orders']?.get?.responses['200']?.headers?.['X-Cache'], 'cached reads document X-Cache')
  for (const method of ['get', 'put', 'delete']) t.ok(doc.paths['/orders/{id}']?.[method]?.responses['200']?.headers?.['ETag'], `${method} /orders/{id} documents ETag`)
  t.ok(doc.paths['/orders']?.post?.responses['201']?.headers?.['Location'], 'POST documents Location')
  t.same(doc.components.securitySchemes, { bearerAuth: { type: 'http', scheme: 'bearer' } })
})

t.test('X-Cache: GRACE and Age are documented exactly when CACHE_GRACE_SECONDS turns grace on', async (t) => {
  for (const grace of ['0', '600']) {
    const app = await build(t, { env: { CACHE_GRACE_SECONDS: grace } })
    const doc = await documentOf(t, app) as unknown as { paths: Record<string, { get: { responses: Record<string, { headers?: Record<string, { schema?: { enum?: string[] } }> }> } }> }
    for (const path of ['/orders', '/orders/{id}']) {
      const headers = doc.paths[path]?.get.responses['200']?.headers ?? {}
      t.same(headers['X-Cache']?.schema?.enum, grace === '0' ? ['HIT', 'MISS', 'BYPASS'] : ['HIT', 'MISS', 'BYPASS', 'GRACE'], `${path}, grace ${grace}: X-Cache values`)
      t.equal('Age' in headers, grace !== '0', `${path}, grace ${grace}: Age ${grace === '0' ? 'not ' : ''}documented`)
    }
  }
})

t.test('the document states the rules the service enforces, so schema-valid requests are accepted', async (t) => {
  const app = await build(t)
  const doc = await documentOf(t, app) as unknown as {
    info: { description: string }
    paths: Record<string, Record<string, { description?: string, parameters: Array<{ name: string, schema: { pattern?: string } }>, requestBody: { content: { 'application/json': { schema: any } } } }>>
  }
  const body = doc.paths['/orders']?.post?.requestBody.content['application/json'].schema
  const item = body.properties.items.items
  t.equal(item.properties.price.multipleOf, 0.01, 'price: at most 2 decimals, as multipleOf 0.01')
  const trimmed = (pattern: string, text: string) => new RegExp(pattern, 'u').test(text)
  for (const [field, schema, min] of [['customer', body.properties.customer, 2], ['address', body.properties.address, 5], ['sku', item.properties.sku, 1]] as const) {
    t.ok(schema.pattern, `${field} has a pattern for its trimmed length`)
    t.notOk(trimmed(schema.pattern, ` ${'x'.repeat(min - 1)}\u00a0\t`), `${field}: ${min - 1} characters once trimmed do not match`)
    t.ok(trimmed(schema.pattern, ` ${'x'.repeat(min)}\u2003`), `${field}: ${min} characters once trimmed match`)
  }
  const ifMatch = doc.paths['/orders/{id}']?.put?.parameters.find((p) => p.name === 'if-match')?.schema.pattern as string
  for (const value of ['"3"', '*', 'W/"3"', '"1", "2"', 'W/"a", "b"', '']) t.match(value, new RegExp(ifMatch), `If-Match ${value} is well formed`)
  for (const value of ['3', '"3', 'W/3', '"a""b"', '"3",', '* , "3"']) t.notMatch(value, new RegExp(ifMatch), `If-Match ${JSON.stringify(value)} is not`)
  t.match(doc.paths['/orders/{id}']?.delete?.description, /GET \/orders\/\{id\} still answers 200/, 'DELETE says it cancels, so the order stays readable')
  t.match(doc.info.description, /a GET after a DELETE answers 200/)
  t.match(doc.info.description, /405 METHOD_NOT_ALLOWED with Allow/)
})

t.test('without API tokens or a rate limit, no 401, 429 or security is documented', async (t) => {
  const app = await build(t)
  const doc = await documentOf(t, app)
  const operations = Object.values(doc.paths).flatMap((item) => Object.values(item))
  t.equal(operations.length, Object.keys(CONTRACT).length)
  t.notOk(operations.some((operation) => operation.responses['401'] || operation.responses['429'] || operation.security),
    'nothing that cannot happen')
  t.equal(doc.components.securitySchemes, undefined)
})

t.test('/docs serves the Swagger UI with a policy that lets it load', async (t) => {
  const app = await build(t)
  const page = await app.inject('/docs')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.body, /swagger-ui-bundle\.js/)
  const csp = String(page.headers['content-security-policy'])
  t.match(csp, /script-src 'self'/, 'its own scripts may run')
  t.notMatch(csp, /upgrade-insecure-requests/, 'assets load over plain HTTP too')
  const asset = await app.inject('/docs/static/swagger-ui-bundle.js')
  t.equal(asset.statusCode, 200)
  t.match(asset.headers['content-type'], /javascript/)
  t.same((await app.inject('/docs/json')).json(), (await app.inject('/openapi.json')).json(), 'the UI shows the same document')
})
