import { createHash } from 'node:crypto'
import {
  IdempotencyKeyReusedError, LockUnavailableError, NoCurrentRepresentationError, OrderNotFoundError, OrderNotModifiableError,
  ValidationError, VersionConflictError
} from '../http/errors.js'
import { assertIfMatch } from '../http/representations.js'
import type { Lock } from '../lock/create-lock.js'
import type { ServiceMetrics } from '../metrics/service-metrics.js'
import { toCents, totalAmount } from './money.js'
import type { NewOrderFields, OrderChanges, OrdersRepository } from './repository.js'
import { INVISIBLE_CLASS, type CreateOrderBody, type Order, type OrderItem, type OrderStatus, type UpdateOrderBody } from './schemas.js'

// Writing an order, the domain's half of POST, PUT and DELETE (the routes translate HTTP to
// these calls and back):
// - the rules of an order that JSON Schema cannot say: trimmed lengths, two-decimal prices, the
//   server-computed total, and which statuses are final;
// - the create flow (POST: idempotent by its key, no Redis);
// - the change flow (PUT, DELETE: under the order's lock, announced to the cache, fenced by
//   the version).
// One module, because the rules are what the two flows apply: a reader follows a write from
// the route into this file and on to the repository, the lock and the cache.

// --- The rules ---

const FINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(['Completed', 'Cancelled'])

function isModifiable (status: OrderStatus): boolean {
  return !FINAL_STATUSES.has(status)
}

export function assertModifiable (id: string, status: OrderStatus): void {
  if (!isModifiable(status)) throw new OrderNotModifiableError(id, status)
}

const VISIBLE = new RegExp(`[^${INVISIBLE_CLASS}]`)

/**
 * The text as stored: well-formed (a lone surrogate becomes U+FFFD here, as MongoDB's UTF-8
 * would make it, so the answer is the stored order) and trimmed, with at least `min`
 * characters and one visible character.
 */
function trimmed (field: string, value: string, min: number): string {
  const text = value.toWellFormed().trim()
  if (text.length < min) {
    throw new ValidationError(`body/${field} must have at least ${min} characters once trimmed`)
  }
  if (!VISIBLE.test(text)) throw new ValidationError(`body/${field} must have a visible character`)
  return text
}

function checkedItems (items: OrderItem[]): OrderItem[] {
  return items.map((item, index) => {
    if (toCents(item.price) === undefined) {
      throw new ValidationError(`body/items/${index}/price must have at most 2 decimals`)
    }
    const sku = trimmed(`items/${index}/sku`, item.sku, 1)
    return { sku, qty: item.qty, price: item.price }
  })
}

export function prepareNewOrder (body: CreateOrderBody): NewOrderFields {
  const items = checkedItems(body.items)
  return {
    customer: trimmed('customer', body.customer, 2),
    address: trimmed('address', body.address, 5),
    items,
    totalAmount: totalAmount(items),
    status: body.status ?? 'Pending'
  }
}

export function prepareChanges (body: UpdateOrderBody): OrderChanges {
  const changes: OrderChanges = {}
  if (body.customer !== undefined) changes.customer = trimmed('customer', body.customer, 2)
  if (body.address !== undefined) changes.address = trimmed('address', body.address, 5)
  if (body.items !== undefined) {
    changes.items = checkedItems(body.items)
    changes.totalAmount = totalAmount(changes.items)
  }
  if (body.status !== undefined) changes.status = body.status
  return changes
}

// --- The create flow (POST /orders) ---

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

// --- The change flow (PUT and DELETE /orders/:id) ---

/**
 * The write flow of PUT and DELETE:
 * lock -> read -> If-Match -> rules -> announce the change to the cache -> conditional update
 * on the version read -> release.
 * The announcement (src/cache/changes.ts) retires the order's cached entry and list pages on
 * every instance before the write is made, so an acknowledged write never depends on an
 * invalidation that lands after it. If it cannot be made while we hold the lock, Redis is
 * failing: 503 LOCK_UNAVAILABLE, nothing written. Without the lock (LOCK_FALLBACK=optimistic,
 * Redis unreachable) the write goes ahead unannounced, without trying, as that mode's failure table says.
 * The version condition is the fence: if our lock expired and someone else wrote meanwhile,
 * the update matches nothing and we answer 409 without writing. The same fence makes a write
 * without the lock safe (LOCK_FALLBACK=optimistic, while Redis is unreachable). The cache invalidation the
 * routes declare (`config.cache.invalidates`) is sent by the cache plugin before the response; it
 * rewrites cached list pages from the previous order to the new one, hence both are returned.
 *
 * When the database fails: a failure of the read, or of the update before it was sent, wrote
 * nothing (503 DATABASE_UNAVAILABLE); an update sent and not confirmed may have been applied,
 * now or later (503 WRITE_OUTCOME_UNKNOWN, from `orders.updateIfVersion`). The version fence is
 * what makes the client's retry safe then: with If-Match naming the version this request read,
 * a retry after an applied attempt is 412.
 */
export async function writeOrder (deps: {
  locks: Lock
  orders: OrdersRepository
  metrics: ServiceMetrics
  /** The cache's announcement of a change (resolves to its token). */
  announce: (orderId: string) => Promise<string>
}, request: {
  orderId: string
  ifMatch: string | undefined
  changes: OrderChanges
  /** Told the announcement's token as soon as it is made, whatever happens to the write after it. */
  announced: (token: string) => void
}): Promise<{ previous: Order, order: Order }> {
  const { locks, orders, metrics } = deps
  const { orderId, ifMatch, changes } = request
  return locks.withLock(orderId, async (locked) => {
    const current = await orders.findById(orderId)
    // No current representation: any If-Match, `*` included, is false, so 412 before 404.
    if (!current) throw ifMatch === undefined ? new OrderNotFoundError(orderId) : new NoCurrentRepresentationError(orderId, ifMatch.slice(0, 100))
    assertIfMatch(orderId, ifMatch, current.version)
    assertModifiable(orderId, current.status)
    // Without the lock, Redis has just failed a call within its deadline: the write goes ahead
    // unannounced rather than wait up to two more deadlines for an announcement that would fail
    // the same way (a frozen Redis held each optimistic write about 2 s, and its client's
    // connection with it, when it tried).
    if (locked) {
      try {
        request.announced(await deps.announce(orderId))
      } catch (err) {
        throw new LockUnavailableError({ cause: err })
      }
    }
    const updated = await orders.updateIfVersion(orderId, current.version, changes)
    if (!updated) {
      metrics.lock.fencingRejections.inc()
      throw new VersionConflictError(orderId, current.version)
    }
    return { previous: current, order: updated }
  })
}
