import type { Cluster, Redis, Result } from 'ioredis'
import type { LuaScript } from '../../redis/lua-script.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fillIfGeneration (keyCount: number, ...keysThenArgs: Array<string | number>): Result<number, Context>
  }
}

// A generation that changed, appeared or vanished since the filler looked refuses the fill:
// the filler cannot know which mutations it missed. A key read before any mutation has no
// generation yet; its first fill creates one from the server clock (no value an old entry or
// another filler can hold), so a miss that stores nothing (a 404) writes nothing to Redis.
// A list page also names its entities: if one was stamped changed after the filler noted the
// change clock, the filler may have read it before the change, whose invalidation could not
// know this page yet; so it is refused too (see PageTracking in src/cache/keys.ts). A stored
// page is recorded in each of its entities' pages-holding set, which lives twice the entry TTL:
// longer than the entries it names and than any near copy of them. Those page keys are in the
// set, not in KEYS: in a Redis Cluster they share the set's slot (one hash tag per list group),
// which is what a script may touch.
// An entity's fill is also refused while a change of it is under way (its change marker exists:
// src/cache/changes.ts): the filler may have read it before the write.
// An expiring generation (an entity's) is given its full TTL again by each fill (never less
// than it has): it must outlive every entry tagged with it, and an entry refreshed before it
// expires (src/cache/refresh-ahead.ts) lives on.
// Beside the entry, its fill time (Redis's clock, in ms) is set with the same TTL: the reader's
// age of the entry, for an eager refresh and for grace (src/cache/read-through.ts). The entry
// lives its TTL plus the grace period (0 unless CACHE_GRACE_SECONDS).
// KEYS: generation, entry, fill time, then for an entity its change marker, or for a list
// page pairs (changed-at, pages-holding) per entity on it.
// ARGV: observed generation ('' for none), etag\nbody, entry TTL, generation TTL (0: none),
// observed change clock ('' for none), '1' when KEYS[4] is a change marker, grace seconds.
const LUA = `
local firstPair = 4
if ARGV[6] == '1' then
  if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
  firstPair = 5
end
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if current then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
local noted = tonumber(ARGV[5]) or 0
for i = firstPair, #KEYS, 2 do
  local changed = redis.call('GET', KEYS[i])
  if changed and tonumber(changed) > noted then return 0 end
end
local t = redis.call('TIME')
if not current then
  current = string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2]))
  if tonumber(ARGV[4]) > 0 then
    redis.call('SET', KEYS[1], current, 'EX', tonumber(ARGV[4]))
  else
    redis.call('SET', KEYS[1], current)
  end
elseif tonumber(ARGV[4]) > 0 then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]), 'GT')
end
local lives = tonumber(ARGV[3]) + tonumber(ARGV[7])
redis.call('SET', KEYS[2], current .. '\\n' .. ARGV[2], 'EX', lives)
redis.call('SET', KEYS[3], string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)), 'EX', lives)
for i = firstPair + 1, #KEYS, 2 do
  redis.call('SADD', KEYS[i], KEYS[2])
  redis.call('EXPIRE', KEYS[i], lives * 2)
end
return 1
`

export const fillIfGenerationScript: LuaScript = { name: 'fillIfGeneration', lua: LUA }

/**
 * Stores the entry only if the generation is still the one the filler observed and, for a
 * list page, no entity on it changed after the filler's note of the change clock; records the
 * page in each entity's pages-holding set. True when stored, false when refused.
 */
export async function fillIfGeneration (redis: Redis | Cluster, fill: {
  generationKey: string
  entryKey: string
  /** Where the fill time goes (beside the entry). */
  filledKey: string
  /** An entity's change marker: no fill while it exists. */
  changeMarker?: string | undefined
  /** A list page's entities: the keys their changes are stamped in and the set that records the page. */
  held: Array<{ changedAt: string, pagesHolding: string }>
  /** The generation seen before the load ('' when the key had none). */
  observedGeneration: string
  /** The change clock seen before the load ('' when none, or not a list page). */
  observedChangeClock: string
  /** `<etag>\n<body>`: the entry after its generation line (its format: src/cache/entry-reader.ts). */
  payload: string
  entryTtlSeconds: number
  /** How long the entry is kept past its TTL, for grace (CACHE_GRACE_SECONDS). */
  graceSeconds: number
  /** 0: a generation created by this fill never expires (the list's). */
  generationTtlSeconds: number
}): Promise<boolean> {
  const keys = [fill.generationKey, fill.entryKey, fill.filledKey, ...(fill.changeMarker ? [fill.changeMarker] : []), ...fill.held.flatMap((h) => [h.changedAt, h.pagesHolding])]
  const stored = await redis.fillIfGeneration(keys.length, ...keys,
    fill.observedGeneration, fill.payload, fill.entryTtlSeconds, fill.generationTtlSeconds, fill.observedChangeClock, fill.changeMarker ? '1' : '0', fill.graceSeconds)
  return stored === 1
}
