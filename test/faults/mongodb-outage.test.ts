import t from 'tap'
import { build, createOrder, redisFor } from '../helper.js'
import { redisKeys } from '../../src/cache/keys.js'
import { ownMongo, timed } from '../processes.js'

// MongoDB down or frozen: cache hits may still be served, everything else answers 503
// DATABASE_UNAVAILABLE (or, for a write sent to a frozen server, WRITE_OUTCOME_UNKNOWN) within
// a bounded time, and the service recovers by itself. This file
// runs its own MongoDB-compatible server (FerretDB) and stops, freezes and restarts it.

const BOUND_MS = 5000 // MONGODB_TIMEOUT_MS below, plus slack: "bounded", not a performance goal

for (const fault of ['stopped', 'frozen'] as const) {
  t.test(`MongoDB ${fault}: hits served, the rest 503 DATABASE_UNAVAILABLE, then recovery`, async (t) => {
    const mongo = await ownMongo(t)
    const app = await build(t, { env: { MONGODB_URL: mongo.url, MONGODB_TIMEOUT_MS: '1000' } })
    const order = await createOrder(app)
    await app.inject('/orders')
    t.equal((await app.inject('/orders')).headers['x-cache'], 'HIT', 'page 1 cached before the outage')

    if (fault === 'stopped') await mongo.stop()
    else await mongo.freeze()

    const hit = await app.inject('/orders')
    t.equal(hit.statusCode, 200, 'a cached page is still served')
    t.equal(hit.headers['x-cache'], 'HIT')

    const requests = [
      { method: 'GET' as const, url: '/orders?page=2' },
      { method: 'GET' as const, url: `/orders/${order._id}` },
      { method: 'POST' as const, url: '/orders', payload: { customer: 'No Database', address: '1 Down Street', items: [{ sku: 'D', qty: 1, price: 1 }] } },
      { method: 'PUT' as const, url: `/orders/${order._id}`, payload: { customer: 'No Database' } },
      { method: 'DELETE' as const, url: `/orders/${order._id}` }
    ]
    for (const request of requests) {
      const { result, ms } = await timed(app.inject(request))
      t.equal(result.statusCode, 503, `${request.method} ${request.url} -> 503`)
      // A frozen server accepts connections and bytes: a POST whose insert went out on a pooled
      // connection cannot know it was not applied (test/faults/write-outcome.test.ts). PUT and
      // DELETE fail at their read, before any update is sent.
      const codes = fault === 'frozen' && request.method === 'POST' ? ['DATABASE_UNAVAILABLE', 'WRITE_OUTCOME_UNKNOWN'] : ['DATABASE_UNAVAILABLE']
      t.ok(codes.includes(result.json().code), `${request.method}: ${result.json().code}`)
      t.equal(result.headers['retry-after'], '5')
      t.ok(ms < BOUND_MS, `answered in ${ms.toFixed(0)} ms`)
    }
    const ready = await timed(app.inject('/health/ready'))
    t.equal(ready.result.statusCode, 503, 'not ready without MongoDB')
    t.equal(ready.result.json().mongodb, 'down')
    t.ok(ready.ms < BOUND_MS)
    t.equal(await redisFor(t, app).exists(redisKeys.orderLock(order._id)), 0, 'the failed writes released their lock')

    if (fault === 'stopped') await mongo.start()
    else mongo.thaw()

    // Recovery is automatic: the driver reconnects on the next operation.
    const put = await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Back Again' } })
    t.equal(put.statusCode, 200, 'writes work again')
    t.equal(put.json().version, 2, 'exactly one write landed')
    t.equal((await app.inject('/health/ready')).statusCode, 200)
  })
}
