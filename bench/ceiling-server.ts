import Fastify from 'fastify'
import { readFile } from 'node:fs/promises'

// The framework's ceiling: a bare Fastify server answering, from memory, the very bytes the
// service sends for the same URLs. No Redis, no hooks, no validation. bench/run.ts starts it as
// its own process: `node ceiling-server.js PORT URL FILE [URL FILE ...]`.

const [port, ...routes] = process.argv.slice(2)
const bodies = new Map<string, Buffer>()
for (let i = 0; i + 1 < routes.length; i += 2) {
  bodies.set(routes[i] ?? '', await readFile(routes[i + 1] ?? ''))
}

const app = Fastify({ logger: false })
app.get('/*', (request, reply) => {
  const body = bodies.get(request.url)
  if (!body) return reply.code(404).send()
  return reply.header('content-type', 'application/json; charset=utf-8').header('x-cache', 'HIT').send(body)
})
await app.listen({ port: Number(port), host: '127.0.0.1' })
process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
