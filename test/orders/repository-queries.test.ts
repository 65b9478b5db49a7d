import { test } from 'tap'
import { MongoClient, type CommandStartedEvent, type Document } from 'mongodb'
import { createServiceMetrics, promClient } from '../../src/metrics/service-metrics.js'
import { createOrdersRepository } from '../../src/orders/repository.js'
import { isolatedMongoUrl } from '../helper.js'

// The shape of the queries the repository sends, read through the driver's command monitoring,
// so that the O(page) list is checked on any server (real MongoDB as well as FerretDB): the
// page is one `find` with the newest-first sort, its index as a hint, skip and limit, and the
// total is a `count` without a query (MongoDB answers it from the collection's metadata).

/** A sort or hint as sent, in its key order (the driver sends a sort as a Map). */
const keyPairs = (spec: unknown) => spec instanceof Map ? [...spec] : Object.entries(spec as Document)

test('a list page is one hinted, sorted, skipped and limited find plus an unfiltered count', async (t) => {
  const client = new MongoClient(isolatedMongoUrl(), { monitorCommands: true })
  await client.connect()
  t.teardown(async () => {
    await client.db().dropDatabase().catch(() => {})
    await client.close()
  })
  const repository = createOrdersRepository({ db: client.db(), metrics: createServiceMetrics(new promClient.Registry()) })
  await repository.ensureIndexes()
  for (let i = 0; i < 25; i++) {
    await repository.insert({ customer: `Customer ${i}`, address: `${i} Query Street`, items: [{ sku: 'A', qty: 1, price: 1 }], totalAmount: 1, status: 'Pending' })
  }

  const sent: Document[] = []
  const record = (event: CommandStartedEvent) => { sent.push({ name: event.commandName, ...event.command }) }
  client.on('commandStarted', record)
  const page = await repository.list(3, 10)
  client.off('commandStarted', record)

  t.equal(page.data.length, 5, 'the page holds what is left after skipping 20')
  t.equal(page.pagination.total, 25, 'the total counts every order')
  t.same(sent.map((c) => c.name).sort(), ['count', 'find'], 'one find and one count, nothing else')

  const find = sent.find((c) => c.name === 'find') as Document
  t.same(find.filter, {}, 'unfiltered')
  t.same(keyPairs(find.sort), [['createdAt', -1], ['_id', -1]], 'newest first, _id breaking ties')
  t.same(keyPairs(find.hint), [['createdAt', -1], ['_id', -1]], 'hinted to the index with exactly those keys')
  t.equal(find.skip, 20, 'skips the earlier pages')
  t.equal(find.limit, 10, 'limited to one page')

  const count = sent.find((c) => c.name === 'count') as Document
  t.notOk(count.query && Object.keys(count.query).length > 0, 'the count has no query (never a scan on MongoDB)')
  t.notOk('skip' in count || 'limit' in count, 'and no skip or limit')

  const indexes = await client.db().collection('orders').indexes()
  t.ok(indexes.some((index) => JSON.stringify(index.key) === JSON.stringify({ createdAt: -1, _id: -1 })), 'the hinted index exists (created at start-up)')
})
