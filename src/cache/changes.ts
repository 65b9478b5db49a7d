import { randomBytes } from 'node:crypto'
import type { Cluster, Redis, Result } from 'ioredis'
import type { RedisClient } from '../redis/create-redis-client.js'
import type { LuaScript } from '../redis/lua-script.js'
import { withDeadline } from '../redis/call-guards.js'
import type { ServiceMetrics } from '../metrics/service-metrics.js'
import { PARKED_SUFFIX, type ChangeCall, type KeyLayout } from './keys.js'
import type { WriteSettle } from './near/write-settle.js'
import { BUMP_LUA } from './scripts/bump-lua.js'

// The announcement of a change: its Lua script, the function that builds its KEYS and ARGV, and
// `createChanges`, its one caller, in one module (as src/lock/lock-release.ts holds the
// release's script). It is registered with the cache's other scripts (scripts/index.ts).

declare module 'ioredis' {
  interface RedisCommander<Context> {
    announceChange (keyCount: number, ...keysThenArgs: Array<string | number>): Result<[number, number], Context>
  }
}

// KEYS: when ARGV[4] is '1', a list slot group's change clock and the entity's changed-at and
// pages-holding keys in it; then, if any are left, the entity's generation, entry and change
// marker. ARGV: the TTL of the marker, the generation and the stamp; the Pub/Sub channel; the
// change's token; '1' or '0' (the list keys come first or not); how many copy suffixes follow,
// the suffixes. Before the write is made, in one step per slot:
// - pages: the entity is stamped changed at a clock value far in the future (every fill of a page
//   holding it is refused until the write's invalidation stamps the real clock, or the stamp
//   expires), and each cached page holding it leaves the lookups' reach: renamed to
//   <page>:parked, from where the write's invalidation puts it back rewritten
//   (scripts/bump-generations.ts), with its copies deleted. A page already parked by another entity's
//   change is deleted instead: two changes on one page, and neither may put it back.
// - the entity: the marker is set (a fill of the entry is refused while it exists), the
//   generation moves (a fill noted before is refused), and the entry and its copies go (no hit
//   of the old bytes from here on, on any instance).
// The clock and the generation move forward by `bump` (scripts/bump-lua.ts), as in the
// invalidation's script. It publishes what it retired (near tiers drop it), and returns how many
// replicas of this master are online, for the caller's WAIT (the announcement must survive a
// failover), and how many subscribers received its message, for the writer's settle. A replica
// still in its first sync (connected, not online) does not acknowledge a WAIT until it is done;
// it gets the write with the rest of its sync, and a failover would not promote it before.
const LUA = `${BUMP_LUA}
local ttl = tonumber(ARGV[1])
local suffixes = tonumber(ARGV[5])
local function dropCopies (key)
  for s = 1, suffixes do redis.call('DEL', key .. ARGV[5 + s]) end
end
local retired = { '0' }
local e = 1
if ARGV[4] == '1' then
  local clock = tonumber(bump(KEYS[1]))
  redis.call('SET', KEYS[2], string.format('%d', clock + 1000000000000000), 'EX', ttl)
  for _, page in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    dropCopies(page)
    if redis.call('EXISTS', page) == 1 then
      redis.call('RENAME', page, page .. '${PARKED_SUFFIX}')
    else
      redis.call('DEL', page .. '${PARKED_SUFFIX}')
    end
    table.insert(retired, page)
  end
  e = 4
end
if KEYS[e] then
  redis.call('SET', KEYS[e + 2], ARGV[3], 'EX', ttl)
  bump(KEYS[e], ttl)
  redis.call('DEL', KEYS[e + 1])
  dropCopies(KEYS[e + 1])
  table.insert(retired, KEYS[e + 1])
end
local receivers = redis.call('PUBLISH', ARGV[2], table.concat(retired, '\\n'))
local online = 0
for _ in string.gmatch(redis.call('INFO', 'replication'), 'state=online') do online = online + 1 end
return { online, receivers }`

export const announceChangeScript: LuaScript = { name: 'announceChange', lua: LUA }

/** What one call of the announcement returns, named. */
interface Announced {
  /** Replicas online on the master that ran it: the caller WAITs for them. */
  replicas: number
  /** Subscribers on that master that received its message (src/cache/near/write-settle.ts). */
  receivers: number
}

/** Announces a change of one entity in one slot: its list pages there, its entry, or both (one Redis, no Cluster). */
/** The KEYS one call of the announcement sends, in the script's order (one slot: test/cache/key-slots.test.ts). */
export function announcementKeys (id: string, { tracking, entity }: ChangeCall): string[] {
  return [
    ...tracking ? [tracking.changeClock, tracking.changedAt(id), tracking.pagesHolding(id)] : [],
    ...entity ? [entity.generationKey, entity.key, entity.changeMarker] : []
  ]
}

