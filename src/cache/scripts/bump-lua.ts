// The Lua that moves a generation or a clock forward, shared by the scripts that do
// (bump-generations.ts, ../changes.ts): `bump(key[, ttl])` sets the key to
// max(current + 1, server time in microseconds) and returns the new value as a string. Strictly
// increasing while the key lives, and never back to a value an old entry was tagged with after
// the key expired or was lost (a plain INCR would restart at 1). One TIME per script call.
export const BUMP_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function bump (key, ttl)
  local current = tonumber(redis.call('GET', key) or '0') or 0
  local nextValue = string.format('%d', math.max(current + 1, now))
  if ttl then
    redis.call('SET', key, nextValue, 'EX', ttl)
  else
    redis.call('SET', key, nextValue)
  end
  return nextValue
end`
