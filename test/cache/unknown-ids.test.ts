import t from 'tap'
import { randomBytes } from 'node:crypto'
import { build, redisFor } from '../helper.js'

// Anyone can send GETs of ids that do not exist. Those misses must write nothing to Redis, or
// a client could grow it without limit.

t.test('GETs of unknown ids write nothing to Redis', async (t) => {
  // A generous read deadline: under a loaded CI machine a lookup must not turn into a BYPASS,
  // which would write nothing either and prove nothing.
  const app = await build(t, { env: { CACHE_REDIS_TIMEOUT_MS: '2000' } })
  const redis = redisFor(t, app)
  const keysBefore = await redis.dbsize()
  for (let i = 0; i < 100; i++) {
    const response = await app.inject(`/orders/${randomBytes(12).toString('hex')}`)
    t.equal(response.statusCode, 404)
    t.equal(response.headers['x-cache'], 'MISS')
  }
  t.equal(await redis.dbsize(), keysBefore, 'no key was created')
})
