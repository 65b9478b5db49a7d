import type { Result } from 'ioredis'
import type { RedisClient } from '../redis/create-redis-client.js'

// Multi-step cache operations run as Lua scripts, so each is one round trip and atomic.

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /**
     * Stores the entry only if the generation is still the one the filler observed ('' for
     * none) and, for a list page, no order on it changed after the filler's note of the
     * change clock; records the page in each order's pages-holding set. 1 stored, 0 refused.
     * Keys: generation, entry, then per order on a list page (changed-at, pages-holding).
     */
    fillIfGeneration (keyCount: number, ...keysThenArgs: Array<string | number>): Result<number, Context>
    /**
     * Bumps list generations, rewrites or deletes the list pages holding changed orders, and
     * bumps changed orders' generations, deleting their entries. Returns, per changed order
     * whose pages it tracked, how many cached pages it deleted and how many it rewrote.
     */
    bumpGenerations (...keysThenArgs: Array<string | number>): Result<number[], Context>
    /**
     * Stores a compressed copy beside an entry, with the entry's generation and remaining TTL,
     * only if the entry is still the one whose SHA-1 is given. 1 stored, 0 refused.
     */
    fillCompressedCopy (entryKey: string, copyKey: string, entrySha1: string, codingEtagAndBody: Buffer): Result<number, Context>
  }
}

// A generation that changed, appeared or vanished since the filler looked refuses the fill:
// the filler cannot know which mutations it missed. A key read before any mutation has no
// generation yet; its first fill creates one from the server clock (no value an old entry or
// another filler can hold), so a miss that stores nothing (a 404) writes nothing to Redis.
// A list page also names its orders: if one was stamped changed after the filler noted the
// change clock, the filler may have read it before the change, whose invalidation could not
// know this page yet; so it is refused too (see PageTracking in src/redis/keys.ts). A stored
// page is recorded in each of its orders' pages-holding set, which lives twice the entry TTL:
// longer than the entries it names and than any near-cache copy of them (src/cache/near-cache.ts). Those page keys are in the set, not in KEYS: in a Redis Cluster they share
// the set's slot (one hash tag per list group), which is what a script may touch.
// KEYS: generation, entry, then pairs (changed-at, pages-holding) per order on a list page.
// ARGV: observed generation ('' for none), etag\nbody, entry TTL, generation TTL (0: none),
// observed change clock ('' for none).
const FILL_IF_GENERATION = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if current then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
local noted = tonumber(ARGV[5]) or 0
for i = 3, #KEYS, 2 do
  local changed = redis.call('GET', KEYS[i])
  if changed and tonumber(changed) > noted then return 0 end
end
if not current then
  local t = redis.call('TIME')
  current = string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2]))
  if tonumber(ARGV[4]) > 0 then
    redis.call('SET', KEYS[1], current, 'EX', tonumber(ARGV[4]))
  else
    redis.call('SET', KEYS[1], current)
  end
end
redis.call('SET', KEYS[2], current .. '\\n' .. ARGV[2], 'EX', tonumber(ARGV[3]))
for i = 4, #KEYS, 2 do
  redis.call('SADD', KEYS[i], KEYS[2])
  redis.call('EXPIRE', KEYS[i], tonumber(ARGV[3]) * 2)
end
return 1
`

// KEYS: ARGV[2] list generations; then, when ARGV[3] > 0, the change clock and ARGV[3] pairs
// (changed-at, pages-holding) of changed orders; then pairs (entity generation, entity entry).
// ARGV[1]: TTL of entity generations and changed-at stamps; ARGV[4]: the Pub/Sub channel on
// which it publishes what it invalidated, for near caches: '1' or '0' (every list page or not),
// then the page and entity keys, one per line. ARGV[5], ARGV[6], ...: per changed order, its
// bytes before and after the change ('' and '': none). A page holding exactly the bytes before
// is rewritten in place (same TTL, still listed in the order's pages-holding set); any other
// page is deleted. A page can hold other bytes of the order only if it was filled from a
// version older or newer than the one this change started from: deleting it is always safe. A new generation (or clock value)
// is max(current + 1, server time in microseconds): strictly increasing while the key lives,
// and never back to a value an old entry was tagged with after the key expired or was lost (a
// plain INCR would restart at 1).
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
  return nextGeneration
end
local lists = tonumber(ARGV[2])
local tracked = tonumber(ARGV[3])
for i = 1, lists do
  bump(KEYS[i])
end
-- A compressed copy (src/cache/create-cache.ts) goes with its entry, whatever happens to it.
-- Its keys share the entry's hash tag, so in a Redis Cluster they are in this call's slot.
local function dropCompressedCopies (key)
  redis.call('DEL', key .. ':br', key .. ':gzip')
end
local pagesDeleted = {}
local invalidated = { lists > 0 and '1' or '0' }
local i = lists + 1
if tracked > 0 then
  local clock = bump(KEYS[i])
  i = i + 1
  for order = 1, tracked do
    redis.call('SET', KEYS[i], clock, 'EX', tonumber(ARGV[1]))
    local from, to = ARGV[3 + 2 * order], ARGV[4 + 2 * order]
    local deleted, rewritten = 0, 0
    for _, page in ipairs(redis.call('SMEMBERS', KEYS[i + 1])) do
      local entry = from ~= '' and redis.call('GET', page)
      local first, last
      if entry then first, last = string.find(entry, from, 1, true) end
      dropCompressedCopies(page)
      if first then
        redis.call('SET', page, string.sub(entry, 1, first - 1) .. to .. string.sub(entry, last + 1), 'KEEPTTL')
        rewritten = rewritten + 1
      else
        deleted = deleted + redis.call('DEL', page)
        redis.call('SREM', KEYS[i + 1], page)
      end
      table.insert(invalidated, page)
    end
    table.insert(pagesDeleted, deleted)
    table.insert(pagesDeleted, rewritten)
    i = i + 2
  end
end
for j = i, #KEYS, 2 do
  bump(KEYS[j], tonumber(ARGV[1]))
  redis.call('DEL', KEYS[j + 1])
  dropCompressedCopies(KEYS[j + 1])
  table.insert(invalidated, KEYS[j + 1])
end
redis.call('PUBLISH', ARGV[4], table.concat(invalidated, '\\n'))
return pagesDeleted
`

// KEYS: the entry, its compressed copy. ARGV: the entry's SHA-1 as the filler read it, then
// '<coding> <etag>\n<bytes>'. The copy takes the entry's generation and remaining TTL, so it
// is valid exactly as long as the entry and never outlives it; a list generation bump makes
// both stale at once.
const FILL_COMPRESSED_COPY = `
local entry = redis.call('GET', KEYS[1])
if not entry or redis.sha1hex(entry) ~= ARGV[1] then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
local generation = string.sub(entry, 1, string.find(entry, '\\n', 1, true) - 1)
redis.call('SET', KEYS[2], generation .. '\\n' .. ARGV[2], 'PX', ttl)
return 1
`

export function defineCacheScripts (redis: RedisClient): void {
  redis.defineCommand('fillCompressedCopy', { numberOfKeys: 2, lua: FILL_COMPRESSED_COPY })
  redis.defineCommand('fillIfGeneration', { lua: FILL_IF_GENERATION })
  redis.defineCommand('bumpGenerations', { lua: BUMP_GENERATIONS })
}
