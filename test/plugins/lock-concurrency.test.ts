import t from 'tap'
import type { Test } from 'tap'
import { createOrder, redisFor } from '../helper.js'
import { instances } from '../instances.js'
import { redisKeys } from '../../src/cache/keys.js'

// Several service instances share one Redis and one database, and many writers race on one
// order. Whatever interleaving happens: every answer is one of the contract's, no update is
// lost, every success is in the final document, and no lock is left behind.

const INSTANCES = 3

async function race (t: Test, env: Record<string, string>, writers: number, withCancel: boolean) {
  const apps = await instances(t, INSTANCES, env)
  const order = await createOrder(apps[0]!)
  const responses = await Promise.all(Array.from({ length: writers }, (_, i) => {
    const app = apps[i % apps.length]!
    if (withCancel && i % 20 === 19) return app.inject({ method: 'DELETE', url: `/orders/${order._id}` })
    const ifMatch = i % 7 === 0 ? { 'if-match': '"1"' } : {}
    return app.inject({ method: 'PUT', url: `/orders/${order._id}`, headers: ifMatch, payload: { address: `${i} Concurrent Street` } })
  }))

  const statuses = responses.map((r) => r.statusCode)
  t.ok(statuses.every((s) => [200, 409, 412, 422].includes(s)), `only 200/409/412/422: ${[...new Set(statuses)].join(',')}`)
  const successes = responses.filter((r) => r.statusCode === 200)
  const final = (await apps[0]!.inject(`/orders/${order._id}`)).json()
  t.equal(final.version, 1 + successes.length, 'version grew by exactly the number of successes')

  // Successes are totally ordered by version: each one saw the one before it.
  const versions = successes.map((r) => (r.json().order ?? r.json()).version).sort((a, b) => a - b)
  t.same(versions, Array.from({ length: successes.length }, (_, i) => i + 2), 'every success has its own version')
  const last = successes.map((r) => r.json().order ?? r.json()).find((o) => o.version === final.version)
  t.equal(final.address, last?.address, 'the final document is the last success')

  const redis = redisFor(t, apps[0]!)
  t.equal(await redis.exists(redisKeys.orderLock(order._id)), 0, 'no lock left behind')
  const count = (status: number) => statuses.filter((s) => s === status).length
  t.comment(`${writers} writers on ${INSTANCES} instances: ${count(200)} x 200, ${count(409)} x 409, ` +
    `${count(412)} x 412, ${count(422)} x 422; final version ${final.version}`)
  return { successes: successes.length, statuses }
}

const RETRIES = { LOCK_RETRY_COUNT: '40', LOCK_RETRY_DELAY_MS: '5', LOCK_RETRY_JITTER_MS: '10' }

t.test('PUTs and DELETEs without retries (the seed behaviour): racers get 409 quickly', async (t) => {
  const { successes, statuses } = await race(t, {}, 60, true)
  t.ok(successes >= 1, 'at least one writer won')
  t.ok(statuses.includes(409), 'contention answered 409')
})

t.test('PUTs with lock retries: writers queue up and every one is applied in turn', async (t) => {
  const { successes, statuses } = await race(t, RETRIES, 60, false)
  t.notOk(statuses.includes(409), 'no writer gave up')
  // Writers with If-Match "1" can only win as the very first; the rest answer 412.
  t.equal(successes + statuses.filter((s) => s === 412).length, 60)
})

t.test('PUTs and DELETEs with lock retries: after the cancel lands, writes are 422', async (t) => {
  const { statuses } = await race(t, RETRIES, 60, true)
  t.ok(statuses.includes(422), 'writes after the cancellation are refused')
})
