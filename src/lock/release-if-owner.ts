import type { Cluster, Redis, Result } from 'ioredis'
import type { LuaScript } from '../redis/lua-script.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    releaseLockIfOwner (keyCount: number, lockKey: string, token: string): Result<number, Context>
  }
}

// KEYS: the lock. ARGV: the token its holder set. Compare-and-delete in one step, so a holder
// whose lock expired can never delete the next holder's lock.
const LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`

export const releaseIfOwnerScript: LuaScript = { name: 'releaseLockIfOwner', lua: LUA }

/** Deletes the lock only if it still holds our token. True released, false not ours (expired). */
export async function releaseIfOwner (redis: Redis | Cluster, lock: { key: string, token: string }): Promise<boolean> {
  return await redis.releaseLockIfOwner(1, lock.key, lock.token) === 1
}
