import { MongoServerError, ObjectId, type ClientSession, type Db, type WithId } from 'mongodb'
import { writeFailure } from '../http/database-errors.js'
import type { Order, OrderItem, OrderList, OrderStatus } from './schemas.js'
import type { ServiceMetrics } from '../metrics/service-metrics.js'

/** An order as stored in MongoDB. */
export interface OrderDocument {
  customer: string
  address: string
  items: OrderItem[]
  totalAmount: number
  status: OrderStatus
  version: number
  createdAt: Date
  updatedAt: Date
  /** The POST's Idempotency-Key and a digest of what it asked for, when it sent one (never answered). */
  idempotency?: IdempotentCreate
}

/** A new order's fields, as the rules have normalised them (src/orders/writes.ts). */
export interface NewOrderFields {
  customer: string
  address: string
  items: OrderItem[]
  totalAmount: number
  status: OrderStatus
}

/** The fields a change sets (src/orders/writes.ts). */
export type OrderChanges = Partial<NewOrderFields>

/** A create with an Idempotency-Key: the key, and a digest of the order it asks for. */
interface IdempotentCreate { key: string, fingerprint: string }

/** What an insert did: created the order, or found the one created earlier with the same key. */
type InsertOutcome =
  | { created: true, order: Order }
  | { created: false, order: Order, sameRequest: boolean }

export const ORDERS_COLLECTION = 'orders'

// Newest first; _id breaks ties between orders created in the same millisecond, so a page
// boundary never moves between two reads of the same data.
const LIST_SORT = { createdAt: -1, _id: -1 } as const

function toOrder (doc: WithId<OrderDocument>): Order {
  return {
    _id: doc._id.toHexString(),
    customer: doc.customer,
    address: doc.address,
    items: doc.items.map(({ sku, qty, price }) => ({ sku, qty, price })),
    totalAmount: doc.totalAmount,
    status: doc.status,
    version: doc.version,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString()
  }
}

/**
 * The only code that talks to the orders collection. It knows nothing of HTTP, Redis or
 * locks; `updateIfVersion` is the fencing primitive the write path builds on.
 */
export function createOrdersRepository ({ db, metrics }: { db: Db, metrics: ServiceMetrics }) {
  const orders = db.collection<OrderDocument>(ORDERS_COLLECTION)

  /**
   * Runs one write and, when it fails, says whether it may have been applied (see
   * `writeFailure`): a failure before the command was sent is the driver's own error (503
   * DATABASE_UNAVAILABLE, nothing written); after it, WriteOutcomeUnknownError.
   *
   * The write runs in an explicit session (no causal consistency, as the implicit one it
   * replaces) for one reason: where the driver retries writes (replica sets, sharded clusters;
   * never on a standalone server), the error it finally raises may be the retry's, say a server
   * selection timeout, after a first attempt that was sent. The session's transaction number
   * moves when the driver puts the first attempt on a connection, so an unchanged number
   * proves that no attempt left. On a standalone server the driver makes one attempt and the
   * error alone tells.
   */
  async function tracked<T> (operation: 'insert' | 'update', orderId: string | undefined, write: (session: ClientSession) => Promise<T>): Promise<T> {
    const session = db.client.startSession({ causalConsistency: false })
    const txnNumber = session.serverSession.txnNumber
    try {
      return await write(session)
    } catch (err) {
      throw writeFailure(err, operation, orderId, session.serverSession.txnNumber !== txnNumber)
    } finally {
      await session.endSession()
    }
  }

  return {
    /**
     * Creates the index that serves the list sort, and the unique index of Idempotency-Keys
     * (sparse: orders created without a key are not in it). Idempotent.
     */
    async ensureIndexes (): Promise<void> {
      await orders.createIndex(LIST_SORT, { name: 'orders_newest_first' })
      await orders.createIndex({ 'idempotency.key': 1 }, { name: 'orders_idempotency_key', unique: true, sparse: true })
    },

    async list (page: number, limit: number): Promise<OrderList> {
      metrics.database.reads.inc()
      // O(page) on any server: the hint makes MongoDB walk the index that has exactly the
      // sort's keys (never a collection scan and an in-memory sort, whatever its planner
      // thinks); the list is unfiltered, so the total comes from the collection's metadata
      // (estimatedDocumentCount: the `count` command without a query) instead of a scan.
      const [docs, total] = await Promise.all([
        orders.find({}, { sort: LIST_SORT, hint: LIST_SORT, skip: (page - 1) * limit, limit }).toArray(),
        orders.estimatedDocumentCount()
      ])
      return {
        data: docs.map(toOrder),
        pagination: { total, page, limit, totalPages: Math.ceil(total / limit) }
      }
    },

    async findById (id: string): Promise<Order | null> {
      metrics.database.reads.inc()
      const doc = await orders.findOne({ _id: new ObjectId(id) })
      return doc ? toOrder(doc) : null
    },

    /**
     * Creates the order. With an Idempotency-Key, the key is stored with it, in the same write,
     * under a unique index: a retry of a create that was applied (its answer lost, say) finds
     * the order the first attempt created instead of creating a second one, whether or not
     * Redis is up, and says whether it asked for the same order.
     */
    async insert (fields: NewOrderFields, idempotency?: IdempotentCreate): Promise<InsertOutcome> {
      metrics.database.writes.inc()
      const now = new Date()
      const doc: OrderDocument = { ...fields, version: 1, createdAt: now, updatedAt: now, ...(idempotency ? { idempotency } : {}) }
      const inserted = await tracked('insert', undefined, (session) => orders.insertOne(doc, { session }).catch((err: unknown) => {
        if (idempotency && err instanceof MongoServerError && err.code === 11000) return undefined
        throw err
      }))
      if (inserted) return { created: true, order: toOrder({ ...doc, _id: inserted.insertedId }) }
      metrics.database.reads.inc()
      const earlier = await orders.findOne({ 'idempotency.key': idempotency?.key })
      if (!earlier) throw new Error('an Idempotency-Key was refused as a duplicate, and no order holds it')
      return { created: false, order: toOrder(earlier), sameRequest: earlier.idempotency?.fingerprint === idempotency?.fingerprint }
    },

    /**
     * Applies the changes only if the stored version is still `expectedVersion`, and bumps the
     * version. Returns null when someone else wrote first: the caller's lock expired, so its
     * view is stale and it must not overwrite (fencing). Throws WriteOutcomeUnknownError when
     * the update was sent and not confirmed: the same fence makes a retry that names the
     * version read before (If-Match) safe, whichever way it went.
     */
    async updateIfVersion (id: string, expectedVersion: number, changes: OrderChanges): Promise<Order | null> {
      metrics.database.writes.inc()
      const doc = await tracked('update', id, (session) => orders.findOneAndUpdate(
        { _id: new ObjectId(id), version: expectedVersion },
        { $set: { ...changes, updatedAt: new Date() }, $inc: { version: 1 } },
        { returnDocument: 'after', session }
      ))
      return doc ? toOrder(doc) : null
    },

    async ping (): Promise<void> {
      await db.command({ ping: 1 })
    }
  }
}

export type OrdersRepository = ReturnType<typeof createOrdersRepository>
