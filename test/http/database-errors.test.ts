import t from 'tap'
import { MongoInvalidArgumentError, MongoRuntimeError } from 'mongodb'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { isolatedMongoUrl, isolatedRedisUrl } from '../helper.js'

// Only an unreachable database is a 503: a driver error that says our code misused the driver
// is a bug, answered 500 INTERNAL_ERROR and logged as an error.

t.test('driver programming errors are 500 INTERNAL_ERROR, not 503', async (t) => {
  const config = loadConfig({ LOG_LEVEL: 'silent', MONGODB_URL: isolatedMongoUrl(), REDIS_URL: await isolatedRedisUrl() })
  const app = await buildApp({ config })
  t.teardown(() => app.close())
  const orders = () => app.mongo.client.db(new URL(config.MONGODB_URL).pathname.slice(1)).collection('orders')
  // Real driver errors, raised by the real driver: a bad sort direction, a session used after
  // it ended; and the runtime error class the driver raises on broken internal invariants.
  app.get('/misuse/argument', async () => orders().find({}, { sort: { createdAt: 'sideways' as unknown as 1 } }).toArray())
  app.get('/misuse/api', async () => {
    const session = app.mongo.client.startSession()
    await session.endSession()
    return orders().findOne({}, { session })
  })
  app.get('/misuse/runtime', async () => { throw new MongoRuntimeError('broken invariant') })
  await app.ready()

  for (const url of ['/misuse/argument', '/misuse/api', '/misuse/runtime']) {
    const response = await app.inject(url)
    t.equal(response.statusCode, 500, `${url} -> 500`)
    t.equal(response.json().code, 'INTERNAL_ERROR')
    t.equal(response.headers['retry-after'], undefined, 'no Retry-After: retrying will not help')
  }
  await t.rejects(async () => orders().find({}, { sort: { createdAt: 'sideways' as unknown as 1 } }).toArray(), MongoInvalidArgumentError,
    'the first route raises MongoInvalidArgumentError')
})
