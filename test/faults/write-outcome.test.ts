import t, { type Test } from 'tap'
import { MongoClient } from 'mongodb'
import { build, createOrder, isolatedMongoUrl, redisFor } from '../helper.js'
import { eventually, ownMongo } from '../processes.js'
import { throughRelay } from '../relay.js'
import { ORDERS_COLLECTION } from '../../src/orders/repository.js'
import { redisKeys } from '../../src/cache/keys.js'

// A write the database never received is 503 DATABASE_UNAVAILABLE and changed nothing; a write
// sent and not confirmed within MONGODB_TIMEOUT_MS is 503 WRITE_OUTCOME_UNKNOWN, may have been
// applied (now or later), and a retry with If-Match of the version it was based on is then
// either 412 (it was applied) or the one write that lands (it was not): never two.
// Real FerretDB processes, reached through a relay that holds one exact message or reply.

const TIMEOUT_MS = '1000'

async function storedOrders (t: Test, mongoUrl: string) {
  const client = await MongoClient.connect(mongoUrl, { serverSelectionTimeoutMS: 10_000 })
  t.teardown(() => client.close())
  return client.db().collection(ORDERS_COLLECTION)
}

t.test('the database stopped before the write: DATABASE_UNAVAILABLE, nothing written', async (t) => {
  const mongo = await ownMongo(t)
  const app = await build(t, { env: { MONGODB_URL: mongo.url, MONGODB_TIMEOUT_MS: TIMEOUT_MS } })
  const order = await createOrder(app)
  await mongo.stop()
  // The driver learns that the server is gone (a read fails): from then on no write is sent.
  t.equal((await app.inject({ method: 'GET', url: '/orders?page=3' })).statusCode, 503)

  const writes = [
    { method: 'POST' as const, url: '/orders', payload: { customer: 'Never Written', address: '1 Stopped Street', items: [{ sku: 'S', qty: 1, price: 1 }] } },
    { method: 'PUT' as const, url: `/orders/${order._id}`, payload: { customer: 'Never Written' }, headers: { 'if-match': '"1"' } },
    { method: 'DELETE' as const, url: `/orders/${order._id}` }
  ]
  for (const request of writes) {
    const response = await app.inject(request)
    t.equal(response.statusCode, 503, `${request.method} -> 503`)
    t.equal(response.json().code, 'DATABASE_UNAVAILABLE', 'guaranteed not applied')
    t.equal(response.headers['retry-after'], '5')
  }

  await mongo.start()
  const orders = await storedOrders(t, mongo.url)
  t.equal(await orders.countDocuments(), 1, 'no order was created')
  const stored = await orders.findOne({})
  t.equal(stored?.version, 1, 'the order was not changed')
  t.equal(stored?.customer, order.customer)
  t.equal(stored?.status, 'Pending')
})

t.test('the reply to the update is lost: WRITE_OUTCOME_UNKNOWN, applied, the If-Match retry is 412', async (t) => {
  const mongoUrl = isolatedMongoUrl()
  const { relay, url } = await throughRelay(t, mongoUrl)
  const app = await build(t, { env: { MONGODB_URL: url, MONGODB_TIMEOUT_MS: TIMEOUT_MS } })
  const order = await createOrder(app)

  // findAndModify's reply carries lastErrorObject: the database has applied the update.
  const held = relay.holdNextReply('lastErrorObject')
  const put = app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'First Attempt' }, headers: { 'if-match': '"1"' } })
  await held
  const answer = await put
  relay.release()
  t.equal(answer.statusCode, 503)
  t.equal(answer.json().code, 'WRITE_OUTCOME_UNKNOWN')
  t.equal(answer.headers['retry-after'], '5')
  t.match(answer.json().message, /If-Match/, 'the message says how to retry safely')
  t.equal(await redisFor(t, app).exists(redisKeys.orderLock(order._id)), 0, 'the lock was released')

  const now = await app.inject(`/orders/${order._id}`)
  t.equal(now.json().version, 2, 'the update was applied')
  t.equal(now.json().customer, 'First Attempt')
  t.not(now.headers['x-cache'], 'HIT', 'the possible write invalidated the cached order')

  const retry = await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Second Attempt' }, headers: { 'if-match': '"1"' } })
  t.equal(retry.statusCode, 412, 'the retry names the version it was based on: 412, nothing written twice')
  t.equal((await app.inject(`/orders/${order._id}`)).json().version, 2)
})

