import { MongoClient } from 'mongodb'
import { isOk, type LogEntry, type OrderSnapshot } from '../request-log.js'
import { check, examples, type Check } from './check.js'

// "Nothing lost", from the request log against the database after the run: every acknowledged
// create is there; each order's version is 1 plus its acknowledged updates plus at most one per
// write whose outcome its answer left unknown; and each order is what its last acknowledged
// write answered, unless a write of unknown outcome on it explains the difference. A write
// answered 4xx, or 503 with a code that guarantees nothing was written, changed nothing.

/** 503 codes that guarantee the write was not applied (src/http/errors.ts). */
const NOT_APPLIED_503: ReadonlySet<string> = new Set(['DATABASE_UNAVAILABLE', 'LOCK_UNAVAILABLE', 'OVERLOADED', 'SHUTTING_DOWN'])

/** A write whose answer guarantees it changed nothing: a 4xx, or a 503 whose code says so. */
export function guaranteedNotApplied (entry: LogEntry): boolean {
  return (entry.status >= 400 && entry.status < 500) || (entry.status === 503 && NOT_APPLIED_503.has(entry.code ?? ''))
}

/** A write the client cannot know the outcome of: 503 WRITE_OUTCOME_UNKNOWN, any other 5xx, or no answer. */
export function outcomeUnknown (entry: LogEntry): boolean {
  return entry.method !== 'GET' && !isOk(entry) && !guaranteedNotApplied(entry)
}

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
 * The unacknowledged writes that could explain a stored change: on that order (or creates, for
 * an order never acknowledged), not answered 2xx, in flight when the stored updatedAt was
 * stamped (the service stamps it before sending the write; the database may apply it later).
 */
function inFlight (entries: LogEntry[], stored: OrderSnapshot, creates: boolean): LogEntry[] {
  const at = Date.parse(stored.updatedAt)
  return entries.filter((e) => !isOk(e) && e.method !== 'GET' && (creates ? e.kind === 'create' : e.orderId === stored._id) &&
    e.sentAt - 5 <= at && at <= e.doneAt + 5)
}

function describe (stored: OrderSnapshot, found: LogEntry[]): string {
  const at = Date.parse(stored.updatedAt)
  const iso = (t: number) => new Date(t).toISOString().slice(11, 23)
  const first = found[0]
  if (!first) return `written at ${iso(at)}: no request of the log was in flight then`
  return `written at ${iso(at)} while #${first.seq} ${first.method} ${first.path} was in flight ` +
    `(sent ${iso(first.sentAt)}, answered ${first.status || first.error} ${first.code ?? ''} at ${iso(first.doneAt)})`
}

function differences (acked: OrderSnapshot, stored: OrderSnapshot): string[] {
  return FIELDS.filter((field) => acked[field] !== stored[field])
    .map((field) => `${field} ${JSON.stringify(acked[field])} acked, ${JSON.stringify(stored[field])} stored`)
}

