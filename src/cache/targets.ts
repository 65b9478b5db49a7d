import { redisKeys } from '../redis/keys.js'

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
