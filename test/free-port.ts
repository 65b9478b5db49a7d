import { once } from 'node:events'
import { createServer } from 'node:net'

/**
 * A TCP port free on loopback right now, for a server a test or the benchmark starts. Shared by
 * test/processes.ts and bench/processes.ts; kept apart so the benchmark loads nothing else of
 * the tests (and the tests nothing of the benchmark).
 */
export async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}
