import { Type, type Static } from '@sinclair/typebox'

// The orders API's TypeBox schemas, request and response; TS types come from Static<>.

/** A MongoDB ObjectId as clients see it: 24 hexadecimal characters. */
const ObjectIdSchema = Type.String({
  pattern: '^[0-9a-fA-F]{24}$',
  description: 'order id: a 24-character hexadecimal ObjectId',
  examples: ['665f1c2e8b3e4a0012345678']
})

/**
 * An order id in a path, in either case (an ObjectId's hex digits are case-blind), handed to the
 * route in lower case: validation lowers it (ajv-keywords' `transform`, src/http/validation.ts),
 * so the one spelling of an order is all a handler, a cache key, a lock or a query can see, and
 * no route can forget to make it. (Two spellings of one order were two cache entries: a write
 * through one would not have invalidated the other.)
 */
export const IdParamsSchema = Type.Object({ id: Type.String({ ...ObjectIdSchema, transform: ['toLowerCase'] }) }, { additionalProperties: false })
export type IdParams = Static<typeof IdParamsSchema>

// RFC 9110's If-Match: "*" or a comma-separated list of entity tags, each an optionally weak
// ("W/") quoted string of visible ASCII other than the quote. The list may be empty (an empty
// field value), which matches nothing: 412. Anything else is 400.
const ENTITY_TAG = '(W/)?"[!#-~]*"'
export const IF_MATCH_PATTERN = `^(\\*|${ENTITY_TAG}([ \t]*,[ \t]*${ENTITY_TAG})*)?$`

/** The optional optimistic-concurrency header of PUT and DELETE. */
export const IfMatchHeadersSchema = Type.Object({
  'if-match': Type.Optional(Type.String({
    pattern: IF_MATCH_PATTERN,
    description: 'the ETag of the order as last read (its version, e.g. "3", in any coding: "3-br" and "3-gzip" match too), ' +
      'a list of them, or *; an empty list matches nothing. Strong comparison (RFC 9110, 13.1.1): a weak tag such as W/"3" never matches. ' +
      '412 PRECONDITION_FAILED when none matches the current ETag.',
    examples: ['"1"']
  }))
})

/** The optional Idempotency-Key of POST /orders (draft-ietf-httpapi-idempotency-key-header). */
export const CreateOrderHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(Type.String({
    pattern: '^("[ !#-\\[\\]-~]{1,255}"|[!#-~]{1,255})$',
    description: 'a key of your choosing, unique per order you mean to create (at most 255 characters; a Structured Fields ' +
      'String as the draft writes it, "…", or the bare key). A retry with the same key and the same order answers 201 with ' +
      'the order the first attempt created (same _id), creating nothing; the same key with another order is 422 ' +
      'IDEMPOTENCY_KEY_REUSED. Stored with the order in MongoDB, so it holds while Redis is down, for as long as the order exists.',
    examples: ['"8e03978e-40d5-43e8-bc93-6894a57f9324"']
  }))
})

/** The optional validator of a cached GET (RFC 9110 13.1.2): 304 with no body when it names the current tag. */
export const IfNoneMatchHeadersSchema = Type.Object({
  'if-none-match': Type.Optional(Type.String({
    description: 'ETags of copies the client holds, or *: 304 Not Modified, with no body, when one names the current ' +
      'representation (weak comparison, RFC 9110 13.1.2). Each representation has its own tag: an order\'s is its version ' +
      '("3"), a list page\'s a digest of its bytes, and a compressed one carries its coding ("3-br", "3-gzip").',
    examples: ['"1"']
  }))
})

/** The answer to a conditional GET whose copy is current. */
export const NotModifiedSchema = Type.Null({ description: 'Not Modified: the copy named in If-None-Match is current; no body' })

export const PaginationQuerySchema = Type.Object({
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 10 })
}, { additionalProperties: false })
export type PaginationQuery = Static<typeof PaginationQuerySchema>

const PaginationSchema = Type.Object({
  total: Type.Integer({ minimum: 0 }),
  page: Type.Integer({ minimum: 1 }),
  limit: Type.Integer({ minimum: 1 }),
  totalPages: Type.Integer({ minimum: 0 })
})

const ORDER_STATUSES = ['Pending', 'Completed', 'Cancelled'] as const
const OrderStatusSchema = Type.Union(ORDER_STATUSES.map((status) => Type.Literal(status)))
export type OrderStatus = Static<typeof OrderStatusSchema>

