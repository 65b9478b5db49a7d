import { once } from 'node:events'
import { createServer } from 'node:net'

/**
 * A TCP port free on loopback right now, for a server a test, the benchmark or the reliability suite
 * starts. Kept in a file of its own so that the benchmark and the suite load nothing else of
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
