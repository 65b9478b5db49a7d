import { Type, type Static } from '@sinclair/typebox'
import { ObjectIdSchema, PaginationSchema } from './common.js'

export const ORDER_STATUSES = ['Pending', 'Completed', 'Cancelled'] as const
export const OrderStatusSchema = Type.Union(ORDER_STATUSES.map((status) => Type.Literal(status)))
export type OrderStatus = Static<typeof OrderStatusSchema>

// Bounds keep every computed total an exact integer number of cents well inside 2^53
// (100 items x 10 000 qty x 100 000 000 cents = 1e14).
export const MAX_PRICE = 1_000_000

// The characters String.prototype.trim removes (ECMAScript's WhiteSpace and LineTerminator),
// listed rather than written \s, whose meaning differs between regular-expression engines: the
// document's patterns must mean the same to every client and validator.
const TRIMMED_CODE_POINTS = [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff]
const NOT_TRIMMED = `[^${String.fromCodePoint(...TRIMMED_CODE_POINTS)}]`

/**
 * A pattern that holds when the text keeps at least `min` characters once trimmed: it has a
 * run from a non-space character to a non-space character at least `min` long. So the rule the
 * domain enforces (src/domain/order.ts) is in the schema, and a schema-valid body passes it.
 */
export function trimmedAtLeast (min: number): string {
  return min <= 1 ? NOT_TRIMMED : `${NOT_TRIMMED}[\\s\\S]{${min - 2},}${NOT_TRIMMED}`
}

export const OrderItemSchema = Type.Object({
  sku: Type.String({ minLength: 1, maxLength: 64, pattern: trimmedAtLeast(1), description: 'trimmed, 1..64 characters' }),
  qty: Type.Integer({ minimum: 1, maximum: 10_000 }),
  // multipleOf 0.01 read exactly, as decimal text: 0.29 is one, 0.1 + 0.2 is not. Ajv checks it
  // with a float tolerance (src/validation.ts) and src/domain/money.ts then checks it exactly.
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
