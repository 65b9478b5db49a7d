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

/** The two kinds of cached response, built in one place for the routes and the invalidator. */
export const cacheTargets = {
  listPage: (page: number, limit: number): CacheTarget =>
    ({ key: redisKeys.listPage(page, limit), generationKey: redisKeys.listGeneration, generationExpires: false }),
  entity: (orderId: string): CacheTarget =>
    ({ key: redisKeys.entity(orderId), generationKey: redisKeys.entityGeneration(orderId), generationExpires: true })
}
