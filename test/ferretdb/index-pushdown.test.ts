import { test, type Test } from 'tap'
import { MongoClient, ObjectId, type Collection, type Document } from 'mongodb'
import { isolatedMongoUrl } from '../helper.js'

// Correctness of the project's FerretDB patch (tools/ferretdb/flowops-sqlite-pushdown.patch)
// against MongoDB semantics, on whatever server `npm test` runs (patched FerretDB here, mongod
// where it is installed). Each answer is compared with two references:
// - the same query through the server's unpatched path: a filter that matches every document
//   but is not `{}` keeps the patched server from using its pushdowns, so FerretDB decodes and
//   sorts every document in Go as upstream does;
// - a plain JavaScript model of MongoDB's order (null and missing lowest, numbers before
//   dates, ties broken by the next key).

interface Row extends Document { _id: ObjectId, createdAt?: Date | number | null, version: number, label: string }

const UNPATCHED_PATH = { _id: { $exists: true } }
const NEWEST_FIRST = { createdAt: -1, _id: -1 } as const
const OLDEST_FIRST = { createdAt: 1, _id: 1 } as const

/** MongoDB's cross-type order for the values these tests store. */
function typeRank (value: unknown): number {
  if (value === undefined || value === null) return 0
  if (typeof value === 'number') return 1
  return 2 // Date
}

function compareValues (a: unknown, b: unknown): number {
  const rank = typeRank(a) - typeRank(b)
  if (rank !== 0 || typeRank(a) === 0) return rank
  const x = a instanceof Date ? a.getTime() : Number(a)
  const y = b instanceof Date ? b.getTime() : Number(b)
  return x - y
}

function modelSort (rows: Row[], direction: 1 | -1): Row[] {
  return [...rows].sort((a, b) =>
    direction * (compareValues(a.createdAt, b.createdAt) || a._id.toHexString().localeCompare(b._id.toHexString())))
}

/** Ids in a random order, so the insert order never matches the sort order. */
function shuffled<T> (items: T[]): T[] {
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const tmp = copy[i] as T
    copy[i] = copy[j] as T
    copy[j] = tmp
  }
  return copy
}

const ids = (rows: Document[]) => rows.map((row) => String(row._id))

async function connect (t: Test) {
  const client = await MongoClient.connect(isolatedMongoUrl())
  t.teardown(async () => {
    await client.db().dropDatabase().catch(() => {})
    await client.close()
  })
  const rows = client.db().collection<Row>('rows')
  await rows.createIndex(NEWEST_FIRST, { name: 'newest_first' })
  return { db: client.db(), rows }
}

/** 240 rows over 40 distinct milliseconds (6 per ms, so ties are the rule), inserted shuffled. */
async function seedDates (rows: Collection<Row>): Promise<Row[]> {
  const base = Date.UTC(2026, 10, 1)
  const docs: Row[] = Array.from({ length: 240 }, (_, i) => ({
    _id: new ObjectId(),
    createdAt: new Date(base + (i % 40) * 1000),
    version: 1,
    label: `row ${i}`
  }))
  for (const doc of shuffled(docs)) await rows.insertOne(doc)
  return docs
}

async function assertPages (t: Test, rows: Collection<Row>, model: Row[]) {
  for (const [sort, direction] of [[NEWEST_FIRST, -1], [OLDEST_FIRST, 1]] as const) {
    const expected = modelSort(model, direction)
    for (const [skip, limit] of [[0, 10], [10, 10], [50, 7], [235, 10], [0, 100], [300, 10]] as const) {
      const label = `sort ${JSON.stringify(sort)} skip ${skip} limit ${limit}`
      const page = await rows.find({}, { sort, skip, limit }).toArray()
      const unpatched = await rows.find(UNPATCHED_PATH, { sort, skip, limit }).toArray()
      t.same(ids(page), ids(expected.slice(skip, skip + limit)), `${label}: MongoDB's order`)
      t.same(ids(page), ids(unpatched), `${label}: same as the unpatched path`)
    }
  }
}

test('unfiltered sorted pages read from the index equal MongoDB order, both directions, with skip and limit', async (t) => {
  const { rows } = await connect(t)
  const model = await seedDates(rows)
  await assertPages(t, rows, model)
  // A cursor that needs several batches returns the same sequence.
  const all = await rows.find({}, { sort: NEWEST_FIRST, skip: 5, limit: 200, batchSize: 16 }).toArray()
  t.same(ids(all), ids(modelSort(model, -1).slice(5, 205)), 'several batches of one cursor')
})

test('missing, null and non-date sort keys: still MongoDB order (the patch falls back)', async (t) => {
  const { rows } = await connect(t)
  const model = await seedDates(rows)
  const odd: Row[] = [
    { _id: new ObjectId(), version: 1, label: 'missing' },
    { _id: new ObjectId(), createdAt: null, version: 1, label: 'null' },
    { _id: new ObjectId(), createdAt: 5, version: 1, label: 'small number' },
    { _id: new ObjectId(), createdAt: 1_762_000_000_000, version: 1, label: 'number shaped like a date' }
  ]
  for (const doc of odd) {
    await rows.insertOne(doc)
    model.push(doc)
    await assertPages(t, rows, model)
  }
})

