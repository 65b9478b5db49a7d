import type { Result } from 'ioredis'
import type { RedisClient } from '../redis/create-redis-client.js'

// Multi-step cache operations run as Lua scripts, so each is one round trip and atomic.

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /**
     * Stores the entry only if the generation is still the one the filler observed ('' for
     * none). 1 stored, 0 refused.
     */
    fillIfGeneration (generationKey: string, entryKey: string, observedGeneration: string,
      etagAndBody: string, ttlSeconds: number, generationTtlSeconds: number): Result<number, Context>
    /**
     * Bumps list generations (the first ARGV[2] keys) and, per following pair of keys, an
     * order's generation, deleting its entry.
     */
    bumpGenerations (...keysThenArgs: Array<string | number>): Result<number, Context>
  }
}

// A generation that changed, appeared or vanished since the filler looked refuses the fill:
// the filler cannot know which mutations it missed. A key read before any mutation has no
// generation yet; its first fill creates one from the server clock (no value an old entry or
// another filler can hold), so a miss that stores nothing (a 404) writes nothing to Redis.
// ARGV: observed generation ('' for none), etag\nbody, entry TTL, generation TTL (0: none).
const FILL_IF_GENERATION = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if current then return 0 end
  local t = redis.call('TIME')
  current = string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2]))
  if tonumber(ARGV[4]) > 0 then
    redis.call('SET', KEYS[1], current, 'EX', tonumber(ARGV[4]))
  else
    redis.call('SET', KEYS[1], current)
  end
elseif current ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[2], current .. '\\n' .. ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
`

// KEYS: ARGV[2] list generations, then pairs of (entity generation, entity entry). ARGV[1]: TTL
// of the entity generation keys. A new generation is max(current + 1, server time in microseconds):
// strictly increasing while the key lives, and never back to a value an old entry was tagged
// with after an entity generation key expired (a plain INCR would restart at 1).
const BUMP_GENERATIONS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function bump (key, ttl)
  local current = tonumber(redis.call('GET', key) or '0') or 0
  local nextGeneration = string.format('%d', math.max(current + 1, now))
  if ttl then
    redis.call('SET', key, nextGeneration, 'EX', ttl)
  else
    redis.call('SET', key, nextGeneration)
  end
end
local lists = tonumber(ARGV[2])
for i = 1, lists do
  bump(KEYS[i])
end
for i = lists + 1, #KEYS, 2 do
  bump(KEYS[i], tonumber(ARGV[1]))
  redis.call('DEL', KEYS[i + 1])
end
return 1
`

export function defineCacheScripts (redis: RedisClient): void {
  redis.defineCommand('fillIfGeneration', { numberOfKeys: 2, lua: FILL_IF_GENERATION })
  redis.defineCommand('bumpGenerations', { lua: BUMP_GENERATIONS })
}
