import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { freePort } from './free-port.js'
import { ask, killNow } from './redis-admin.js'
import { eventually, startProcess } from './processes.js'

// A real Redis Sentinel set-up on loopback, owned by one test: 1 master, 1 replica and 3
// sentinels (quorum 2) monitoring it as MASTER_NAME. The master can be killed and the
// promotion of the replica awaited. Never a stubbed client.

export const MASTER_NAME = 'flowops'

/**
 * The service's environment for this set-up. In sentinel mode REDIS_URL's host is not used,
 * only its credentials and database: database 0 here, as these servers have the default 16
 * (the shared test Redis hands out higher ones).
 */
export const SENTINEL_ENV = (seeds: string) => ({ REDIS_SENTINELS: seeds, REDIS_SENTINEL_MASTER: MASTER_NAME, REDIS_URL: 'redis://127.0.0.1:6379/0' })

const redisServer = () => process.env.REDIS_SERVER_BIN ?? 'redis-server'

interface Owned { port: number, child: ChildProcess }

export class RedisSentinelSet {
  private readonly dir = mkdtempSync(join(tmpdir(), 'flowops-redis-sentinel-'))
  master!: Owned
  replica!: Owned
  readonly sentinels: Owned[] = []

  /** host:port of every sentinel, the REDIS_SENTINELS value. */
  get seeds (): string {
    return this.sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(',')
  }

  private async server (extra: string[]): Promise<Owned> {
    const port = await freePort()
    // A directory per server: a replica writes dump.rdb while it syncs (see test/redis-cluster.ts).
    const dir = join(this.dir, String(port))
    mkdirSync(dir, { recursive: true })
    const child = await startProcess(redisServer(), ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
      '--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0', ...extra], /Ready to accept connections/)
    return { port, child }
  }

  async start (): Promise<void> {
    this.master = await this.server([])
    this.replica = await this.server(['--replicaof', '127.0.0.1', String(this.master.port)])
    for (let i = 0; i < 3; i++) {
      const port = await freePort()
      // A sentinel rewrites its configuration file: each gets one of its own.
      const file = join(this.dir, `sentinel-${port}.conf`)
      writeFileSync(file, [
        `port ${port}`, 'bind 127.0.0.1', `dir ${this.dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${this.master.port} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
        `sentinel failover-timeout ${MASTER_NAME} 3000`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`
      ].join('\n') + '\n')
      const child = await startProcess(redisServer(), [file, '--sentinel'], /\+monitor master/)
      this.sentinels.push({ port, child })
    }
    // A failover needs the replica in sync and the sentinels aware of it and of each other.
    await eventually(async () => {
      const link = await ask(this.replica.port, (redis) => redis.info('replication'))
      if (!/master_link_status:up/.test(link)) return false
      for (const sentinel of this.sentinels) {
        const replicas = await ask(sentinel.port, (redis) => redis.call('SENTINEL', 'REPLICAS', MASTER_NAME)) as unknown[]
        const others = await ask(sentinel.port, (redis) => redis.call('SENTINEL', 'SENTINELS', MASTER_NAME)) as unknown[]
        if (replicas.length < 1 || others.length < 2) return false
      }
      return true
    }, 60_000)
  }

  /** The master's port, as the given sentinel reports it. */
  async masterPort (sentinel: Owned = this.sentinels[0] as Owned): Promise<number> {
    const [, port] = await ask(sentinel.port, (redis) => redis.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as [string, string]
    return Number(port)
  }

  /** SIGKILL the master, and wait for it to be gone. */
  async killMaster (): Promise<void> {
    const exited = once(this.master.child, 'exit')
    this.master.child.kill('SIGKILL')
    await exited
  }

  /** Waits until every sentinel names the replica as the master and it says role:master. */
  async awaitPromotion (timeoutMs = 30_000): Promise<void> {
    await eventually(async () => {
      const ports = await Promise.all(this.sentinels.map((sentinel) => this.masterPort(sentinel)))
      if (!ports.every((port) => port === this.replica.port)) return false
      return /role:master/.test(await ask(this.replica.port, (redis) => redis.info('replication')))
    }, timeoutMs)
  }

  async stop (): Promise<void> {
    await Promise.all([this.master, this.replica, ...this.sentinels].filter(Boolean).map(({ child }) => killNow(child)))
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** A fresh master + replica + 3 sentinels for this test, stopped when it ends. */
export async function ownRedisSentinels (t: Test): Promise<RedisSentinelSet> {
  const set = new RedisSentinelSet()
  t.teardown(() => set.stop())
  await set.start()
  return set
}
