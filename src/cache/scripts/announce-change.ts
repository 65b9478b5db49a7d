import type { Cluster, Redis, Result } from 'ioredis'
import type { LuaScript } from '../../redis/lua-script.js'
import type { ChangeCall } from '../keys.js'
import { BUMP_LUA } from './bump-lua.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    announceChange (keyCount: number, ...keysThenArgs: Array<string | number>): Result<[number, number], Context>
  }
}

/** Where a page waits, out of reach of lookups, while an entity on it changes. */
export const PARKED_SUFFIX = ':parked'

// KEYS: when ARGV[4] is '1', a list slot group's change clock and the entity's changed-at and
// pages-holding keys in it; then, if any are left, the entity's generation, entry and change
// marker. ARGV: the TTL of the marker, the generation and the stamp; the Pub/Sub channel; the
// change's token; '1' or '0' (the list keys come first or not); how many copy suffixes follow,
// the suffixes. Before the write is made, in one step per slot:
// - pages: the entity is stamped changed at a clock value far in the future (every fill of a page
//   holding it is refused until the write's invalidation stamps the real clock, or the stamp
//   expires), and each cached page holding it leaves the lookups' reach: renamed to
//   <page>:parked, from where the write's invalidation puts it back rewritten
//   (bump-generations.ts), with its copies deleted. A page already parked by another entity's
//   change is deleted instead: two changes on one page, and neither may put it back.
// - the entity: the marker is set (a fill of the entry is refused while it exists), the
//   generation moves (a fill noted before is refused), and the entry and its copies go (no hit
//   of the old bytes from here on, on any instance).
// The clock and the generation move forward by `bump` (bump-lua.ts), as in the invalidation's
// script. It publishes what it retired (near tiers drop it), and returns how many
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
export interface Announced {
  /** Replicas online on the master that ran it: the caller WAITs for them. */
  replicas: number
  /** Subscribers on that master that received its message (src/cache/near/write-settle.ts). */
  receivers: number
}

/** Announces a change of one entity in one slot: its list pages there, its entry, or both (one Redis, no Cluster). */
export async function announceChange (redis: Redis | Cluster, change: {
  id: string
  call: ChangeCall
  token: string
  /** TTL of the change marker, the entity generation and the far-future stamp. */
  ttlSeconds: number
  channel: string
  copySuffixes: readonly string[]
}): Promise<Announced> {
  const { tracking, entity } = change.call
  const keys = [
    ...tracking ? [tracking.changeClock, tracking.changedAt(change.id), tracking.pagesHolding(change.id)] : [],
    ...entity ? [entity.generationKey, entity.key, entity.changeMarker] : []
  ]
  const [replicas, receivers] = await redis.announceChange(keys.length, ...keys, change.ttlSeconds, change.channel, change.token,
    tracking ? '1' : '0', change.copySuffixes.length, ...change.copySuffixes)
  return { replicas, receivers }
}
