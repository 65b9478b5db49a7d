import t, { type Test } from 'tap'
import { ObjectId } from 'mongodb'
import { build, createOrder, validOrder, type TestApp } from '../helper.js'
import { assertError, assertOrderShape } from './contract.js'

// GET /orders: newest first (createdAt desc, _id desc), paginated, validated query.

const list = async (t: Test, app: TestApp, query = '') => {
  const response = await app.inject(`/orders${query}`)
  t.equal(response.statusCode, 200, `GET /orders${query} is 200`)
  return response.json()
}

/** Every order, walking the pages of size `limit` until one is empty. */
async function walk (t: Test, app: TestApp, limit: number): Promise<string[]> {
  const ids: string[] = []
  for (let page = 1; ; page++) {
    const { data, pagination } = await list(t, app, `?page=${page}&limit=${limit}`)
    t.same({ page: pagination.page, limit: pagination.limit }, { page, limit }, `page ${page} echoes page and limit`)
    if (data.length === 0) return ids
    ids.push(...data.map((order: { _id: string }) => order._id))
  }
}

/** Inserts orders straight into MongoDB, with the createdAt values given, in the order given. */
async function insertDirectly (app: TestApp, rows: Array<{ _id: ObjectId, createdAt: Date }>) {
  await app.mongo.db!.collection('orders').insertMany(rows.map(({ _id, createdAt }, i) => ({
    _id,
    customer: `Customer ${i}`,
    address: '1 Tie Street, Leeds',
    items: [{ sku: 'SKU-1', qty: 1, price: 1 }],
    totalAmount: 1,
    status: 'Pending',
    version: 1,
    createdAt,
    updatedAt: createdAt
  })))
}

const byIdDesc = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0)

t.test('an empty collection: defaults page 1, limit 10', async (t) => {
  const app = await build(t)
  t.same(await list(t, app), { data: [], pagination: { total: 0, page: 1, limit: 10, totalPages: 0 } })
})

t.test('defaults, pagination and newest first', async (t) => {
  const app = await build(t)
  const created: string[] = []
  for (let i = 0; i < 12; i++) created.push((await createOrder(app, { ...validOrder, customer: `Customer ${i}` }))._id)
  const newestFirst = [...created].reverse()

  const first = await list(t, app)
  t.same(first.pagination, { total: 12, page: 1, limit: 10, totalPages: 2 })
  t.equal(first.data.length, 10)
  for (const order of first.data) assertOrderShape(t, order)
  t.same(first.data.map((order: { _id: string }) => order._id), newestFirst.slice(0, 10), 'newest first')
  t.equal(first.data[0].customer, 'Customer 11', 'the last created order comes first')
  for (let i = 1; i < first.data.length; i++) {
    t.ok(first.data[i - 1].createdAt >= first.data[i].createdAt, `createdAt descends at ${i}`)
  }

  const second = await list(t, app, '?page=2')
  t.same(second.pagination, { total: 12, page: 2, limit: 10, totalPages: 2 })
  t.same(second.data.map((order: { _id: string }) => order._id), newestFirst.slice(10))

  const beyond = await list(t, app, '?page=3')
  t.same(beyond, { data: [], pagination: { total: 12, page: 3, limit: 10, totalPages: 2 } }, 'page beyond the end is empty')
  const farBeyond = await list(t, app, '?page=500&limit=5')
  t.same(farBeyond.data, [])

  const all = await list(t, app, '?limit=100')
  t.same(all.pagination, { total: 12, page: 1, limit: 100, totalPages: 1 }, 'limit 100 is allowed')
  t.same(all.data.map((order: { _id: string }) => order._id), newestFirst)

  t.same(await walk(t, app, 5), newestFirst, 'walking pages of 5 returns every order once, in order')
})

t.test('equal createdAt: ties break on _id descending, pages are stable', async (t) => {
  const app = await build(t)
  const tie = new Date('2024-05-01T10:00:00.000Z')
  const older = new Date('2024-04-01T10:00:00.000Z')
  const newer = new Date('2024-06-01T10:00:00.000Z')
  const tied = Array.from({ length: 15 }, () => new ObjectId())
  // Ids of other timestamps are generated last (largest), so createdAt must win over _id.
  const [olderId, newerId] = [new ObjectId(), new ObjectId()]
  // Insert in a scrambled order (i -> 7i mod 15), so insertion order is not the expected order.
  const shuffled = tied.map((_, i) => tied[(i * 7) % tied.length]!)
  await insertDirectly(app, [
    { _id: olderId, createdAt: older },
    ...shuffled.map((_id) => ({ _id, createdAt: tie })),
    { _id: newerId, createdAt: newer }
  ])

  const expected = [newerId.toHexString(), ...tied.map((id) => id.toHexString()).sort(byIdDesc), olderId.toHexString()]
  const all = await list(t, app, '?limit=100')
  t.equal(all.pagination.total, 17)
  t.same(all.data.map((order: { _id: string }) => order._id), expected, 'createdAt desc, then _id desc')

  for (const limit of [1, 4, 10]) {
    const walked = await walk(t, app, limit)
    t.same(walked, expected, `limit ${limit}: every order exactly once, in the same order`)
    t.equal(new Set(walked).size, 17, `limit ${limit}: no duplicates`)
  }
  const again = await walk(t, app, 4)
  t.same(again, expected, 'walking again gives the same pages')
})

t.test('orders created in quick succession keep a total order', async (t) => {
  const app = await build(t)
  const created: Array<{ _id: string, createdAt: string }> =
    await Promise.all(Array.from({ length: 20 }, () => createOrder(app)))
  const newestFirst = (a: { _id: string, createdAt: string }, b: { _id: string, createdAt: string }) =>
    a.createdAt === b.createdAt ? byIdDesc(a._id, b._id) : a.createdAt < b.createdAt ? 1 : -1
  const expected = [...created].sort(newestFirst).map((order) => order._id)
  t.same(await walk(t, app, 3), expected, 'pages of 3 follow createdAt desc, _id desc')
})

t.test('a read after a create sees it (the list cache is invalidated)', async (t) => {
  const app = await build(t)
  await createOrder(app)
  const first = await app.inject('/orders')
  const cached = await app.inject('/orders')
  t.equal(first.headers['x-cache'], 'MISS')
  t.equal(cached.headers['x-cache'], 'HIT')
  t.equal(cached.body, first.body, 'a hit serves the same bytes')
  const order = await createOrder(app)
  const after = await list(t, app)
  t.equal(after.pagination.total, 2)
  t.equal(after.data[0]._id, order._id, 'the new order is first')
})

const badQueries = [
  'page=0', 'page=-1', 'page=1.5', 'page=abc', 'page=', 'page=1&page=2',
  'limit=0', 'limit=-5', 'limit=101', 'limit=1.5', 'limit=ten',
  'foo=1', 'page=1&sort=createdAt', 'customer[$gt]=',
  // Text JavaScript reads as a number, but not an integer written in decimal digits.
  'page=0x10', 'page=1e2', 'page=%203', 'limit=+5', 'limit=0b11', 'page=&limit=5'
]

t.test('a bad query is 400 VALIDATION_ERROR', async (t) => {
  const app = await build(t)
  await createOrder(app)
  for (const query of badQueries) {
    await t.test(query, async (t) => {
      assertError(t, await app.inject(`/orders?${query}`), 400, 'VALIDATION_ERROR')
    })
  }
})
