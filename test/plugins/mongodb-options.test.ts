import t from 'tap'
import { MongoClient, type CommandStartedEvent } from 'mongodb'
import { build, isolatedMongoUrl, validOrder } from '../helper.js'

// MONGODB_WRITE_CONCERN and MONGODB_READ_PREFERENCE reach the driver, and the server here
// (FerretDB, or mongod) accepts majority writes. Replica sets cannot be started on this
// machine: what a secondary does with these settings is MongoDB's documented behaviour.

t.test('defaults: majority writes and primary reads, on the client and the orders collection', async (t) => {
  const app = await build(t)
  t.same(app.mongo.client.options.writeConcern?.w, 'majority', 'the client\'s write concern')
  t.equal(app.mongo.client.options.readPreference.mode, 'primary', 'the client\'s read preference')
  const orders = app.mongo.db?.collection('orders')
  t.same(orders?.writeConcern?.w, 'majority', 'inherited by the orders collection')
  t.equal(orders?.readPreference?.mode, 'primary')

  const created = await app.inject({ method: 'POST', url: '/orders', payload: validOrder })
  t.equal(created.statusCode, 201, 'a create is acknowledged under w: majority')
  const updated = await app.inject({ method: 'PUT', url: `/orders/${created.json()._id}`, payload: { customer: 'Majority' } })
  t.equal(updated.statusCode, 200, 'and so is the fenced update')
})

t.test('configured: a member count and secondaryPreferred reach the driver', async (t) => {
  const app = await build(t, { env: { MONGODB_WRITE_CONCERN: '2', MONGODB_READ_PREFERENCE: 'secondaryPreferred' } })
  t.same(app.mongo.client.options.writeConcern?.w, 2)
  t.equal(app.mongo.client.options.readPreference.mode, 'secondaryPreferred')
  t.same(app.mongo.db?.collection('orders').writeConcern?.w, 2)
  // A standalone server has no secondaries: the driver reads from it whatever the preference.
  const response = await app.inject({ method: 'GET', url: '/orders?limit=1' })
  t.equal(response.statusCode, 200, 'reads still work against a standalone server')
})

t.test('the server accepts a write that asks for a majority acknowledgement', async (t) => {
  // The app's client cannot be monitored after it connected; a client with the same write
  // concern shows what the driver sends and what the server answers.
  const client = new MongoClient(isolatedMongoUrl(), { writeConcern: { w: 'majority' }, monitorCommands: true })
  const sent: CommandStartedEvent[] = []
  client.on('commandStarted', (event) => sent.push(event))
  await client.connect()
  t.teardown(async () => {
    await client.db().dropDatabase().catch(() => {})
    await client.close()
  })
  const result = await client.db().collection('orders').insertOne({ customer: 'Majority' })
  t.ok(result.acknowledged, 'acknowledged')
  t.same(sent.find((event) => event.commandName === 'insert')?.command.writeConcern, { w: 'majority' }, 'the insert carried w: majority')
})
