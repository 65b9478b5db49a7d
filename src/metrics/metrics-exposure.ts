import { createServer, type Server } from 'node:http'
import { timingSafeEqual, createHash } from 'node:crypto'
import { once } from 'node:events'

/**
 * Who may read the metrics, and where. METRICS_TOKEN set: a request must carry
 * `Authorization: Bearer <token>` (compared in constant time), else 401. The token's digest is
 * compared, so the comparison does not leak the token's length either.
 */
export function metricsTokenCheck (token: string): (authorization: string | undefined) => boolean {
  if (token === '') return () => true
  const expected = createHash('sha256').update(`Bearer ${token}`).digest()
  return (authorization) => authorization !== undefined && timingSafeEqual(createHash('sha256').update(authorization).digest(), expected)
}

/**
 * METRICS_PORT set: the metrics on a port of their own, as Prometheus exporters serve them, so
 * that the service's port (and whatever is in front of it) never exposes them. A bare Node
 * server: GET /metrics and nothing else (404), the same token rule as on the service's port.
 */
export function createMetricsServer ({ render, allowed }: {
  render: () => Promise<{ contentType: string, text: string }>
  allowed: (authorization: string | undefined) => boolean
}) {
  const server: Server = createServer((request, response) => {
    const json = (status: number, code: string, error: string, message: string, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
      response.end(JSON.stringify({ statusCode: status, code, error, message }))
    }
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') return json(404, 'ROUTE_NOT_FOUND', 'Not Found', 'Only GET /metrics is served here')
    if (!allowed(request.headers.authorization)) return json(401, 'UNAUTHORIZED', 'Unauthorized', 'A valid bearer token is required', { 'www-authenticate': 'Bearer realm="metrics"' })
    render().then(({ contentType, text }) => {
      response.writeHead(200, { 'content-type': contentType })
      response.end(text)
    }, () => json(500, 'INTERNAL_ERROR', 'Internal Server Error', 'Internal Server Error'))
  })
  return {
    server,
    async listen (port: number, host: string): Promise<void> {
      server.listen(port, host)
      await once(server, 'listening')
    },
    async close (): Promise<void> {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
