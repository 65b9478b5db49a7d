import { ValidationError, OrderNotModifiableError } from '../http/errors.js'
import { toCents, totalAmount } from './money.js'
import { INVISIBLE_CLASS, type CreateOrderBody, type OrderItem, type OrderStatus, type UpdateOrderBody } from './schemas.js'

// The rules of an order that JSON Schema cannot say: trimmed lengths, two-decimal prices,
// the server-computed total, and which statuses are final.

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

export interface NewOrderFields {
  customer: string
  address: string
  items: OrderItem[]
  totalAmount: number
  status: OrderStatus
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

export type OrderChanges = Partial<NewOrderFields>

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
