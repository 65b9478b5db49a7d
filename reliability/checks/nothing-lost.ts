import { MongoClient } from 'mongodb'
import { isOk, type LogEntry, type OrderSnapshot } from '../request-log.js'
import { check, examples, type Check } from './check.js'

// "Nothing lost", from the request log against the database after the run: every acknowledged
// create is there, each order's version is 1 plus its acknowledged updates, and each order is
// exactly what its last acknowledged write answered (so no unacknowledged request changed it).

interface StoredOrder extends Omit<OrderSnapshot, '_id' | 'updatedAt'> { _id: { toHexString: () => string }, updatedAt: Date }

async function storedOrders (mongodbUrl: string): Promise<Map<string, OrderSnapshot>> {
  const client = await MongoClient.connect(mongodbUrl, { serverSelectionTimeoutMS: 10_000 })
  try {
    const docs = await client.db().collection<StoredOrder>('orders').find({}).toArray()
    return new Map(docs.map((doc) => {
      const id = doc._id.toHexString()
      const { customer, address, status, totalAmount, version } = doc
      return [id, { _id: id, customer, address, status, totalAmount, version, updatedAt: doc.updatedAt.toISOString() }]
    }))
  } finally {
    await client.close()
  }
}

const FIELDS = ['customer', 'address', 'status', 'totalAmount', 'version', 'updatedAt'] as const

/**
 * The unacknowledged write that explains a stored change: one on that order (or a create) that
 * got no 2xx and was in flight when the stored updatedAt was written.
 */
function culprit (entries: LogEntry[], stored: OrderSnapshot): string {
  const at = Date.parse(stored.updatedAt)
  const found = entries.find((e) => !isOk(e) && e.method !== 'GET' && (e.orderId === stored._id || e.kind === 'create') &&
    e.sentAt - 5 <= at && at <= e.doneAt + 5)
  if (!found) return 'no request of the log was in flight then'
  const iso = (t: number) => new Date(t).toISOString().slice(11, 23)
  return `written at ${iso(at)} while #${found.seq} ${found.method} ${found.path} was in flight ` +
    `(sent ${iso(found.sentAt)}, answered ${found.status || found.error} ${found.code ?? ''} at ${iso(found.doneAt)})`
}

function differences (acked: OrderSnapshot, stored: OrderSnapshot): string[] {
  return FIELDS.filter((field) => acked[field] !== stored[field])
    .map((field) => `${field} ${JSON.stringify(acked[field])} acked, ${JSON.stringify(stored[field])} stored`)
}

export async function nothingLostChecks (entries: LogEntry[], mongodbUrl: string): Promise<Check[]> {
  const stored = await storedOrders(mongodbUrl)
  const lastAcked = new Map<string, OrderSnapshot>()
  const updates = new Map<string, number>()
  for (const entry of entries) {
    if (!isOk(entry) || !entry.order || entry.kind === 'get' || entry.kind === 'list') continue
    const id = entry.order._id
    if (entry.kind !== 'create') updates.set(id, (updates.get(id) ?? 0) + 1)
    const before = lastAcked.get(id)
    if (!before || before.version < entry.order.version) lastAcked.set(id, entry.order)
  }
  const created = entries.filter((entry) => entry.kind === 'create' && entry.status === 201 && entry.order)
  const missing = created.filter((entry) => !stored.has(entry.order?._id ?? ''))
  const wrongVersion: string[] = []
  const changed: string[] = []
  for (const [id, acked] of lastAcked) {
    const order = stored.get(id)
    if (!order) continue
    const expected = 1 + (updates.get(id) ?? 0)
    if (order.version !== expected) wrongVersion.push(`${id} version ${order.version}, expected ${expected}`)
    const diff = differences(acked, order)
    if (diff.length > 0) changed.push(`${id}: ${diff.join(', ')}; ${culprit(entries, order)}`)
  }
  const unacknowledged = [...stored.keys()].filter((id) => !lastAcked.has(id))
  const unanswered = entries.filter((entry) => entry.status === 0 && entry.method !== 'GET').length
  const acks = [...updates.values()].reduce((sum, n) => sum + n, 0)
  return [
    check('every 201 is in the database', missing.length === 0,
      `${created.length} creates acknowledged, ${missing.length} missing${examples(missing.map((e) => e.order?._id ?? ''))}`),
    check("each order's version is 1 + its acknowledged updates", wrongVersion.length === 0,
      `${lastAcked.size} orders, ${acks} acknowledged PUT/DELETE; ${wrongVersion.length} wrong${examples(wrongVersion)}`),
    check('no order changed by a request that got no 2xx', changed.length === 0 && unacknowledged.length === 0,
      `${stored.size} orders stored; ${changed.length} differ from their last acknowledged write, ` +
      `${unacknowledged.length} were never acknowledged as created; ${unanswered} writes got no answer` +
      examples([...changed, ...unacknowledged.map((id) => `${id} created without a 201; ${culprit(entries, stored.get(id) as OrderSnapshot)}`)]))
  ]
}
