import type { FastifyBaseLogger } from 'fastify'
import type { Cluster } from 'ioredis'
import type { Config } from '../../config.js'
import { createNodeClient, createRedisClient, redisTopology, type RedisClient } from '../../redis/create-redis-client.js'
import { subscribe, type Subscriber } from './subscriber.js'

const CONNECTION_NAME = 'flowops-order-service-near-cache'
/** The slot map is refreshed every second while the bus is not alive, every 5 s while it is. */
const REFRESH_WHILE_DOWN_MS = 1000
const REFRESH_WHILE_ALIVE_EVERY = 5

export interface InvalidationBus {
  /** Whether every invalidation published now is known to reach this process. */
  alive: () => boolean
  /** Whether near hits may be served at `now` (performance.now()): every subscriber's lease holds (src/cache/near/subscriber.ts). */
  leased: (now: number) => boolean
  /** Every subscriber has handled every message published before this call (see `Subscriber.caughtUp`). */
  caughtUp: (budgetMs: number) => Promise<boolean>
  close: () => void
}

interface BusCallbacks {
  config: Config
  /** The service's client: on a Cluster, it tells which masters there are. */
  redis: RedisClient
  channel: string
  log: FastifyBaseLogger
  onMessage: (message: string) => void
  onUp: () => void
  onDown: (why: string) => void
}

/**
 * The near tier's bus: what tells it, through Redis Pub/Sub, which entries every invalidation
 * script invalidated, and whether each such message is known to reach it (`alive`). `onUp` is
 * called when it becomes alive, `onDown` whenever it may have missed a message.
 * - Standalone, Sentinel: one subscriber (src/cache/near/subscriber.ts), on the master.
 * - Cluster: one subscriber on every master (clusterBus, below).
 */
export function createInvalidationBus (bus: BusCallbacks): InvalidationBus {
  if (redisTopology(bus.config) === 'cluster') return clusterBus({ ...bus, redis: bus.redis as Cluster })
  const { config, channel, log, onMessage, onUp, onDown } = bus
  return subscribe({ connection: createRedisClient(config, { connectionName: CONNECTION_NAME }), channel, leaseMs: config.CACHE_NEAR_LEASE_MS, log, onMessage, onUp, onDown })
}

/**
 * On a Redis Cluster a script's PUBLISH reaches the subscribers on its own node at once, and
 * those on the other nodes through the cluster bus. A subscriber on one node would depend on
 * that bus: a link between two nodes down while both still answer would lose messages, and
 * nothing here would notice. So there is one subscriber per master, each receiving the
 * messages of its own master's scripts directly, and the bus is alive only while every master
 * that owns slots in the service's client's slot map has a subscriber known to be alive (the
 * same heartbeat as on a standalone Redis).
 *
 * The slot map, not the client's list of connections: a master that died leaves that list at
 * once, but still owns its slots until its replica is promoted, and until then its messages
 * could come from nowhere else. The map is refreshed when the client sees a node go or a
 * redirection, every second while the bus is not alive, and every few seconds while it is (a
 * failover that none of this instance's own commands ran into). A failover thus turns the
 * near cache off until the promoted master has its subscriber; a node that no longer owns
 * slots loses its own.
 *
 * The price: every message also arrives through the cluster bus on the other masters'
 * subscribers, so each is received once per master. Dropping is idempotent, and sharded
 * Pub/Sub (SSUBSCRIBE), which would not duplicate, needs a channel in each script's slot, while
 * an order's keys are in a slot of their own, any of the 16,384.
 */
function clusterBus ({ config, redis, channel, log, onMessage, onUp, onDown }: BusCallbacks & { redis: Cluster }): InvalidationBus {
  const subscribers = new Map<string, Subscriber>()
  let owners: string[] = []
  let alive = false
  let closed = false
  let ticks = 0

  /** Every node that owns slots in the client's slot map (the first of each slot's nodes). */
  function slotOwners (): string[] {
    const found = new Set<string>()
    for (const nodes of redis.slots) if (nodes?.[0] !== undefined) found.add(nodes[0])
    return [...found]
  }

  function reassess (): void {
    const now = owners.length > 0 && owners.every((node) => subscribers.get(node)?.alive() === true)
    if (now && !alive) onUp()
    if (!now && alive) onDown('a master of the Redis Cluster has no invalidation subscriber known to be alive')
    alive = now
  }

  function subscribeOn (node: string): void {
    const at = node.lastIndexOf(':')
    // A subscriber closed because its node no longer owns slots says so as it goes: not a loss.
    const current = () => subscribers.get(node) === subscriber
    const subscriber = subscribe({
      connection: createNodeClient(config, { host: node.slice(0, at), port: Number(node.slice(at + 1)) }, { connectionName: CONNECTION_NAME }),
      channel,
      leaseMs: config.CACHE_NEAR_LEASE_MS,
      log: log.child({ node }),
      onMessage,
      onUp: () => { if (current()) reassess() },
      onDown: (why) => {
        if (!current()) return
        alive = false
        onDown(why)
      }
    })
    subscribers.set(node, subscriber)
  }

  function follow (): void {
    if (closed) return
    owners = slotOwners()
    for (const [node, subscriber] of subscribers) {
      if (owners.includes(node)) continue
      subscribers.delete(node)
      subscriber.close()
    }
    for (const node of owners) if (!subscribers.has(node)) subscribeOn(node)
    reassess()
  }

  const refresh = () => { if (!closed) redis.refreshSlotsCache() }
  redis.on('ready', follow)
  redis.on('refresh', follow)
  redis.on('-node', refresh)
  const timer = setInterval(() => { if (!alive || ++ticks % REFRESH_WHILE_ALIVE_EVERY === 0) refresh() }, REFRESH_WHILE_DOWN_MS)
  timer.unref()
  follow()

  return {
    alive: () => alive,
    // Every master's lease, each asked (asking keeps it renewed): an order's messages come from its own master.
    leased (now: number): boolean {
      let held = subscribers.size > 0
      for (const subscriber of subscribers.values()) held = subscriber.leased(now) && held
      return held
    },
    async caughtUp (budgetMs: number): Promise<boolean> {
      if (subscribers.size === 0) return false
      const each = await Promise.all([...subscribers.values()].map((subscriber) => subscriber.caughtUp(budgetMs)))
      return each.every(Boolean)
    },
    close (): void {
      closed = true
      clearInterval(timer)
      redis.off('ready', follow)
      redis.off('refresh', follow)
      redis.off('-node', refresh)
      const closing = [...subscribers.values()]
      subscribers.clear()
      for (const subscriber of closing) subscriber.close()
    }
  }
}