// Bounds keep every computed total an exact integer number of cents well inside 2^53
// (100 items x 10 000 qty x 100 000 000 cents = 1e14).
const MAX_PRICE = 1_000_000

// The characters String.prototype.trim removes (ECMAScript's WhiteSpace and LineTerminator),
// listed rather than written \s, whose meaning differs between regular-expression engines: the
// document's patterns must mean the same to every client and validator.
const TRIMMED_CODE_POINTS = [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff]
const NOT_TRIMMED = `[^${String.fromCodePoint(...TRIMMED_CODE_POINTS)}]`

/**
 * Characters that show nothing: controls (C0, DEL, C1), the trimmed spaces above, format
 * characters (soft hyphen, zero-width and directional marks, word joiners, BOM), variation
 * selectors and the Hangul fillers. A name made only of them is blank to a reader.
 */
export const INVISIBLE_CLASS = '\\u0000-\\u0020\\u007f-\\u00a0\\u00ad\\u061c\\u115f\\u1160\\u1680\\u17b4\\u17b5\\u180b-\\u180f' +
  '\\u2000-\\u200f\\u2028-\\u202f\\u205f-\\u206f\\u3000\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0\\ufff9-\\ufffb'

/**
 * A pattern that holds when the text keeps at least `min` characters once trimmed (it has a
 * run from a non-space character to a non-space character at least `min` long) and has at
 * least one visible character. So the rules the domain enforces (src/orders/writes.ts) are in
 * the schema, and a schema-valid body passes them.
 */
export function trimmedAtLeast (min: number): string {
  const visible = `^(?=[\\s\\S]*[^${INVISIBLE_CLASS}])`
  return min <= 1 ? `${visible}[\\s\\S]*${NOT_TRIMMED}` : `${visible}[\\s\\S]*${NOT_TRIMMED}[\\s\\S]{${min - 2},}${NOT_TRIMMED}`
}

const OrderItemSchema = Type.Object({
  sku: Type.String({ minLength: 1, maxLength: 64, pattern: trimmedAtLeast(1), description: 'trimmed, 1..64 characters' }),
  qty: Type.Integer({ minimum: 1, maximum: 10_000 }),
  // multipleOf 0.01 read exactly, as decimal text: 0.29 is one, 0.1 + 0.2 is not. Ajv checks it
  // with a float tolerance (src/http/validation.ts) and src/orders/money.ts then checks it exactly.
  price: Type.Number({ minimum: 0, maximum: MAX_PRICE, multipleOf: 0.01, description: 'unit price, at most 2 decimals' })
}, { additionalProperties: false })
export type OrderItem = Static<typeof OrderItemSchema>

const orderFields = {
  customer: Type.String({ minLength: 2, maxLength: 200, pattern: trimmedAtLeast(2), description: 'trimmed, 2..200 characters' }),
  address: Type.String({ minLength: 5, maxLength: 500, pattern: trimmedAtLeast(5), description: 'trimmed, 5..500 characters' }),
  items: Type.Array(OrderItemSchema, { minItems: 1, maxItems: 100 }),
  status: OrderStatusSchema
}

export const CreateOrderBodySchema = Type.Object({
  customer: orderFields.customer,
  address: orderFields.address,
  items: orderFields.items,
  status: Type.Optional(orderFields.status)
}, { additionalProperties: false })
export type CreateOrderBody = Static<typeof CreateOrderBodySchema>

export const UpdateOrderBodySchema = Type.Partial(Type.Object(orderFields), {
  additionalProperties: false,
  minProperties: 1
})
export type UpdateOrderBody = Static<typeof UpdateOrderBodySchema>

export const OrderSchema = Type.Object({
  _id: ObjectIdSchema,
  customer: Type.String(),
  address: Type.String(),
  items: Type.Array(OrderItemSchema),
  totalAmount: Type.Number({ description: 'sum of qty x price, exact to the cent' }),
  status: OrderStatusSchema,
  version: Type.Integer({ minimum: 1, description: '1 on create, +1 on every update' }),
  createdAt: Type.String({ description: 'ISO 8601' }),
  updatedAt: Type.String({ description: 'ISO 8601' })
})
export type Order = Static<typeof OrderSchema>

export const OrderListSchema = Type.Object({
  data: Type.Array(OrderSchema),
  pagination: PaginationSchema
})
export type OrderList = Static<typeof OrderListSchema>

export const CancelOrderResponseSchema = Type.Object({
  message: Type.Literal('Order cancelled successfully'),
  order: OrderSchema
})
