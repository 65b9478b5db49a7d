// What a write hands the cache: one type, from the route's declaration to the script call.
// It speaks of list pages and entities by id, never of the domain's types: the route's own
// policy (its `config.cache.invalidates`, in routes/orders/write.ts) turns a change into one.

/**
 * An entity's bytes, as a list page holds them, before and after the change: a page that holds
 * exactly `from` is rewritten in place (it stays cached); any other is deleted.
 */
export interface Rewrite { from: string, to: string }

/** What one or more mutations invalidate. */
export interface Invalidation {
  /** A new entity shifts every list page (one generation bump, O(1)). */
  everyListPage: boolean
  /**
   * Changed entities: each one's entry, and the list pages holding it (rewritten with `rewrite`,
   * else deleted). `change`: the token of the change announced before the write
   * (src/cache/changes.ts), which this invalidation ends.
   */
  changed: Array<{ id: string, rewrite: Rewrite | null, change?: string }>
}
