import { Type, type Static } from '@sinclair/typebox'

/** A MongoDB ObjectId as clients see it: 24 hexadecimal characters. */
export const ObjectIdSchema = Type.String({
  pattern: '^[0-9a-fA-F]{24}$',
  description: 'order id: a 24-character hexadecimal ObjectId',
  examples: ['665f1c2e8b3e4a0012345678']
})

export const IdParamsSchema = Type.Object({ id: ObjectIdSchema }, { additionalProperties: false })
export type IdParams = Static<typeof IdParamsSchema>

/** The order id of a route's params, in one case: an ObjectId's hex digits are case-blind. */
export function orderIdOf (params: IdParams): string {
  return params.id.toLowerCase()
}

/** The optional optimistic-concurrency header of PUT and DELETE. */
// RFC 9110's If-Match: "*" or a comma-separated list of entity tags, each an optionally weak
// ("W/") quoted string of visible ASCII other than the quote. The list may be empty (an empty
// field value), which matches nothing: 412. Anything else is 400.
const ENTITY_TAG = '(W/)?"[!#-~]*"'
export const IF_MATCH_PATTERN = `^(\\*|${ENTITY_TAG}([ \t]*,[ \t]*${ENTITY_TAG})*)?$`

export const IfMatchHeadersSchema = Type.Object({
  'if-match': Type.Optional(Type.String({
    pattern: IF_MATCH_PATTERN,
    description: 'the ETag of the order as last read (its version, e.g. "3"), a list of them, or *; an empty list matches nothing. ' +
      'Strong comparison (RFC 9110, 13.1.1): a weak tag such as W/"3" never matches. ' +
      '412 PRECONDITION_FAILED when none matches the current ETag.',
    examples: ['"1"']
  }))
})

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

/**
 * The machine `code`s each error status can carry, for the API document: a client generated
 * from it knows which codes to handle. Kept next to the schema so a new code is documented
 * where the error body is defined.
 */
export const ERROR_CODES_BY_STATUS: Record<number, Record<string, string>> = {
  400: {
    VALIDATION_ERROR: 'a path parameter, query parameter or body field is invalid',
    INVALID_JSON: 'the body is not valid JSON',
    BAD_REQUEST: 'the request is malformed'
  },
  401: { UNAUTHORIZED: 'missing or unknown bearer token (only when API_TOKENS is set)' },
  404: { ORDER_NOT_FOUND: 'no order has this id' },
  409: {
    ORDER_LOCKED: 'another request holds the order lock; retry after Retry-After',
    VERSION_CONFLICT: 'the order changed concurrently; nothing was written'
  },
  412: { PRECONDITION_FAILED: 'If-Match does not match the current ETag' },
  413: { PAYLOAD_TOO_LARGE: 'the body exceeds BODY_LIMIT_BYTES' },
  415: { UNSUPPORTED_MEDIA_TYPE: 'the body is not application/json' },
  422: { ORDER_NOT_MODIFIABLE: 'the order is Completed or Cancelled' },
  429: { RATE_LIMITED: 'too many requests from this client in the window; retry after Retry-After (only when RATE_LIMIT_MAX > 0)' },
  503: {
    DATABASE_UNAVAILABLE: 'MongoDB cannot be reached',
    LOCK_UNAVAILABLE: 'PUT and DELETE only: Redis (the lock service) cannot be reached',
    OVERLOADED: 'load shedding under event-loop or memory pressure; retry after Retry-After',
    SHUTTING_DOWN: 'the instance is shutting down (a request that arrived after SIGTERM); retry'
  }
}

/** The response schema of one error status, described by the codes it can carry. */
export function errorResponse (status: number) {
  const codes = ERROR_CODES_BY_STATUS[status]
  const description = codes
    ? Object.entries(codes).map(([code, meaning]) => `${code}: ${meaning}`).join('; ')
    : 'error'
  return Type.Object(ErrorSchema.properties, { description })
}

/** Response schemas for the error statuses a route can answer. */
export function errorResponses (...statuses: number[]) {
  return Object.fromEntries(statuses.map((status) => [status, errorResponse(status)]))
}
