import autocannon from 'autocannon'

// One autocannon run, summarised: throughput, latency percentiles, errors, and the X-Cache
// header of every response (so hit ratios are measured, not assumed).

export interface LoadOptions {
  url: string
  connections: number
  seconds: number
  /** Builds each request; called per request, so it can pick random pages or orders. */
  nextRequest: () => { method: 'GET' | 'PUT', path: string, body?: string, headers?: Record<string, string> }
  timeoutSeconds?: number
  /** A fixed rate (requests per second over all connections) instead of as fast as possible. */
  overallRate?: number
}

export interface LoadResult {
  requestsPerSecond: number
  bytesPerRequest: number
  latencyMs: { p50: number, p90: number, p99: number, max: number }
  requests: number
  errors: number
  timeouts: number
  non2xx: number
  statusCounts: Record<string, number>
  xCache: Record<string, number>
}

function headerValue (raw: unknown[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (String(raw[i]).toLowerCase() === name) return String(raw[i + 1])
  }
  return undefined
}

export async function load (options: LoadOptions): Promise<LoadResult> {
  const xCache: Record<string, number> = {}
  const statusCounts: Record<string, number> = {}
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    timeout: options.timeoutSeconds ?? 30,
    ...(options.overallRate !== undefined ? { overallRate: options.overallRate } : {}),
    requests: [{
      setupRequest: (request) => {
        const next = options.nextRequest()
        return {
          ...request,
          method: next.method,
          path: next.path,
          ...(next.body ? { body: next.body, headers: { 'content-type': 'application/json' } } : {}),
          ...(next.headers ? { headers: next.headers } : {})
        }
      }
    }],
    setupClient: (client) => {
      // @types/autocannon says IncomingHttpHeaders; at run time it is the HTTP parser's
      // { statusCode, headers: [name, value, ...] } (autocannon/lib/httpClient.js).
      client.on('headers', (parsed: object) => {
        const event = parsed as { statusCode: number, headers: unknown[] }
        statusCounts[event.statusCode] = (statusCounts[event.statusCode] ?? 0) + 1
        const cache = headerValue(event.headers, 'x-cache')
        if (cache) xCache[cache] = (xCache[cache] ?? 0) + 1
      })
    }
  })
  return {
    requestsPerSecond: result.requests.average,
    // Response bytes on the wire (headers and body) per request.
    bytesPerRequest: result.throughput.total / Math.max(result.requests.total, 1),
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    requests: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCounts,
    xCache
  }
}
