import { Type, type Static } from '@sinclair/typebox'

// The orders API's TypeBox schemas, request and response; TS types come from Static<>.

/** A MongoDB ObjectId as clients see it: 24 hexadecimal characters. */
const ObjectIdSchema = Type.String({
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
export const IfMatchHeadersSchema = Type.Object({
  'if-match': Type.Optional(Type.String({
    description: 'the ETag of the order as last read (its version, e.g. "3"); 412 PRECONDITION_FAILED if it has changed since'
  }))
})

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

const OrderItemSchema = Type.Object({
  sku: Type.String({ minLength: 1, maxLength: 64 }),
  qty: Type.Integer({ minimum: 1, maximum: 10_000 }),
  price: Type.Number({ minimum: 0, maximum: MAX_PRICE, description: 'unit price, at most 2 decimals' })
}, { additionalProperties: false })
export type OrderItem = Static<typeof OrderItemSchema>

const orderFields = {
  customer: Type.String({ minLength: 2, maxLength: 200, description: 'trimmed, 2..200 characters' }),
  address: Type.String({ minLength: 5, maxLength: 500, description: 'trimmed, 5..500 characters' }),
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
