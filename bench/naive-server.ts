import express from 'express'
import { Redis } from 'ioredis'
import { MongoClient, type WithId } from 'mongodb'
import { ORDERS_COLLECTION, type OrderDocument } from '../src/orders/repository.js'

// The naive baseline: GET /orders written the way such services usually are, with Express 5 and
// ioredis, and none of the service's machinery (no generation, no deadline, no breaker, no
// single flight, no hooks). A hit is redis.get -> JSON.parse -> res.json (which stringifies the
// object again and, by Express's defaults, hashes the body for a weak ETag); a miss reads MongoDB
// with the official driver and stores JSON.stringify(body) with EX ttl. The body is the service's
// own (same fields, same order, same page), so both send the same bytes; bench/run.ts checks it.
// `node naive-server.js PORT MONGODB_URL REDIS_URL [TTL_SECONDS]`, started by bench/processes.ts.

const [port, mongodbUrl, redisUrl, ttl = '60'] = process.argv.slice(2)
if (!port || !mongodbUrl || !redisUrl) throw new Error('usage: naive-server PORT MONGODB_URL REDIS_URL [TTL_SECONDS]')

const mongo = await MongoClient.connect(mongodbUrl)
const orders = mongo.db().collection<OrderDocument>(ORDERS_COLLECTION)
const redis = new Redis(redisUrl)

const toOrder = (doc: WithId<OrderDocument>) => ({
  _id: doc._id.toHexString(),
  customer: doc.customer,
  address: doc.address,
  items: doc.items.map(({ sku, qty, price }) => ({ sku, qty, price })),
  totalAmount: doc.totalAmount,
  status: doc.status,
  version: doc.version,
  createdAt: doc.createdAt.toISOString(),
  updatedAt: doc.updatedAt.toISOString()
})

const app = express()
app.get('/orders', async (req, res) => {
  const page = Math.max(1, Number(req.query.page ?? 1) || 1)
  const limit = Math.min(100, Math.max(1, Number(req.query.limit ?? 10) || 10))
  const key = `naive:orders:page:${page}:limit:${limit}`
  const cached = await redis.get(key)
  if (cached) {
    res.set('X-Cache', 'HIT')
    res.json(JSON.parse(cached))
    return
  }
  const [docs, total] = await Promise.all([
    orders.find({}, { sort: { createdAt: -1, _id: -1 }, skip: (page - 1) * limit, limit }).toArray(),
    orders.estimatedDocumentCount()
  ])
  const body = { data: docs.map(toOrder), pagination: { total, page, limit, totalPages: Math.ceil(total / limit) } }
  await redis.set(key, JSON.stringify(body), 'EX', Number(ttl))
  res.set('X-Cache', 'MISS')
  res.json(body)
})

const server = app.listen(Number(port), '127.0.0.1')
process.on('SIGTERM', () => {
  server.close()
  redis.disconnect()
  mongo.close().then(() => process.exit(0), () => process.exit(1))
})
