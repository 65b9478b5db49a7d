import type { Invalidation } from './invalidation.js'

// Every Redis key the service uses, in one place. The layout is part of the contract
// (design brief section 3): {service}:{version}:{resource}:{scope}:{identifier}. Bumping the
// version segment gives a new, empty namespace without deleting anything.

const KEY_NAMESPACE = 'flowops:order-service:v1'

export const redisKeys = {
  /** One cached page of GET /orders. */
  listPage: (page: number, limit: number) => `${KEY_NAMESPACE}:orders:list:page:${page}:limit:${limit}`,
  /** Generation of the list cache: a POST bumps it, invalidating every cached page at once (O(1)). */
  listGeneration: `${KEY_NAMESPACE}:orders:list:generation`,
  /** Clock of order changes: every PUT or DELETE moves it forward (see PageTracking). */
  listChangeClock: `${KEY_NAMESPACE}:orders:list:change-clock`,
  /** The change clock's value when this order last changed. */
  orderChangedAt: (orderId: string) => `${KEY_NAMESPACE}:orders:list:order-changed-at:${orderId}`,
  /** The cached list page keys that hold this order, recorded by each fill. */
  pagesHolding: (orderId: string) => `${KEY_NAMESPACE}:orders:list:pages-holding:${orderId}`,
  /** One cached GET /orders/:id. */
  entity: (orderId: string) => `${KEY_NAMESPACE}:orders:entity:${orderId}`,
  /** Generation of one order's cache entry, bumped by PUT and DELETE of that order. */
  entityGeneration: (orderId: string) => `${KEY_NAMESPACE}:orders:entity-generation:${orderId}`,
  /** Set while a PUT or DELETE of this order is under way (its token): no fill of its entry meanwhile. */
  entityChanging: (orderId: string) => `${KEY_NAMESPACE}:orders:entity-changing:${orderId}`,
  /** The per-order write lock. */
  orderLock: (orderId: string) => `${KEY_NAMESPACE}:locks:order:${orderId}`,
  /** Pub/Sub channel on which every invalidation says what it invalidated (for near caches). */
  invalidationChannel: `${KEY_NAMESPACE}:cache:invalidations`,
  /** Prefix of the rate-limit counters; @fastify/rate-limit appends the client IP. */
  rateLimitPrefix: `${KEY_NAMESPACE}:ratelimit:`
} as const

/**
 * How list pages learn which orders they hold, so that a PUT or DELETE invalidates only the
 * pages holding its order (it never moves an order in the newest-first list: it changes
 * neither createdAt nor _id). All of a group's keys share one Redis Cluster slot.
 * - A page's fill records its key in `pagesHolding(id)` of every order on it; a change deletes
 *   the page keys recorded there. Cost: one key per page that held the order within one TTL.
 * - A reader notes `changeClock` before its MongoDB read. A change moves the clock forward and
 *   stamps `changedAt(id)` with it. A fill is refused if any order on its page was stamped
 *   after the reader's note: that reader may have read the order before the change committed,
 *   and the change's invalidation could not know the page yet. This is the no-stale-fill
 *   guarantee for pages that a change does not invalidate as a whole.
 */
export interface PageTracking {
  changeClock: string
  changedAt: (orderId: string) => string
  pagesHolding: (orderId: string) => string
}

/** Where a response lives in Redis: its entry key and the generation key that guards it. */
export interface CacheTarget {
  key: string
  generationKey: string
  /**
   * Whether the generation key expires. The list generation is one key and lives forever; an
   * order's generation expires some time after its last bump (see bumpGenerations).
   */
  generationExpires: boolean
  /** List pages only: how the orders on the page are tracked (see PageTracking). */
  tracking?: PageTracking
  /** A list page (every POST invalidates it), or an order's entry. */
  isListPage: boolean
  /** An entity only: the key set while a change of it is under way (a fill is refused while it exists). */
  changeMarker?: string
  /**
   * When the entry was filled (Redis's clock, ms), set by each fill beside the entry with the
   * entry's TTL: its age decides an eager refresh and whether it is past its TTL, in grace.
   */
  filledKey: string
}

/** An entity's entry: it always has a change marker. */
export type EntityTarget = CacheTarget & { changeMarker: string }

/**
 * One script call of a change's announcement (src/cache/changes.ts): every key in it hashes to
 * the same Redis Cluster slot. Standalone, one call holds both; on a Cluster, one per list
 * slot group and one for the entity.
 */
export type ChangeCall =
  /** A list slot group's tracking keys, where the pages holding the entity are parked; and the entity's keys, standalone. */
  | { tracking: PageTracking, entity?: EntityTarget }
  /** The entity's entry, generation and change marker. */
  | { tracking?: undefined, entity: EntityTarget }

/** One script call of an invalidation: every key in it hashes to the same Redis Cluster slot. */
export interface InvalidationCall {
  /** List generations to bump: a new order shifts every page (they never expire). */
  listGenerations: string[]
  /** Changed entities whose list pages to invalidate, in this slot group's tracking keys. */
  pagesOf?: { tracking: PageTracking, ids: string[] }
  /** Entities whose generation to bump and whose entry to delete (and change marker, for the change's token). */
  entities: Array<{ id: string, target: EntityTarget }>
}

