import type { Cluster, Redis, Result } from 'ioredis'
import type { LuaScript } from '../../redis/lua-script.js'
import type { Rewrite } from '../invalidation.js'
import { PARKED_SUFFIX, type InvalidationCall } from '../keys.js'
import { BUMP_LUA } from './bump-lua.js'
import { CONTENT_TAG_DIGITS } from '../../http/representations.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    bumpGenerations (keyCount: number, ...keysThenArgs: Array<string | number>): Result<number[], Context>
  }
}

// KEYS: ARGV[2] list generations; then, when ARGV[3] > 0, the change clock and ARGV[3] pairs
// (changed-at, pages-holding) of changed entities; then triples (entity generation, entry, change
// marker).
// ARGV[1]: TTL of entity generations and changed-at stamps; ARGV[4]: the Pub/Sub channel on
// which it publishes what it invalidated, for near caches: '1' or '0' (every list page or not),
// then the page and entity keys, one per line. ARGV[5]: how many compressed-copy key suffixes
// follow (every copy of a deleted or rewritten entry goes with it, whatever its coding); then,
// per changed entity, its bytes before and after the change ('' and '': none); then, per entity
// entry, the token of the change this ends ('': none). A page holding exactly the bytes before
// is rewritten in place (same TTL, still listed in the entity's pages-holding set); any other
// page is deleted. A page parked when the change was announced (../changes.ts) is the page:
// rewritten and put back, or deleted. Stamping the real clock ends the announcement's
// far-future stamp, and the change marker goes when it still holds this change's token. A page can hold other bytes of the entity
// only if it was filled from a version older or newer than the one this change started from:
// deleting it is always safe. A new generation (or clock value) is moved forward by `bump`
// (bump-lua.ts).
const LUA = `${BUMP_LUA}
local lists = tonumber(ARGV[2])
local tracked = tonumber(ARGV[3])
local suffixCount = tonumber(ARGV[5])
local rewritesFrom = 5 + suffixCount
local tokensFrom = rewritesFrom + 2 * tracked
for i = 1, lists do
  bump(KEYS[i])
end
-- Copies share the entry's hash tag, so in a Redis Cluster they are in this call's slot.
local function dropCompressedCopies (key)
  for s = 1, suffixCount do redis.call('DEL', key .. ARGV[5 + s]) end
end
-- A page rewritten in place gets the tag of its new bytes, computed as src/http/representations.ts's
-- contentTag does: a client's copy of the old page must not be answered 304.
local function retagged (entry, first, last, to)
  local g = string.find(entry, '\\n', 1, true)
  local e = g and string.find(entry, '\\n', g + 1, true)
  if not e or first <= e then return nil end
  local body = string.sub(entry, e + 1, first - 1) .. to .. string.sub(entry, last + 1)
  return string.sub(entry, 1, g) .. '"' .. string.sub(redis.sha1hex(body), 1, ${CONTENT_TAG_DIGITS}) .. '"\\n' .. body
end
local pagesTouched = {}
local invalidated = { lists > 0 and '1' or '0' }
local i = lists + 1
if tracked > 0 then
  local clock = bump(KEYS[i])
  i = i + 1
  for entity = 1, tracked do
    redis.call('SET', KEYS[i], clock, 'EX', tonumber(ARGV[1]))
    local from, to = ARGV[rewritesFrom + 2 * entity - 1], ARGV[rewritesFrom + 2 * entity]
    local deleted, rewritten = 0, 0
    for _, page in ipairs(redis.call('SMEMBERS', KEYS[i + 1])) do
      local parkedKey = page .. '${PARKED_SUFFIX}'
      local live = redis.call('GET', page)
      local stored = live or redis.call('GET', parkedKey)
      local first, last, replaced
      if stored and from ~= '' then first, last = string.find(stored, from, 1, true) end
      if first then replaced = retagged(stored, first, last, to) end
      dropCompressedCopies(page)
      if replaced then
        local where = live and page or parkedKey
        redis.call('SET', where, replaced, 'KEEPTTL')
        if live then redis.call('DEL', parkedKey) else redis.call('RENAME', parkedKey, page) end
        rewritten = rewritten + 1
      else
        deleted = deleted + redis.call('DEL', page, parkedKey)
        redis.call('SREM', KEYS[i + 1], page)
      end
      table.insert(invalidated, page)
    end
    table.insert(pagesTouched, deleted)
    table.insert(pagesTouched, rewritten)
    i = i + 2
  end
end
local entity = 0
for j = i, #KEYS, 3 do
  entity = entity + 1
  bump(KEYS[j], tonumber(ARGV[1]))
  redis.call('DEL', KEYS[j + 1])
  dropCompressedCopies(KEYS[j + 1])
  local token = ARGV[tokensFrom + entity]
  if token ~= '' and redis.call('GET', KEYS[j + 2]) == token then redis.call('DEL', KEYS[j + 2]) end
  table.insert(invalidated, KEYS[j + 1])
end
table.insert(pagesTouched, 1, redis.call('PUBLISH', ARGV[4], table.concat(invalidated, '\\n')))
return pagesTouched
`

