import type { Cluster, Redis } from 'ioredis'

/**
 * A Lua script the service runs as a command of its own (EVALSHA, falling back to EVAL once
 * per connection). Each script's module holds its source, this descriptor and the one typed
 * function that builds its KEYS and ARGV; the client that runs it registers it where it is
 * made (createRedisClient's `scripts`), so no caller depends on another having run first.
 * The key count is always passed by the typed function (`numberOfKeys` left out).
 */
export interface LuaScript {
  name: string
  lua: string
}

export function registerScripts (client: Redis | Cluster, scripts: readonly LuaScript[]): void {
  for (const { name, lua } of scripts) client.defineCommand(name, { lua })
}
