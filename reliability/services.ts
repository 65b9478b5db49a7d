import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { freePort } from '../test/free-port.js'
import { answersHealth } from './http-client.js'
import { spawnLogged, stopProcess } from './processes.js'

// Service instances: the built server (dist/src/server.js) in its own process, configured by
// its environment only, as in production. The suite talks to them over HTTP and nothing else.

const SERVER = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'server.js')

export interface ServiceInstance {
  name: string
  url: string
  child: ChildProcess
  stop: (signal?: NodeJS.Signals) => Promise<void>
}

/**
 * What sets one instance of the fault run apart: every option that changes the read or the
 * write path is on at least one instance, beside one with the defaults, on the same Redis and
 * data, so that a guarantee has to hold across them (a write on one, a read on another).
 */
export interface Profile {
  name: string
  /** Settings beyond the shared ones. */
  env: Record<string, string>
  /** The Accept-Encoding its clients send: a br client, a gzip client, an identity client. */
  acceptEncoding?: 'br' | 'gzip'
  /** Its writes go ahead without the lock while Redis is gone (LOCK_FALLBACK=optimistic). */
  optimistic: boolean
  describe: string
}

export const PROFILES: Profile[] = [
  { name: 'service-1', env: { CACHE_NEAR_MAX_BYTES: String(64 * 1024 * 1024) }, acceptEncoding: 'br', optimistic: false, describe: 'near cache on (64 MiB), br clients' },
  { name: 'service-2', env: {}, acceptEncoding: 'gzip', optimistic: false, describe: 'defaults (near cache off, LOCK_FALLBACK=none), gzip clients' },
  { name: 'service-3', env: { WORKERS: '2', LOCK_FALLBACK: 'optimistic' }, optimistic: true, describe: 'WORKERS=2, LOCK_FALLBACK=optimistic, identity clients' }
]

export interface ServiceEnv {
  MONGODB_URL: string
  REDIS_URL: string
  CACHE_TTL_SECONDS: string
  LOCK_TTL_SECONDS: string
  MONGODB_TIMEOUT_MS: string
}

/**
 * Polls /health until it answers (the server prints nothing at LOG_LEVEL=warn, and info would
 * log every request): bounded, and failing at once if `child` (the process behind `url`) exits.
 */
export async function untilAnswering (url: string, { child, withinSeconds = 60 }: { child?: ChildProcess, withinSeconds?: number } = {}): Promise<void> {
  const deadline = Date.now() + withinSeconds * 1000
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode}`)
    if (await answersHealth(url)) return
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${withinSeconds} s`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * Starts an instance; `port` to start it again where its clients expect it (after a crash);
 * `nodeArgs` go to node before the server's script (the soak's `--trace-gc`).
 */
export async function startService (name: string, env: ServiceEnv | (ServiceEnv & Record<string, string>), logDir: string, port?: number, nodeArgs: string[] = []): Promise<ServiceInstance> {
  const listenOn = port ?? await freePort()
  const child = spawnLogged({
    name,
    command: process.execPath,
    args: [...nodeArgs, SERVER],
    // The MongoDB driver's own topology log (server monitoring: heartbeats, server description
    // changes) goes to the instance's log file: when an instance stays unable to reach a
    // database that is back, it shows what the driver's monitor was doing.
    env: { ...env, PORT: String(listenOn), HOST: '127.0.0.1', LOG_LEVEL: 'warn', MONGODB_LOG_TOPOLOGY: 'debug', MONGODB_LOG_PATH: 'stderr' },
    logDir
  })
  const url = `http://127.0.0.1:${listenOn}`
  await untilAnswering(url, { child })
  return { name, url, child, stop: (signal?: NodeJS.Signals) => stopProcess(child, signal) }
}