/**
 * Where cached responses live and how an invalidation is sent. Routes and the invalidator
 * only speak of list pages and orders; the layout turns them into keys.
 */
export interface KeyLayout {
  listPage: (page: number, limit: number) => CacheTarget
  entity: (orderId: string) => EntityTarget
  /** The script calls that carry out an invalidation. */
  invalidation: (invalidation: Invalidation) => InvalidationCall[]
  /** The script calls that announce a change of one entity, before it is made. */
  change: (id: string) => ChangeCall[]
}

/** Beside an entry (same hash tag, so the same Redis Cluster slot): when it was filled. */
export const filledKeyOf = (entryKey: string): string => `${entryKey}:filled`

/** Where a page waits, out of reach of lookups, while an entity on it changes (src/cache/changes.ts). */
export const PARKED_SUFFIX = ':parked'

const listPageIn = (generationKey: string, tracking: PageTracking, key: string): CacheTarget =>
  ({ key, generationKey, generationExpires: false, tracking, isListPage: true, filledKey: filledKeyOf(key) })
const entityIn = (generationKey: string, key: string, changeMarker: string): EntityTarget =>
  ({ key, generationKey, generationExpires: true, isListPage: false, changeMarker, filledKey: filledKeyOf(key) })

const standaloneTracking: PageTracking = {
  changeClock: redisKeys.listChangeClock,
  changedAt: redisKeys.orderChangedAt,
  pagesHolding: redisKeys.pagesHolding
}

/** Standalone Redis and Sentinel: exactly the brief's keys, and one script call per invalidation or announcement. */
export const standaloneKeys: KeyLayout = {
  listPage: (page, limit) => listPageIn(redisKeys.listGeneration, standaloneTracking, redisKeys.listPage(page, limit)),
  entity: (orderId) => entityIn(redisKeys.entityGeneration(orderId), redisKeys.entity(orderId), redisKeys.entityChanging(orderId)),
  change: (id) => [{ tracking: standaloneTracking, entity: standaloneKeys.entity(id) }],
  invalidation: ({ everyListPage, changed }) => [{
    listGenerations: everyListPage ? [redisKeys.listGeneration] : [],
    pagesOf: changed.length > 0 ? { tracking: standaloneTracking, ids: changed.map(({ id }) => id) } : undefined,
    entities: changed.map(({ id }) => ({ id, target: standaloneKeys.entity(id) }))
  }]
}

/**
 * How many hash slots the list pages are spread over in cluster mode. A page shares its slot
 * with its generation (the lookup is one MGET of both, the fill a script on both), so one
 * generation for every page would put every list page on one master; with a generation per
 * group of pages, page p lives in group (p - 1) mod LIST_SLOT_GROUPS, and a POST bumps them
 * all (still O(1): a fixed number of keys, never a scan). Each group also has its own
 * PageTracking keys, so a PUT or DELETE sends one call per group.
 */
const LIST_SLOT_GROUPS = 4

const listGroupOf = (page: number) => (page - 1) % LIST_SLOT_GROUPS
const clusterListKey = (group: number, rest: string) => `${KEY_NAMESPACE}:orders:list:{orders:list:${group}}:${rest}`
const clusterTracking = Array.from({ length: LIST_SLOT_GROUPS }, (_, group): PageTracking => ({
  changeClock: clusterListKey(group, 'change-clock'),
  changedAt: (orderId) => clusterListKey(group, `order-changed-at:${orderId}`),
  pagesHolding: (orderId) => clusterListKey(group, `pages-holding:${orderId}`)
}))

/**
 * Redis Cluster: the same keys with a hash tag ({...}: only that part picks the slot), so that
 * each entry sits in the slot of the generation that guards it. An invalidation or an
 * announcement is one script call per slot: one per list group and one per order; it has
 * landed when all of them have.
 */
export const clusterKeys: KeyLayout = {
  listPage: (page, limit) => listPageIn(clusterListKey(listGroupOf(page), 'generation'), clusterTracking[listGroupOf(page)]!,
    clusterListKey(listGroupOf(page), `page:${page}:limit:${limit}`)),
  entity: (orderId) => entityIn(`${KEY_NAMESPACE}:orders:entity-generation:{${orderId}}`, `${KEY_NAMESPACE}:orders:entity:{${orderId}}`,
    `${KEY_NAMESPACE}:orders:entity-changing:{${orderId}}`),
  change: (id) => [...clusterTracking.map((tracking) => ({ tracking })), { entity: clusterKeys.entity(id) }],
  invalidation: ({ everyListPage, changed }) => [
    ...clusterTracking.map((tracking, group) => ({
      listGenerations: everyListPage ? [clusterListKey(group, 'generation')] : [],
      pagesOf: changed.length > 0 ? { tracking, ids: changed.map(({ id }) => id) } : undefined,
      entities: []
    })),
    ...changed.map(({ id }) => ({ listGenerations: [], entities: [{ id, target: clusterKeys.entity(id) }] }))
  ]
}