async function announceChange (redis: Redis | Cluster, change: {
  id: string
  call: ChangeCall
  token: string
  /** TTL of the change marker, the entity generation and the far-future stamp. */
  ttlSeconds: number
  channel: string
  copySuffixes: readonly string[]
}): Promise<Announced> {
  const keys = announcementKeys(change.id, change.call)
  const [replicas, receivers] = await redis.announceChange(keys.length, ...keys, change.ttlSeconds, change.channel, change.token,
    change.call.tracking ? '1' : '0', change.copySuffixes.length, ...change.copySuffixes)
  return { replicas, receivers }
}

/** The announcement of a change did not reach Redis, or not its replicas: the write must not go ahead. */
export class ChangeNotAnnouncedError extends Error {
  override name = 'ChangeNotAnnouncedError'
}

/**
 * Announcing a change before it is made: what makes "no read returns data older than an
 * acknowledged write" hold on every instance by design, without depending on an invalidation
 * that lands after the write (it may not: Redis frozen, killed, failing over).
 *
 * `begin(id)` runs under the entity's lock, before the MongoDB write (the script below,
 * one call per slot: one in all on a single Redis): for the entity, it deletes the entry and
 * moves its generation, and sets a change marker that refuses every fill of it; in each list
 * slot group, it parks the pages holding it and stamps it changed far in the future, which
 * refuses every fill of a page holding it. From then on no instance can hit or store the old
 * bytes. Only then is the write made; its invalidation (invalidator.ts, before the response)
 * ends the change: pages put back rewritten, the real clock stamped, the marker removed. If
 * that invalidation never lands, nothing stale is served: the entity and its pages are only
 * not cached until the marker and stamps expire.
 *
 * On a master with replicas online, each call is followed by WAIT for all of them: a failover must not
 * promote a replica that never saw the announcement. If any call fails, `begin` throws and the
 * write is not made (the caller answers 503); the invalidator is handed the end of what may have
 * landed.
 */
export function createChanges ({ redis, keys, metrics, timeoutMs, ttlSeconds, channel, copySuffixes, settle, onAbandoned }: {
  redis: RedisClient
  keys: KeyLayout
  metrics: ServiceMetrics
  /** A Redis call's deadline (REDIS_COMMAND_TIMEOUT_MS): each WAIT gets it, the whole announcement twice it. */
  timeoutMs: number
  /**
   * TTL of the change marker, the entity generation and the far-future stamps: at least as long
   * as the slowest write under the lock and the slowest reader (see src/cache/create-cache.ts).
   */
  ttlSeconds: number
  channel: string
  copySuffixes: readonly string[]
  /** Told how many near tiers received each announcement's message: the write's answer waits for their leases. */
  settle: WriteSettle
  /** An announcement that failed part-way: its end, owed to Redis like any invalidation. */
  onAbandoned: (id: string, token: string) => void
}) {
  /**
   * Runs one call in a slot, then waits for every replica of that slot's master to have it. A
   * replica's acknowledgement can lag on a loaded machine: the WAIT gets a whole deadline.
   */
  async function replicated (slotKey: string, call: () => Promise<Announced>): Promise<void> {
    const { replicas, receivers } = await call()
    settle.published(receivers)
    if (replicas === 0) return
    // A pipeline goes to the node of its keys' slot (ioredis), so the WAIT reaches that master.
    // A pipeline's exec() (unlike a transaction's) always resolves to one [error, reply] per command.
    const [, [error, acknowledged]] = await (redis as Redis).pipeline().exists(slotKey).wait(replicas, timeoutMs).exec() as
      [unknown, [Error | null, number]]
    // WAIT refused (say, a Redis user not allowed to run it): no replica is known to have the change.
    if (error) throw new ChangeNotAnnouncedError(`WAIT failed: ${error.message}`, { cause: error })
    if (acknowledged < replicas) throw new ChangeNotAnnouncedError(`${acknowledged} of ${replicas} replicas acknowledged the change within ${timeoutMs} ms`)
  }

  return {
    /** Announces a change of `id`; resolves to its token, which the write's invalidation carries. */
    async begin (id: string): Promise<string> {
      const token = randomBytes(12).toString('base64url')
      const calls = keys.change(id).map((call) => {
        // A key of the call's slot, for the WAIT that follows it there.
        const slotKey = call.tracking ? call.tracking.changeClock : call.entity.key
        return replicated(slotKey, () => announceChange(redis, { id, call, token, ttlSeconds, channel, copySuffixes }))
      })
      try {
        await withDeadline(Promise.all(calls), 2 * timeoutMs, 'change announcement')
      } catch (err) {
        metrics.redisErrors.inc({ component: 'cache' })
        onAbandoned(id, token)
        throw err instanceof ChangeNotAnnouncedError ? err : new ChangeNotAnnouncedError('the change could not be announced to Redis', { cause: err })
      }
      return token
    }
  }
}
