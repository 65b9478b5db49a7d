import { createHash } from 'node:crypto'
import { IdempotencyKeyReusedError } from '../http/errors.js'
import type { OrdersRepository } from './repository.js'
import type { NewOrderFields } from './rules.js'
import type { Order } from './schemas.js'

/**
 * The key of an Idempotency-Key field (draft-ietf-httpapi-idempotency-key-header): a
 * Structured Fields String ("…", as the draft says), or, as many clients send it, the bare key.
 * Its shape (at most 255 characters) is checked by the route's header schema.
 */
export function idempotencyKeyOf (field: string | undefined): string | undefined {
  if (field === undefined) return undefined
  return field.startsWith('"') && field.endsWith('"') && field.length >= 2 ? field.slice(1, -1) : field
}

/** A digest of the order a create asks for, once its rules have normalised it (trimmed names, default status). */
function fingerprintOf (fields: NewOrderFields): string {
  const { customer, address, items, status } = fields
  return createHash('sha256').update(JSON.stringify({ customer, address, items, status })).digest('base64url')
}

/**
 * The create flow of POST /orders. Without a key, an insert. With one, the key and the order's
 * fingerprint are stored with the order in the same write (src/orders/repository.ts): a retry
 * with the same key and the same order is answered with the order the first attempt created
 * (same _id, nothing created); the same key with another order is 422 IDEMPOTENCY_KEY_REUSED,
 * as the draft asks. It needs no Redis: the key lives in MongoDB, under a unique index.
 */
export async function createOrder (orders: OrdersRepository, fields: NewOrderFields, key: string | undefined): Promise<Order> {
  const outcome = await orders.insert(fields, key === undefined ? undefined : { key, fingerprint: fingerprintOf(fields) })
  if (!outcome.created && !outcome.sameRequest) throw new IdempotencyKeyReusedError(key?.slice(0, 100), outcome.order._id)
  return outcome.order
}
