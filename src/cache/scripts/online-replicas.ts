// The Lua that ends an announcement script (begin-entity-change.ts, park-pages.ts), after it
// published into `receivers`: how many replicas of this master are online, for the caller's
// WAIT, and how many subscribers (near tiers) received its message, for the writer's settle. A replica still in its first sync
// (connected, not online) does not acknowledge a WAIT until it is done; it gets the write with
// the rest of its sync, and a failover would not promote it before.
export const RETURN_ONLINE_REPLICAS = `
local online = 0
for _ in string.gmatch(redis.call('INFO', 'replication'), 'state=online') do online = online + 1 end
return { online, receivers }
`

/** What an announcement script returns, named (each script's function names its reply's two numbers). */
export interface Announced {
  /** Replicas online on the master that ran it: the caller WAITs for them. */
  replicas: number
  /** Subscribers on that master that received its message (src/cache/near/write-settle.ts). */
  receivers: number
}
