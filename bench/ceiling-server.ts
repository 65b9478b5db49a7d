import Fastify from 'fastify'
import { readFile } from 'node:fs/promises'
import { BODY_ONLY_PREFIX, NOT_MODIFIED_SUFFIX } from './processes.js'

// The framework's ceiling: a bare Fastify server answering, from memory, the very bytes the
// service sends for the same URLs: its body and its headers, captured from the service. No
// Redis, no hooks, no validation. Under BODY_ONLY_PREFIX + URL it sends the body with only a
// content type, the barest answer possible. A request with If-None-Match gets the service's 304
// for that URL (captured under URL + NOT_MODIFIED_SUFFIX), with its headers and no body, without
// comparing the tag: the ceiling of a 304. bench/run.ts starts it as its own process:
// `node ceiling-server.js PORT URL BODY_FILE HEADERS_FILE [URL BODY_FILE HEADERS_FILE ...]`.

interface Captured { body: Buffer, headers: Record<string, string> }

const [port, ...routes] = process.argv.slice(2)
const responses = new Map<string, Captured>()
for (let i = 0; i + 2 < routes.length; i += 3) {
  responses.set(routes[i] ?? '', {
    body: await readFile(routes[i + 1] ?? ''),
    headers: JSON.parse(await readFile(routes[i + 2] ?? '', 'utf8')) as Record<string, string>
  })
}

const app = Fastify({ logger: false })
app.get('/*', (request, reply) => {
  if (request.headers['if-none-match'] !== undefined) {
    const notModified = responses.get(request.url + NOT_MODIFIED_SUFFIX)
    if (notModified) return reply.code(304).headers(notModified.headers).send()
  }
  const bodyOnly = request.url.startsWith(BODY_ONLY_PREFIX)
  const captured = responses.get(bodyOnly ? request.url.slice(BODY_ONLY_PREFIX.length) : request.url)
  if (!captured) return reply.code(404).send()
  if (bodyOnly) return reply.header('content-type', captured.headers['content-type']).send(captured.body)
  return reply.headers(captured.headers).send(captured.body)
})
await app.listen({ port: Number(port), host: '127.0.0.1' })
process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
