import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import { hostPorts, type Config } from '../config.js'
import { registerScripts, type LuaScript } from './lua-script.js'
import { ReusedReadBufferConnector, ReusedReadBufferSentinelConnector } from './reused-read-buffer.js'

/** A connection to any of the supported Redis topologies; both speak the same commands. */
export type RedisClient = Redis | Cluster

export type RedisTopology = 'standalone' | 'cluster' | 'sentinel'

/** Which topology the configuration names: REDIS_CLUSTER_NODES wins over REDIS_URL. */
export function redisTopology (config: Config): RedisTopology {
  if (config.REDIS_CLUSTER_NODES !== '') return 'cluster'
  if (config.REDIS_SENTINELS !== '') return 'sentinel'
  return 'standalone'
}

export interface ClientOverrides {
  connectionName: string
  /** A deadline inside ioredis itself, for callers that cannot add their own. */
  commandTimeout?: number
  /** The Lua scripts this client runs (src/redis/lua-script.ts), registered here, as it is made. */
  scripts?: readonly LuaScript[]
}

/**
 * Reconnection attempts (of a standalone or Sentinel client, and of a whole Cluster client; a
 * Cluster's node connections are not retried, ioredis finds nodes again from the slot map):
 * 100 ms apart, then at most 500 ms. When a master dies, a Sentinel client's failover detector
 * dies with its connection, so it finds the promoted master by retrying (each attempt asks the
 * sentinels where the master is). A backoff of up to 1 s found it 724-794 ms after the promotion,
 * and an orphan lock answers 409 until its holder reaches it (issue 22: at most 1 s beyond the
 * failover); at most 500 ms found it about 430 ms after (test/topologies/orphan-lock.test.ts).
 * A cap of 250 ms was tried and was worse under load: in 3 of 6 runs beside other failover
 * tests, the client took about 1.1 s after the promotion (not understood). An attempt on a dead
 * server is a refused connection, which is cheap; on a frozen one it waits for connectTimeout,
 * whatever the backoff.
 */
const retryStrategy = (attempt: number) => Math.min(attempt * 100, 500)

/**
 * The options that make every failure fast and explicit, so callers can decide fail-open
 * (cache) or fail-closed (locks):
 * - enableOfflineQueue false: while disconnected a command fails at once instead of queueing;
 * - maxRetriesPerRequest 0 and autoResendUnfulfilledCommands false: a command that was in
 *   flight when the connection dropped fails instead of being silently replayed later (a
 *   replayed SET NX could take a lock nobody knows about);
 * - deadlines are per call, set by the cache and the lock helpers (a frozen Redis keeps the
 *   socket open, so only a deadline notices it).
 */
function failFast (overrides: ClientOverrides): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: true,
    connectTimeout: 1000,
    keepAlive: 5000,
    retryStrategy,
    connectionName: overrides.connectionName,
    ...(overrides.commandTimeout !== undefined ? { commandTimeout: overrides.commandTimeout } : {})
  }
}

/** Credentials and TLS of REDIS_URL, which also apply to cluster nodes and a sentinel's master. */
function fromUrl (url: string): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  const parsed = new URL(url)
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {})
  }
}

/**
 * The one place a Redis connection is made, for the service's client and the rate limiter's.
 * It connects in the background and reconnects forever: Redis must never cost availability.
 * - standalone: REDIS_URL;
 * - cluster: ioredis's Cluster on the REDIS_CLUSTER_NODES seeds; commands go to the masters
 *   (scaleReads master: a replica may lag behind an invalidation), and while the cluster is
 *   not ready a command fails at once (the cluster's own offline queue is off as well);
 * - sentinel: ioredis asks REDIS_SENTINELS where REDIS_SENTINEL_MASTER is, and reconnects to
 *   the promoted replica after a failover (failoverDetector: told by the sentinels, not only
 *   by a broken socket).
 */
export function createRedisClient (config: Config, overrides: ClientOverrides): RedisClient {
  const client = connect(config, failFast(overrides))
  registerScripts(client, overrides.scripts ?? [])
  return client
}

function connect (config: Config, options: RedisOptions): RedisClient {
  switch (redisTopology(config)) {
    case 'cluster': return new Cluster(hostPorts(config.REDIS_CLUSTER_NODES), clusterOptions(config, options))
    case 'sentinel': return new Redis(sentinelOptions(config, options))
    case 'standalone': return new Redis(config.REDIS_URL, options)
  }
}

/**
 * A connection to one node of a Redis Cluster, on its own (not through ioredis's Cluster): for
 * what must be done on a given node, as the near cache's per-master subscribers
 * (src/cache/near/invalidation-bus.ts). Fail-fast options and REDIS_URL's credentials, as every
 * node connection of the Cluster client.
 */
export function createNodeClient (config: Config, node: { host: string, port: number }, overrides: ClientOverrides): Redis {
  return new Redis({ ...failFast(overrides), ...fromUrl(config.REDIS_URL), host: node.host, port: node.port })
}

/** `options` apply to each node's connection. */
function clusterOptions (config: Config, options: RedisOptions): ClusterOptions {
  return {
    enableOfflineQueue: false,
    // Off in a cluster: ioredis's auto-pipelining groups commands by the slot of their first
    // argument, which for a script with a variable number of keys (the invalidation) is the
    // key count, so calls for different slots landed in one pipeline and were refused
    // ("All keys in the pipeline should belong to the same slots allocation group").
    enableAutoPipelining: false,
    scaleReads: 'master',
    clusterRetryStrategy: retryStrategy,
    slotsRefreshTimeout: 1000,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    redisOptions: { ...options, enableAutoPipelining: false, ...fromUrl(config.REDIS_URL) }
  }
}

function sentinelOptions (config: Config, options: RedisOptions): RedisOptions {
  const url = new URL(config.REDIS_URL)
  return {
    ...options,
    ...fromUrl(config.REDIS_URL),
    db: Number(url.pathname.slice(1) || 0),
    sentinels: hostPorts(config.REDIS_SENTINELS),
    name: config.REDIS_SENTINEL_MASTER,
    role: 'master',
    sentinelRetryStrategy: retryStrategy,
    sentinelCommandTimeout: 1000,
    failoverDetector: true
  }
}

/**
 * The cache's connection for reading entries (src/cache/entry-reader.ts, its only user): on
 * every topology without TLS, a connection of its own that reads into reused buffers
 * (src/redis/reused-read-buffer.ts), without auto-pipelining (it would keep replies past the
 * time they are valid). On a Cluster that is one such connection per node (ioredis makes each
 * node's connection with the `Connector` of `redisOptions`); under Sentinel, a connection to
 * the master the sentinels name, found again after a failover as the service's client does.
 * With TLS, undefined: entries are read on the usual client.
 */
export function createEntryConnection (config: Config): RedisClient | undefined {
  if (new URL(config.REDIS_URL).protocol !== 'redis:') return undefined
  const options: RedisOptions = { ...failFast({ connectionName: 'flowops-order-service-entries' }), enableAutoPipelining: false }
  switch (redisTopology(config)) {
    case 'cluster': return new Cluster(hostPorts(config.REDIS_CLUSTER_NODES), clusterOptions(config, { ...options, Connector: ReusedReadBufferConnector }))
    case 'sentinel': return new Redis({ ...sentinelOptions(config, options), Connector: ReusedReadBufferSentinelConnector })
    case 'standalone': return new Redis(config.REDIS_URL, { ...options, Connector: ReusedReadBufferConnector })
  }
}
