import type { FastifyRequest } from 'fastify'
import { cacheTargets, type CacheTarget } from '../../src/cache/targets.js'
import { orderIdOf, type IdParams, type PaginationQuery } from '../../src/schemas/common.js'

// Where each cached GET lives in Redis. They run after validation, so page, limit and id are
// already checked and defaulted.

export function orderListCache (request: FastifyRequest): CacheTarget {
  const { page, limit } = request.query as PaginationQuery
  return cacheTargets.listPage(page, limit)
}

export function orderEntityCache (request: FastifyRequest): CacheTarget {
  return cacheTargets.entity(orderIdOf(request.params as IdParams))
}
