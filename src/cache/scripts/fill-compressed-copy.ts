import type { Cluster, Redis, Result } from 'ioredis'
import type { LuaScript } from '../../redis/lua-script.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fillCompressedCopy (keyCount: number, ...keysThenArgs: Array<string | Buffer>): Result<number, Context>
  }
}

// KEYS: the entry, its compressed copy. ARGV: the entry's SHA-1 as the filler read it, then
// the copy's payload ('<coding> <etag>\n<bytes>'). The copy takes the entry's generation and
// its very expiry time (PEXPIRETIME, Redis 7: a TTL read and set again in a script could land a
// few milliseconds later), so it is valid exactly as long as the entry and never outlives it; a list
// generation bump makes both stale at once, and a rewrite or deletion that raced the copy's
// making changed the entry's SHA-1, so the copy is refused.
const LUA = `
local entry = redis.call('GET', KEYS[1])
if not entry or redis.sha1hex(entry) ~= ARGV[1] then return 0 end
local expiresAt = redis.call('PEXPIRETIME', KEYS[1])
if expiresAt <= 0 then return 0 end
local generation = string.sub(entry, 1, string.find(entry, '\\n', 1, true) - 1)
redis.call('SET', KEYS[2], generation .. '\\n' .. ARGV[2], 'PXAT', expiresAt)
return 1
`

export const fillCompressedCopyScript: LuaScript = { name: 'fillCompressedCopy', lua: LUA }

/** Stores a compressed copy beside its entry, only while the entry is still the one read. True when stored. */
export async function fillCompressedCopy (redis: Redis | Cluster, fill: {
  entryKey: string
  copyKey: string
  /** SHA-1 (hex) of the entry exactly as it was read, generation line included. */
  entrySha1: string
  payload: Buffer
}): Promise<boolean> {
  return await redis.fillCompressedCopy(2, fill.entryKey, fill.copyKey, fill.entrySha1, fill.payload) === 1
}
