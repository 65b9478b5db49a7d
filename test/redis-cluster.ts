import { execFile, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { freePort } from './free-port.js'
import { ask, killNow } from './redis-admin.js'
import { eventually, startProcess } from './processes.js'

// A real Redis Cluster on loopback, owned by one test: 3 masters + 3 replicas started with
// redis-server --cluster-enabled yes and joined by redis-cli --cluster create. Nodes can be
// killed, and the failover that follows awaited. Never a stubbed client.

const run = promisify(execFile)
const redisServer = () => process.env.REDIS_SERVER_BIN ?? 'redis-server'
const redisCli = () => process.env.REDIS_CLI_BIN ?? join(redisServer(), '..', 'redis-cli')

export interface ClusterNode { port: number, child: ChildProcess }

/** One line of CLUSTER NODES: who the node is, its flags, and the slot ranges it serves. */
export interface NodeView { id: string, port: number, flags: string[], masterId: string, slots: string[] }

export function parseClusterNodes (text: string): NodeView[] {
  return text.trim().split('\n').map((line) => {
    const [id, address, flags, masterId, , , , , ...slots] = line.split(' ')
    return { id: id ?? '', port: Number(address?.split('@')[0]?.split(':')[1]), flags: (flags ?? '').split(','), masterId: masterId ?? '-', slots }
  })
}

export class RedisCluster {
  private readonly dir = mkdtempSync(join(tmpdir(), 'flowops-redis-cluster-'))
  readonly nodes: ClusterNode[] = []

  /** host:port of every node, the REDIS_CLUSTER_NODES value. */
  get seeds (): string {
    return this.nodes.map((node) => `127.0.0.1:${node.port}`).join(',')
  }

  async start (size = 6): Promise<void> {
    for (let i = 0; i < size; i++) this.nodes.push(await this.startNode())
    await run(redisCli(), ['--cluster', 'create', ...this.nodes.map((node) => `127.0.0.1:${node.port}`),
      '--cluster-replicas', '1', '--cluster-yes'], { timeout: 60_000 })
    await this.awaitHealthy(this.nodes, size / 2)
  }

  /**
   * One node on free ports. The bus port is chosen too: the default (port + 10000) may be taken
   * or out of range. A port found free can be taken by another test's server before this one
   * binds it, so a start that lost that race is tried again on new ports.
   */
  private async startNode (attempts = 3): Promise<ClusterNode> {
    const [port, busPort] = [await freePort(), await freePort()]
    // A directory per node: on Redis 7.0 a replica writes dump.rdb while it syncs, and a restarted
    // node that shared a directory would load another node's snapshot and leave the cluster failed.
    const dir = join(this.dir, String(port))
    mkdirSync(dir, { recursive: true })
    try {
      const child = await startProcess(redisServer(), [
        '--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1', '--dir', dir,
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '1000',
        // Without these a replica of a fresh test cluster refuses to take over ("Disconnected
        // from master for longer than allowed") or syncs late.
        '--cluster-replica-validity-factor', '0', '--repl-diskless-sync-delay', '0',
        '--save', '', '--appendonly', 'no'
      ], /Ready to accept connections/)
      return { port, child }
    } catch (err) {
      if (attempts > 1 && /Address already in use/.test(String(err))) return this.startNode(attempts - 1)
      throw err
    }
  }

  /** Polls until every given node says cluster_state:ok, with 3 masters and `replicas` replicas attached. */
  async awaitHealthy (nodes: ClusterNode[], replicas = 3, timeoutMs = 60_000): Promise<void> {
    await eventually(async () => {
      for (const node of nodes) {
        const info = await ask(node.port, (redis) => redis.cluster('INFO')).catch(() => '')
        if (!/cluster_state:ok/.test(String(info))) return false
      }
      const view = await this.view(nodes[0] as ClusterNode)
      const masters = view.filter((n) => n.flags.includes('master') && !n.flags.includes('fail') && n.slots.length > 0)
      const linked = view.filter((n) => n.flags.includes('slave') && masters.some((m) => m.id === n.masterId))
      return masters.length === 3 && linked.length >= replicas
    }, timeoutMs)
  }

  async view (node: ClusterNode): Promise<NodeView[]> {
    return parseClusterNodes(String(await ask(node.port, (redis) => redis.cluster('NODES'))))
  }

  /** The node that serves `key`'s slot now, as the cluster itself says. */
  async masterOf (key: string): Promise<ClusterNode> {
    const alive = this.nodes.find((node) => node.child.exitCode === null && node.child.signalCode === null) as ClusterNode
    const slot = Number(await ask(alive.port, (redis) => redis.cluster('KEYSLOT', key)))
    const owner = (await this.view(alive)).find((n) => n.flags.includes('master') && !n.flags.includes('fail') &&
      n.slots.some((range) => { const [from, to = from] = range.split('-').map(Number); return slot >= (from as number) && slot <= (to as number) }))
    return this.nodes.find((node) => node.port === owner?.port) as ClusterNode
  }

  /** SIGKILL a node (no goodbye to the cluster), and wait for it to be gone. */
  async kill (node: ClusterNode): Promise<void> {
    const exited = once(node.child, 'exit')
    node.child.kill('SIGKILL')
    await exited
  }

  /** Waits until `key`'s slot is served by a live master other than `former`, cluster_state:ok. */
  async awaitFailover (key: string, former: ClusterNode, timeoutMs = 30_000): Promise<ClusterNode> {
    const alive = this.nodes.filter((node) => node !== former)
    let owner: ClusterNode | undefined
    await eventually(async () => {
      owner = await this.masterOf(key).catch(() => undefined)
      if (!owner || owner === former) return false
      const info = await Promise.all(alive.map((node) => ask(node.port, (redis) => redis.cluster('INFO')).catch(() => '')))
      return info.every((text) => /cluster_state:ok/.test(String(text)))
    }, timeoutMs)
    return owner as ClusterNode
  }

  async stop (): Promise<void> {
    await Promise.all(this.nodes.map((node) => killNow(node.child)))
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** A fresh 3 masters + 3 replicas cluster for this test, stopped when it ends. */
export async function ownRedisCluster (t: Test): Promise<RedisCluster> {
  const cluster = new RedisCluster()
  t.teardown(() => cluster.stop())
  await cluster.start()
  return cluster
}
