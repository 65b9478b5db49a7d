import type { ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from '../test/free-port.js'
import { spawnReady, stopProcess } from './processes.js'

// The Redis and MongoDB-compatible servers the suite owns, on fixed ports so that a restart
// comes back where the service instances expect it. Real servers only: the faults are signals
// sent to real processes.

abstract class OwnedServer {
  protected child: ChildProcess | undefined
  constructor (readonly port: number, protected readonly logDir: string) {}

  protected abstract launch (): Promise<ChildProcess>
  abstract get url (): string

  async start (): Promise<void> {
    this.child = await this.launch()
  }

  /** Stops the process with `signal` (SIGKILL is a crash, SIGTERM a clean stop). */
  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child) await stopProcess(this.child, signal)
    this.child = undefined
  }

  /** SIGSTOP: the socket stays open and nothing answers, like a hung server. */
  freeze (): void {
    this.child?.kill('SIGSTOP')
  }

  thaw (): void {
    this.child?.kill('SIGCONT')
  }
}

export class OwnedRedis extends OwnedServer {
  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  protected launch (): Promise<ChildProcess> {
    // A pure cache, as the README asks: no RDB, no AOF, so a restart comes back empty.
    return spawnReady({
      name: 'redis',
      command: process.env.REDIS_SERVER_BIN ?? 'redis-server',
      args: ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      ready: /Ready to accept connections/,
      logDir: this.logDir
    })
  }
}

export class OwnedFerretDB extends OwnedServer {
  private readonly dataDir = join(this.logDir, 'ferretdb-data')

  get url (): string {
    return `mongodb://127.0.0.1:${this.port}/reliability`
  }

  protected launch (): Promise<ChildProcess> {
    mkdirSync(this.dataDir, { recursive: true })
    // The tools/ferretdb wrapper prints its MongoDB URI once the listener is bound.
    return spawnReady({
      name: 'ferretdb',
      command: process.env.FERRETDB_BIN ?? 'ferretdb', // scripts/reliability.sh sets it
      args: ['--handler=sqlite', `--sqlite-url=file:${this.dataDir}/`, `--listen-addr=127.0.0.1:${this.port}`, '--telemetry=disable'],
      ready: /mongodb:\/\//,
      logDir: this.logDir
    })
  }
}

export async function startServers (logDir: string): Promise<{ redis: OwnedRedis, mongo: OwnedFerretDB }> {
  const redis = new OwnedRedis(await freePort(), logDir)
  const mongo = new OwnedFerretDB(await freePort(), logDir)
  await Promise.all([redis.start(), mongo.start()])
  return { redis, mongo }
}
