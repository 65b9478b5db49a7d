// Every Redis key the service uses, in one place. The layout is part of the contract
// (design brief section 3): {service}:{version}:{resource}:{scope}:{identifier}. Bumping the
// version segment gives a new, empty namespace without deleting anything.

const KEY_NAMESPACE = 'flowops:order-service:v1'

export const redisKeys = {
  /** One cached page of GET /orders. */
  listPage: (page: number, limit: number) => `${KEY_NAMESPACE}:orders:list:page:${page}:limit:${limit}`,
  /** Generation of the list cache: bumping it invalidates every cached page at once (O(1)). */
  listGeneration: `${KEY_NAMESPACE}:orders:list:generation`,
  /** One cached GET /orders/:id. */
  entity: (orderId: string) => `${KEY_NAMESPACE}:orders:entity:${orderId}`,
  /** Generation of one order's cache entry, bumped by PUT and DELETE of that order. */
  entityGeneration: (orderId: string) => `${KEY_NAMESPACE}:orders:entity-generation:${orderId}`,
  /** The per-order write lock. */
  orderLock: (orderId: string) => `${KEY_NAMESPACE}:locks:order:${orderId}`,
  /** Prefix of the rate-limit counters; @fastify/rate-limit appends the client IP. */
  rateLimitPrefix: `${KEY_NAMESPACE}:ratelimit:`
} as const

/** Where a response lives in Redis: its entry key and the generation key that guards it. */
export interface CacheTarget {
  key: string
  generationKey: string
  /**
   * Whether the generation key expires. The list generation is one key and lives forever; an
   * order's generation expires some time after its last bump (see bumpGenerations).
   */
  generationExpires: boolean
}

/** One script call of an invalidation: every key in it hashes to the same Redis Cluster slot. */
export interface InvalidationCall {
  /** List generations to bump (they never expire). */
  listGenerations: string[]
  /** Orders whose generation to bump and whose entry to delete. */
  entities: CacheTarget[]
}

/**
 * Where cached responses live and how an invalidation is sent. Routes and the invalidator
 * only speak of list pages and orders; the layout turns them into keys.
 */
export interface KeyLayout {
  listPage: (page: number, limit: number) => CacheTarget
  entity: (orderId: string) => CacheTarget
  /** Every list page and these orders, as the script calls that invalidate them. */
  invalidation: (orderIds: string[]) => InvalidationCall[]
}

const listPageIn = (generationKey: string, key: string): CacheTarget => ({ key, generationKey, generationExpires: false })
const entityIn = (generationKey: string, key: string): CacheTarget => ({ key, generationKey, generationExpires: true })

/** Standalone Redis and Sentinel: exactly the brief's keys, and one script call per invalidation. */
export const standaloneKeys: KeyLayout = {
  listPage: (page, limit) => listPageIn(redisKeys.listGeneration, redisKeys.listPage(page, limit)),
  entity: (orderId) => entityIn(redisKeys.entityGeneration(orderId), redisKeys.entity(orderId)),
  invalidation: (orderIds) => [{ listGenerations: [redisKeys.listGeneration], entities: orderIds.map(standaloneKeys.entity) }]
}

/**
 * How many hash slots the list pages are spread over in cluster mode. A page shares its slot
 * with its generation (the lookup is one MGET of both, the fill a script on both), so one
 * generation for every page would put every list page on one master; with a generation per
 * group of pages, page p lives in group (p - 1) mod LIST_SLOT_GROUPS, and a mutation bumps
 * them all (still O(1): a fixed number of keys, never a scan).
 */
const LIST_SLOT_GROUPS = 4

const listGroupOf = (page: number) => (page - 1) % LIST_SLOT_GROUPS
const clusterListGeneration = (group: number) => `${KEY_NAMESPACE}:orders:list:{orders:list:${group}}:generation`

/**
 * Redis Cluster: the same keys with a hash tag ({...}: only that part picks the slot), so that
 * each entry sits in the slot of the generation that guards it. An invalidation is one script
 * call per slot: one per list group and one per order; it has landed when all of them have.
 */
export const clusterKeys: KeyLayout = {
  listPage: (page, limit) => listPageIn(clusterListGeneration(listGroupOf(page)),
    `${KEY_NAMESPACE}:orders:list:{orders:list:${listGroupOf(page)}}:page:${page}:limit:${limit}`),
  entity: (orderId) => entityIn(`${KEY_NAMESPACE}:orders:entity-generation:{${orderId}}`, `${KEY_NAMESPACE}:orders:entity:{${orderId}}`),
  invalidation: (orderIds) => [
    ...Array.from({ length: LIST_SLOT_GROUPS }, (_, group) => ({ listGenerations: [clusterListGeneration(group)], entities: [] })),
    ...orderIds.map((id) => ({ listGenerations: [], entities: [clusterKeys.entity(id)] }))
  ]
}
