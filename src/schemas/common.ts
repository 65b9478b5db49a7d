import { Type, type Static } from '@sinclair/typebox'

/** A MongoDB ObjectId as clients see it: 24 hexadecimal characters. */
export const ObjectIdSchema = Type.String({
  pattern: '^[0-9a-fA-F]{24}$',
  description: 'order id: a 24-character hexadecimal ObjectId',
  examples: ['665f1c2e8b3e4a0012345678']
})

export const IdParamsSchema = Type.Object({ id: ObjectIdSchema }, { additionalProperties: false })
export type IdParams = Static<typeof IdParamsSchema>

export const MAX_PAGE_LIMIT = 100

export const PaginationQuerySchema = Type.Object({
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
  limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: 10 })
}, { additionalProperties: false })
export type PaginationQuery = Static<typeof PaginationQuerySchema>

export const PaginationSchema = Type.Object({
  total: Type.Integer({ minimum: 0 }),
  page: Type.Integer({ minimum: 1 }),
  limit: Type.Integer({ minimum: 1 }),
  totalPages: Type.Integer({ minimum: 0 })
})

/** The body of every error response: `{ statusCode, code, error, message }`. */
export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String({ description: 'stable machine-readable code, e.g. ORDER_NOT_FOUND' }),
  error: Type.String({ description: 'HTTP reason phrase' }),
  message: Type.String()
})
export type ErrorBody = Static<typeof ErrorSchema>

/** Response schemas for the error statuses a route can answer. */
export function errorResponses (...statuses: number[]) {
  return Object.fromEntries(statuses.map((status) => [status, ErrorSchema]))
}
