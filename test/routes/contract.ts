import { STATUS_CODES } from 'node:http'
import type { Test } from 'tap'

// Shared assertions for the HTTP contract (design brief, section 2). Not a test file itself.

/** The parts of an `app.inject` response these assertions read. */
export interface InjectedResponse {
  statusCode: number
  headers: Record<string, string | string[] | number | undefined>
  body: string
  json: () => any
}

export const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
export const OBJECT_ID = /^[0-9a-f]{24}$/

/** Asserts the contract's error body `{ statusCode, code, error, message }` and nothing more. */
export function assertError (t: Test, response: InjectedResponse, statusCode: number, code: string): void {
  t.equal(response.statusCode, statusCode, `status ${statusCode} (${response.body})`)
  const body = response.json()
  t.same(
    { ...body, message: typeof body.message },
    { statusCode, code, error: STATUS_CODES[statusCode], message: 'string' },
    `error body { statusCode: ${statusCode}, code: ${code}, error, message }`
  )
  t.ok(typeof body.message === 'string' && body.message.length > 0, 'message is not empty')
  t.notMatch(response.body, /\bat .+\.(ts|js):\d+/, 'no stack trace leaks')
}

/** Asserts an order has every contract field with the right shape. */
export function assertOrderShape (t: Test, order: any): void {
  t.same(
    Object.keys(order).sort(),
    ['_id', 'address', 'createdAt', 'customer', 'items', 'status', 'totalAmount', 'updatedAt', 'version'],
    'exactly the order fields'
  )
  t.match(order._id, OBJECT_ID, '_id is 24 lower-case hex characters')
  t.match(order.createdAt, ISO_8601, 'createdAt is ISO 8601')
  t.match(order.updatedAt, ISO_8601, 'updatedAt is ISO 8601')
  t.ok(Number.isInteger(order.version) && order.version >= 1, 'version is an integer >= 1')
}
