import type { Redis, Result } from 'ioredis'

// Multi-step cache operations run as Lua scripts, so each is one round trip and atomic.

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** Stores the entry only if the generation is still the one the filler observed. 1 stored, 0 refused. */
    fillIfGeneration (generationKey: string, entryKey: string, expectedGeneration: string,
      entry: string, ttlSeconds: number): Result<number, Context>
    /** Returns the generation, first creating it (server time in µs) when it does not exist. */
    ensureGeneration (generationKey: string, ttlSeconds: number): Result<string, Context>
    /** Bumps the list generation and, per order, its entity generation, deleting its entry. */
    bumpGenerations (...keysThenArgs: Array<string | number>): Result<number, Context>
  }
}

// A missing generation never matches: if it expired or Redis restarted since the filler looked,
// the filler cannot know which mutations it missed.
const FILL_IF_GENERATION = `
local current = redis.call('GET', KEYS[1])
if not current or current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
`

// KEYS: list generation, then pairs of (entity generation, entity entry). ARGV[1]: TTL of the
// entity generation keys. A new generation is max(current + 1, server time in microseconds):
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
bump(KEYS[1])
for i = 2, #KEYS, 2 do
  bump(KEYS[i], tonumber(ARGV[1]))
  redis.call('DEL', KEYS[i + 1])
end
return 1
`

// A generation is created the first time a key is read, from the server clock, so a generation
// that expired (entity generations have a TTL) or vanished with a Redis restart comes back as a
// value no old entry or in-flight filler can hold. ARGV[1]: TTL, 0 for none.
const ENSURE_GENERATION = `
local current = redis.call('GET', KEYS[1])
if current then return current end
local t = redis.call('TIME')
local initial = string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2]))
if tonumber(ARGV[1]) > 0 then
  redis.call('SET', KEYS[1], initial, 'EX', tonumber(ARGV[1]))
else
  redis.call('SET', KEYS[1], initial)
end
return initial
`

export function defineCacheScripts (redis: Redis): void {
  redis.defineCommand('fillIfGeneration', { numberOfKeys: 2, lua: FILL_IF_GENERATION })
  redis.defineCommand('bumpGenerations', { lua: BUMP_GENERATIONS })
  redis.defineCommand('ensureGeneration', { numberOfKeys: 1, lua: ENSURE_GENERATION })
}
