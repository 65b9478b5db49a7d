import type { Cluster, Redis, Result } from 'ioredis'
import type { LuaScript } from '../../redis/lua-script.js'
import { RETURN_ONLINE_REPLICAS, type Announced } from './online-replicas.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    beginEntityChange (keyCount: number, ...keysThenArgs: Array<string | number>): Result<[number, number], Context>
  }
}

// KEYS: the entity's generation, entry and change marker. ARGV: the change's token, the marker's
// TTL, the generation's TTL, the Pub/Sub channel, how many copy suffixes follow, the suffixes.
// Before the write is made: the marker is set (a fill of the entry is refused while it exists),
// the generation moves (a fill noted before is refused), and the entry and its copies go (no
// hit of the old bytes from here on, on any instance). Returns the replicas online on this
// master, for the caller's WAIT (the announcement must survive a failover), and the message's receivers.
const LUA = `
redis.call('SET', KEYS[3], ARGV[1], 'EX', tonumber(ARGV[2]))
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
redis.call('SET', KEYS[1], string.format('%d', math.max(current + 1, now)), 'EX', tonumber(ARGV[3]))
redis.call('DEL', KEYS[2])
for s = 1, tonumber(ARGV[5]) do redis.call('DEL', KEYS[2] .. ARGV[5 + s]) end
local receivers = redis.call('PUBLISH', ARGV[4], '0\\n' .. KEYS[2])
${RETURN_ONLINE_REPLICAS}`

export const beginEntityChangeScript: LuaScript = { name: 'beginEntityChange', lua: LUA }

/** Announces a change of one entity in its slot. Resolves to the replicas online on the master that took it, and its message's receivers. */
export async function beginEntityChange (redis: Redis | Cluster, change: {
  generationKey: string
  entryKey: string
  markerKey: string
  token: string
  markerTtlSeconds: number
  generationTtlSeconds: number
  channel: string
  copySuffixes: readonly string[]
}): Promise<Announced> {
  const [replicas, receivers] = await redis.beginEntityChange(3, change.generationKey, change.entryKey, change.markerKey, change.token,
    change.markerTtlSeconds, change.generationTtlSeconds, change.channel, change.copySuffixes.length, ...change.copySuffixes)
  return { replicas, receivers }
}
