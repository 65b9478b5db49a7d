import type { Cluster, Redis, Result } from 'ioredis'
import type { LuaScript } from '../../redis/lua-script.js'
import { RETURN_ONLINE_REPLICAS, type Announced } from './online-replicas.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    parkPages (keyCount: number, ...keysThenArgs: Array<string | number>): Result<[number, number], Context>
  }
}

/** Where a page waits, out of reach of lookups, while an entity on it changes. */
export const PARKED_SUFFIX = ':parked'

// KEYS: a list slot group's change clock, then pairs (changed-at, pages-holding) of the entities
// about to change. ARGV: the stamps' TTL, the Pub/Sub channel, how many copy suffixes follow,
// the suffixes. Before the write is made: each entity is stamped changed at a clock value far
// in the future (so every fill of a page holding it is refused until the write's invalidation
// stamps the real clock, or the stamp expires), and each cached page holding it leaves the
// lookups' reach: renamed to <page>:parked, from where the write's invalidation puts it back
// rewritten (bumpGenerations), with its copies deleted. A page already parked by another
// entity's change is deleted instead: two changes on one page, and neither may put it back.
// Returns the replicas online on this master, for the caller's WAIT, and the message's receivers.
const LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local clock = math.max(current + 1, now)
redis.call('SET', KEYS[1], string.format('%d', clock))
local suffixes = tonumber(ARGV[3])
local parked = { '0' }
for i = 2, #KEYS, 2 do
  redis.call('SET', KEYS[i], string.format('%d', clock + 1000000000000000), 'EX', tonumber(ARGV[1]))
  for _, page in ipairs(redis.call('SMEMBERS', KEYS[i + 1])) do
    for s = 1, suffixes do redis.call('DEL', page .. ARGV[3 + s]) end
    if redis.call('EXISTS', page) == 1 then
      redis.call('RENAME', page, page .. '${PARKED_SUFFIX}')
    else
      redis.call('DEL', page .. '${PARKED_SUFFIX}')
    end
    table.insert(parked, page)
  end
end
local receivers = redis.call('PUBLISH', ARGV[2], table.concat(parked, '\\n'))
${RETURN_ONLINE_REPLICAS}`

export const parkPagesScript: LuaScript = { name: 'parkPages', lua: LUA }

/** Parks the pages holding the entities about to change, in one list slot group. Resolves to the replicas online, and the message's receivers. */
export async function parkPages (redis: Redis | Cluster, park: {
  changeClock: string
  entities: Array<{ changedAt: string, pagesHolding: string }>
  stampTtlSeconds: number
  channel: string
  copySuffixes: readonly string[]
}): Promise<Announced> {
  const keys = [park.changeClock, ...park.entities.flatMap((e) => [e.changedAt, e.pagesHolding])]
  const [replicas, receivers] = await redis.parkPages(keys.length, ...keys, park.stampTtlSeconds, park.channel, park.copySuffixes.length, ...park.copySuffixes)
  return { replicas, receivers }
}
