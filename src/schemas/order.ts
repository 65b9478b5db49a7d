import { Type, type Static } from '@sinclair/typebox'
import { ObjectIdSchema, PaginationSchema } from './common.js'

export const ORDER_STATUSES = ['Pending', 'Completed', 'Cancelled'] as const
export const OrderStatusSchema = Type.Union(ORDER_STATUSES.map((status) => Type.Literal(status)))
export type OrderStatus = Static<typeof OrderStatusSchema>

// Bounds keep every computed total an exact integer number of cents well inside 2^53
// (100 items x 10 000 qty x 100 000 000 cents = 1e14).
export const MAX_PRICE = 1_000_000

export const OrderItemSchema = Type.Object({
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
