// The Lua that ends an announcement script (begin-entity-change.ts, park-pages.ts): how many
// replicas of this master are online, for the caller's WAIT. A replica still in its first sync
// (connected, not online) does not acknowledge a WAIT until it is done; it gets the write with
// the rest of its sync, and a failover would not promote it before.
export const RETURN_ONLINE_REPLICAS = `
local online = 0
for _ in string.gmatch(redis.call('INFO', 'replication'), 'state=online') do online = online + 1 end
return online
`
