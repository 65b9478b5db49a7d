import type { FastifyRequest } from 'fastify'
import { redisKeys } from '../../src/keys.js'
import type { CacheTarget } from '../../src/cache/create-cache.js'
import { orderIdOf, type IdParams, type PaginationQuery } from '../../src/schemas/common.js'

// Where each cached GET lives in Redis. They run after validation, so page, limit and id are
// already checked and defaulted.

export function orderListCache (request: FastifyRequest): CacheTarget {
  const { page, limit } = request.query as PaginationQuery
  return { key: redisKeys.listPage(page, limit), generationKey: redisKeys.listGeneration }
}

export function orderEntityCache (request: FastifyRequest): CacheTarget {
  const orderId = orderIdOf(request.params as IdParams)
  return { key: redisKeys.entity(orderId), generationKey: redisKeys.entityGeneration(orderId) }
}