export const bumpGenerationsScript: LuaScript = { name: 'bumpGenerations', lua: LUA }

export interface PagesTouched { deleted: number, rewritten: number }

/** What one call did: per changed entity whose pages it tracked, the pages it touched; and its message's receivers. */
export interface Bumped {
  pages: Map<string, PagesTouched>
  /** Subscribers on the master that ran it that received its message (src/cache/near/write-settle.ts). */
  receivers: number
}

/** The KEYS one call of the invalidation sends, in the script's order (one slot: test/cache/key-slots.test.ts). */
export function invalidationKeys ({ listGenerations, pagesOf, entities }: InvalidationCall): string[] {
  const tracked = pagesOf
    ? [pagesOf.tracking.changeClock, ...pagesOf.ids.flatMap((id) => [pagesOf.tracking.changedAt(id), pagesOf.tracking.pagesHolding(id)])]
    : []
  return [...listGenerations, ...tracked, ...entities.flatMap(({ target }) => [target.generationKey, target.key, target.changeMarker])]
}

/**
 * Carries out one script call of an invalidation (every key in it shares a hash slot): bumps
 * list generations, rewrites or deletes the list pages holding changed entities (with their
 * compressed copies), bumps changed entities' generations and deletes their entries and
 * copies, and publishes what it invalidated. Resolves, per changed entity whose pages it
 * tracked, to the cached pages it deleted and rewrote, and to its message's receivers.
 */
export async function bumpGenerations (redis: Redis | Cluster, bump: {
  call: InvalidationCall
  /** Per changed entity, how its pages may be rewritten (absent or null: delete them). */
  rewrites: ReadonlyMap<string, Rewrite | null>
  /** Per changed entity, the token of the announced change this ends (absent: none). */
  changeTokens: ReadonlyMap<string, string>
  /** TTL of entity generations and changed-at stamps. */
  stampTtlSeconds: number
  channel: string
  /** Every compressed-copy key suffix (src/cache/compressed-copies.ts). */
  copySuffixes: readonly string[]
}): Promise<Bumped> {
  const { listGenerations, pagesOf, entities } = bump.call
  const keys = invalidationKeys(bump.call)
  const tokens = entities.map(({ id }) => bump.changeTokens.get(id) ?? '')
  const rewriteArgs = pagesOf?.ids.flatMap((id) => { const r = bump.rewrites.get(id); return r ? [r.from, r.to] : ['', ''] }) ?? []
  const counts = await redis.bumpGenerations(keys.length, ...keys, bump.stampTtlSeconds, listGenerations.length,
    pagesOf?.ids.length ?? 0, bump.channel, bump.copySuffixes.length, ...bump.copySuffixes, ...rewriteArgs, ...tokens)
  // The script returns its message's receivers, then a (deleted, rewritten) pair for each tracked
  // entity, in order (pagesTouched above): no pair is ever missing, so there is no fallback to take.
  const [receivers, ...pairs] = counts
  return {
    receivers: receivers as number,
    pages: new Map(pagesOf?.ids.map((id, i) => [id, { deleted: pairs[2 * i] as number, rewritten: pairs[2 * i + 1] as number }]))
  }
}
