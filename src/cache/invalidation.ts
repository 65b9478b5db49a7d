// What a write hands the cache: one type, from the route's declaration to the script call.
// It speaks of list pages and entities by id, never of the domain's types: the route's own
// policy (src/orders/cache-policies.ts) turns a change into one.

/**
 * An entity's bytes, as a list page holds them, before and after the change: a page that holds
 * exactly `from` is rewritten in place (it stays cached); any other is deleted.
 */
export interface Rewrite { from: string, to: string }

/** What one or more mutations invalidate. */
export interface Invalidation {
  /** A new entity shifts every list page (one generation bump, O(1)). */
  everyListPage: boolean
  /** Changed entities: each one's entry, and the list pages holding it (rewritten with `rewrite`, else deleted). */
  changed: Array<{ id: string, rewrite: Rewrite | null }>
}

/** A new entity: every list page. */
export const everyListPage = (): Invalidation => ({ everyListPage: true, changed: [] })

/** A changed entity: its entry and the pages holding it; `rewrite` null deletes those pages. */
export const changedEntity = (id: string, rewrite: Rewrite | null = null): Invalidation =>
  ({ everyListPage: false, changed: [{ id, rewrite }] })

/**
 * Two changes of one entity delivered together: the pages can be rewritten from the first's
 * `from` to the second's `to` only if the second started where the first ended.
 */
export function chainRewrites (earlier: Rewrite | null, later: Rewrite | null): Rewrite | null {
  return earlier && later && earlier.to === later.from ? { from: earlier.from, to: later.to } : null
}
