import t from 'tap'
import { build, createOrder } from '../helper.js'
import { throughRelay } from '../relay.js'

// An entity's change marker (src/cache/changes.ts): set by the announcement
// before the write, removed by the write's invalidation, and while it exists every fill of the
// order's entry is refused (src/cache/scripts/fill-if-generation.ts). It is what keeps a reader
// that looked up after the announcement, and read MongoDB before the update committed, from
// storing the pre-write order when the write's invalidation cannot land: the writer answers 200
// with that invalidation owed, and without the marker every instance would then be served the
// old order as a hit until the retry landed.

t.test('a fill made during a change whose invalidation cannot land is refused: no instance is served the pre-write order after the 200', async (t) => {
  const base = await build(t)
  const order = await createOrder(base)
  const url = `/orders/${order._id}`
  // The writer: its MongoDB traffic through one relay (to hold its update), its Redis traffic
  // through another (to hold its invalidation); a short deadline, so that it gives up on the
  // held invalidation, owes it and answers.
  const writerMongo = await throughRelay(t, base.config.MONGODB_URL)
  const writerRedis = await throughRelay(t, base.config.REDIS_URL)
  const writer = await build(t, { env: { MONGODB_URL: writerMongo.url, REDIS_URL: writerRedis.url, REDIS_COMMAND_TIMEOUT_MS: '300' } })
  // The reader: its Redis traffic through a relay (to hold its fill); a read-path deadline that
  // outlasts the hold.
  const readerRedis = await throughRelay(t, base.config.REDIS_URL)
  const reader = await build(t, { env: { MONGODB_URL: base.config.MONGODB_URL, REDIS_URL: readerRedis.url, CACHE_REDIS_TIMEOUT_MS: '10000' } })

  // 1. The writer has announced the change and holds the lock; its update waits on the way to MongoDB.
  const updateHeld = writerMongo.relay.holdNext('findAndModify')
  const put = writer.inject({ method: 'PUT', url, payload: { customer: 'After The Change' } })
  await updateHeld

  // 2. The reader looks up (a miss: the announcement deleted the entry), reads the pre-write
  //    order from MongoDB, and its fill waits.
  const fillHeld = readerRedis.relay.holdNext('eval')
  const read = reader.inject(url)
  await fillHeld

  // 3. The update commits; the writer's invalidation is held, so it is owed, and the PUT answers.
  const invalidationHeld = writerRedis.relay.holdNext('eval')
  writerMongo.relay.release()
  await invalidationHeld
  const written = await put
  t.equal(written.statusCode, 200, 'the writer acknowledged the PUT with its invalidation owed')
  t.equal(written.json().customer, 'After The Change')

  // 4. The reader's fill goes on, with the order as it was before the write.
  readerRedis.relay.release()
  t.equal((await read).json().customer, order.customer, 'the reader had read the pre-write order (its read overlapped the write)')

  // 5. Reads sent after the acknowledgement, on the reader and on another instance.
  for (const [name, app] of [['the reader', reader], ['another instance', base]] as const) {
    const after = await app.inject(url)
    t.equal(after.json().customer, 'After The Change', `${name} is served the written order`)
    t.not(after.headers['x-cache'], 'HIT', `${name} found no entry: the fill during the change was refused`)
  }
  writerRedis.relay.release()
})
