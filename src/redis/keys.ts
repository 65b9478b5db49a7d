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