t.test('the update never reaches the database: WRITE_OUTCOME_UNKNOWN, not applied, the If-Match retry succeeds', async (t) => {
  const mongoUrl = isolatedMongoUrl()
  const { relay, url } = await throughRelay(t, mongoUrl)
  const app = await build(t, { env: { MONGODB_URL: url, MONGODB_TIMEOUT_MS: TIMEOUT_MS } })
  const order = await createOrder(app)

  // Held in the relay: sent by the service, never delivered (the driver closes the connection
  // at its timeout, and the relay with it).
  const held = relay.holdNext('findAndModify')
  const cancel = app.inject({ method: 'DELETE', url: `/orders/${order._id}`, headers: { 'if-match': '"1"' } })
  await held
  const answer = await cancel
  relay.release()
  t.equal(answer.statusCode, 503)
  t.equal(answer.json().code, 'WRITE_OUTCOME_UNKNOWN', 'sent: the service cannot know it was not applied')

  const now = await app.inject(`/orders/${order._id}`)
  t.equal(now.json().version, 1, 'not applied')
  const retry = await app.inject({ method: 'DELETE', url: `/orders/${order._id}`, headers: { 'if-match': '"1"' } })
  t.equal(retry.statusCode, 200, 'the retry is the one write that lands')
  t.equal(retry.json().order.version, 2)
  t.equal(retry.json().order.status, 'Cancelled')
})

t.test('an insert sent and not confirmed: WRITE_OUTCOME_UNKNOWN', async (t) => {
  const mongoUrl = isolatedMongoUrl()
  const { relay, url } = await throughRelay(t, mongoUrl)
  const app = await build(t, { env: { MONGODB_URL: url, MONGODB_TIMEOUT_MS: TIMEOUT_MS } })
  const held = relay.holdNext('insert')
  const post = app.inject({ method: 'POST', url: '/orders', payload: { customer: 'Maybe Created', address: '1 Unknown Street', items: [{ sku: 'U', qty: 1, price: 1 }] } })
  await held
  const answer = await post
  relay.release()
  t.equal(answer.statusCode, 503)
  t.equal(answer.json().code, 'WRITE_OUTCOME_UNKNOWN')
  t.match(answer.json().message, /second order/, 'the message warns that a retried POST may create a second order')
})

t.test('the database frozen with the update in its socket: WRITE_OUTCOME_UNKNOWN, then exactly one write lands', async (t) => {
  const mongo = await ownMongo(t)
  const { relay, url } = await throughRelay(t, mongo.url)
  const app = await build(t, { env: { MONGODB_URL: url, MONGODB_TIMEOUT_MS: TIMEOUT_MS } })
  const order = await createOrder(app)

  const held = relay.holdNext('findAndModify')
  const put = app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Frozen Attempt' }, headers: { 'if-match': '"1"' } })
  await held
  await mongo.freeze()
  relay.release() // the update now waits in the frozen server's socket
  const answer = await put
  t.equal(answer.statusCode, 503)
  t.equal(answer.json().code, 'WRITE_OUTCOME_UNKNOWN')
  mongo.thaw()
  await eventually(async () => (await app.inject('/health/ready')).statusCode === 200)

  // Whether the server applied the update it read after the thaw is its business: the order
  // says, and the retry with If-Match "1" agrees with it whichever way it went (a late apply
  // between the read and the retry makes the retry 412 too).
  const retry = await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Retried' }, headers: { 'if-match': '"1"' } })
  t.ok([200, 412].includes(retry.statusCode), `the retry is 200 or 412 (${retry.statusCode})`)
  const final = (await app.inject(`/orders/${order._id}`)).json()
  t.equal(final.version, 2, 'exactly one of the two attempts was applied')
  t.equal(final.customer, retry.statusCode === 200 ? 'Retried' : 'Frozen Attempt', 'and it is the one the answers say')
})
