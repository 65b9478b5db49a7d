import t from 'tap'
import { MongoClient, ObjectId } from 'mongodb'
import { isolatedMongoUrl } from '../helper.js'
import { nothingLostChecks } from '../../reliability/checks/nothing-lost.js'
import type { LogEntry, OrderSnapshot } from '../../reliability/request-log.js'

// The reliability suite's point-4 check, on a hand-made request log against a real database:
// a write of unknown outcome may have changed its order once; a 4xx or a not-applied 503 never.

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0, ms))

t.test('nothing lost: version accounting with writes of unknown outcome', async (t) => {
  const url = isolatedMongoUrl()
  const client = await MongoClient.connect(url)
  t.teardown(async () => { await client.db().dropDatabase(); await client.close() })
  const orders = client.db().collection('orders')
  const id = new ObjectId()
  const snapshot = (version: number, customer: string, ms: number): OrderSnapshot =>
    ({ _id: id.toHexString(), customer, address: '1 Road', status: 'Pending', totalAmount: 1, version, updatedAt: at(ms).toISOString() })
  let seq = 0
  const write = (kind: 'create' | 'update', status: number, code: string | undefined, sent: number, done: number, order?: OrderSnapshot): LogEntry => {
    const method = kind === 'create' ? 'POST' : 'PUT'
    const orderId = kind === 'create' ? undefined : id.toHexString()
    const entry: LogEntry = { seq: seq++, instance: 1, kind, method, path: '/orders', sentAt: at(sent).getTime(), doneAt: at(done).getTime(), status }
    return Object.assign(entry, orderId ? { orderId } : {}, code ? { code } : {}, order ? { order } : {})
  }
  const store = async (s: OrderSnapshot) => {
    await orders.deleteMany({})
    await orders.insertOne({ _id: id, customer: s.customer, address: s.address, status: s.status, totalAmount: s.totalAmount, version: s.version, updatedAt: new Date(s.updatedAt) })
  }
  const verdicts = async (log: LogEntry[]) => (await nothingLostChecks(log, url)).map((c) => c.passed)

  const created = write('create', 201, undefined, 0, 10, snapshot(1, 'Created', 5))
  const acked = write('update', 200, undefined, 100, 110, snapshot(2, 'Acked', 105))
  // An update of unknown outcome, applied by the database: version 3, stamped while it was in flight.
  const unknown = write('update', 503, 'WRITE_OUTCOME_UNKNOWN', 200, 1300)
  await store(snapshot(3, 'Unknown Applied', 250))
  t.ok((await verdicts([created, acked, unknown])).every(Boolean), 'an applied write of unknown outcome is accounted for')
  await store(snapshot(2, 'Acked', 105))
  t.ok((await verdicts([created, acked, unknown])).every(Boolean), 'so is one that was not applied')

  // The same change under a 503 that guarantees nothing was written: a violation.
  const refused = write('update', 503, 'DATABASE_UNAVAILABLE', 200, 1300)
  await store(snapshot(3, 'Unknown Applied', 250))
  const checks = await nothingLostChecks([created, acked, refused], url)
  t.same(checks.map((c) => c.passed), [true, false, false], 'version and content both fail')
  t.match(checks[2]?.detail, /DATABASE_UNAVAILABLE/, 'the detail names the request in flight')

  // One write of unknown outcome cannot account for two versions.
  await store(snapshot(4, 'Twice', 250))
  t.equal((await nothingLostChecks([created, acked, unknown], url))[1]?.passed, false, 'applied at most once')
})
