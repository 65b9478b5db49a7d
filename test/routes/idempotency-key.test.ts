import t from 'tap'
import { build, validOrder } from '../helper.js'
import { ownRedis } from '../processes.js'
import { throughRelay } from '../relay.js'
import { isolatedMongoUrl } from '../helper.js'

// Idempotency-Key on POST /orders (draft-ietf-httpapi-idempotency-key-header): the key is
// stored with the order in MongoDB under a unique index. A retry with the same key and order
// returns the first order (same _id) and creates nothing; the same key with another order is
// 422; a key is at most 255 characters; it needs no Redis; and a create whose outcome was
// unknown, retried with its key, ends with exactly one order.

const post = (key: string, payload: object = validOrder) => ({ method: 'POST' as const, url: '/orders', headers: { 'idempotency-key': key }, payload })
const total = async (app: Awaited<ReturnType<typeof build>>) => (await app.inject('/orders')).json().pagination.total as number

t.test('a retry with the same key and order: the first order, nothing created; another order: 422', async (t) => {
  const app = await build(t)
  const first = await app.inject(post('"order-1"'))
  t.equal(first.statusCode, 201)
  const retry = await app.inject(post('"order-1"'))
  t.equal(retry.statusCode, 201, 'the retry is answered as the first was')
  t.same(retry.json(), first.json(), 'with the first order, same _id')
  t.equal(retry.headers.location, first.headers.location)
  t.equal((await app.inject(post('order-1'))).json()._id, first.json()._id, 'the bare key is the same key')
  t.equal((await app.inject(post('"order-1"', { ...validOrder, customer: `  ${validOrder.customer}  ` }))).json()._id, first.json()._id,
    'the same order once normalised (trimmed) is the same request')
  t.equal(await total(app), 1, 'one order in all')

  const other = await app.inject(post('"order-1"', { ...validOrder, customer: 'Somebody Else' }))
  t.equal(other.statusCode, 422)
  t.equal(other.json().code, 'IDEMPOTENCY_KEY_REUSED')
  t.equal(await total(app), 1, 'and nothing was created')
  t.equal((await app.inject(post('"order-2"'))).statusCode, 201, 'another key, another order')
  t.equal(await total(app), 2)
})

t.test('keys: at most 255 characters, visible ASCII', async (t) => {
  const app = await build(t)
  t.equal((await app.inject(post(`"${'k'.repeat(255)}"`))).statusCode, 201, '255 characters')
  t.equal((await app.inject(post('k'.repeat(255)))).statusCode, 201, 'the bare form of the same 255-character key: the same order again')
  for (const key of [`"${'k'.repeat(256)}"`, 'k'.repeat(256), '""', 'two words', '"a"b"']) {
    const response = await app.inject(post(key))
    t.equal(response.statusCode, 400, `refused: ${key.slice(0, 20)}`)
    t.equal(response.json().code, 'VALIDATION_ERROR')
  }
})

t.test('with Redis down, the key still holds', async (t) => {
  const redis = await ownRedis(t)
  const app = await build(t, { env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '200' } })
  await redis.stop()
  const first = await app.inject(post('"while-down"'))
  t.equal(first.statusCode, 201)
  t.equal((await app.inject(post('"while-down"'))).json()._id, first.json()._id, 'the retry finds the first order')
  t.equal(await total(app), 1)
})

t.test('the insert lands but its answer is lost: the retry with the key ends with exactly one order', async (t) => {
  const { relay, url } = await throughRelay(t, isolatedMongoUrl())
  const app = await build(t, { env: { MONGODB_URL: url, MONGODB_TIMEOUT_MS: '1000' } })
  const held = relay.holdNext('insert')
  const attempt = app.inject(post('"lost-answer"'))
  await held
  const unknown = await attempt
  t.equal(unknown.statusCode, 503)
  t.equal(unknown.json().code, 'WRITE_OUTCOME_UNKNOWN')
  t.match(unknown.json().message, /same Idempotency-Key/, 'the answer says how to retry safely')
  relay.release() // the insert reaches the database after the service gave up on it
  const retry = await app.inject(post('"lost-answer"'))
  t.equal(retry.statusCode, 201, 'the retry is answered 201')
  const again = await app.inject(post('"lost-answer"'))
  t.equal(again.json()._id, retry.json()._id, 'and every later retry names the same order')
  t.equal(await total(app), 1, 'exactly one order')
})