test('counts: unfiltered, filtered, with skip and limit', async (t) => {
  const { db, rows } = await connect(t)
  const empty = await db.command({ count: 'no_such_collection' })
  t.equal(empty.n, 0, 'a collection that does not exist counts 0')
  const model = await seedDates(rows)
  t.equal(await rows.estimatedDocumentCount(), model.length, 'estimatedDocumentCount')
  t.equal(await rows.countDocuments({}), model.length, 'countDocuments')
  t.equal((await db.command({ count: 'rows' })).n, model.length, 'count')
  t.equal((await db.command({ count: 'rows', skip: 200 })).n, 40, 'count with skip')
  t.equal((await db.command({ count: 'rows', skip: 10, limit: 25 })).n, 25, 'count with skip and limit')
  t.equal((await db.command({ count: 'rows', skip: 1000 })).n, 0, 'count with skip past the end')
  const early = new Date(Date.UTC(2026, 10, 1) + 10 * 1000)
  t.equal((await db.command({ count: 'rows', query: { createdAt: { $lt: early } } })).n, 60, 'filtered count')
})

test('the unfiltered count stays exact through inserts, a refused insert, deletes, a drop and a re-create', async (t) => {
  const { db, rows } = await connect(t)
  const count = async () => (await db.command({ count: 'rows' })).n as number
  const model = await seedDates(rows)
  t.equal(await count(), 240, 'after the inserts')
  const [first] = model
  await t.rejects(rows.insertOne(first as Row), { code: 11000 }, 'a duplicate _id is refused')
  t.equal(await count(), 240, 'a refused insert changes nothing')
  await rows.insertMany([{ _id: new ObjectId(), version: 1, label: 'a' }, { _id: new ObjectId(), version: 1, label: 'b' }])
  t.equal(await count(), 242, 'after two more')
  await rows.deleteMany({ label: { $in: ['a', 'b', 'row 0', 'row 1', 'row 2'] } })
  t.equal(await count(), 237, 'after deleting five')
  t.equal(await count(), await rows.countDocuments({ _id: { $exists: true } }), 'equal to counting every document')
  await rows.drop()
  t.equal(await count(), 0, 'a dropped collection counts 0')
  await rows.insertOne({ _id: new ObjectId(), version: 1, label: 'again' })
  t.equal(await count(), 1, 'a re-created collection starts from its own documents')
})

test('findOne and findOneAndUpdate by _id, with extra filter keys', async (t) => {
  const { rows } = await connect(t)
  const model = await seedDates(rows)
  const target = model[17] as Row
  const found = await rows.findOne({ _id: target._id })
  t.equal(found?.label, target.label, 'findOne by _id')
  t.equal(await rows.findOne({ _id: new ObjectId() }), null, 'an unknown _id finds nothing')
  t.equal(await rows.findOne({ _id: target._id, label: 'another label' }), null, 'extra keys still filter')

  const updated = await rows.findOneAndUpdate({ _id: target._id, version: 1 }, { $inc: { version: 1 } }, { returnDocument: 'after' })
  t.equal(updated?.version, 2, 'the conditional update applies when the version matches')
  const stale = await rows.findOneAndUpdate({ _id: target._id, version: 1 }, { $inc: { version: 1 } }, { returnDocument: 'after' })
  t.equal(stale, null, 'and not when it does not (the fencing the write path relies on)')
  t.equal((await rows.findOne({ _id: target._id }))?.version, 2, 'the document holds the one update')
  const others = await rows.countDocuments({ version: { $ne: 1 } })
  t.equal(others, 1, 'no other document changed')

  await rows.deleteOne({ _id: target._id })
  t.equal(await rows.findOne({ _id: target._id }), null, 'delete by _id')
  t.equal(await rows.estimatedDocumentCount(), model.length - 1, 'the count follows')
})

test('on FerretDB, a lookup by _id uses the _id index (no table scan)', async (t) => {
  const { db, rows } = await connect(t)
  const build = await db.admin().command({ buildInfo: 1 })
  if (typeof build.ferretdbVersion !== 'string') {
    t.pass('not FerretDB: MongoDB always serves _id lookups from its _id index')
    return
  }
  const [first] = await seedDates(rows)
  const explained = await db.command({ explain: { find: 'rows', filter: { _id: first?._id } } })
  const plan = JSON.stringify(explained.queryPlanner)
  t.match(plan, /SEARCH .* USING INDEX/, `SQLite plan: ${plan}`)
  t.notMatch(plan, /SCAN/, 'no scan')
})

test('concurrent conditional updates of one document: exactly one applies (as on MongoDB)', async (t) => {
  const { rows } = await connect(t)
  const [target] = await seedDates(rows)
  // Writers on separate connections, as service instances are. Upstream FerretDB reads, then
  // writes back in a second step: several writers could match the same version and all apply.
  const clients = await Promise.all(Array.from({ length: 4 }, () => MongoClient.connect(isolatedMongoUrl())))
  t.teardown(() => Promise.all(clients.map((client) => client.close())))
  const views = clients.map((client) => client.db(rows.dbName).collection<Row>(rows.collectionName))
  const ROUNDS = 25
  let overApplied = 0
  for (let version = 1; version <= ROUNDS; version++) {
    const results = await Promise.all(views.flatMap((view) => Array.from({ length: 4 }, () =>
      view.findOneAndUpdate({ _id: target!._id, version }, { $inc: { version: 1 } }, { returnDocument: 'after' }))))
    const applied = results.filter((doc) => doc !== null).length
    if (applied !== 1) overApplied++
  }
  t.equal(overApplied, 0, `in each of ${ROUNDS} rounds of 16 concurrent writers, exactly one matched`)
  t.equal((await rows.findOne({ _id: target!._id }))?.version, ROUNDS + 1, 'the document holds one update per round')

  const updates = await Promise.all(views.flatMap((view) => Array.from({ length: 4 }, () =>
    view.updateOne({ _id: target!._id, version: ROUNDS + 1 }, { $inc: { version: 1 } }))))
  t.equal(updates.reduce((sum, r) => sum + r.modifiedCount, 0), 1, 'the same holds for updateOne')
})
