import t from 'tap'
import { randomBytes } from 'node:crypto'
import { build, redisFor } from '../helper.js'

// Anyone can send GETs of ids that do not exist. Those misses must leave nothing in Redis, or
// a client could grow it without limit. A miss takes a lease (src/cache/miss-lease.ts) that
// expires by itself after CACHE_LEASE_WAIT_MS: what they write is bounded by their rate times
// that wait, and gone once it is over.

const LEASE_WAIT_MS = 100

t.test('GETs of unknown ids leave nothing in Redis', async (t) => {
  // A generous read deadline: under a loaded CI machine a lookup must not turn into a BYPASS,
  // which would write nothing either and prove nothing.
  const app = await build(t, { env: { CACHE_REDIS_TIMEOUT_MS: '2000', CACHE_LEASE_WAIT_MS: String(LEASE_WAIT_MS) } })
  const redis = redisFor(t, app)
  const keysBefore = await redis.keys('*')
  for (let i = 0; i < 100; i++) {
    const response = await app.inject(`/orders/${randomBytes(12).toString('hex')}`)
    t.equal(response.statusCode, 404)
    t.equal(response.headers['x-cache'], 'MISS')
  }
  const added = (await redis.keys('*')).filter((key) => !keysBefore.includes(key))
  t.ok(added.every((key) => key.includes(':lease:')), 'only miss leases were written')
  const ttls = await Promise.all(added.map((key) => redis.pttl(key)))
  // -2: already gone; 0: under a millisecond left.
  t.ok(ttls.every((ms) => ms === -2 || (ms >= 0 && ms <= LEASE_WAIT_MS)), `each expires within the lease wait (${ttls.join(', ')})`)
  // Gone once the wait is over. Asked key by key: EXISTS sees an expired key as gone, whereas
  // DBSIZE counts it until Redis's active expiry visits its database, which on a server with
  // many databases (the test server has 1024) can take seconds. Bounded: the wait and 2 s.
  const until = Date.now() + LEASE_WAIT_MS + 2000
  const left = async () => added.length === 0 ? 0 : await redis.exists(...added)
  while ((await left()) > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(await left(), 0, 'nothing is left')
})
