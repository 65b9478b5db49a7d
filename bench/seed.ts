import { MongoClient, type AnyBulkWriteOperation } from 'mongodb'
import { ORDERS_COLLECTION, type OrderDocument } from '../src/orders/repository.js'

// Seeds a realistic order collection fast: bulk inserts of 1,000, one insertMany per batch.
// createdAt spreads over the past so the newest-first sort has work to do.

const CUSTOMERS = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Katherine Johnson', 'Edsger Dijkstra', 'Barbara Liskov']
const STATUSES = ['Pending', 'Pending', 'Pending', 'Completed', 'Cancelled'] as const

function orderAt (i: number, now: number): OrderDocument {
  const items = Array.from({ length: 1 + (i % 4) }, (_, k) => ({
    sku: `SKU-${(i * 7 + k) % 500}`,
    qty: 1 + ((i + k) % 5),
    price: Math.round(((i * 13 + k * 7) % 10000) + 99) / 100
  }))
  const cents = items.reduce((sum, item) => sum + item.qty * Math.round(item.price * 100), 0)
  const createdAt = new Date(now - i * 1000)
  return {
    customer: `${CUSTOMERS[i % CUSTOMERS.length]} ${i}`,
    address: `${i} Benchmark Avenue, Springfield`,
    items,
    totalAmount: cents / 100,
    status: STATUSES[i % STATUSES.length] ?? 'Pending',
    version: 1,
    createdAt,
    updatedAt: createdAt
  }
}

/** Makes the collection hold exactly `count` orders (adding to what is there). */
export async function seedOrders (mongodbUrl: string, count: number): Promise<{ seconds: number }> {
  const client = await MongoClient.connect(mongodbUrl)
  try {
    const orders = client.db().collection<OrderDocument>(ORDERS_COLLECTION)
    const existing = await orders.countDocuments()
    const started = performance.now()
    const now = Date.now()
    for (let from = existing; from < count; from += 1000) {
      const batch: Array<AnyBulkWriteOperation<OrderDocument>> = []
      for (let i = from; i < Math.min(count, from + 1000); i++) batch.push({ insertOne: { document: orderAt(i, now) } })
      await orders.bulkWrite(batch, { ordered: false })
    }
    return { seconds: (performance.now() - started) / 1000 }
  } finally {
    await client.close()
  }
}

/** Ids of Pending orders, for the write scenarios. */
export async function pendingOrderIds (mongodbUrl: string, count: number): Promise<string[]> {
  const client = await MongoClient.connect(mongodbUrl)
  try {
    const docs = await client.db().collection(ORDERS_COLLECTION)
      .find({ status: 'Pending' }, { projection: { _id: 1 }, limit: count }).toArray()
    return docs.map((doc) => doc._id.toHexString())
  } finally {
    await client.close()
  }
}