export async function nothingLostChecks (entries: LogEntry[], mongodbUrl: string): Promise<Check[]> {
  const stored = await storedOrders(mongodbUrl)
  const lastAcked = new Map<string, OrderSnapshot>()
  const updates = new Map<string, number>()
  const unknownUpdates = new Map<string, number>()
  for (const entry of entries) {
    if (entry.kind !== 'create' && entry.kind !== 'update' && entry.kind !== 'cancel') continue
    if (outcomeUnknown(entry) && entry.orderId) unknownUpdates.set(entry.orderId, (unknownUpdates.get(entry.orderId) ?? 0) + 1)
    if (!isOk(entry) || !entry.order) continue
    const id = entry.order._id
    if (entry.kind !== 'create') updates.set(id, (updates.get(id) ?? 0) + 1)
    const before = lastAcked.get(id)
    if (!before || before.version < entry.order.version) lastAcked.set(id, entry.order)
  }
  const created = entries.filter((entry) => entry.kind === 'create' && entry.status === 201 && entry.order)
  const missing = created.filter((entry) => !stored.has(entry.order?._id ?? ''))
  const wrongVersion: string[] = []
  const changed: string[] = []
  let appliedUnknown = 0
  for (const [id, acked] of lastAcked) {
    const order = stored.get(id)
    if (!order) continue
    // version = 1 + acknowledged updates + applied updates of unknown outcome (each at most once).
    const base = 1 + (updates.get(id) ?? 0)
    const unknown = unknownUpdates.get(id) ?? 0
    const applied = order.version - base
    if (applied < 0 || applied > unknown) {
      wrongVersion.push(`${id} version ${order.version}, expected ${base}${unknown > 0 ? ` to ${base + unknown} (${unknown} of unknown outcome)` : ''}`)
    } else {
      appliedUnknown += applied
    }
    const diff = differences(acked, order)
    if (diff.length === 0) continue
    // A newer version than the last acknowledged one is allowed only when a write of unknown
    // outcome on this order was in flight when it was stamped.
    const found = inFlight(entries, order, false)
    if (order.version > acked.version && found.some(outcomeUnknown)) continue
    changed.push(`${id}: ${diff.join(', ')}; ${describe(order, found)}`)
  }
  const unacknowledged = [...stored.keys()].filter((id) => !lastAcked.has(id))
  const unknownCreates = entries.filter((e) => e.kind === 'create' && outcomeUnknown(e)).length
  const createdUnknown = unacknowledged.filter((id) => inFlight(entries, stored.get(id) as OrderSnapshot, true).some(outcomeUnknown))
  const createdWrongly = unacknowledged.filter((id) => !createdUnknown.includes(id))
  const tooManyCreated = createdUnknown.length > unknownCreates
  const answers = entries.filter((e) => e.method !== 'GET')
  const notApplied = answers.filter(guaranteedNotApplied).length
  const unknownAnswers = answers.filter(outcomeUnknown)
  const unknownCodes = unknownAnswers.reduce<Record<string, number>>((counts, e) => {
    const key = e.status === 0 ? 'no answer' : `${e.status} ${e.code ?? ''}`.trim()
    counts[key] = (counts[key] ?? 0) + 1
    return counts
  }, {})
  const acks = [...updates.values()].reduce((sum, n) => sum + n, 0)
  const unknownOnOrders = [...unknownUpdates.values()].reduce((sum, n) => sum + n, 0)
  return [
    check('every 201 is in the database', missing.length === 0,
      `${created.length} creates acknowledged, ${missing.length} missing${examples(missing.map((e) => e.order?._id ?? ''))}`),
    check("each order's version is 1 + its acknowledged updates + at most one per update of unknown outcome", wrongVersion.length === 0,
      `${lastAcked.size} orders, ${acks} acknowledged PUT/DELETE, ${unknownOnOrders} of unknown outcome of which ${appliedUnknown} applied; ` +
      `${wrongVersion.length} wrong${examples(wrongVersion)}`),
    check('no order changed by a request answered 4xx or 503 not-applied', changed.length === 0 && createdWrongly.length === 0 && !tooManyCreated,
      `${stored.size} orders stored; ${notApplied} writes answered 4xx or 503 not-applied; ` +
      `${unknownAnswers.length} of unknown outcome (${Object.entries(unknownCodes).map(([k, n]) => `${k}: ${n}`).join(', ') || 'none'}); ` +
      `${changed.length} orders differ from their last acknowledged write with no write of unknown outcome to explain it, ` +
      `${unacknowledged.length} were never acknowledged as created (${createdUnknown.length} by a POST of unknown outcome, of ${unknownCreates})` +
      examples([...changed, ...createdWrongly.map((id) => `${id} created without a 201; ${describe(stored.get(id) as OrderSnapshot, inFlight(entries, stored.get(id) as OrderSnapshot, true))}`)]))
  ]
}
