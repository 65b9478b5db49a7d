import calculateSlot from 'cluster-key-slot'
import type { Cluster, Redis } from 'ioredis'

/** Keys whose slot is remembered; past it the memory starts again (the hot keys come back at once). */
const REMEMBERED_KEYS = 10_000

export interface SlotOwners {
  /** The connection of the master that owns `key`'s slot in the client's slot map, if the client has one to it. */
  ownerOf: (key: string) => Redis | undefined
  close: () => void
}

/**
 * On a Redis Cluster, which master connection of `cluster` owns a key's slot, so that the
 * cache's lookup can be written to it directly: ioredis's own routing of a command (the slot
 * computed from its keys, a redirection handler made for each command, a promise around it) was
 * what a Cluster hit cost beyond a standalone one (bench/TOPOLOGIES.md). The slot map and the
 * connections are ioredis's own (`cluster.slots`, refreshed by it; `cluster.nodes('master')`,
 * indexed here by the same host:port and again whenever it refreshes or a node comes or goes).
 * A map that is out of date is answered MOVED or ASK by the node: the caller then sends the
 * command through the Cluster client, which follows the redirection and refreshes the map.
 */
export function slotOwners (cluster: Cluster): SlotOwners {
  let byAddress = new Map<string, Redis>()
  const slotOfKey = new Map<string, number>()

  function reindex (): void {
    byAddress = new Map(cluster.nodes('master').map((node) => [`${node.options.host}:${node.options.port}`, node]))
  }
  const events = ['ready', 'refresh', '+node', '-node'] as const
  for (const event of events) cluster.on(event, reindex)
  reindex()

  return {
    ownerOf (key: string): Redis | undefined {
      let slot = slotOfKey.get(key)
      if (slot === undefined) {
        if (slotOfKey.size >= REMEMBERED_KEYS) slotOfKey.clear()
        slot = calculateSlot(key)
        slotOfKey.set(key, slot)
      }
      const address = cluster.slots[slot]?.[0]
      return address === undefined ? undefined : byAddress.get(address)
    },
    close (): void {
      for (const event of events) cluster.off(event, reindex)
    }
  }
}
