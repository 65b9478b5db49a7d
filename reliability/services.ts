import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { freePort } from '../test/free-port.js'
import { spawnLogged, stopProcess } from './processes.js'

// Service instances: the built server (dist/src/server.js) in its own process, configured by
// its environment only, as in production. The suite talks to them over HTTP and nothing else.

const SERVER = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'server.js')

export interface ServiceInstance {
  name: string
  url: string
  child: ChildProcess
  stop: () => Promise<void>
}

export interface ServiceEnv {
  MONGODB_URL: string
  REDIS_URL: string
  CACHE_TTL_SECONDS: string
  LOCK_TTL_SECONDS: string
  MONGODB_TIMEOUT_MS: string
}

/**
 * Polls /health until it answers (the server prints nothing at LOG_LEVEL=warn, and info would
 * log every request): bounded, and failing at once if the process exits.
 */
async function untilAnswering (url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: service exited with ${child.exitCode}`)
    try {
      if ((await fetch(`${url}/health`)).ok) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within 60 s`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

export async function startService (name: string, env: ServiceEnv, logDir: string): Promise<ServiceInstance> {
  const port = await freePort()
  const child = spawnLogged({
    name,
    command: process.execPath,
    args: [SERVER],
    env: { ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    logDir
  })
  const url = `http://127.0.0.1:${port}`
  await untilAnswering(url, child)
  return { name, url, child, stop: () => stopProcess(child) }
}
